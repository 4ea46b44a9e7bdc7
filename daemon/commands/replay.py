"""Replaying past complaints under candidate rules: what would change. Nothing is written.

This module owns what "would change" means. A past ticket is compared on its
department, product, severity and escalation, and its "old" values are what
the rules decided **when the ticket was created**, not what it says today: a
ticket a person moved to another department later is compared with where the
rules had sent it, because replay judges rules against rules. Such tickets are
counted, and a proposed change that agrees with the person's correction is
counted too (a sign the candidate rules fix what people fixed by hand).

The routed values come from the ticket's history: the `routed` event records
the department the rules chose; for the other fields, and for a department
without that event, the value before the first later change of that field
(its `old_value`), or else the ticket's stored value.

A ticket's mail is the one that created it: its first inbound message in
state `processed` (tickets not created from mail are skipped). It is routed as
the pipeline routed it: with the clock at the ticket's creation and the
sender's earlier tickets as prior complaints.

The database is opened read-only (SQLite `mode=ro`, PostgreSQL read-only
transactions), so replay cannot change anything even by mistake, and on SQLite
it never holds the write lock the running daemon needs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, func, select
from sqlmodel import Session, col

from daemon.parse.message import InboundMail
from daemon.parse.parser import parse
from daemon.route.decision import BY_DEFAULT, BY_DETECTION, BY_PRODUCT, Decision, RouteContext
from daemon.route.router import route
from daemon.route.rules import Rules
from daemon.store.models import InboundMessage, Ticket, TicketEvent
from daemon.store.vocabulary import InboundState
from daemon.tickets.processing import HISTORY_WINDOW

FIELDS = ("department", "product", "severity", "escalate")
"""The compared parts of a decision, in report order."""
_EVENT_FIELDS = {
    "department": "department",
    "product": "product",
    "severity": "severity",
    "escalated": "escalate",
}
_TRUE = frozenset({"true", "1", "yes", "y", "t"})
Value = str | bool | None


# ---------------------------------------------------------------------------
# The comparison (pure).
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Routing:
    """The compared parts of a routing: department, product, severity, escalation."""

    department: str
    product: str | None
    severity: str
    escalate: bool

    def get(self, name: str) -> Value:
        value: Value = getattr(self, name)
        return value

    @classmethod
    def of(cls, decision: Decision) -> Routing:
        return cls(decision.department, decision.product, decision.severity, decision.escalate)

    @classmethod
    def of_ticket(cls, ticket: Ticket) -> Routing:
        return cls(ticket.department, ticket.product, ticket.severity, ticket.escalated)


@dataclass(frozen=True)
class HistoryChange:
    """A history event that may have changed a compared field (`TicketEvent`, reduced)."""

    action: str
    field_name: str | None
    old_value: str | None
    new_value: str | None


def _event_value(name: str, text: str | None) -> Value:
    if name == "escalate":
        return (text or "").strip().lower() in _TRUE
    return text or None


def routed_values(current: Routing, history: Sequence[HistoryChange]) -> Routing:
    """What the rules decided at creation, from the ticket as it is now and its history (oldest first)."""
    values: dict[str, Value] = {name: current.get(name) for name in FIELDS}
    unwound: set[str] = set()
    for event in history:
        name = _EVENT_FIELDS.get(event.field_name or "")
        if name is None:
            continue
        if event.action == "routed":
            # The router's own record: exactly what the rules chose.
            values[name] = _event_value(name, event.new_value)
            unwound.add(name)
        elif event.action != "created" and name not in unwound:
            values[name] = _event_value(name, event.old_value)
            unwound.add(name)
    return Routing(
        department=str(values["department"]),
        product=values["product"] if isinstance(values["product"], str) else None,
        severity=str(values["severity"]),
        escalate=bool(values["escalate"]),
    )


@dataclass(frozen=True)
class Change:
    """One field of one ticket the candidate rules would decide differently."""

    reference: str
    field: str
    old: Value
    new: Value
    decided_by: str | None
    """The candidate rule that decided the new value, or `default`, `detected`,
    `product` (see `Decision.decided_by`); None when nothing did (no product, no escalation)."""
    why: str
    """`decided_by` in words, e.g. `rule "billing"` or `default route`."""
    by_hand: Value = None
    """The ticket's current value when a person changed it after routing, else None."""
    agrees_with_hand: bool = False

    def as_dict(self) -> dict[str, object]:
        return {
            "reference": self.reference,
            "old": self.old,
            "new": self.new,
            "decided_by": self.decided_by,
            "why": self.why,
            "changed_by_hand_to": self.by_hand,
            "agrees_with_hand_change": self.agrees_with_hand,
        }


