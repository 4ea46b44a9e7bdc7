"""Recap rows into tickets: exactly one ticket per branch, month and row, however often it is sent.

This module owns the idempotency of recap imports. Each good row has a key
(`RecapRow.row_key`: the branch's own row number, else a hash of date,
customer and description) that is unique per branch and month in
`RecapRowLink`. A row seen for the first time creates a ticket; a row seen
again with the same content changes nothing; a corrected row updates its
ticket field by field, each change a `TicketEvent` with old and new value.
Only the fields the branch changed since its last file are written, so a
re-sent recap never undoes what head office did to the ticket meanwhile.
Each `ImportedRow` says whether its row is the owning department's to work
(`for_department`), for the department notice (`daemon.recap.notice`).

What a recap ticket looks like:

* `origin` is `branch:<id>`, `channel` the row's channel, `received_at` the
  row's date (midnight, local time), status from the row (`baru` -> new,
  `proses` -> in_progress, `selesai` -> resolved);
* a complaint the branch resolved itself is `resolved` with `completed_at`
  and `closed_by = branch:<id>`; one resolved by head office keeps
  `closed_by` empty, since the recap does not say who;
* its due dates count from the row's date when the row is resolved, and from
  the import when it is still open (`RowFields.sla_start`): head office hears
  of an open row only now, and it must not be overdue the moment it arrives.
  `received_at` stays the row's date, so the monthly report still places the
  complaint in its month;
* `department` is always the owning department, chosen by
  `daemon.route.router.route` on a synthetic mail built from the row
  (`daemon.recap.routing`; subject: product and description), exactly as for
  a mailed complaint. The row's product, when given, beats product
  detection: a department no rule chose is that product's. Keeping
  `department` a real department (not `branch:<id>`) keeps every report and
  reply command working on recap tickets; that the branch handled it is
  what `origin` and `closed_by` say.

The fields a row decides are `daemon.recap.fields`'s, the links' queries
`daemon.recap.links`'s. Nothing here parses or renders; the caller owns the
transaction.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from sqlalchemy import insert
from sqlmodel import Session

from daemon.recap.fields import RowFields, fingerprint, for_department, serial
from daemon.recap.links import claim_links, existing_links, linked_references
from daemon.recap.routing import department_for, row_mail, row_message_id
from daemon.recap.rows import RecapRow
from daemon.route.decision import Decision, RouteContext, explain
from daemon.route.router import route
from daemon.route.rules import Branch, Rules
from daemon.sla.policy import TargetKey
from daemon.sla.stamping import due_values
from daemon.store import numbers, queries
from daemon.store.models import RecapFile, RecapRowLink, Ticket, TicketEvent
from daemon.store.vocabulary import Action

JAKARTA = ZoneInfo("Asia/Jakarta")
HISTORY_WINDOW = timedelta(days=365)
CHANGE_ACTION = "recap-update"
_ROUTING_INPUTS = ("subject", "description")
"""Fields whose change sends a row through the router again (the subject names the product)."""


@dataclass(frozen=True, slots=True)
class ImportTerms:
    """What a recap is imported under: the rules in force, the clock, the reference prefix, the zone."""

    rules: Rules
    clock: Callable[[], datetime]
    reference_prefix: str
    """Ticket references are `<prefix>-<year>-<number>`, as for mailed complaints."""
    zone: tzinfo = JAKARTA
    """The zone a row's dates are midnight in."""


@dataclass(frozen=True, slots=True)
class ImportedRow:
    """What became of one good row: its ticket, and which fields changed (on update)."""

    sheet: str
    row: int
    ticket_id: int
    reference: str
    changes: tuple[str, ...] = ()
    for_department: bool = False
    """The row is new or changed, handled by head office and still open: the department's to work."""


