"""The monthly report's numbers: the complaint register of a month and what it adds up to.

`build_monthly` reads the database; `compile_monthly` does the counting on
the tickets it chose (`MonthTickets`) and is what the unit tests check. Every output format (csv, xlsx,
html) renders the `MonthlyReport` value and computes nothing of its own.

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

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import Session, col

from daemon.report import labels
from daemon.report.periods import AsOf, Month
from daemon.route.rules import Rules
from daemon.sla.stamping import CLOSED_STATUSES, RECAP_ORIGIN_PREFIX, sla_view
from daemon.store.models import RecapFile, Ticket


@dataclass(frozen=True, slots=True)
class RegisterRow:
    """One complaint as the register shows it; times are local."""

    reference: str
    received: datetime
    customer_name: str
    organisation: str
    pic_phone: str
    pic_email: str
    product: str
    product_name: str
    channel: str
    branch: str
    """The branch id of a recap ticket; '' for head office."""
    branch_name: str
    subject: str
    description: str
    category: str
    severity: str
    department: str
    department_name: str
    root_cause: str
    corrective_action: str
    action_target: date | None
    preventive_action: str
    completed: datetime | None
    effectiveness: str
    status: str
    closed_by: str
    first_response_due: datetime | None
    first_responded_at: datetime | None
    first_response_status: str | None
    resolution_due: datetime | None
    resolution_status: str | None

    @property
    def overdue(self) -> bool:
        return self.resolution_status == "overdue"

    @property
    def effectiveness_kind(self) -> str:
        return effectiveness_kind(self.effectiveness)


@dataclass(frozen=True, slots=True)
class Count:
    key: str
    label: str
    count: int


@dataclass(frozen=True, slots=True)
class Compliance:
    """How many targets were met on time, of those whose outcome is known."""

    key: str
    label: str
    tickets: int
    first_response_met: int
    first_response_measured: int
    resolution_met: int
    resolution_measured: int

    @property
    def first_response_share(self) -> float | None:
        return _share(self.first_response_met, self.first_response_measured)

    @property
    def resolution_share(self) -> float | None:
        return _share(self.resolution_met, self.resolution_measured)


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
    register: tuple[RegisterRow, ...]
    by_week: tuple[Count, ...]
    by_department: tuple[Count, ...]
    by_product: tuple[Count, ...]
    by_severity: tuple[Count, ...]
    by_channel: tuple[Count, ...]
    by_branch: tuple[Count, ...]
    compliance: Compliance
    compliance_by_department: tuple[Compliance, ...]
    open_tickets: tuple[RegisterRow, ...]
    corrective_actions: tuple[RegisterRow, ...]
    effectiveness: tuple[Count, ...]
    recaps: tuple[RecapState, ...] | None
    """None in a department's part."""

    @property
    def total(self) -> int:
        return len(self.register)

    @property
    def overdue_tickets(self) -> tuple[RegisterRow, ...]:
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
    """The report of `month` from the database, as of `as_of`, for `departments` (all when empty)."""
    return compile_monthly(
        month, rules, as_of, _month_tickets(session, month, as_of.zone, departments), departments
    )


def _month_tickets(
    session: Session, month: Month, zone: ZoneInfo, departments: Sequence[str]
) -> MonthTickets:
    start, end = month.bounds(zone)

    def tickets(*conditions: object) -> list[Ticket]:
        statement = select(Ticket).where(*conditions)  # type: ignore[arg-type]
        if departments:
            statement = statement.where(col(Ticket.department).in_(departments))
        statement = statement.order_by(col(Ticket.received_at), col(Ticket.id))
        return list(session.execute(statement).scalars())

    register = tickets(col(Ticket.received_at) >= start, col(Ticket.received_at) < end)
    completed = tickets(
        col(Ticket.completed_at) >= start,
        col(Ticket.completed_at) < end,
        col(Ticket.corrective_action).is_not(None),
    )
    still_open = tickets(col(Ticket.received_at) < end, col(Ticket.status).not_in(CLOSED_STATUSES))
    recap_files: list[tuple[str, str, datetime]] = []
    if not departments:
        statement = select(col(RecapFile.branch), col(RecapFile.state), col(RecapFile.received_at)).where(
            col(RecapFile.month) == str(month)
        )
        recap_files = [(branch, state, at) for branch, state, at in session.execute(statement).all()]
    return MonthTickets(register, completed, still_open, recap_files if not departments else None)


