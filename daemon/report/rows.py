"""What the reports are made of: one complaint as a row, and the counts over many.

A report never holds its lists in memory when it reads them from the
database: a list is a `Rows`, which knows how many rows it has and reads them
again, a few thousand at a time, each time an output goes through it
(`StreamedRows`). Made from tickets already in memory (the unit tests), a list
is a plain tuple, which is a `Rows` too.

The counts come from a *cube*: the report's tickets grouped by their `Facets`
(department, product, severity, ..., how each target ended) with how many
share each. The database makes the cube with one GROUP BY
(`daemon.report.query`); `cube_of` makes the same from rows in memory, and every
count a report shows is added up from the cube here, the same way for both.

Everything here is pure.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from operator import attrgetter
from typing import Any, Protocol

from daemon.route.rules import Rules
from daemon.sla.policy import target_status
from daemon.sla.stamping import CLOSED_STATUSES, RECAP_ORIGIN_PREFIX

MEASURED = ("met", "met-late", "overdue")
"""The outcomes a compliance share counts: a target not yet due (`pending`) is not counted."""


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


class TicketFields(Protocol):
    """The fields of a ticket a register row is made from: a `Ticket`, or a row of only these columns."""

    @property
    def reference(self) -> str: ...
    @property
    def received_at(self) -> datetime: ...
    @property
    def customer_name(self) -> str: ...
    @property
    def customer_organisation(self) -> str: ...
    @property
    def pic_phone(self) -> str: ...
    @property
    def pic_email(self) -> str: ...
    @property
    def product(self) -> str | None: ...
    @property
    def channel(self) -> str: ...
    @property
    def origin(self) -> str: ...
    @property
    def subject(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def category(self) -> str | None: ...
    @property
    def severity(self) -> str: ...
    @property
    def department(self) -> str: ...
    @property
    def root_cause(self) -> str | None: ...
    @property
    def corrective_action(self) -> str | None: ...
    @property
    def action_target(self) -> date | None: ...
    @property
    def preventive_action(self) -> str | None: ...
    @property
    def completed_at(self) -> datetime | None: ...
    @property
    def effectiveness(self) -> str | None: ...
    @property
    def status(self) -> str: ...
    @property
    def closed_by(self) -> str | None: ...
    @property
    def first_response_due(self) -> datetime | None: ...
    @property
    def first_responded_at(self) -> datetime | None: ...
    @property
    def resolution_due(self) -> datetime | None: ...


ROW_FIELDS = tuple(name for name in TicketFields.__dict__ if not name.startswith("_"))
"""The ticket columns a register row reads, and no other (the database reads only these)."""


_FIELDS = attrgetter(*ROW_FIELDS)


def register_row(ticket: TicketFields, rules: Rules, zone: tzinfo, now: datetime) -> RegisterRow:
    """The register row of a ticket (or of anything with the ticket's fields)."""
    return register_row_of(_FIELDS(ticket), rules, zone, now)


def register_row_of(values: Sequence[Any], rules: Rules, zone: tzinfo, now: datetime) -> RegisterRow:
    """The register row of a ticket's `ROW_FIELDS`, in that order (a database row of those columns).

    The targets' outcomes follow `daemon.sla.stamping.sla_view`: a first response
    is measured when it has a due date; a resolution when it has one, and is
    unknown when the ticket is resolved with no completion date.
    """
    (
        reference, received_at, customer_name, organisation, pic_phone, pic_email, product, channel,
        origin, subject, description, category, severity, department, root_cause, corrective_action,
        action_target, preventive_action, completed_at, effectiveness, status, closed_by,
        first_response_due, first_responded_at, resolution_due,
    ) = values  # fmt: skip
    done = completed_at if status in CLOSED_STATUSES else None
    first_status = (
        None if first_response_due is None else target_status(first_response_due, first_responded_at, now)
    )
    resolution_status = None
    if resolution_due is not None and not (status in CLOSED_STATUSES and done is None):
        resolution_status = target_status(resolution_due, done, now)
    branch = branch_of(origin)
    product = product or ""
    known_product = rules.products.get(product)
    known_branch = rules.branches.get(branch)
    return RegisterRow(
        reference=reference,
        received=received_at.astimezone(zone),
        customer_name=customer_name,
        organisation=organisation,
        pic_phone=pic_phone,
        pic_email=pic_email,
        product=product,
        product_name=known_product.name if known_product else product,
        channel=channel,
        branch=branch,
        branch_name=known_branch.name if known_branch else branch,
        subject=subject,
        description=description,
        category=category or "",
        severity=severity,
        department=department,
        department_name=department_name(rules, department),
        root_cause=root_cause or "",
        corrective_action=corrective_action or "",
        action_target=action_target,
        preventive_action=preventive_action or "",
        completed=completed_at.astimezone(zone) if completed_at is not None else None,
        effectiveness=effectiveness or "",
        status=status,
        closed_by=closed_by or "",
        first_response_due=first_response_due.astimezone(zone) if first_response_due is not None else None,
        first_responded_at=first_responded_at.astimezone(zone) if first_responded_at is not None else None,
        first_response_status=first_status,
        resolution_due=resolution_due.astimezone(zone) if resolution_due is not None else None,
        resolution_status=resolution_status,
    )


def department_name(rules: Rules, department_id: str) -> str:
    department = rules.departments.get(department_id)
    return department.name if department else department_id


def branch_of(origin: str) -> str:
    """The branch id of a recap ticket's `origin` (`branch:<id>`); '' for head office."""
    return origin.removeprefix(RECAP_ORIGIN_PREFIX) if origin.startswith(RECAP_ORIGIN_PREFIX) else ""


# --- lists ----------------------------------------------------------------------------


class Rows(Protocol):
    """A list of register rows that knows its length and can be gone through more than once."""

    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[RegisterRow]: ...


@dataclass(frozen=True)
class StreamedRows:
    """Rows read from the database afresh each time they are gone through; their number counted before."""

    count: int
    read: Callable[[], Iterator[RegisterRow]]

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[RegisterRow]:
        return self.read()


# --- counting ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Facets:
    """What a ticket is counted by; a facet a report does not count by stays ''."""

    department: str = ""
    product: str = ""
    severity: str = ""
    channel: str = ""
    branch: str = ""
    category: str = ""
    week: str = ""
    """The first day (ISO) of the report week the ticket was received in."""
    first_response_status: str | None = None
    resolution_status: str | None = None


Cube = Mapping[Facets, int]
"""How many tickets share each combination of facets."""


def cube_of(rows: Iterable[RegisterRow], week_of: Callable[[date], str] | None = None) -> Counter[Facets]:
    """The cube of rows in memory: by everything, category or week (with `week_of`) as asked."""
    found: Counter[Facets] = Counter()
    for row in rows:
        found[
            Facets(
                department=row.department,
                product=row.product,
                severity=row.severity,
                channel=row.channel,
                branch=row.branch,
                category=row.category if week_of is None else "",
                week=week_of(row.received.date()) if week_of is not None else "",
                first_response_status=row.first_response_status,
                resolution_status=row.resolution_status,
            )
        ] += 1
    return found


def tally(cube: Cube, facet: str) -> Counter[str]:
    """How many tickets of the cube have each value of one facet."""
    found: Counter[str] = Counter()
    for facets, number in cube.items():
        found[str(getattr(facets, facet))] += number
    return found


@dataclass(frozen=True, slots=True)
class Count:
    key: str
    label: str
    count: int


def count_by(
    found: Mapping[str, int], names: Mapping[str, str], first: Sequence[str] = ()
) -> tuple[Count, ...]:
    """Counts of a facet's values: `first` always (zeros too), then the rest by count."""
    rest = sorted((key for key in found if key not in first), key=lambda key: (-found[key], key))
    return tuple(Count(key, names.get(key, key), found.get(key, 0)) for key in (*first, *rest))


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


def compliance(key: str, label: str, cube: Cube) -> Compliance:
    """The compliance of the tickets of `cube`."""
    tickets = first_met = first_measured = resolution_met = resolution_measured = 0
    for facets, number in cube.items():
        tickets += number
        if facets.first_response_status in MEASURED:
            first_measured += number
            first_met += number * (facets.first_response_status == "met")
        if facets.resolution_status in MEASURED:
            resolution_measured += number
            resolution_met += number * (facets.resolution_status == "met")
    return Compliance(key, label, tickets, first_met, first_measured, resolution_met, resolution_measured)


def part(cube: Cube, department: str) -> dict[Facets, int]:
    """The cube of one department's tickets."""
    return {facets: number for facets, number in cube.items() if facets.department == department}


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


def effectiveness_kinds(texts: Mapping[str, int]) -> Counter[str]:
    """How many evaluations of each kind, from how many times each text was written."""
    found: Counter[str] = Counter()
    for text, number in texts.items():
        found[effectiveness_kind(text)] += number
    return found


def _share(met: int, measured: int) -> float | None:
    return met / measured if measured else None
