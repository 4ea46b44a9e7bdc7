"""Processing stored mail (commit-2): parse -> dedup -> classify -> one handler per kind.

Each stored mail is processed inside its own SAVEPOINT, so one bad mail is
quarantined with its stage, error and traceback while the mails around it go
through. Each try is claimed with a lease (an owner and an expiry) and counted,
committed, before processing starts, so a mail that crashes the whole process is
quarantined after a few tries instead of looping, while a live try of another
daemon on the same database is never taken or counted. The claim that decides is
made again per mail, under a row lock, in the transaction that records the outcome.
Database errors (a locked or lost database) are not the mail's fault: they abort
the batch, the mails stay `stored`, and the next poll tries again.

`classify` names what a mail is, and each kind has exactly one handler here: a
bounce is applied to the mail it returns, automated mail is recorded, a branch
recap goes to `daemon.recap`, a follow-up to the conversation
(`daemon.tickets.conversation`), and a new complaint is routed, stored and
announced (`daemon.tickets.complaints`). Which stage a failure belongs to is
`daemon.tickets.failures`' business.
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from datetime import timedelta

from sqlalchemy import Engine
from sqlmodel import Session

from daemon import logfields
from daemon.classify.kinds import Classification, Kind, RecapInbox, classify
from daemon.fetch.mailbox import is_sent_source
from daemon.outbox.deliverability import BounceSettings, record_bounce
from daemon.parse.message import InboundMail
from daemon.parse.parser import ParseError, parse
from daemon.recap.desk import RecapDesk
from daemon.recap.intake import handle_recap_mail
from daemon.route.decision import RouteContext
from daemon.route.regexes import RegexTimeout
from daemon.route.router import route
from daemon.route.rules import Rules
from daemon.store import db, queries, search_queue
from daemon.store import tickets as ticket_store
from daemon.store.leases import process_owner
from daemon.store.models import InboundMessage, Ticket
from daemon.store.statistics import GrowthWatch
from daemon.store.vocabulary import WAITING_STATES, Action, InboundState
from daemon.tickets.attachment_index import index_text
from daemon.tickets.care_copies import OwnMail, record_care_answer, record_sent_mail
from daemon.tickets.complaints import NewComplaint, NewComplaints
from daemon.tickets.conversation import Conversation
from daemon.tickets.dedup import logical_key
from daemon.tickets.desk import Desk, FollowUp
from daemon.tickets.failures import DATABASE_ERRORS, StageFailed, retry_delay, stage, stopped_the_daemon
from daemon.tickets.threads import Thread, Threads

log = logging.getLogger("caredesk.pipeline")

DUPLICATE_WINDOW = timedelta(days=30)
HISTORY_WINDOW = timedelta(days=365)

Step = Callable[[str], AbstractContextManager[None]]
"""Runs a block as a named stage: `failures.stage`, or `_unnamed` inside another stage."""


def _unnamed(_name: str) -> AbstractContextManager[None]:
    return nullcontext()


CLAIM_CHUNK = 25
"""How many waiting mails one claim takes: small enough that several daemons share a batch."""
LEFT_FOR_LATER = "left_for_later"
"""The outcome of a mail a copy of which another daemon is processing: claimed again later."""


class CopyInProgress(Exception):
    """Another transaction holds this mail's content keys (`store.tickets.hold_content`), or
    another daemon an earlier mail this one may answer (`store.tickets.earlier_mail_in_other_hands`)."""


def _stopped(stop: threading.Event | None) -> bool:
    return stop is not None and stop.is_set()


@dataclass
class Outcome:
    """What one call to `process_stored` did, by end state."""

    counts: Counter[str]

    def __getitem__(self, key: str) -> int:
        return self.counts[key]


@dataclass(frozen=True)
class Parts:
    """What the processor hands mail to, built by the composition root with the one `Desk`."""

    threads: Threads
    conversation: Conversation
    complaints: NewComplaints


@dataclass(frozen=True)
class Incoming:
    """A stored mail past classification: its row, the parsed mail, the rules, what was found."""

    row: InboundMessage
    mail: InboundMail
    rules: Rules
    thread: Thread
    classification: Classification


Handler = Callable[[Session, Incoming], None]


class Processor:
    """Turns stored inbound rows into tickets, ticket updates, ignored or quarantined mail."""

    def __init__(self, engine: Engine, rules: Callable[[], Rules], desk: Desk, parts: Parts) -> None:
        self.engine = engine
        self.rules = rules
        self.desk = desk
        self.parts = parts
        self.own_addresses = desk.config.own_addresses
        self.owner = process_owner()
        """Who leases the mail this processor claims (`store.leases`)."""
        self.statistics = GrowthWatch(engine)
        """Analyzes the tables as the register grows, so no plan made for an empty one stays."""
        self.handlers: dict[Kind, Handler] = {
            Kind.BOUNCE: self._bounce,
            Kind.AUTOMATED: self._automated,
            Kind.RECAP: self._recap,
            Kind.FOLLOW_UP: self._follow_up,
            Kind.COMPLAINT: self._complaint,
        }
        unhandled = set(Kind) - set(self.handlers)
        if unhandled:
            raise TypeError(f"every kind of mail needs its handler; none for {sorted(unhandled)}")

    def process_stored(self, stop: threading.Event | None = None, limit: int = 500) -> Outcome:
        """Process up to `limit` waiting mails, oldest first; stop early when asked.

        Waiting means stored and never tried, or failed before and due again. Mail is
        claimed with a lease (`store.tickets.claim_waiting`), each try counted as it is
        claimed and committed first, so several daemons share the work and none counts
        another's live try. Fresh mail is claimed `CLAIM_CHUNK` at a time and processed
        in one transaction with a SAVEPOINT per mail. A mail with earlier tries failed
        before, or was in a batch when its daemon died: such suspects are claimed and
        tried one at a time, each in its own transaction, so only the mail that kills
        the process reaches the quarantine limit, not its neighbours.
        """
        counts: Counter[str] = Counter()
        left_alone: set[int] = set()
        with db.session(self.engine) as session:
            taken = 0
            while taken < limit and not _stopped(stop):
                # A suspect is claimed alone, right before its try: a crash then counts
                # against the one mail in hand, never against mails merely claimed.
                claimant = ticket_store.Claimant(self.owner, self.desk.clock(), left_alone)
                claimed = ticket_store.claim_waiting(session, claimant, 1, tried=True)
                if not claimed:
                    size = min(CLAIM_CHUNK, limit - taken)
                    claimed = ticket_store.claim_waiting(session, claimant, size, tried=False)
                session.commit()
                if not claimed:
                    break
                taken += len(claimed)
                self._process_group(session, [mail.id for mail in claimed], counts, stop, left_alone)
                self.statistics.processed(len(claimed))
        return Outcome(counts)

    def _process_group(
        self,
        session: Session,
        ids: list[int],
        counts: Counter[str],
        stop: threading.Event | None,
        left_alone: set[int],
    ) -> None:
        claimed = ticket_store.claim_mails(session, ids, self.owner)
        for index, inbound_id in enumerate(ids):
            if _stopped(stop):
                ticket_store.release_claims(session, self.owner, ids[index:])
                break
            outcome = self._process_one(session, claimed.get(inbound_id))
            if outcome == LEFT_FOR_LATER:
                left_alone.add(inbound_id)
            counts[outcome] += 1
        # The batch's new tickets into the search index in one statement (SQLite, 0011).
        search_queue.catch_up(session)
        session.commit()

    def _process_one(self, session: Session, row: InboundMessage | None) -> str:
        if row is None:
            return "skipped"  # another daemon took the lease over when it ran out
        with logfields.bound(inbound=row.id, message_id=row.message_id):
            outcome = self._try(session, row) if row.state in WAITING_STATES else "skipped"
        ticket_store.end_lease(row)
        session.add(row)
        return outcome

    def _try(self, session: Session, row: InboundMessage) -> str:
        if stopped_the_daemon(row.attempts):
            self._failed(row, "process", f"processing stopped the daemon {row.attempts - 1} times", None)
            return row.state
        try:
            with session.begin_nested():
                self._handle(session, row)
                # Ended here, so the SAVEPOINT's flush writes it with the outcome: one
                # UPDATE of the mail fewer (`_process_one` ends it again after a failure).
                ticket_store.end_lease(row)
        except DATABASE_ERRORS:
            raise
        except CopyInProgress:
            # Not a try of this mail: another daemon is processing a copy of it right now.
            row.attempts -= 1
            return LEFT_FOR_LATER
        except StageFailed as failed:
            error, trace = failed.error, "".join(traceback.format_exception(failed.error))
            # Parsing is deterministic: the same bytes fail the same way, so there is
            # nothing to wait for. A person can replay it after an upgrade. So is a
            # rule regex that ran out of time: it would again, until the rule is fixed.
            if isinstance(error, ParseError | RegexTimeout):
                self._failed(row, failed.stage, str(error), trace, final=True)
            else:
                self._failed(row, failed.stage, f"{type(error).__name__}: {error}", trace)
        except Exception as error:
            # Outside every stage: the SAVEPOINT itself could not be released.
            self._failed(row, "process", f"{type(error).__name__}: {error}", traceback.format_exc())
        return row.state

    def _failed(
        self, row: InboundMessage, stage_name: str, error: str, trace: str | None, *, final: bool = False
    ) -> None:
        """Retry later with backoff, or hold for a person once the tries are used up."""
        row.stage, row.error, row.traceback = stage_name, error, trace
        row.processed_at = self.desk.clock()
        delay = retry_delay(row.attempts, final=final)
        if delay is None:
            row.state, row.next_attempt_at = InboundState.QUARANTINED, None
            log.error(
                "quarantined inbound #%s at stage %s after %d tries: %r",
                row.id,
                stage_name,
                row.attempts,
                error,
            )
            return
        row.state, row.next_attempt_at = InboundState.RETRY, self.desk.clock() + delay
        log.warning(
            "inbound #%s failed at stage %s (try %d), retrying in %s: %r",
            row.id,
            stage_name,
            row.attempts,
            delay,
            error,
        )

    # --- the stages every mail goes through ----------------------------------

    def _handle(self, session: Session, row: InboundMessage) -> None:
        if row.headers_only:
            self._failed(row, "fetch", row.reason, None, final=True)
            return
        limit = self.desk.config.mailbox.max_message_bytes
        if row.reason.startswith(queries.OVERSIZE) and row.size > limit:
            # Fetched whole all the same: raising the limit and replaying the mail is enough.
            error = f"oversize: {row.size} bytes, over mailbox.max_message_bytes ({limit})"
            self._failed(row, "fetch", error, None, final=True)
            return
        with stage("parse"):
            mail = self._parse(row)
        if not ticket_store.hold_content(session, row):
            raise CopyInProgress(row.id)
        with stage("dedup"):
            if self._mark_duplicate(session, row):
                return
        # Asked before the thread is looked up: what is committed by then is found.
        earlier_elsewhere = self._earlier_mail_elsewhere(session, row, mail)
        with stage("classify"):
            incoming = self._classify(session, row, mail)
        if earlier_elsewhere and incoming.classification.kind == Kind.COMPLAINT:
            # A reply to a mail another daemon may be making a ticket of right now.
            raise CopyInProgress(row.id)
        if is_sent_source(row.source):
            # Sent from the mailbox: at most customer care's answer, never a ticket or a reply.
            with stage("conversation"):
                ticket_id = incoming.thread.ticket_id or incoming.classification.ticket_id
                own = OwnMail(row, mail, ticket_id, incoming.rules, in_sent_folder=True)
                record_sent_mail(session, self.desk, own)
            return
        self.handlers[incoming.classification.kind](session, incoming)

    def _earlier_mail_elsewhere(self, session: Session, row: InboundMessage, mail: InboundMail) -> bool:
        """Whether a mail naming earlier Message-IDs came after one another daemon holds unsettled."""
        if not (mail.in_reply_to or mail.references):
            return False
        claimant = ticket_store.Claimant(self.owner, self.desk.clock())
        return ticket_store.earlier_mail_in_other_hands(session, row, claimant)

    def _parse(self, row: InboundMessage) -> InboundMail:
        mail = parse(row.raw, own_addresses=self.own_addresses)
        row.message_id = mail.message_id[:998]
        logfields.add(message_id=row.message_id)
        row.from_address = mail.from_address[:320]
        row.subject = mail.subject[:998]
        row.logical_key = logical_key(mail)
        row.attachment_list = index_text(mail.attachments)
        return mail

    def _mark_duplicate(self, session: Session, row: InboundMessage) -> bool:
        original = ticket_store.earlier_copy(session, row, self.desk.clock() - DUPLICATE_WINDOW)
        if original is None:
            return False
        row.state = InboundState.DUPLICATE
        row.ticket_id = original.ticket_id
        row.reason = f"same mail as inbound #{original.id}"
        row.processed_at = self.desk.clock()
        log.info("duplicate of inbound #%s: message-id %r", original.id, row.message_id)
        return True

    def _classify(self, session: Session, row: InboundMessage, mail: InboundMail) -> Incoming:
        rules = self.rules()
        thread = self.parts.threads.find(session, mail, rules)
        decision = classify(
            mail,
            own_addresses=self.own_addresses,
            thread_ticket_id=thread.ticket_id,
            recaps=RecapInbox(rules, self.desk.config.address),
        )
        row.processed_at = self.desk.clock()
        return Incoming(row, mail, rules, thread, decision)

    # --- one handler per kind ------------------------------------------------

    def _bounce(self, session: Session, incoming: Incoming) -> None:
        with stage("classify"):
            settings = BounceSettings(self.desk.config, self.desk.signing_key, self.desk.clock)
            incoming.row.state = InboundState.IGNORED
            incoming.row.reason = record_bounce(session, incoming.row, incoming.mail, settings)

    def _automated(self, session: Session, incoming: Incoming) -> None:
        row, decision = incoming.row, incoming.classification
        with stage("conversation"):
            # Our own address, but a person's answer to the customer: care wrote from the mailbox.
            own = OwnMail(row, incoming.mail, decision.ticket_id, incoming.rules)
            if record_care_answer(session, self.desk, own):
                return
        with stage("classify"):
            row.state = InboundState.IGNORED
            row.reason = f"{decision.kind.value}: {decision.reason}"
            row.ticket_id = decision.ticket_id
            ticket = ticket_store.ticket_by_id(session, decision.ticket_id)
            if ticket is not None:
                queries.add_event(
                    session,
                    ticket,
                    queries.History(
                        actor=row.from_address or "unknown",
                        action=Action.AUTOMATED_REPLY,
                        at=self.desk.clock(),
                        reason=row.reason,
                        inbound_id=row.id,
                    ),
                )
            log.info("ignored inbound #%s from %r: %s", row.id, row.from_address, row.reason)

    def _recap(self, session: Session, incoming: Incoming) -> None:
        with stage("classify"):
            found = incoming.classification.recap
            assert found is not None, "classify names the recap it recognised"
            desk = RecapDesk(incoming.rules, self.desk.mailer, self.desk.clock, self.desk.config)
            handle_recap_mail(session, found, row=incoming.row, mail=incoming.mail, desk=desk)

    def _follow_up(self, session: Session, incoming: Incoming) -> None:
        row, mail = incoming.row, incoming.mail
        with stage("conversation"):
            ticket = ticket_store.ticket_by_id(session, incoming.classification.ticket_id)
            assert ticket is not None
            logfields.add(ticket=ticket.reference)
            survey = self.parts.conversation.handle(session, FollowUp(row, mail, ticket, incoming.rules))
            if survey is not None:
                # A survey answer under the standard becomes a new complaint (DOMAIN.md §7).
                # It is opened within this stage: if that fails, the answer failed.
                # Opened with the earlier ticket's PIC: the customer is not asked for it again.
                linked = replace(incoming, mail=survey.opening_mail(mail))
                opened = self._open_complaint(session, linked, step=_unnamed, survey_of=ticket.reference)
                self.parts.conversation.link_survey_complaint(session, row, survey, opened)
            log.info(
                "%s on %s from %r via %s",
                row.reason,
                ticket.reference,
                mail.from_address,
                incoming.thread.via,
            )

    def _complaint(self, session: Session, incoming: Incoming) -> None:
        row, near_miss = incoming.row, incoming.thread.near_miss
        if not incoming.mail.from_address:
            # Nobody to answer and nobody to record as the customer: a person reads it.
            self._failed(row, "classify", "no usable sender address (From)", None, final=True)
            return
        ticket = self._open_complaint(session, incoming)
        if near_miss:
            with stage("notify"):
                row.reason += f"; {near_miss}"
                self.parts.complaints.note(session, ticket, "near-miss", near_miss)

    def _open_complaint(
        self, session: Session, incoming: Incoming, step: Step = stage, survey_of: str = ""
    ) -> Ticket:
        """Route the mail, store its ticket, queue the mail a new ticket sets off.

        `survey_of` is the ticket whose satisfaction survey the mail answered, when it did.
        """
        with step("route"):
            context = self._route_context(session, incoming.mail, incoming.row.source)
            routed = route(incoming.mail, incoming.rules, context)
        # The ticket's first history entries (created, routed, the mail queued) go in one
        # statement: nothing in between reads the history back.
        with step("notify"), queries.events_together(session):
            with step("store"):
                complaint = NewComplaint(incoming.row, incoming.mail, routed, incoming.rules, survey_of)
                ticket = self.parts.complaints.create(session, complaint)
            self.parts.complaints.notify(session, complaint, ticket)
        return ticket

    def _route_context(self, session: Session, mail: InboundMail, source: str) -> RouteContext:
        """The clock, the sender's earlier complaints, and the default of the mailbox it came through."""
        now = self.desk.clock()
        # Earlier tickets are in the database (each mail's SAVEPOINT flushed the one before).
        with session.no_autoflush:
            prior = queries.prior_complaint_times(session, mail.from_address, now - HISTORY_WINDOW)
        default = self.desk.default_department(source)
        return RouteContext(now=now, prior_complaints=prior, default_department=default)