# --- counting -----------------------------------------------------------------


def compile_monthly(
    month: Month, rules: Rules, as_of: AsOf, tickets: MonthTickets, departments: Sequence[str] = ()
) -> MonthlyReport:
    """The report from tickets already chosen (see `build_monthly` for which); pure."""
    now, zone = as_of.now, as_of.zone
    rows = tuple(register_row(ticket, rules, zone, now) for ticket in tickets.register)
    department_ids = tuple(departments) or tuple(rules.departments)
    corrective = {row.reference: row for row in rows if row.corrective_action}
    for ticket in tickets.completed:
        corrective.setdefault(ticket.reference, register_row(ticket, rules, zone, now))
    actions = tuple(sorted(corrective.values(), key=lambda row: (row.received, row.reference)))
    recap_files = tickets.recap_files
    return MonthlyReport(
        month=month,
        generated_at=now.astimezone(zone),
        timezone=str(zone),
        departments=tuple(departments),
        register=rows,
        by_week=_by_week(rows, month),
        by_department=_by_department(rows, rules, department_ids),
        by_product=_by_product(rows, rules, department_ids),
        by_severity=count_by(rows, "severity", labels.SEVERITIES, ("major", "minor")),
        by_channel=count_by(rows, "channel", labels.CHANNELS),
        by_branch=_by_branch(rows, rules),
        compliance=compliance("all", "Semua / all", rows),
        compliance_by_department=tuple(
            compliance(key, _department_name(rules, key), [r for r in rows if r.department == key])
            for key in _ordered(department_ids, (row.department for row in rows))
        ),
        open_tickets=tuple(register_row(ticket, rules, zone, now) for ticket in tickets.still_open),
        corrective_actions=actions,
        effectiveness=count_by(actions, "effectiveness_kind", labels.EFFECTIVENESS, EFFECTIVENESS_ORDER),
        recaps=None if recap_files is None else recap_states(rules, recap_files, zone),
    )


def register_row(ticket: Ticket, rules: Rules, zone: tzinfo, now: datetime) -> RegisterRow:
    view = sla_view(ticket, now)
    recap = ticket.origin.startswith(RECAP_ORIGIN_PREFIX)
    branch = ticket.origin.removeprefix(RECAP_ORIGIN_PREFIX) if recap else ""
    product = ticket.product or ""
    known_product = rules.products.get(product)
    known_branch = rules.branches.get(branch)

    def local(value: datetime | None) -> datetime | None:
        return value.astimezone(zone) if value is not None else None

    return RegisterRow(
        reference=ticket.reference,
        received=ticket.received_at.astimezone(zone),
        customer_name=ticket.customer_name,
        organisation=ticket.customer_organisation,
        pic_phone=ticket.pic_phone,
        pic_email=ticket.pic_email,
        product=product,
        product_name=known_product.name if known_product else product,
        channel=ticket.channel,
        branch=branch,
        branch_name=known_branch.name if known_branch else branch,
        subject=ticket.subject,
        description=ticket.description,
        category=ticket.category or "",
        severity=ticket.severity,
        department=ticket.department,
        department_name=_department_name(rules, ticket.department),
        root_cause=ticket.root_cause or "",
        corrective_action=ticket.corrective_action or "",
        action_target=ticket.action_target,
        preventive_action=ticket.preventive_action or "",
        completed=local(ticket.completed_at),
        effectiveness=ticket.effectiveness or "",
        status=ticket.status,
        closed_by=ticket.closed_by or "",
        first_response_due=local(view.first_response_due),
        first_responded_at=local(view.first_responded_at),
        first_response_status=view.first_response_status,
        resolution_due=local(view.resolution_due),
        resolution_status=view.resolution_status,
    )


