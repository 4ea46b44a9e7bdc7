"""Processing stored mail (commit-2): parse -> dedup -> classify -> route -> ticket + outbox.

Each stored mail is processed inside its own SAVEPOINT, so one bad mail is
quarantined with its stage, error and traceback while the mails around it go
through. The attempt counter is committed before processing starts, so a mail that
crashes the whole process is quarantined after a few tries instead of looping.
Database errors (a locked or lost database) are not the mail's fault: they abort
the batch, the mails stay `stored`, and the next poll tries again.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col

from daemon.classify.kinds import Classification, Kind, classify
from daemon.config import Config
from daemon.outbox.compose import Renderer, ticket_fields
from daemon.outbox.deliverability import record_bounce
from daemon.outbox.enqueue import Mailer, Queued, without_tag
from daemon.parse.message import InboundMail
from daemon.parse.parser import ParseError, parse
from daemon.recap.intake import handle_recap_mail
from daemon.route.router import Decision, RouteContext, explain, route
from daemon.route.rules import Rules
from daemon.sla.stamping import stamp_due_dates
from daemon.store import db, queries
from daemon.store.models import InboundMessage, Ticket
from daemon.tickets.conversation import Conversation

log = logging.getLogger("caredesk.pipeline")

MAX_ATTEMPTS = 3
# Waits after the first and the second failure; the third failure quarantines.
RETRY_DELAYS = (timedelta(minutes=2), timedelta(minutes=15))
DUPLICATE_WINDOW = timedelta(days=30)
HISTORY_WINDOW = timedelta(days=365)
FINAL_STATES = ("processed", "ignored", "duplicate")

Clock = Callable[[], datetime]


@dataclass
class Outcome:
    """What one call to `process_stored` did, by end state."""

    counts: Counter[str]

    def __getitem__(self, key: str) -> int:
        return self.counts[key]


class Processor:
    """Turns stored inbound rows into tickets, ticket updates, ignored or quarantined mail."""

    def __init__(
        self,
        engine: Engine,
        config: Config,
        rules: Callable[[], Rules],
        renderer: Renderer,
        clock: Clock,
        signing_key: bytes | None = None,
    ) -> None:
        self.engine = engine
        self.config = config
        self.rules = rules
        self.signing_key = signing_key
        self.mailer = Mailer(config, renderer, clock, signing_key)
        self.conversation = Conversation(config, self.mailer, clock, signing_key, self._linked_complaint)
        self.clock = clock
        self.zone = ZoneInfo(config.timezone)
        self.own_addresses = (config.address,)

    def process_stored(self, stop: threading.Event | None = None, limit: int = 500) -> Outcome:
        """Process up to `limit` waiting mails, oldest first; stop early when asked.

        Waiting means stored and never tried, or failed before and due again. Fresh mail
        is processed in one transaction with a SAVEPOINT per mail. A mail with tries on its
        counter failed before, or was in a batch when the process died: such suspects are
        tried one at a time, each try counted and committed first, so only the mail that
        kills the process reaches the quarantine limit, not its neighbours.
        """
        counts: Counter[str] = Counter()
        now = self.clock()
        with db.session(self.engine) as session:
            due = or_(
                col(InboundMessage.state) == "stored",
                (col(InboundMessage.state) == "retry") & (col(InboundMessage.next_attempt_at) <= now),
            )
            statement = (
                select(col(InboundMessage.id), col(InboundMessage.state), col(InboundMessage.attempts))
                .where(due)
                .order_by(col(InboundMessage.id))
                .limit(limit)
            )
            # On PostgreSQL several daemons share the work: rows another one holds are skipped.
            rows = session.execute(statement.with_for_update(skip_locked=True)).all()
            suspects = [row_id for row_id, _state, attempts in rows if attempts > 0]
            fresh = [row_id for row_id, _state, attempts in rows if attempts == 0]
            session.commit()
            for group in [[row_id] for row_id in suspects] + ([fresh] if fresh else []):
                if stop is not None and stop.is_set():
                    break
                self._process_group(session, group, counts, stop)
        return Outcome(counts)

    def _process_group(
        self, session: Session, ids: list[int], counts: Counter[str], stop: threading.Event | None
    ) -> None:
        # Counted and committed first: if processing kills the process, the next run
        # knows these mails already had a go.
        session.execute(
            update(InboundMessage)
            .where(col(InboundMessage.id).in_(ids))
            .values(attempts=col(InboundMessage.attempts) + 1)
        )
        session.commit()
        for inbound_id in ids:
            if stop is not None and stop.is_set():
                break
            counts[self._process_one(session, inbound_id)] += 1
        session.commit()

    def _process_one(self, session: Session, inbound_id: int) -> str:
        row = session.get(InboundMessage, inbound_id, with_for_update={"skip_locked": True})
        if row is None or row.state not in ("stored", "retry"):
            return "skipped"  # another daemon has it, or got there first
        if row.attempts > MAX_ATTEMPTS:
            self._failed(row, "process", f"processing stopped the daemon {row.attempts - 1} times", None)
            return row.state
        stage = ["parse"]
        try:
            with session.begin_nested():
                self._handle(session, row, stage)
        except DBAPIError:
            raise
        except ParseError as error:
            # Parsing is deterministic: the same bytes fail the same way, so there is
            # nothing to wait for. A person can replay it after an upgrade.
            self._failed(row, stage[0], str(error), traceback.format_exc(), final=True)
        except Exception as error:
            self._failed(row, stage[0], f"{type(error).__name__}: {error}", traceback.format_exc())
        session.add(row)
        return row.state

    def _failed(
        self, row: InboundMessage, stage: str, error: str, trace: str | None, *, final: bool = False
    ) -> None:
        """Retry later with backoff, or hold for a person once the tries are used up."""
        row.stage, row.error, row.traceback = stage, error, trace
        row.processed_at = self.clock()
        if final or row.attempts >= MAX_ATTEMPTS:
            row.state, row.next_attempt_at = "quarantined", None
            log.error(
                "quarantined inbound #%s at stage %s after %d tries: %r", row.id, stage, row.attempts, error
            )
            return
        delay = RETRY_DELAYS[min(row.attempts, len(RETRY_DELAYS)) - 1]
        row.state, row.next_attempt_at = "retry", self.clock() + delay
        log.warning(
            "inbound #%s failed at stage %s (try %d), retrying in %s: %r",
            row.id,
            stage,
            row.attempts,
            delay,
            error,
        )

    def _handle(self, session: Session, row: InboundMessage, stage: list[str]) -> None:
        if row.reason.startswith("oversize"):
            self._failed(row, "fetch", row.reason, None, final=True)
            return
        mail = parse(row.raw, own_addresses=self.own_addresses)
        row.message_id = mail.message_id[:998]
        row.from_address = mail.from_address[:320]
        row.subject = mail.subject[:998]
        row.logical_key = logical_key(mail)
        stage[0] = "dedup"
        if self._mark_duplicate(session, row):
            return
        stage[0] = "classify"
        rules = self.rules()
        thread = self.conversation.find_thread(session, mail, rules)
        decision = classify(mail, own_addresses=self.own_addresses, thread_ticket_id=thread.ticket_id)
        row.processed_at = self.clock()
        if decision.kind is Kind.BOUNCE:
            row.state = "ignored"
            row.reason = record_bounce(
                session, row, mail, config=self.config, key=self.signing_key, clock=self.clock
            )
            return
        if decision.kind is Kind.AUTOMATED:
            self._record_automated(session, row, decision)
            return
        if handle_recap_mail(
            session,
            row=row,
            mail=mail,
            rules=rules,
            mailer=self.mailer,
            clock=self.clock,
            config=self.config,
        ):
            return
        if decision.kind is Kind.FOLLOW_UP:
            stage[0] = "conversation"
            ticket = session.get(Ticket, decision.ticket_id)
            assert ticket is not None
            self.conversation.handle(session, row, mail, ticket, rules)
            log.info("%s on %s from %r via %s", row.reason, ticket.reference, mail.from_address, thread.via)
            return
        if not mail.from_address:
            # Nobody to answer and nobody to record as the customer: a person reads it.
            self._failed(row, "classify", "no usable sender address (From)", None, final=True)
            return
        ticket = self._open_complaint(session, row, mail, rules, stage)
        if thread.near_miss:
            row.reason += f"; {thread.near_miss}"
            self._event(session, ticket, "near-miss", thread.near_miss)

    def _open_complaint(
        self, session: Session, row: InboundMessage, mail: InboundMail, rules: Rules, stage: list[str]
    ) -> Ticket:
        stage[0] = "route"
        routed = route(mail, rules, self._route_context(session, mail))
        stage[0] = "store"
        ticket = self._create_ticket(session, row, mail, routed, rules)
        stage[0] = "notify"
        self._notify_new_ticket(session, row, mail, ticket, routed, rules)
        return ticket

    def _linked_complaint(
        self, session: Session, row: InboundMessage, mail: InboundMail, earlier: Ticket
    ) -> Ticket:
        """A survey answer under the standard becomes a new complaint (DOMAIN.md §7)."""
        return self._open_complaint(session, row, mail, self.rules(), ["route"])

    # --- dedup and threading -------------------------------------------------

    def _mark_duplicate(self, session: Session, row: InboundMessage) -> bool:
        since = self.clock() - DUPLICATE_WINDOW
        statement = (
            select(InboundMessage)
            .where(
                col(InboundMessage.id) != row.id,
                col(InboundMessage.state).in_(FINAL_STATES),
                or_(
                    col(InboundMessage.raw_sha256) == row.raw_sha256,
                    (col(InboundMessage.logical_key) == row.logical_key)
                    & (col(InboundMessage.received_at) >= since),
                ),
            )
            .order_by(col(InboundMessage.id))
            .limit(1)
        )
        original = session.execute(statement).scalars().first()
        if original is None:
            return False
        row.state = "duplicate"
        row.ticket_id = original.ticket_id
        row.reason = f"same mail as inbound #{original.id}"
        row.processed_at = self.clock()
        log.info("duplicate of inbound #%s: message-id %r", original.id, row.message_id)
        return True

    def _record_automated(self, session: Session, row: InboundMessage, decision: Classification) -> None:
        row.state = "ignored"
        row.reason = f"{decision.kind.value}: {decision.reason}"
        row.ticket_id = decision.ticket_id
        if decision.ticket_id is not None:
            ticket = session.get(Ticket, decision.ticket_id)
            if ticket is not None:
                queries.add_event(
                    session,
                    ticket,
                    actor=row.from_address or "unknown",
                    action="automated-reply",
                    at=self.clock(),
                    reason=row.reason,
                    inbound_id=row.id,
                )
        log.info("ignored inbound #%s from %r: %s", row.id, row.from_address, row.reason)

    def _watchers(self, mail: InboundMail) -> list[str]:
        """The people the customer copied: they may follow up on the ticket too."""
        ours = {without_tag(address) for address in self.own_addresses}
        return [a for a in mail.recipients if without_tag(a) not in ours and a != mail.from_address][:20]

    def _route_context(self, session: Session, mail: InboundMail) -> RouteContext:
        now = self.clock()
        prior = queries.prior_complaint_times(session, mail.from_address, now - HISTORY_WINDOW)
        return RouteContext(now=now, prior_complaints=prior)

    def _create_ticket(
        self,
        session: Session,
        row: InboundMessage,
        mail: InboundMail,
        routed: Decision,
        rules: Rules,
    ) -> Ticket:
        now = self.clock()
        received_local = row.received_at.astimezone(self.zone)
        reference = queries.next_reference(session, self.config.reference_prefix, received_local.year)
        ticket = Ticket(
            reference=reference,
            status="new",
            department=routed.department,
            product=routed.product,
            severity=routed.severity,
            escalated=routed.severity == "major" or routed.escalate,
            tags=",".join(routed.tags),
            sla_class=routed.sla_class,
            channel="email",
            origin="email",
            customer_email=mail.from_address,
            watchers=",".join(self._watchers(mail)),
            customer_name=mail.from_name,
            pic_phone=mail.contact.phones[0] if mail.contact.phones else "",
            pic_email=mail.contact.emails[0] if mail.contact.emails else mail.from_address,
            language=mail.language,
            subject=mail.subject or "(tanpa subjek / no subject)",
            description=mail.text[:100_000],
            rules_version=rules.version,
            received_at=row.received_at,
            created_at=now,
            updated_at=now,
        )
        stamp_due_dates(ticket, rules, now, timezone=self.config.timezone)
        session.add(ticket)
        session.flush()
        row.state, row.ticket_id, row.reason = "processed", ticket.id, "new complaint"
        queries.add_event(
            session,
            ticket,
            actor=mail.from_address or "unknown",
            action="created",
            at=now,
            field_name="status",
            new_value="new",
            reason="complaint received by email",
            inbound_id=row.id,
        )
        queries.add_event(
            session,
            ticket,
            actor="caredesk",
            action="routed",
            at=now,
            field_name="department",
            new_value=routed.department,
            reason=f"rules {rules.version}: " + "; ".join(explain(routed)),
        )
        log.info(
            "ticket %s from %r routed to %s (%s), message-id %r",
            reference,
            mail.from_address,
            routed.department,
            routed.severity,
            mail.message_id,
        )
        return ticket

    # --- outgoing mail -------------------------------------------------------

    def _notify_new_ticket(
        self,
        session: Session,
        row: InboundMessage,
        mail: InboundMail,
        ticket: Ticket,
        routed: Decision,
        rules: Rules,
    ) -> None:
        department = rules.department(routed.department)
        context = {
            "org": {"name": self.config.name, "address": self.config.address},
            "ticket": ticket_fields(ticket, self.zone, department.name),
            "department": {"id": department.id, "name": department.name},
            "language": ticket.language,
            "missing_contact": not mail.contact.phones,
            "routing": explain(routed),
            "major_reason": routed.major_reason or "",
        }
        reply_to = mail.message_id if not mail.message_id_synthetic else None
        if self._is_backlog(row):
            self._event(session, ticket, "ack-suppressed", "mail older than the backlog limit")
        elif asks_for_no_auto_reply(mail):
            self._event(session, ticket, "ack-suppressed", "the sender asked for no automatic replies")
        elif len(mail.header_all("from")) > 1:
            # Which of the senders is real cannot be known: answering one may answer a forger.
            self._event(session, ticket, "ack-suppressed", "the mail has more than one From header")
        else:
            queued = self._enqueue(
                session,
                ticket,
                row,
                "ack",
                mail.from_address,
                "acknowledgement.txt",
                context,
                "auto-replied",
                reply_to,
                ticket.language,
            )
            # An acknowledgement that could not be rendered was not sent and will not
            # be until someone fixes the template and retries it: the ticket stays
            # `new` (then `assigned` as usual), and the mailer's `failed-ack` event,
            # not an "acknowledged" one, is its history.
            if queued is None or queued.state != "failed":
                ticket.status = "acknowledged"
                self._event(
                    session, ticket, "acknowledged", "acknowledgement queued", "status", "new", "acknowledged"
                )
        if department.email:
            self._enqueue(
                session,
                ticket,
                row,
                "notice",
                department.email,
                "department_notice.txt",
                context,
                "auto-generated",
                None,
                "id",
            )
        previous, ticket.status = ticket.status, "assigned"
        self._event(
            session, ticket, "assigned", f"notice to {department.name}", "status", previous, "assigned"
        )
        if ticket.escalated:
            if department.general_manager:
                self._enqueue(
                    session,
                    ticket,
                    row,
                    "escalation",
                    department.general_manager,
                    "escalation.txt",
                    context,
                    "auto-generated",
                    None,
                    "id",
                )
                self._event(session, ticket, "escalated", routed.major_reason or "escalate rule")
            else:
                self._event(
                    session,
                    ticket,
                    "escalation-missing",
                    f"department {department.id} has no general manager configured",
                )
                log.warning(
                    "ticket %s is major but %s has no general manager",
                    ticket.reference,
                    department.id,
                )
        session.add(ticket)

    def _event(
        self,
        session: Session,
        ticket: Ticket,
        action: str,
        reason: str,
        field_name: str | None = None,
        old: str | None = None,
        new: str | None = None,
    ) -> None:
        queries.add_event(
            session,
            ticket,
            actor="caredesk",
            action=action,
            at=self.clock(),
            reason=reason,
            field_name=field_name,
            old_value=old,
            new_value=new,
        )

    def _is_backlog(self, row: InboundMessage) -> bool:
        # An old mail found on first start or after a long outage still becomes a
        # ticket, but customers are not thanked today for a complaint of last year.
        # The server's arrival time decides, not the Date header: a customer whose
        # clock is wrong still deserves an acknowledgement.
        if row.arrived_at is None:
            return False
        return row.arrived_at < self.clock() - timedelta(hours=self.config.backlog_hours)

    def _enqueue(
        self,
        session: Session,
        ticket: Ticket,
        cause: InboundMessage,
        kind: str,
        recipient: str,
        template: str,
        context: dict[str, object],
        auto_submitted: str,
        in_reply_to: str | None,
        language: str,
    ) -> Queued | None:
        return self.mailer.queue(
            session,
            kind=kind,
            recipient=recipient,
            template=template,
            context=context,
            auto_submitted=auto_submitted,
            ticket=ticket,
            cause_inbound_id=cause.id,
            in_reply_to=in_reply_to,
            language=language,
        )


def logical_key(mail: InboundMail) -> str:
    """The same mail delivered twice (To and Cc, list and direct) has the same key."""
    material = f"{mail.message_id}|{mail.from_address}|{mail.body_sha256}"
    return hashlib.sha256(material.encode("utf-8", "surrogatepass")).hexdigest()


def asks_for_no_auto_reply(mail: InboundMail) -> bool:
    """Exchange's X-Auto-Response-Suppress asks us not to answer automatically.

    It is a request, not proof the mail is automated: the complaint is still a ticket.
    """
    asked = {token.strip().lower() for token in (mail.header("x-auto-response-suppress") or "").split(",")}
    return bool(asked & {"all", "autoreply", "oof"})
