"""Recap rows into tickets: exactly one ticket per branch, month and row, however often it is sent.

This module owns the idempotency of recap imports. Each good row has a key
(`RecapRow.row_key`: the branch's own row number, else a hash of date,
customer and description) that is unique per branch and month in
`RecapRowLink`. A row seen for the first time creates a ticket; a row seen
again with the same content changes nothing; a corrected row updates its
ticket field by field, each change a `TicketEvent` with old and new value.
Only the fields the branch changed since its last file are written, so a
re-sent recap never undoes what head office did to the ticket meanwhile.

What a recap ticket looks like:

* `origin` is `branch:<id>`, `channel` the row's channel, `received_at` the
  row's date (midnight, local time), status from the row (`baru` -> new,
  `proses` -> in_progress, `selesai` -> resolved);
* a complaint the branch resolved itself is `resolved` with `completed_at`
  and `closed_by = branch:<id>`; one resolved by head office keeps
  `closed_by` empty, since the recap does not say who;
* `department` is always the owning department, chosen by `daemon.route.router.route`
  on a synthetic mail built from the row (subject: product and description),
  exactly as for a mailed complaint. The row's product, when given, beats
  product detection: a department no rule chose is that product's. Keeping
  `department` a real department (not `branch:<id>`) keeps every report and
  reply command working on recap tickets; that the branch handled it is
  what `origin` and `closed_by` say.

Nothing here parses or renders; the caller owns the transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from daemon.parse.message import Contact, InboundMail
from daemon.recap.validate import RecapRow
from daemon.route.router import BY_DEFAULT, BY_DETECTION, BY_PRODUCT, Decision, RouteContext, explain, route
from daemon.route.rules import Branch, Rules
from daemon.sla.stamping import due_values
from daemon.store import queries
from daemon.store.models import RecapFile, RecapRowLink, ReferenceCounter, Ticket, TicketEvent

JAKARTA = ZoneInfo("Asia/Jakarta")
HISTORY_WINDOW = timedelta(days=365)
ACTOR_PREFIX = "branch:"
CHANGE_ACTION = "recap-update"
_ROUTING_INPUTS = ("subject", "description")
"""Fields whose change sends a row through the router again (the subject names the product)."""


@dataclass(frozen=True, slots=True)
class ImportedRow:
    """What became of one good row: its ticket, and which fields changed (on update)."""

    sheet: str
    row: int
    ticket_id: int
    reference: str
    changes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImportSummary:
    created: tuple[ImportedRow, ...]
    updated: tuple[ImportedRow, ...]
    unchanged: tuple[ImportedRow, ...]


def origin_of(branch: Branch) -> str:
    return f"{ACTOR_PREFIX}{branch.id}"


def import_rows(
    session: Session,
    *,
    branch: Branch,
    month: str,
    rows: Sequence[RecapRow],
    recap_file: RecapFile,
    rules: Rules,
    clock: Callable[[], datetime],
    reference_prefix: str,
    zone: tzinfo = JAKARTA,
) -> ImportSummary:
    """Create or update the tickets of `rows` (all good, all of `branch` and `month`).

    Rows are handled in bulk (one insert of new keys, one reservation of
    ticket numbers, one flush of new tickets): a 5,000-row recap is a few
    dozen statements, not tens of thousands.
    """
    assert recap_file.id is not None, "the recap file is flushed first: links point at it"
    keys = [row.row_key for row in rows]
    if len(set(keys)) != len(keys):
        raise ValueError("rows repeat a row key; validate_rows reports those as problems")
    importer = _Importer(session, branch, month, recap_file, rules, clock, reference_prefix, zone)
    links = importer.existing_links()
    new_keys = [row for row in rows if row.row_key not in links]
    if new_keys:
        links = importer.claim(new_keys)
    fresh = [row for row in rows if links[row.row_key].ticket_id is None]
    fresh_keys = {row.row_key for row in fresh}
    created = importer.create(fresh, links)
    updated: list[ImportedRow] = []
    unchanged: list[ImportedRow] = []
    references = importer.references(links)
    for row in rows:
        link = links[row.row_key]
        if link.ticket_id is None or row.row_key in fresh_keys:
            continue
        outcome = importer.update(row, link, references[link.ticket_id])
        (updated if outcome.changes else unchanged).append(outcome)
    session.flush()
    importer.write_events()
    return ImportSummary(tuple(created), tuple(updated), tuple(unchanged))


@dataclass(frozen=True, slots=True)
class _Planned:
    row: RecapRow
    record: dict[str, object]
    """Every column of the new ticket."""
    decision: Decision
    values: dict[str, object]
    """What the row says (severity as the branch wrote it), for the link."""


class _Importer:
    """One import: the branch, month and file it is for, and the clock it runs by."""

    def __init__(
        self,
        session: Session,
        branch: Branch,
        month: str,
        recap_file: RecapFile,
        rules: Rules,
        clock: Callable[[], datetime],
        reference_prefix: str,
        zone: tzinfo,
    ) -> None:
        self.session = session
        self.branch = branch
        self.month = month
        self.recap_file = recap_file
        self.rules = rules
        self.clock = clock
        self.reference_prefix = reference_prefix
        self.zone = zone
        self.origin = origin_of(branch)
        self.events: list[dict[str, object]] = []
        """History entries not yet written; `write_events` inserts them in one go."""

    def existing_links(self) -> dict[str, RecapRowLink]:
        statement = select(RecapRowLink).where(
            col(RecapRowLink.branch) == self.branch.id, col(RecapRowLink.month) == self.month
        )
        return {link.row_key: link for link in self.session.execute(statement).scalars()}

    def references(self, links: Mapping[str, RecapRowLink]) -> dict[int, str]:
        """Ticket id -> reference, for every ticket this branch's month already has."""
        statement = (
            select(col(Ticket.id), col(Ticket.reference))
            .join(RecapRowLink, col(RecapRowLink.ticket_id) == col(Ticket.id))
            .where(col(RecapRowLink.branch) == self.branch.id, col(RecapRowLink.month) == self.month)
        )
        return {ticket_id: reference for ticket_id, reference in self.session.execute(statement).all()}

    def claim(self, rows: Sequence[RecapRow]) -> dict[str, RecapRowLink]:
        """Insert links for keys not seen before; every link of the month, afterwards.

        ON CONFLICT DO NOTHING: if another daemon claimed a key first, this
        insert waits for it (PostgreSQL) or runs after it (SQLite), and its
        link, with its ticket, is used: the row updates that ticket instead
        of making a second one.
        """
        now = self.clock()
        dialect = self.session.get_bind().dialect.name
        upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = upsert(RecapRowLink.__table__).on_conflict_do_nothing(  # type: ignore[attr-defined]
            index_elements=["branch", "month", "row_key"]
        )
        values = [
            {
                "branch": self.branch.id,
                "month": self.month,
                "row_key": row.row_key,
                "sheet": row.sheet[:255],
                "row": row.row,
                "fingerprint": "",
                "row_values": "{}",
                "created_at": now,
                "updated_at": now,
            }
            for row in rows
        ]
        self.session.connection().execute(statement, values)
        return self.existing_links()

    # -- creating -------------------------------------------------------------

    def create(self, rows: Sequence[RecapRow], links: Mapping[str, RecapRowLink]) -> list[ImportedRow]:
        """New tickets for `rows`, inserted together, each with its history and link.

        One executemany INSERT ... RETURNING id rather than an ORM object per
        ticket: building thousands of ORM objects costs more than the database does.
        """
        if not rows:
            return []
        now = self.clock()
        references = self.reserve_references(rows)
        planned = [self.plan(row, reference, now) for row, reference in zip(rows, references, strict=True)]
        table = Ticket.__table__  # type: ignore[attr-defined]
        statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        records = [plan.record for plan in planned]
        ids = self.session.connection().execute(statement, records).scalars().all()
        created: list[ImportedRow] = []
        for plan, ticket_id in zip(planned, ids, strict=True):
            row, department = plan.row, str(plan.record["department"])
            self.event(ticket_id, "created", "status", None, row.status, self.created_reason(row))
            reason = f"rules {self.rules.version}: " + "; ".join(explain(plan.decision))
            self.event(ticket_id, "routed", "department", None, department, reason, actor="caredesk")
            self.remember(links[row.row_key], ticket_id, row, plan.values)
            created.append(ImportedRow(row.sheet, row.row, ticket_id, str(plan.record["reference"])))
        return created

    def plan(self, row: RecapRow, reference: str, now: datetime) -> _Planned:
        """The new ticket's columns for `row`, the routing decision, and what the row itself said."""
        values = self.row_values(row)
        decision = self.route(row, values)
        values["department"] = self.department(row, decision)
        values["product"] = row.product or decision.product
        # Severity only rises: a rule that finds the complaint major (a legal
        # threat, a VIP customer) wins over the branch's minor. The link keeps
        # the branch's own word (`remember` gets `values`), so only a change by
        # the branch is applied later.
        severity = "major" if decision.severity == "major" else row.severity
        record = {
            **values,
            "reference": reference,
            "severity": severity,
            "escalated": severity == "major" or decision.escalate,
            "tags": ",".join(decision.tags),
            "sla_class": decision.sla_class,
            "origin": self.origin,
            "language": "id",
            "rules_version": self.rules.version,
            "created_at": now,
            "updated_at": now,
        }
        received_at = self.local_midnight(row.received)
        record |= due_values(
            received_at=received_at,
            severity=severity,
            department=str(values["department"]),
            sla_class=decision.sla_class,
            origin=self.origin,
            rules=self.rules,
            timezone=str(self.zone),
        )
        return _Planned(row, record, decision, values)

    def reserve_references(self, rows: Sequence[RecapRow]) -> list[str]:
        """One ticket reference per row, numbered in the year of the row's date.

        The same counter as `daemon.store.queries.next_reference`, moved once per year
        by the number of rows instead of once per row.
        """
        years = Counter(row.received.year for row in rows)
        next_number: dict[int, int] = {}
        for year, count in years.items():
            key = f"{self.reference_prefix}-{year}"
            queries.insert_ignore(self.session, ReferenceCounter, {"key": key, "value": 0}, ["key"])
            statement = (
                update(ReferenceCounter)
                .where(col(ReferenceCounter.key) == key)
                .values(value=col(ReferenceCounter.value) + count)
                .returning(col(ReferenceCounter.value))
            )
            last = int(self.session.execute(statement).scalar_one())
            next_number[year] = last - count + 1
        references: list[str] = []
        for row in rows:
            number = next_number[row.received.year]
            next_number[row.received.year] = number + 1
            references.append(f"{self.reference_prefix}-{row.received.year}-{number:06d}")
        return references

    def created_reason(self, row: RecapRow) -> str:
        where = self.where(row)
        if row.status == "resolved" and row.handled_by == "branch":
            done = row.completed.isoformat() if row.completed else "an unstated date"
            return f"{where}; resolved by {self.branch.name} on {done}"
        return where

    def where(self, row: RecapRow) -> str:
        return (
            f"{self.month} recap of {self.branch.name}, {self.recap_file.filename!r} "
            f"sheet {row.sheet!r} row {row.row}"
        )

    # -- updating -------------------------------------------------------------

    def update(self, row: RecapRow, link: RecapRowLink, reference: str) -> ImportedRow:
        assert link.ticket_id is not None
        if link.fingerprint == fingerprint(row):
            return ImportedRow(row.sheet, row.row, link.ticket_id, reference)
        ticket = self.session.get(Ticket, link.ticket_id)
        assert ticket is not None and ticket.id is not None
        before: dict[str, str | None] = json.loads(link.row_values)
        values = self.row_values(row)
        # Route again only when what routing reads changed; otherwise a
        # corrected phone number could move a ticket head office reassigned.
        wanted = values
        if any(_serial(values[name]) != before.get(name) for name in _ROUTING_INPUTS):
            decision = self.route(row, values)
            values["department"] = self.department(row, decision)
            values["product"] = row.product or decision.product
            # As on creation, a rule's major beats the branch's minor on the
            # ticket, while the link keeps the branch's own word.
            if decision.severity == "major":
                wanted = {**values, "severity": "major"}
        changes = self.apply(ticket, row, wanted, before)
        self.remember(link, ticket.id, row, values, before)
        return ImportedRow(row.sheet, row.row, ticket.id, ticket.reference, tuple(changes))

    def apply(
        self, ticket: Ticket, row: RecapRow, values: Mapping[str, object], before: Mapping[str, str | None]
    ) -> list[str]:
        """Write the fields the branch changed since its last file; one history entry each."""
        assert ticket.id is not None
        changes: list[str] = []
        reason = f"corrected in the {self.where(row)}"
        for name, value in values.items():
            if before.get(name) == _serial(value):
                continue  # the branch did not change it: leave head office's value alone
            current = getattr(ticket, name)
            if _serial(current) == _serial(value):
                continue
            setattr(ticket, name, value)
            self.event(ticket.id, CHANGE_ACTION, name, _serial(current), _serial(value), reason)
            changes.append(name)
        if changes:
            ticket.updated_at = self.clock()
            self.session.add(ticket)
        return changes

    def remember(
        self,
        link: RecapRowLink,
        ticket_id: int,
        row: RecapRow,
        values: Mapping[str, object],
        before: Mapping[str, str | None] | None = None,
    ) -> None:
        """Record on the link what the row said this time, for the next file to compare with."""
        applied = dict(before or {})
        applied.update({name: _serial(value) for name, value in values.items()})
        link.ticket_id = ticket_id
        link.recap_file_id = self.recap_file.id
        link.sheet, link.row = row.sheet[:255], row.row
        link.row_values = json.dumps(applied, sort_keys=True, ensure_ascii=False)
        link.fingerprint = fingerprint(row)
        link.updated_at = self.clock()
        self.session.add(link)

    def event(
        self,
        ticket_id: int,
        action: str,
        field_name: str,
        old: str | None,
        new: str | None,
        reason: str,
        *,
        actor: str | None = None,
    ) -> None:
        """Queue one history entry, as `daemon.store.queries.add_event` would write it.

        A recap makes thousands of entries at once; one executemany INSERT
        instead of an ORM object each is what keeps a 5,000-row import fast.
        """
        self.events.append(
            {
                "ticket_id": ticket_id,
                "at": self.clock(),
                "actor": actor or self.origin,
                "action": action,
                "field_name": field_name,
                "old_value": old,
                "new_value": new,
                "reason": reason,
                "inbound_id": self.recap_file.inbound_id,
                "outbound_id": None,
            }
        )

    def write_events(self) -> None:
        if self.events:
            self.session.connection().execute(insert(TicketEvent.__table__), self.events)  # type: ignore[attr-defined]
            self.events = []

    # -- what a row says ------------------------------------------------------

    def row_values(self, row: RecapRow) -> dict[str, object]:
        """The ticket fields a row decides (department and product are added by routing)."""
        resolved = row.status == "resolved"
        return {
            "status": row.status,
            "received_at": self.local_midnight(row.received),
            "customer_name": row.customer,
            "customer_organisation": row.organisation,
            "customer_email": row.pic_email,
            "pic_phone": row.pic_phone,
            "pic_email": row.pic_email,
            "channel": row.channel,
            "subject": self.subject(row),
            "description": row.description,
            "category": row.category or None,
            "severity": row.severity,
            "root_cause": row.root_cause or None,
            "corrective_action": row.action or None,
            "completed_at": self.local_midnight(row.completed) if resolved and row.completed else None,
            "closed_by": self.origin if resolved and row.handled_by == "branch" else None,
        }

    def subject(self, row: RecapRow) -> str:
        product = self.rules.products.get(row.product) if row.product else None
        first_line = row.description.strip().splitlines()[0] if row.description.strip() else ""
        text = f"{product.name}: {first_line}" if product else first_line
        return text[:200]

    def local_midnight(self, day: date) -> datetime:
        return datetime.combine(day, time(), tzinfo=self.zone)

    def route(self, row: RecapRow, values: Mapping[str, object]) -> Decision:
        received_at = self.local_midnight(row.received)
        mail = InboundMail(
            message_id=f"<recap.{self.branch.id}.{self.month}.{row.row_key[-16:]}@caredesk.invalid>",
            message_id_synthetic=True,
            from_address=row.pic_email,
            from_name=row.customer,
            to=(),
            cc=(),
            reply_to=(),
            return_path=None,
            subject=str(values["subject"]),
            date=received_at,
            text=row.description,
            new_text=row.description,
            content_type="text/plain",
            headers=(),
            language="id",
            contact=Contact(
                phones=(row.pic_phone,) if row.pic_phone else (),
                emails=(row.pic_email,) if row.pic_email else (),
            ),
        )
        prior: tuple[datetime, ...] = ()
        if row.pic_email:
            prior = queries.prior_complaint_times(self.session, row.pic_email, received_at - HISTORY_WINDOW)
        return route(mail, self.rules, RouteContext(now=received_at, prior_complaints=prior))

    def department(self, row: RecapRow, decision: Decision) -> str:
        """The routed department, unless no rule chose it and the row names the product."""
        chosen_by = decision.decided_by.get("department", BY_DEFAULT)
        if row.product and chosen_by in (BY_DEFAULT, BY_DETECTION, BY_PRODUCT):
            return self.rules.products[row.product].department
        return decision.department


def fingerprint(row: RecapRow) -> str:
    """What a row says, wherever it sits in the file: equal fingerprints, nothing to do."""
    content = {name: _serial(getattr(row, name)) for name in _ROW_CONTENT}
    text = json.dumps(content, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_ROW_CONTENT = tuple(name for name in RecapRow.__dataclass_fields__ if name not in ("sheet", "row"))


def _serial(value: object) -> str | None:
    """A field value as history and the link store it: ISO for times (UTC), None stays None."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