def compliance(key: str, label: str, rows: Sequence[RegisterRow]) -> Compliance:
    measured = ("met", "met-late", "overdue")
    first = [row.first_response_status for row in rows if row.first_response_status in measured]
    resolution = [row.resolution_status for row in rows if row.resolution_status in measured]
    return Compliance(
        key,
        label,
        len(rows),
        first.count("met"),
        len(first),
        resolution.count("met"),
        len(resolution),
    )


EFFECTIVENESS_ORDER = ("effective", "not-effective", "evaluated", "not-evaluated")
_NOT_EFFECTIVE = re.compile(r"\b(tidak|belum|kurang|not|in)\s*(efektif|effective)\b", re.IGNORECASE)
_EFFECTIVE = re.compile(r"\b(efektif|effective)\b", re.IGNORECASE)


def effectiveness_kind(text: str) -> str:
    """effective / not-effective / evaluated (other words) / not-evaluated (nothing written)."""
    if not text.strip():
        return "not-evaluated"
    if _NOT_EFFECTIVE.search(text):
        return "not-effective"
    return "effective" if _EFFECTIVE.search(text) else "evaluated"


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


def _by_week(rows: Sequence[RegisterRow], month: Month) -> tuple[Count, ...]:
    counts: list[Count] = []
    for first, last in weeks(month):
        number = sum(first <= row.received.date() <= last for row in rows)
        name = labels.MONTHS_ID[month.month - 1]
        label = f"{first.day}–{last.day} {name}" if first != last else f"{first.day} {name}"
        counts.append(Count(first.isoformat(), label, number))
    return tuple(counts)


def _by_department(rows: Sequence[RegisterRow], rules: Rules, ids: Sequence[str]) -> tuple[Count, ...]:
    found = Counter(row.department for row in rows)
    return tuple(Count(key, _department_name(rules, key), found[key]) for key in _ordered(ids, found))


def _by_product(rows: Sequence[RegisterRow], rules: Rules, departments: Sequence[str]) -> tuple[Count, ...]:
    found = Counter(row.product for row in rows)
    known = [p.id for p in rules.products.values() if p.department in departments]
    names = {p.id: p.name for p in rules.products.values()}
    keys = _ordered(known, (key for key in found if key))
    counts = [Count(key, names.get(key, key), found[key]) for key in keys]
    if found[""]:
        counts.append(Count("", labels.NO_PRODUCT, found[""]))
    return tuple(counts)


def _by_branch(rows: Sequence[RegisterRow], rules: Rules) -> tuple[Count, ...]:
    found = Counter(row.branch for row in rows)
    names = {branch.id: branch.name for branch in rules.branches.values()}
    counts = [Count("", labels.HEAD_OFFICE, found[""])]
    counts += [Count(key, names.get(key, key), found[key]) for key in _ordered(names, found) if key]
    return tuple(counts)


def count_by(
    rows: Sequence[RegisterRow], attribute: str, names: Mapping[str, str], first: Sequence[str] = ()
) -> tuple[Count, ...]:
    """Counts of an attribute's values: `first` always (zeros too), then the rest by count."""
    found = Counter(str(getattr(row, attribute)) for row in rows)
    rest = sorted((key for key in found if key not in first), key=lambda key: (-found[key], key))
    return tuple(Count(key, names.get(key, key), found[key]) for key in (*first, *rest))


def _ordered(known: Iterable[str], seen: Iterable[str]) -> list[str]:
    """The known keys in their order, then keys seen that are not known (sorted)."""
    keys = list(dict.fromkeys(known))
    extra = sorted(set(seen) - set(keys))
    return keys + extra


def _department_name(rules: Rules, department_id: str) -> str:
    department = rules.departments.get(department_id)
    return department.name if department else department_id


def _share(met: int, measured: int) -> float | None:
    return met / measured if measured else None