def why(decision: Decision, name: str) -> str:
    """Which candidate rule (or which fallback) decided a field, in words."""
    by = decision.decided_by.get(name)
    if by is None:
        return {"product": "no product named", "escalate": "no rule escalates"}.get(name, "-")
    if by == BY_DEFAULT:
        return "default route" if name == "department" else "the default in the rules file"
    if by == BY_DETECTION:
        return "detected from the mail's words"
    if by == BY_PRODUCT:
        return f"owner of product {decision.product}"
    return f'rule "{by}"'


def compare(reference: str, routed: Routing, current: Routing, decision: Decision) -> list[Change]:
    """The fields `decision` decides differently from `routed`, with who decided them."""
    new = Routing.of(decision)
    changes = []
    for name in FIELDS:
        old_value, new_value, now_value = routed.get(name), new.get(name), current.get(name)
        if old_value == new_value:
            continue
        by_hand = now_value if now_value != old_value else None
        changes.append(
            Change(
                reference=reference,
                field=name,
                old=old_value,
                new=new_value,
                decided_by=decision.decided_by.get(name),
                why=why(decision, name),
                by_hand=by_hand,
                agrees_with_hand=by_hand is not None and by_hand == new_value,
            )
        )
    return changes


@dataclass
class ReplayReport:
    """How many examined tickets would change, per field, with the first few examples."""

    example_limit: int
    examined: int = 0
    unchanged: int = 0
    changed_by_hand: int = 0
    """Tickets whose current values differ from what the rules decided then."""
    agree_with_hand: int = 0
    """Proposed changes that match a later change made by a person."""
    skipped: Counter[str] = field(default_factory=Counter)
    changed: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[Change]] = field(default_factory=lambda: {name: [] for name in FIELDS})
    routed_by: Counter[str] = field(default_factory=Counter)
    """Rules versions that routed the examined tickets, with how many each."""

    def record(self, routed: Routing, current: Routing, changes: Sequence[Change], version: str) -> None:
        self.examined += 1
        self.routed_by[version or "unknown"] += 1
        if routed != current:
            self.changed_by_hand += 1
        if not changes:
            self.unchanged += 1
        for change in changes:
            self.changed[change.field] += 1
            self.agree_with_hand += change.agrees_with_hand
            if len(self.examples[change.field]) < self.example_limit:
                self.examples[change.field].append(change)

    def as_dict(self) -> dict[str, object]:
        return {
            "examined": self.examined,
            "unchanged": self.unchanged,
            "changed_by_hand": self.changed_by_hand,
            "agree_with_hand_change": self.agree_with_hand,
            "skipped": dict(self.skipped),
            "changes": {
                name: {
                    "count": self.changed[name],
                    "examples": [change.as_dict() for change in self.examples[name]],
                }
                for name in FIELDS
            },
            "routed_by_rules_versions": dict(self.routed_by),
        }


# ---------------------------------------------------------------------------
# Reading past complaints, and replaying them.
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PastComplaint:
    """A past ticket: how it was routed, how it is now, and the mail that created it."""

    reference: str
    raw: bytes | None
    routed: Routing
    current: Routing
    rules_version: str
    context: RouteContext


def past_complaints(
    engine: Engine, since: datetime, until: datetime | None, *, batch_size: int = 200
) -> Iterator[PastComplaint]:
    """Tickets received in [since, until), oldest first, read in short batches."""
    last_id = 0
    while True:
        with Session(engine) as session:
            statement = select(Ticket).where(col(Ticket.id) > last_id, col(Ticket.received_at) >= since)
            if until is not None:
                statement = statement.where(col(Ticket.received_at) < until)
            batch = list(session.execute(statement.order_by(col(Ticket.id)).limit(batch_size)).scalars())
            if not batch:
                return
            last_id = batch[-1].id or last_id
            yield from _load_batch(session, batch)


