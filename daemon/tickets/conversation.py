"""A mail about an existing ticket: who wrote it, and what it may do to the ticket.

The customer (and the people they copied) follow up: the text is added and
forwarded to the department, and a reply to a resolved ticket reopens it; after
closing, their answer to the survey is recorded. Members of the owning department,
customer-care staff and the GM update the ticket with reply commands
(`daemon.tickets.staff`), if their mail is authenticated. Anyone else's mail, and
staff mail that fails the authentication check, becomes an unverified note:
never a change.

A customer's mail also completes the ticket's contact person (PIC): a phone
or email it names fills a `pic_phone` / `pic_email` that is still empty, with
a `changed` history entry (`daemon.tickets.pic`); a value already there is
never replaced.

A survey answer under the standard is a new complaint (DOMAIN.md §7). Opening a
complaint is not the conversation's job: `handle` returns a `SurveyComplaint`,
the processing stage opens the complaint from `SurveyComplaint.opening_mail`
(the answer, its contact completed with the earlier ticket's PIC, so the
customer is not asked for it again), and `link_survey_complaint` records on
both tickets what became of the answer.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field

from sqlmodel import Session

from daemon.classify.authres import verify_sender
from daemon.outbox.enqueue import Outgoing
from daemon.parse.message import Contact, InboundMail
from daemon.sla.stamping import restart_resolution_clock
from daemon.store import queries
from daemon.store import tickets as ticket_store
from daemon.store.models import InboundMessage, Ticket
from daemon.store.vocabulary import Action, InboundState, OutboundKind
from daemon.tickets.desk import Desk, FollowUp
from daemon.tickets.lifecycle import Change, customer_reply_reopens
from daemon.tickets.pic import PicFill, fills, inherited_contact, inherited_fields
from daemon.tickets.policy import (
    NOT_A_PARTICIPANT,
    department_or_none,
    role_of,
    staff_refusal,
    survey_comment,
    survey_complaint_reason,
    survey_score,
)
from daemon.tickets.staff import StaffReplies, apply_change, view_of
from daemon.tickets.threads import parties

log = logging.getLogger("caredesk.conversation")


STAFF_ROLES = ("department", "care", "gm")
"""Roles whose addresses are never taken for the customer's contact."""


@dataclass(frozen=True)
class SurveyComplaint:
    """A survey answer that is a new complaint: open one, linked to `earlier`."""

    earlier: Ticket
    why: str
    """What made it a complaint: the score under the standard, or a negative comment."""
    contact: Contact = field(default_factory=Contact)
    """The contact the answer itself names."""
    sender: str = ""
    score: int | None = None
    comment: str = ""
    """What the customer wrote besides the score."""

    def opening_mail(self, mail: InboundMail) -> InboundMail:
        """The answer as the complaint is opened from: its contact completed with the earlier PIC.

        Its subject is the customer's own words (`survey_subject`), not the survey's
        "Re: [CC-…] Survei kepuasan", which would only say where it came from.
        """
        contact = inherited_contact(mail.contact, self.earlier)
        return dataclasses.replace(mail, contact=contact, subject=survey_subject(self.comment, self.score))


SURVEY_SUBJECT_LENGTH = 80


def survey_subject(comment: str, score: int | None) -> str:
    """The subject of a complaint opened from a survey answer: the start of the comment, or its score."""
    words = " ".join(comment.split())
    if not words:
        return f"Survey score {score}" if score is not None else "Survey answer"
    if len(words) <= SURVEY_SUBJECT_LENGTH:
        return words
    cut = words[:SURVEY_SUBJECT_LENGTH].rsplit(" ", 1)[0] or words[:SURVEY_SUBJECT_LENGTH]
    return cut.rstrip(" ,.;:") + "…"


@dataclass(frozen=True, slots=True)
class PicSource:
    """Where a PIC value came from, for its history entry: who, why, and the mail it came in."""

    actor: str
    why: str
    inbound_id: int | None


