"""The monthly report's numbers: the complaint register of a month and what it adds up to.

`build_monthly` reads the database: the counts come from a few GROUP BY
queries (`daemon.report.query`), and the lists (the register, the open
tickets, the corrective actions) are read again, a batch of rows at a time,
each time an output goes through them, so that a month of 100,000 complaints
is never in memory at once. `compile_monthly` makes the same report from
tickets already chosen (`MonthTickets`) and is what the unit tests check. Both
add their counts up the same way (`daemon.report.rows`). Every output format
(csv, xlsx, html) renders the `MonthlyReport` value and computes nothing of its own.

What is counted, for the tickets *received* in the month (local time):

* the register (*daftar induk*): every field of the complaint form;
* counts by week (Monday to Sunday, cut at the month's ends), department,
  product, severity, channel and branch (`origin` `branch:<id>`; the rest is
  head office);
* SLA compliance, overall and by department: for each target, the share met
  on time among those whose outcome is known at `now` (met, met late, or
  overdue; a target not yet due is not counted, nor a first response of a
  branch-recap ticket, which caredesk cannot see);

and, beyond the month's own tickets:

* open tickets: every ticket received before the month ended and not
  resolved at `now`, overdue ones flagged;
* corrective actions: every ticket of the month, or completed in the month,
  that has one, with its effectiveness;
* branch recaps: which branches sent the month's recap (only in the full
  report, not in a department's part).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from sqlalchemy import and_, or_, select
from sqlmodel import Session, col

from daemon.report import labels, query
from daemon.report.periods import AsOf, Month
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
    department_name,
    effectiveness_kind,
    effectiveness_kinds,
    part,
    register_row,
    register_row_of,
    tally,
)
from daemon.route.rules import Rules
from daemon.store.models import RecapFile, Ticket

__all__ = [
    "EFFECTIVENESS_ORDER",
    "Compliance",
    "Count",
    "MonthTickets",
    "MonthlyReport",
    "RecapState",
    "RegisterRow",
    "build_monthly",
    "compile_monthly",
    "count_by",
    "effectiveness_kind",
    "recap_states",
    "register_row",
    "weeks",
]


@dataclass(frozen=True, slots=True)
class RecapState:
    branch: str
    name: str
    state: str
    """imported (sent and read), refused (sent, but not usable) or missing."""
    files: int
    last_received: datetime | None

    @property
    def state_label(self) -> str:
        return labels.RECAP_STATES[self.state]


@dataclass(frozen=True)
class MonthlyReport:
    month: Month
    generated_at: datetime
    """`now`, local: outcomes and open tickets are as of this moment."""
    timezone: str
    departments: tuple[str, ...]
    """The departments this part covers; empty for the full report."""
    register: Rows
    by_week: tuple[Count, ...]
    by_department: tuple[Count, ...]
    by_product: tuple[Count, ...]
    by_severity: tuple[Count, ...]
    by_channel: tuple[Count, ...]
    by_branch: tuple[Count, ...]
    compliance: Compliance
    compliance_by_department: tuple[Compliance, ...]
    open_tickets: Rows
    overdue: int
    """How many of the open tickets are overdue."""
    corrective_actions: Rows
    effectiveness: tuple[Count, ...]
    recaps: tuple[RecapState, ...] | None
    """None in a department's part."""

    @property
    def total(self) -> int:
        return len(self.register)

    @property
    def overdue_tickets(self) -> tuple[RegisterRow, ...]:
        """The overdue open tickets (read through the open ones: for small reports and tests)."""
        return tuple(row for row in self.open_tickets if row.overdue)

    @property
    def missing_recaps(self) -> tuple[RecapState, ...]:
        return tuple(recap for recap in self.recaps or () if recap.state != "imported")


# --- reading ------------------------------------------------------------------


@dataclass(frozen=True)
class MonthTickets:
    """The tickets a month's report is made from, as `build_monthly` chooses them."""

    register: Iterable[Ticket]
    """Received in the month."""
    completed: Iterable[Ticket] = ()
    """Completed in the month with a corrective action, whenever received."""
    still_open: Iterable[Ticket] = ()
    """Received before the month ended and not resolved at the report's moment."""
    recap_files: Iterable[tuple[str, str, datetime]] | None = None
    """(branch, state, received at) of the month's branch recap files; None in a department's part."""


