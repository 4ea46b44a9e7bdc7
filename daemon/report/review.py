"""The management-review summary (DOMAIN.md §10): the complaints resolved in a quarter.

For the quality management representative: how many complaints were
resolved in the quarter and where they came from, how long they took in
working days, how many met their service levels, the root causes and
corrective actions, and whether the actions were judged effective. A
complaint belongs to the quarter in which it was completed (its
`completed_at`, local time), whenever it was received.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

from sqlalchemy import func, select
from sqlmodel import Session, col

from daemon.report import labels
from daemon.report.monthly import (
    EFFECTIVENESS_ORDER,
    Compliance,
    Count,
    RegisterRow,
    compliance,
    count_by,
    register_row,
)
from daemon.report.periods import AsOf, Quarter
from daemon.route.rules import Rules
from daemon.sla.stamping import CLOSED_STATUSES, calendar_for
from daemon.store.models import Ticket

NO_CATEGORY = "(tanpa kategori / no category)"


@dataclass(frozen=True)
class ReviewReport:
    quarter: Quarter
    generated_at: datetime
    timezone: str
    resolved: tuple[RegisterRow, ...]
    working_days: Mapping[str, int]
    """Reference -> working days from receipt to completion."""
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

    @property
    def total(self) -> int:
        return len(self.resolved)

    @property
    def mean_working_days(self) -> float | None:
        days = list(self.working_days.values())
        return round(statistics.fmean(days), 1) if days else None

    @property
    def median_working_days(self) -> float | None:
        days = list(self.working_days.values())
        return float(statistics.median(days)) if days else None

    @property
    def longest_working_days(self) -> int | None:
        return max(self.working_days.values(), default=None)


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
    """The review of `quarter` from the database, as of `as_of`."""
    start, end = quarter.bounds(as_of.zone)
    statement = (
        select(Ticket)
        .where(
            col(Ticket.status).in_(CLOSED_STATUSES),
            col(Ticket.completed_at) >= start,
            col(Ticket.completed_at) < end,
        )
        .order_by(col(Ticket.completed_at), col(Ticket.id))
    )
    resolved = list(session.execute(statement).scalars())
    received_in_quarter = (col(Ticket.received_at) >= start) & (col(Ticket.received_at) < end)
    received = session.execute(select(func.count()).where(received_in_quarter)).scalar_one()
    still_open = session.execute(
        select(func.count()).where(received_in_quarter, col(Ticket.status).not_in(CLOSED_STATUSES))
    ).scalar_one()
    return compile_review(quarter, rules, as_of, QuarterTickets(resolved, received, still_open))


def compile_review(quarter: Quarter, rules: Rules, as_of: AsOf, tickets: QuarterTickets) -> ReviewReport:
    """The review from what `build_review` chose; pure."""
    now, timezone, zone = as_of.now, as_of.timezone, as_of.zone
    calendar = calendar_for(rules, timezone)
    rows = tuple(register_row(ticket, rules, zone, now) for ticket in tickets.resolved)
    working_days = {
        row.reference: calendar.working_days_between(row.received, row.completed)
        for row in rows
        if row.completed is not None
    }
    departments = {d.id: d.name for d in rules.departments.values()}
    products = {p.id: p.name for p in rules.products.values()}
    return ReviewReport(
        quarter=quarter,
        generated_at=now.astimezone(zone),
        timezone=timezone,
        resolved=rows,
        working_days=MappingProxyType(working_days),
        by_department=count_by(rows, "department", departments),
        by_product=count_by(rows, "product", {**products, "": labels.NO_PRODUCT}),
        by_severity=count_by(rows, "severity", labels.SEVERITIES, ("major", "minor")),
        by_category=count_by(rows, "category", {"": NO_CATEGORY}),
        by_channel=count_by(rows, "channel", labels.CHANNELS),
        effectiveness=count_by(rows, "effectiveness_kind", labels.EFFECTIVENESS, EFFECTIVENESS_ORDER),
        compliance=compliance("all", "Semua / all", rows),
        received=int(tickets.received),
        still_open=int(tickets.still_open),
    )