@dataclass(frozen=True)
class ImportSummary:
    """The good rows of one file by what became of them."""

    created: tuple[ImportedRow, ...]
    updated: tuple[ImportedRow, ...]
    unchanged: tuple[ImportedRow, ...]


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One ticket field in a history entry: its name, and its value before and after (serialised)."""

    name: str
    old: str | None
    new: str | None


def import_rows(
    session: Session,
    rows: Sequence[RecapRow],
    *,
    branch: Branch,
    recap_file: RecapFile,
    terms: ImportTerms,
) -> ImportSummary:
    """Create or update the tickets of `rows` (all good, all of `branch` and the file's month).

    `recap_file` is flushed first, with its month set: links point at it.
    Rows are handled in bulk (one insert of new keys, one reservation of
    ticket numbers, one flush of new tickets): a 5,000-row recap is a few
    dozen statements, not tens of thousands.
    """
    assert recap_file.id is not None, "the recap file is flushed first: links point at it"
    keys = [row.row_key for row in rows]
    if len(set(keys)) != len(keys):
        raise ValueError("rows repeat a row key; validate_rows reports those as problems")
    importer = _Importer(session, branch, recap_file, terms)
    links = importer.links(rows)
    fresh = [row for row in rows if links[row.row_key].ticket_id is None]
    created = importer.create(fresh, links)
    updated, unchanged = importer.update_known(rows, links, {row.row_key for row in fresh})
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
    """One import: the branch, month and file it is for, and the terms it runs under."""

    def __init__(self, session: Session, branch: Branch, recap_file: RecapFile, terms: ImportTerms) -> None:
        self.session = session
        self.branch = branch
        self.month = recap_file.month
        self.recap_file = recap_file
        self.rules = terms.rules
        self.clock = terms.clock
        self.reference_prefix = terms.reference_prefix
        self.fields = RowFields(branch, terms.rules, terms.zone)
        self.origin = self.fields.origin
        self.events: list[dict[str, object]] = []
        """History entries not yet written; `write_events` inserts them in one go."""

    def links(self, rows: Sequence[RecapRow]) -> dict[str, RecapRowLink]:
        """The link of every row, claiming those of keys the month has not seen."""
        links = existing_links(self.session, self.branch.id, self.month)
        new_keys = [row for row in rows if row.row_key not in links]
        if new_keys:
            links = claim_links(self.session, self.branch.id, self.month, new_keys, self.clock())
        return links

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
            created_reason = self.created_reason(row)
            self.event(
                ticket_id, self.entry(Action.CREATED, FieldChange("status", None, row.status), created_reason)
            )
            reason = f"rules {self.rules.version}: " + "; ".join(explain(plan.decision))
            routed = self.entry(
                Action.ROUTED, FieldChange("department", None, department), reason, "caredesk"
            )
            # The decision as data, as on the ticket of a mail.
            self.event(ticket_id, dataclasses.replace(routed, data=plan.decision.as_dict()))
            self.remember(links[row.row_key], ticket_id, row, plan.values)
            reference = str(plan.record["reference"])
            created.append(
                ImportedRow(row.sheet, row.row, ticket_id, reference, for_department=for_department(row))
            )
        return created

    def plan(self, row: RecapRow, reference: str, now: datetime) -> _Planned:
        """The new ticket's columns for `row`, the routing decision, and what the row itself said."""
        values = self.fields.values(row)
        decision = self.route(row, values)
        values["department"] = department_for(row, decision, self.rules)
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
        record |= due_values(
            self.fields.sla_start(row, now),
            TargetKey(severity, str(values["department"]), decision.sla_class),
            self.rules,
            origin=self.origin,
            timezone=str(self.fields.zone),
        )
        return _Planned(row, record, decision, values)

    def reserve_references(self, rows: Sequence[RecapRow]) -> list[str]:
        """One ticket reference per row, numbered in the year of the row's date.

        The same numbers as `daemon.store.queries.next_reference` (`daemon.store.numbers`),
        reserved once per year for all its rows instead of once per row.
        """
        years = Counter(row.received.year for row in rows)
        reserved = {
            year: iter(numbers.reserve(self.session, f"{self.reference_prefix}-{year}", count))
            for year, count in years.items()
        }
        return [
            f"{self.reference_prefix}-{row.received.year}-{next(reserved[row.received.year]):06d}"
            for row in rows
        ]

    def created_reason(self, row: RecapRow) -> str:
        where = self.where(row)
        if row.status == "resolved" and row.handled_by == "branch":
            done = row.completed.isoformat() if row.completed else "an unstated date"
            return f"{where}; resolved by {self.branch.name} on {done}"
        if row.status != "resolved":
            return f"{where}; received {row.received.isoformat()}, service levels count from the import"
        return where

    def where(self, row: RecapRow) -> str:
        return (
            f"{self.month} recap of {self.branch.name}, {self.recap_file.filename!r} "
            f"sheet {row.sheet!r} row {row.row}"
        )

    # -- updating -------------------------------------------------------------

    def update_known(
        self, rows: Sequence[RecapRow], links: Mapping[str, RecapRowLink], fresh_keys: set[str]
    ) -> tuple[list[ImportedRow], list[ImportedRow]]:
        """Update the tickets of rows seen before (not those just created): (updated, unchanged)."""
        updated: list[ImportedRow] = []
        unchanged: list[ImportedRow] = []
        references = linked_references(self.session, self.branch.id, self.month)
        for row in rows:
            link = links[row.row_key]
            if link.ticket_id is None or row.row_key in fresh_keys:
                continue
            outcome = self.update(row, link, references[link.ticket_id])
            (updated if outcome.changes else unchanged).append(outcome)
        return updated, unchanged

    def update(self, row: RecapRow, link: RecapRowLink, reference: str) -> ImportedRow:
        assert link.ticket_id is not None
        if link.fingerprint == fingerprint(row):
            return ImportedRow(row.sheet, row.row, link.ticket_id, reference)
        ticket = self.session.get(Ticket, link.ticket_id)
        assert ticket is not None and ticket.id is not None
        before: dict[str, str | None] = json.loads(link.row_values)
        values = self.fields.values(row)
        # Route again only when what routing reads changed; otherwise a
        # corrected phone number could move a ticket head office reassigned.
        wanted = values
        if any(serial(values[name]) != before.get(name) for name in _ROUTING_INPUTS):
            decision = self.route(row, values)
            values["department"] = department_for(row, decision, self.rules)
            values["product"] = row.product or decision.product
            # As on creation, a rule's major beats the branch's minor on the
            # ticket, while the link keeps the branch's own word.
            if decision.severity == "major":
                wanted = {**values, "severity": "major"}
        changes = self.apply(ticket, row, wanted, before)
        self.remember(link, ticket.id, row, values, before)
        return ImportedRow(
            row.sheet, row.row, ticket.id, ticket.reference, tuple(changes), for_department(row)
        )

    def apply(
        self, ticket: Ticket, row: RecapRow, values: Mapping[str, object], before: Mapping[str, str | None]
    ) -> list[str]:
        """Write the fields the branch changed since its last file; one history entry each."""
        assert ticket.id is not None
        changes: list[str] = []
        reason = f"corrected in the {self.where(row)}"
        for name, value in values.items():
            if before.get(name) == serial(value):
                continue  # the branch did not change it: leave head office's value alone
            current = getattr(ticket, name)
            if serial(current) == serial(value):
                continue
            setattr(ticket, name, value)
            self.event(
                ticket.id,
                self.entry(CHANGE_ACTION, FieldChange(name, serial(current), serial(value)), reason),
            )
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
        applied.update({name: serial(value) for name, value in values.items()})
        link.ticket_id = ticket_id
        link.recap_file_id = self.recap_file.id
        link.sheet, link.row = row.sheet[:255], row.row
        link.row_values = json.dumps(applied, sort_keys=True, ensure_ascii=False)
        link.fingerprint = fingerprint(row)
        link.updated_at = self.clock()
        self.session.add(link)

    # -- history --------------------------------------------------------------

    def event(self, ticket_id: int, entry: queries.History) -> None:
        """Queue one history entry, as `daemon.store.queries.add_event` would write it.

        A recap makes thousands of entries at once; one executemany INSERT
        instead of an ORM object each is what keeps a 5,000-row import fast.
        """
        self.events.append({"ticket_id": ticket_id, **dataclasses.asdict(entry)})

    def entry(
        self, action: str, change: FieldChange, reason: str, actor: str | None = None
    ) -> queries.History:
        """A history entry of this recap file: by its branch unless `actor` says otherwise."""
        return queries.History(
            actor=actor or self.origin,
            action=action,
            at=self.clock(),
            reason=reason,
            field_name=change.name,
            old_value=change.old,
            new_value=change.new,
            inbound_id=self.recap_file.inbound_id,
        )

    def write_events(self) -> None:
        if self.events:
            self.session.connection().execute(insert(TicketEvent.__table__), self.events)  # type: ignore[attr-defined]
            self.events = []

    # -- routing --------------------------------------------------------------

    def route(self, row: RecapRow, values: Mapping[str, object]) -> Decision:
        """Route `row` as the mail it would have been, with the customer's complaints of the past year."""
        received_at = self.fields.local_midnight(row.received)
        mail = row_mail(
            row,
            message_id=row_message_id(self.branch.id, self.month, row),
            subject=str(values["subject"]),
            received_at=received_at,
        )
        prior: tuple[datetime, ...] = ()
        if row.pic_email:
            prior = queries.prior_complaint_times(self.session, row.pic_email, received_at - HISTORY_WINDOW)
        return route(mail, self.rules, RouteContext(now=received_at, prior_complaints=prior))