def build_monthly(
    session: Session, rules: Rules, month: Month, as_of: AsOf, departments: Sequence[str] = ()
) -> MonthlyReport:
    """The report of `month` from the database, as of `as_of`, for `departments` (all when empty).

    The lists are read from `session` when they are gone through: render the
    report while the session is open.
    """
    now, zone = as_of.now, as_of.zone
    start, end = month.bounds(zone)
    received, completed = col(Ticket.received_at), col(Ticket.completed_at)
    action = col(Ticket.corrective_action)
    part_of = [col(Ticket.department).in_(departments)] if departments else []
    in_month = [received >= start, received < end, *part_of]
    still_open = [received < end, query.still_open(), *part_of]
    with_action = [
        or_(
            and_(received >= start, received < end, action != ""),
            and_(completed >= start, completed < end, action.is_not(None)),
        ),
        *part_of,
    ]
    ends = [(first.isoformat(), _midnight(last + timedelta(days=1), zone)) for first, last in weeks(month)]
    cube = query.cube(session, in_month, now, weeks=ends)
    open_count, overdue = query.count_overdue(session, still_open, now)
    evaluations = query.texts(session, col(Ticket.effectiveness), with_action)
    by_received = (received, col(Ticket.id))
    by_reference = (received, col(Ticket.reference))

    def listed(conditions: Sequence[query.Condition], order: Sequence[object], number: int) -> StreamedRows:
        def read() -> Iterator[RegisterRow]:
            for values in query.ticket_rows(session, conditions, order):
                yield register_row_of(values, rules, zone, now)

        return StreamedRows(number, read)

    recap_files = None if departments else _recap_files(session, month)
    return _assemble(
        month,
        rules,
        as_of,
        departments,
        cube,
        register=listed(in_month, by_received, sum(cube.values())),
        open_tickets=listed(still_open, by_received, open_count),
        overdue=overdue,
        actions=listed(with_action, by_reference, sum(evaluations.values())),
        evaluations=effectiveness_kinds(evaluations),
        recap_files=recap_files,
    )


def _recap_files(session: Session, month: Month) -> list[tuple[str, str, datetime]]:
    statement = select(col(RecapFile.branch), col(RecapFile.state), col(RecapFile.received_at)).where(
        col(RecapFile.month) == str(month)
    )
    return [(branch, state, at) for branch, state, at in session.execute(statement).all()]


# --- counting -----------------------------------------------------------------


def compile_monthly(
    month: Month, rules: Rules, as_of: AsOf, tickets: MonthTickets, departments: Sequence[str] = ()
) -> MonthlyReport:
    """The report from tickets already chosen (see `build_monthly` for which); pure."""
    now, zone = as_of.now, as_of.zone
    rows = tuple(register_row(ticket, rules, zone, now) for ticket in tickets.register)
    corrective = {row.reference: row for row in rows if row.corrective_action}
    for ticket in tickets.completed:
        corrective.setdefault(ticket.reference, register_row(ticket, rules, zone, now))
    actions = tuple(sorted(corrective.values(), key=lambda row: (row.received, row.reference)))
    open_rows = tuple(register_row(ticket, rules, zone, now) for ticket in tickets.still_open)
    starts = {first: first.isoformat() for first, _ in weeks(month)}

    def week_of(day: date) -> str:
        return starts.get(day - timedelta(days=day.weekday()), month.first_day.isoformat())

    return _assemble(
        month,
        rules,
        as_of,
        departments,
        cube_of(rows, week_of),
        register=rows,
        open_tickets=open_rows,
        overdue=sum(row.overdue for row in open_rows),
        actions=actions,
        evaluations=Counter(row.effectiveness_kind for row in actions),
        recap_files=tickets.recap_files,
    )