def _load_batch(session: Session, tickets: list[Ticket]) -> Iterator[PastComplaint]:
    ids = [ticket.id for ticket in tickets]
    first_mail = (
        select(func.min(InboundMessage.id))
        .where(col(InboundMessage.ticket_id).in_(ids), col(InboundMessage.state) == InboundState.PROCESSED)
        .group_by(col(InboundMessage.ticket_id))
    )
    mails = select(col(InboundMessage.ticket_id), col(InboundMessage.raw)).where(
        col(InboundMessage.id).in_(first_mail)
    )
    raws = {ticket_id: raw for ticket_id, raw in session.execute(mails)}
    history: dict[int, list[HistoryChange]] = {}
    events = select(TicketEvent).where(
        col(TicketEvent.ticket_id).in_(ids), col(TicketEvent.field_name).in_(list(_EVENT_FIELDS))
    )
    for event in session.execute(events.order_by(col(TicketEvent.id))).scalars():
        history.setdefault(event.ticket_id, []).append(
            HistoryChange(event.action, event.field_name, event.old_value, event.new_value)
        )
    prior = _prior_complaints(session, tickets)
    for ticket in tickets:
        assert ticket.id is not None
        current = Routing.of_ticket(ticket)
        yield PastComplaint(
            reference=ticket.reference,
            raw=raws.get(ticket.id) if ticket.origin == "email" else None,
            routed=routed_values(current, history.get(ticket.id, [])),
            current=current,
            rules_version=ticket.rules_version,
            context=RouteContext(now=ticket.created_at, prior_complaints=prior.get(ticket.id, ())),
        )


def _prior_complaints(session: Session, tickets: list[Ticket]) -> dict[int, tuple[datetime, ...]]:
    """Per ticket, the received times of the same sender's tickets that existed when it was routed."""
    emails = {ticket.customer_email for ticket in tickets}
    earliest = min(ticket.created_at for ticket in tickets) - HISTORY_WINDOW
    rows = session.execute(
        select(col(Ticket.id), col(Ticket.customer_email), col(Ticket.received_at)).where(
            col(Ticket.customer_email).in_(emails),
            col(Ticket.id) < max(ticket.id or 0 for ticket in tickets),
            col(Ticket.received_at) >= earliest,
        )
    )
    by_sender: dict[str, list[tuple[int, datetime]]] = {}
    for ticket_id, email, received in rows:
        by_sender.setdefault(email, []).append((ticket_id, received))
    found: dict[int, tuple[datetime, ...]] = {}
    for ticket in tickets:
        assert ticket.id is not None
        # The pipeline counts the tickets in the store at routing time: those
        # created before this one, within its history window.
        start = ticket.created_at - HISTORY_WINDOW
        found[ticket.id] = tuple(
            received
            for other_id, received in by_sender.get(ticket.customer_email, [])
            if other_id < ticket.id and received >= start
        )
    return found


@dataclass(frozen=True)
class SenderHistory:
    """The context to route a mail in, and the ticket it already made (if it is in the database)."""

    context: RouteContext
    ticket_reference: str | None


def sender_history(session: Session, sender: str, message_id: str, now: datetime) -> SenderHistory:
    """The sender's earlier complaints, as the pipeline would count them.

    A mail that is already in the database (its Message-ID made a ticket) is
    seen as when its ticket was routed: only the sender's tickets created
    before that one count, or it would count itself. Any other mail is seen
    as if it arrived `now`.
    """
    made = session.execute(
        select(Ticket)
        .join(InboundMessage, col(InboundMessage.ticket_id) == col(Ticket.id))
        .where(
            col(InboundMessage.message_id) == message_id, col(InboundMessage.state) == InboundState.PROCESSED
        )
        .order_by(col(Ticket.id))
        .limit(1)
    ).scalar_one_or_none()
    statement = select(col(Ticket.received_at)).where(col(Ticket.customer_email) == sender)
    if made is not None:
        now = made.created_at
        statement = statement.where(col(Ticket.id) < made.id)
    statement = statement.where(col(Ticket.received_at) >= now - HISTORY_WINDOW)
    prior = tuple(session.execute(statement.order_by(col(Ticket.received_at))).scalars())
    return SenderHistory(RouteContext(now=now, prior_complaints=prior), made.reference if made else None)


def replay(
    complaints: Iterable[PastComplaint], rules: Rules, *, own_addresses: Sequence[str], examples: int
) -> ReplayReport:
    """Route each past complaint's mail under `rules` and compare with how it was routed."""
    report = ReplayReport(example_limit=examples)
    for past in complaints:
        if past.raw is None:
            report.skipped["no original mail stored"] += 1
            continue
        mail = _parse(past.raw, own_addresses)
        if mail is None:
            report.skipped["original mail cannot be parsed"] += 1
            continue
        decision = route(mail, rules, past.context)
        report.record(
            past.routed,
            past.current,
            compare(past.reference, past.routed, past.current, decision),
            past.rules_version,
        )
    return report


def _parse(raw: bytes, own_addresses: Sequence[str]) -> InboundMail | None:
    try:
        return parse(raw, own_addresses=own_addresses)
    except Exception:
        # The pipeline parsed this mail once, so this is not expected; one mail
        # must still not end a replay over thousands.
        return None
