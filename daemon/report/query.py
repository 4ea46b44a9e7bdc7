"""The reports' SQL: counts made by the database, lists read a few thousand rows at a time.

A month of 100,000 complaints is counted with one GROUP BY over the facets
the report counts by (`cube`), the outcome of each service-level target
worked out in SQL by the same rule as `daemon.sla.stamping.sla_view`
(`first_response_status`, `resolution_status`). The lists are read column by
column, only the columns a register row needs (`rows.ROW_FIELDS`), never as
ORM objects, and `yield_per` (a server-side cursor on PostgreSQL) keeps only a
batch of them in memory at once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, String, TextClause, case, func, null, select, text, type_coerce
from sqlmodel import Session, col

from daemon.report.rows import ROW_FIELDS, Facets, branch_of
from daemon.sla.stamping import CLOSED_STATUSES
from daemon.store.models import OPEN_TICKETS, Ticket, UTCDateTime

BATCH = 2000
"""Rows fetched from the database at a time while a list is read."""

Condition = ColumnElement[bool] | TextClause


def first_response_status(now: datetime) -> ColumnElement[Any]:
    """met / met-late / pending / overdue, or NULL when the ticket has no first-response target."""
    due, answered = col(Ticket.first_response_due), col(Ticket.first_responded_at)
    return case(
        (due.is_(None), null()),
        (answered.is_not(None), case((answered <= due, "met"), else_="met-late")),
        (due >= now, "pending"),
        else_="overdue",
    )


def resolution_status(now: datetime) -> ColumnElement[Any]:
    """The resolution's outcome; NULL without a target, or resolved with no completion date (unknown)."""
    due, done = col(Ticket.resolution_due), col(Ticket.completed_at)
    closed = col(Ticket.status).in_(CLOSED_STATUSES)
    return case(
        (due.is_(None), null()),
        (closed & done.is_(None), null()),
        (closed, case((done <= due, "met"), else_="met-late")),
        (due >= now, "pending"),
        else_="overdue",
    )


def week_of(ends: Sequence[tuple[str, datetime]]) -> ColumnElement[Any]:
    """The week a ticket was received in: the first of `ends` ((key, end of the week)) after its receipt."""
    received = col(Ticket.received_at)
    return case(*((received < end, key) for key, end in ends), else_="")


def cube(
    session: Session,
    conditions: Sequence[Condition],
    now: datetime,
    *,
    weeks: Sequence[tuple[str, datetime]] = (),
    by_category: bool = False,
) -> Counter[Facets]:
    """The tickets matching `conditions`, counted by their facets (by week with `weeks`)."""
    facets: dict[str, Any] = {
        "department": col(Ticket.department),
        "product": func.coalesce(col(Ticket.product), ""),
        "severity": col(Ticket.severity),
        "channel": col(Ticket.channel),
        "origin": col(Ticket.origin),
        "first_response_status": first_response_status(now),
        "resolution_status": resolution_status(now),
    }
    if by_category:
        facets["category"] = func.coalesce(col(Ticket.category), "")
    if weeks:
        facets["week"] = week_of(weeks)
    # Grouped outside a subquery, so that each expression (and its parameters) is written once.
    inner = select(*(expression.label(name) for name, expression in facets.items())).where(*conditions)
    grouped = inner.subquery("facets")
    keys = [grouped.c[name] for name in facets]
    statement = select(*keys, func.count()).group_by(*keys)
    found: Counter[Facets] = Counter()
    for *values, number in session.execute(statement).all():
        named = dict(zip(facets, values, strict=True))
        origin = named.pop("origin")
        found[Facets(branch=branch_of(origin), **named)] += int(number)
    return found


def texts(session: Session, column: Any, conditions: Sequence[Condition]) -> Counter[str]:
    """How many tickets matching `conditions` have each value of a text column (NULL as '')."""
    value = func.coalesce(column, "")
    statement = select(value, func.count()).where(*conditions).group_by(value)
    return Counter({str(text): int(number) for text, number in session.execute(statement).all()})


def count(session: Session, conditions: Sequence[Condition]) -> int:
    return int(session.execute(select(func.count(col(Ticket.id))).where(*conditions)).scalar_one())


def count_overdue(session: Session, conditions: Sequence[Condition], now: datetime) -> tuple[int, int]:
    """(how many, how many of them overdue) of the tickets matching `conditions`."""
    overdue = func.coalesce(func.sum(case((resolution_status(now) == "overdue", 1), else_=0)), 0)
    statement = select(func.count(col(Ticket.id)), overdue).where(*conditions)
    total, late = session.execute(statement).one()
    return int(total), int(late)


def ticket_rows(
    session: Session, conditions: Sequence[Condition], order: Sequence[Any]
) -> Iterator[Sequence[Any]]:
    """The tickets matching `conditions` in `order`, as rows of the register's columns (`ROW_FIELDS`) only.

    Times are aware UTC datetimes, as `UTCDateTime` reads them. On SQLite,
    which stores them as UTC text, they are read as text and made datetimes
    here with `datetime.fromisoformat`: the column type's own way (parse, then
    `replace(tzinfo=UTC)`) was a third of the time of reading a month's register.
    """
    sqlite = session.get_bind().dialect.name == "sqlite"
    columns: list[Any] = [getattr(Ticket, name) for name in ROW_FIELDS]
    if sqlite:
        columns = [
            type_coerce(column, String()).label(name) if index in _TIMES else column
            for index, (name, column) in enumerate(zip(ROW_FIELDS, columns, strict=True))
        ]
    statement = select(*columns).where(*conditions).order_by(*order).execution_options(yield_per=BATCH)
    # Executed by the session's connection (SQLAlchemy Core): plain rows, without the ORM's
    # per-row loading of each.
    result = session.connection().execute(statement)
    try:
        if not sqlite:
            yield from result
            return
        for row in result:
            values = list(row)
            for index in _TIMES:
                text = values[index]
                if text is not None:
                    values[index] = datetime.fromisoformat(text + "+00:00")
            yield values
    finally:
        result.close()


_TIMES = frozenset(
    index for index, name in enumerate(ROW_FIELDS) if isinstance(getattr(Ticket, name).type, UTCDateTime)
)
"""The positions of the time columns in `ROW_FIELDS`."""


def still_open() -> Condition:
    """Neither resolved nor closed, written as the partial indexes on open tickets say it, so they serve."""
    return text(OPEN_TICKETS)


def moments(
    session: Session, first: Any, second: Any, conditions: Sequence[Condition]
) -> Iterator[tuple[datetime, datetime]]:
    """Two time columns of the tickets matching `conditions`, a batch at a time."""
    statement = select(first, second).where(*conditions).execution_options(yield_per=BATCH)
    result = session.connection().execute(statement)
    try:
        for row in result:
            yield row[0], row[1]
    finally:
        result.close()