def _assemble(  # noqa: PLR0913  (the parts of a report, each named)
    month: Month,
    rules: Rules,
    as_of: AsOf,
    departments: Sequence[str],
    cube: Cube,
    *,
    register: Rows,
    open_tickets: Rows,
    overdue: int,
    actions: Rows,
    evaluations: Mapping[str, int],
    recap_files: Iterable[tuple[str, str, datetime]] | None,
) -> MonthlyReport:
    """The report from its counts (the cube of the month's tickets) and its lists."""
    zone = as_of.zone
    department_ids = tuple(departments) or tuple(rules.departments)
    by_department = tally(cube, "department")
    return MonthlyReport(
        month=month,
        generated_at=as_of.now.astimezone(zone),
        timezone=str(zone),
        departments=tuple(departments),
        register=register,
        by_week=_by_week(tally(cube, "week"), month),
        by_department=tuple(
            Count(key, department_name(rules, key), by_department[key])
            for key in _ordered(department_ids, by_department)
        ),
        by_product=_by_product(tally(cube, "product"), rules, department_ids),
        by_severity=count_by(tally(cube, "severity"), labels.SEVERITIES, ("major", "minor")),
        by_channel=count_by(tally(cube, "channel"), labels.CHANNELS),
        by_branch=_by_branch(tally(cube, "branch"), rules),
        compliance=compliance("all", "Semua / all", cube),
        compliance_by_department=tuple(
            compliance(key, department_name(rules, key), part(cube, key))
            for key in _ordered(department_ids, by_department)
        ),
        open_tickets=open_tickets,
        overdue=overdue,
        corrective_actions=actions,
        effectiveness=count_by(evaluations, labels.EFFECTIVENESS, EFFECTIVENESS_ORDER),
        recaps=None if recap_files is None else recap_states(rules, recap_files, zone),
    )


def recap_states(
    rules: Rules, files: Iterable[tuple[str, str, datetime]], zone: tzinfo
) -> tuple[RecapState, ...]:
    """Every branch of the rules, and whether its recap of the month came in and was usable."""
    by_branch: dict[str, list[tuple[str, datetime]]] = {}
    for branch, state, received_at in files:
        by_branch.setdefault(branch, []).append((state, received_at))
    states: list[RecapState] = []
    for known in rules.branches.values():
        found = by_branch.get(known.id, [])
        state = "missing"
        if found:
            state = "imported" if any(kind == "imported" for kind, _ in found) else "refused"
        last = max((at for _, at in found), default=None)
        states.append(
            RecapState(known.id, known.name, state, len(found), last.astimezone(zone) if last else None)
        )
    return tuple(states)


def weeks(month: Month) -> list[tuple[date, date]]:
    """The month cut into Monday-to-Sunday weeks: (first day, last day) of each."""
    end = month.next().first_day - timedelta(days=1)
    found: list[tuple[date, date]] = []
    day = month.first_day
    while day <= end:
        last = min(day + timedelta(days=6 - day.weekday()), end)
        found.append((day, last))
        day = last + timedelta(days=1)
    return found


def _by_week(found: Mapping[str, int], month: Month) -> tuple[Count, ...]:
    counts: list[Count] = []
    for first, last in weeks(month):
        name = labels.MONTHS_ID[month.month - 1]
        label = f"{first.day}–{last.day} {name}" if first != last else f"{first.day} {name}"
        counts.append(Count(first.isoformat(), label, found.get(first.isoformat(), 0)))
    return tuple(counts)


def _by_product(found: Mapping[str, int], rules: Rules, departments: Sequence[str]) -> tuple[Count, ...]:
    known = [p.id for p in rules.products.values() if p.department in departments]
    names = {p.id: p.name for p in rules.products.values()}
    keys = _ordered(known, (key for key in found if key))
    counts = [Count(key, names.get(key, key), found.get(key, 0)) for key in keys]
    if found.get(""):
        counts.append(Count("", labels.NO_PRODUCT, found[""]))
    return tuple(counts)


def _by_branch(found: Mapping[str, int], rules: Rules) -> tuple[Count, ...]:
    names = {branch.id: branch.name for branch in rules.branches.values()}
    counts = [Count("", labels.HEAD_OFFICE, found.get("", 0))]
    counts += [Count(key, names.get(key, key), found.get(key, 0)) for key in _ordered(names, found) if key]
    return tuple(counts)


def _ordered(known: Iterable[str], seen: Iterable[str]) -> list[str]:
    """The known keys in their order, then keys seen that are not known (sorted)."""
    keys = list(dict.fromkeys(known))
    extra = sorted(set(seen) - set(keys))
    return keys + extra


def _midnight(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=zone)