class Conversation:
    """Settles a mail about an existing ticket, by who sent it."""

    def __init__(self, desk: Desk, staff: StaffReplies) -> None:
        self.desk = desk
        self.staff = staff

    def handle(self, session: Session, follow_up: FollowUp) -> SurveyComplaint | None:
        """Record the mail on its ticket; a survey answer that is a complaint comes back to open."""
        row, mail, ticket = follow_up.row, follow_up.mail, follow_up.ticket
        row.state, row.ticket_id = InboundState.PROCESSED, ticket.id
        role = role_of(mail.from_address, parties(ticket), follow_up.rules)
        if role == "customer":
            return self._from_customer(session, follow_up)
        if role is None:
            self._unverified(session, follow_up, NOT_A_PARTICIPANT)
            return None
        security = self.desk.config.security
        verdict = verify_sender(mail.headers, mail.from_address, security)
        refused = staff_refusal(verdict, security)
        if refused is not None:
            log.warning(
                "unverified %s mail from %r on %s: %s",
                role,
                mail.from_address,
                ticket.reference,
                verdict.reason,
            )
            self._unverified(session, follow_up, refused)
            return None
        self.staff.handle(session, follow_up, role)
        return None

    def link_survey_complaint(
        self, session: Session, row: InboundMessage, survey: SurveyComplaint, opened: Ticket
    ) -> None:
        """`opened` is the complaint a survey answer became: link it and say so on both sides."""
        ticket_store.link_related(session, opened, survey.earlier)
        queries.add_event(
            session,
            survey.earlier,
            queries.History(
                actor="caredesk",
                action=Action.SURVEY_COMPLAINT,
                at=self.desk.clock(),
                reason=f"{survey.why}: new complaint {opened.reference}",
            ),
        )
        why = f"PIC of {survey.earlier.reference}, the complaint the survey was about"
        source = PicSource("caredesk", why, row.id)
        for fill in inherited_fields(survey.contact, survey.earlier, sender=survey.sender):
            if getattr(opened, fill.field) == fill.value:
                self._record_pic(session, opened, fill, source)
        row.reason += f"; opened {opened.reference}"

    def _record_pic(self, session: Session, ticket: Ticket, fill: PicFill, source: PicSource) -> None:
        """The history entry of a PIC field that was empty and now holds `fill.value`."""
        queries.add_event(
            session,
            ticket,
            queries.History(
                actor=source.actor,
                action=Action.CHANGED,
                at=self.desk.clock(),
                field_name=fill.field,
                old_value=None,
                new_value=fill.value,
                reason=source.why,
                inbound_id=source.inbound_id,
            ),
        )

    def _unverified(self, session: Session, follow_up: FollowUp, why: str) -> None:
        follow_up.row.reason = f"unverified note: {why}"
        queries.add_event(
            session,
            follow_up.ticket,
            queries.History(
                actor=follow_up.mail.from_address or "unknown",
                action=Action.UNVERIFIED_NOTE,
                at=self.desk.clock(),
                reason=why,
                new_value=follow_up.mail.new_text[:10_000],
                inbound_id=follow_up.row.id,
            ),
        )

    # --- the customer ------------------------------------------------------

    def _from_customer(self, session: Session, follow_up: FollowUp) -> SurveyComplaint | None:
        ticket, mail = follow_up.ticket, follow_up.mail
        if self._awaits_survey(session, ticket):
            score = survey_score(mail.new_text)
            if score is not None:
                return self._record_survey(session, follow_up, score)
        self._follow_up(session, follow_up)
        return None

    def _fill_pic(self, session: Session, follow_up: FollowUp) -> None:
        """Fill the ticket's empty PIC fields from the contact the customer's mail names."""
        ticket, mail = follow_up.ticket, follow_up.mail
        on_ticket = parties(ticket)

        def is_staff(address: str) -> bool:
            return role_of(address, on_ticket, follow_up.rules) in STAFF_ROLES

        source = PicSource(mail.from_address, "PIC given in the customer's follow-up", follow_up.row.id)
        for fill in fills(ticket, mail.contact, is_staff=is_staff):
            ticket_store.fill_pic(session, ticket, fill.field, fill.value)
            self._record_pic(session, ticket, fill, source)

    def _awaits_survey(self, session: Session, ticket: Ticket) -> bool:
        """A closed ticket whose survey was sent and not answered yet."""
        if ticket.status != "closed" or ticket.survey_score is not None:
            return False
        return ticket_store.survey_sent(session, ticket)

    def _follow_up(self, session: Session, follow_up: FollowUp) -> None:
        """Add the customer's text, reopen a resolved ticket, and forward the text to the department."""
        row, mail, ticket = follow_up.row, follow_up.mail, follow_up.ticket
        now = self.desk.clock()
        reopened = customer_reply_reopens(view_of(ticket))
        row.reason = "customer follow-up" + (" (reopened)" if reopened else "")
        queries.add_event(
            session,
            ticket,
            queries.History(
                actor=mail.from_address,
                action=Action.FOLLOW_UP,
                at=now,
                reason="customer replied by mail",
                new_value=mail.new_text[:10_000],
                inbound_id=row.id,
            ),
        )
        self._fill_pic(session, follow_up)
        if reopened:
            why = "the customer replied to a resolved complaint"
            apply_change(
                session, follow_up, Change("status", None, "in-progress"), why=why, at=self.desk.clock()
            )
            restart_resolution_clock(
                session, ticket, now, follow_up.rules, timezone=self.desk.config.timezone
            )
        ticket_store.mark_updated(session, ticket, now)
        self._forward(session, follow_up, reopened=reopened)

    def _forward(self, session: Session, follow_up: FollowUp, *, reopened: bool) -> None:
        """The customer's text to the owning department, if it still exists and has an address."""
        mail, ticket = follow_up.mail, follow_up.ticket
        department = department_or_none(follow_up.rules, ticket.department)
        if department is None or not department.email:
            return
        self.desk.mailer.queue(
            session,
            Outgoing(
                kind=OutboundKind.FORWARD,
                recipient=department.email,
                template="customer_followup.txt",
                context=self.desk.mail_context(ticket)
                | {"text": mail.new_text, "sender": mail.from_address, "reopened": reopened},
                ticket=ticket,
                cause_inbound_id=follow_up.row.id,
            ),
        )

    def _record_survey(self, session: Session, follow_up: FollowUp, score: int) -> SurveyComplaint | None:
        row, mail, ticket = follow_up.row, follow_up.mail, follow_up.ticket
        comment = survey_comment(mail.new_text)
        ticket_store.record_survey(session, ticket, score, comment)
        row.reason = f"survey answer: {score}"
        queries.add_event(
            session,
            ticket,
            queries.History(
                actor=mail.from_address,
                action=Action.SURVEY,
                at=self.desk.clock(),
                field_name="survey_score",
                new_value=str(score),
                reason=comment[:2000],
                inbound_id=row.id,
            ),
        )
        self._fill_pic(session, follow_up)
        why = survey_complaint_reason(score, comment, self.desk.config.survey_standard)
        if why is None:
            return None
        return SurveyComplaint(
            ticket, why, contact=mail.contact, sender=mail.from_address, score=score, comment=comment
        )
