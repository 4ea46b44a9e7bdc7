"""The management-review summary (DOMAIN.md §10): the complaints resolved in a quarter.

For the quality management representative: how many complaints were
resolved in the quarter and where they came from, how long they took in
working days, how many met their service levels, the root causes and
corrective actions, and whether the actions were judged effective. A
complaint belongs to the quarter in which it was completed (its
`completed_at`, local time), whenever it was received.

`build_review` counts in the database (`daemon.report.query`) and reads the
list of resolved complaints only when an output goes through it, a batch at a
time; `compile_review` makes the same from tickets in memory (the unit tests).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlmodel import Session, col

from daemon.report import labels, query
from daemon.report.periods import AsOf, Quarter
from daemon.report.rows import (
    EFFECTIVENESS_ORDER,
    Compliance,
    Count,
    Cube,
    RegisterRow,
    Rows,
    StreamedRows,
    compliance,
    count_by,
    cube_of,
    effectiveness_kinds,
    register_row,
    register_row_of,
    tally,
)
from daemon.route.rules import Rules
from daemon.sla.calendar import WorkCalendar
from daemon.sla.stamping import CLOSED_STATUSES, calendar_for
from daemon.store.models import Ticket

NO_CATEGORY = "(tanpa kategori / no category)"


class WorkingDays:
    """Working days from receipt to completion on the rules' calendar; each pair of days counted once."""

    def __init__(self, calendar: WorkCalendar) -> None:
        self._calendar = calendar
        self._known: dict[tuple[date, date], int] = {}

    def between(self, received: datetime, completed: datetime | None) -> int | None:
        if completed is None:
            return None
        days = (self._calendar.local_date(received), self._calendar.local_date(completed))
        found = self._known.get(days)
        if found is None:
            found = self._known[days] = self._calendar.working_days_between(received, completed)
        return found


@dataclass(frozen=True, slots=True)
class DaySummary:
    """How long the resolved complaints took, in working days."""

    mean: float | None
    median: float | None
    longest: int | None

    @classmethod
    def of(cls, days: Iterable[int]) -> DaySummary:
        found = list(days)
        if not found:
            return cls(None, None, None)
        return cls(round(statistics.fmean(found), 1), float(statistics.median(found)), max(found))


@dataclass(frozen=True)
class ReviewReport:
    quarter: Quarter
    generated_at: datetime
    timezone: str
    resolved: Rows
    days: DaySummary
    by_department: tuple[Count, ...]
    by_product: tuple[Count, ...]
    by_severity: tuple[Count, ...]
    by_category: tuple[Count, ...]
    by_channel: tuple[Count, ...]
    effectiveness: tuple[Count, ...]
    compliance: Compliance
    received: int
    """Complaints received in the quarter, resolved or not."""
    still_open: int
    """Of those, how many are still open at `generated_at`."""
    counter: WorkingDays = field(compare=False, repr=False)

    @property
    def total(self) -> int:
        return len(self.resolved)

    def working_days(self, row: RegisterRow) -> int | None:
        """The working days from `row`'s receipt to its completion."""
        return self.counter.between(row.received, row.completed)

    @property
    def mean_working_days(self) -> float | None:
        return self.days.mean

    @property
    def median_working_days(self) -> float | None:
        return self.days.median

    @property
    def longest_working_days(self) -> int | None:
        return self.days.longest


@dataclass(frozen=True)
class QuarterTickets:
    """What a quarter's review is made from, as `build_review` chooses it."""

    resolved: Iterable[Ticket]
    """Completed in the quarter (and resolved or closed), whenever received."""
    received: int
    """How many complaints were received in the quarter, resolved or not."""
    still_open: int
    """Of those, how many are not resolved at the review's moment."""


def build_review(session: Session, rules: Rules, quarter: Quarter, as_of: AsOf) -> ReviewReport:
    """The review of `quarter` from the database, as of `as_of`; render it while `session` is open."""
    now, zone = as_of.now, as_of.zone
    start, end = quarter.bounds(zone)
    received_at, completed_at = col(Ticket.received_at), col(Ticket.completed_at)
    resolved = [col(Ticket.status).in_(CLOSED_STATUSES), completed_at >= start, completed_at < end]
    cube = query.cube(session, resolved, now, by_category=True)
    counter = WorkingDays(calendar_for(rules, as_of.timezone))
    days = DaySummary.of(
        counter.between(first, last) or 0
        for first, last in query.moments(session, received_at, completed_at, resolved)
    )
    in_quarter = [received_at >= start, received_at < end]
    received = query.count(session, in_quarter)
    still_open = query.count(session, [*in_quarter, query.still_open()])

    def read() -> Iterator[RegisterRow]:
        for values in query.ticket_rows(session, resolved, (completed_at, col(Ticket.id))):
            yield register_row_of(values, rules, zone, now)

    return _assemble(
        quarter,
        rules,
        as_of,
        cube,
        resolved=StreamedRows(sum(cube.values()), read),
        days=days,
        evaluations=effectiveness_kinds(query.texts(session, col(Ticket.effectiveness), resolved)),
        received=received,
        still_open=still_open,
        counter=counter,
    )


def compile_review(quarter: Quarter, rules: Rules, as_of: AsOf, tickets: QuarterTickets) -> ReviewReport:
    """The review from what `build_review` chose; pure."""
    now, zone = as_of.now, as_of.zone
    counter = WorkingDays(calendar_for(rules, as_of.timezone))
    rows = tuple(register_row(ticket, rules, zone, now) for ticket in tickets.resolved)
    days = (counter.between(row.received, row.completed) for row in rows if row.completed is not None)
    return _assemble(
        quarter,
        rules,
        as_of,
        cube_of(rows),
        resolved=rows,
        days=DaySummary.of(day for day in days if day is not None),
        evaluations=effectiveness_kinds(tally_texts(row.effectiveness for row in rows)),
        received=int(tickets.received),
        still_open=int(tickets.still_open),
        counter=counter,
    )


def tally_texts(texts: Iterable[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for text in texts:
        found[text] = found.get(text, 0) + 1
    return found


def _assemble(  # noqa: PLR0913  (the parts of a review, each named)
    quarter: Quarter,
    rules: Rules,
    as_of: AsOf,
    cube: Cube,
    *,
    resolved: Rows,
    days: DaySummary,
    evaluations: Mapping[str, int],
    received: int,
    still_open: int,
    counter: WorkingDays,
) -> ReviewReport:
    departments = {d.id: d.name for d in rules.departments.values()}
    products = {p.id: p.name for p in rules.products.values()}
    return ReviewReport(
        quarter=quarter,
        generated_at=as_of.local_now,
        timezone=as_of.timezone,
        resolved=resolved,
        days=days,
        by_department=count_by(tally(cube, "department"), departments),
        by_product=count_by(tally(cube, "product"), {**products, "": labels.NO_PRODUCT}),
        by_severity=count_by(tally(cube, "severity"), labels.SEVERITIES, ("major", "minor")),
        by_category=count_by(tally(cube, "category"), {"": NO_CATEGORY}),
        by_channel=count_by(tally(cube, "channel"), labels.CHANNELS),
        effectiveness=count_by(evaluations, labels.EFFECTIVENESS, EFFECTIVENESS_ORDER),
        compliance=compliance("all", "Semua / all", cube),
        received=received,
        still_open=still_open,
        counter=counter,
    )
