"""Service-level targets: when a ticket is due, and which reminders and escalations it has earned.

This module owns the SLA maths, as pure functions of values. How the pieces fit:

1. rules.yaml's `sla:` section becomes an `SlaPolicy` (`daemon.route.rules` reads it).
   `SlaPolicy.targets(severity, department, sla_class)` layers the settings,
   later layers winning key by key: the defaults, then the complaint's severity,
   then its department, then the department's setting for that severity, then
   the SLA class a routing rule gave it. Each resulting `Targets` remembers
   which layer set each value, so a due date can explain itself.
2. `due_dates(received_at, key, policy, calendar)` turns the targets of a
   `TargetKey` (severity, department, SLA class) into moments on the
   working-day calendar (`daemon.sla.calendar`): the first-response and
   resolution due times, and the *ladder*: for each target a
   reminder to the department some working time before it is due, a breach
   escalation to the department manager when it is due, and a second-level
   escalation to the general manager some working time after that.
3. `ladder_steps(state, due_dates, now)` says which of those steps the ticket
   has earned by `now`: a step whose time has come while its target was still
   unmet. It is deterministic and monotone in time (for a state as it stands
   at `now`, a later `now` never returns fewer steps), and every step carries a
   `period_key` unique per ticket, target and level. The scheduler that sends
   the mails claims a (job, period_key) row in a unique database index before
   queuing each one, so a step is sent exactly once across restarts and across
   several daemons, however often the ladder is asked.

A target is met by the event that ends it: the first human reply to the
customer for `first_response` (the automatic acknowledgement does not count),
the resolution for `resolution`. The caller records those times on `TicketState`.

4. `update_steps(state, targets, calendar, now)` is the customer update
   interval: once the customer had a first response, while the ticket is
   open, they must hear from a person (a reply or the resolution) at least
   every `update_interval`, counted from the latest such update. The
   department is reminded `reminder_before` the update is due, once per
   window (`update_window`). A missed update only reminds: the next window
   starts at the missed due time and reminds again; it does not escalate.
5. A reopened ticket (`TicketState.resolution_cycle` > 1) has a new resolution
   due date (stamped by `daemon.sla.stamping.restart_resolution_clock`) and its
   resolution steps get new period keys, so the new cycle climbs its own ladder.
6. `restamped(stamp, targets, calendar)` is what a ticket's due dates become
   when its targets change after it was made (staff made it major, or handed it
   to a department with other targets): each open target is counted again, on
   the new targets, from where it started (the receipt; the reopening for a
   later resolution cycle). A target already met keeps the due date it was met
   against, and a target that is not measured (no due date) stays unmeasured.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Literal, get_args

from daemon.sla.calendar import WorkCalendar, WorkingTime

Target = Literal["first_response", "resolution"]
StepTarget = Target | Literal["update"]
"""What a ladder step is about: a target, or the customer update interval."""
StepKind = Literal["reminder", "breach", "second-level"]
RecipientRole = Literal["department", "manager", "gm"]
TargetStatus = Literal["pending", "overdue", "met", "met-late"]

TARGETS: tuple[Target, ...] = get_args(Target)
SETTINGS = ("first_response", "resolution", "update_interval", "reminder_before", "second_level_after")
"""The names of the values a layer of rules.yaml's `sla:` may set."""
LADDER_JOB = "sla-ladder"
"""The job name a scheduler claims ladder periods under."""

_RECIPIENTS: Mapping[StepKind, RecipientRole] = MappingProxyType(
    {"reminder": "department", "breach": "manager", "second-level": "gm"}
)

# The built-in service levels (frozen values, shared safely as dataclass defaults).
_NEXT_WORKING_DAY = WorkingTime(1, "d")
_FIVE_WORKING_DAYS = WorkingTime(5, "d")
_TWO_WORKING_HOURS = WorkingTime(2, "h")

Overrides = Mapping[str, WorkingTime | None]
"""Setting name -> value; None switches an optional setting (reminder, second level) off."""


@dataclass(frozen=True)
class Targets:
    """The service levels one ticket is held to."""

    first_response: WorkingTime = _NEXT_WORKING_DAY
    """Default: by the end of the next working day after receipt (DOMAIN.md §3)."""
    resolution: WorkingTime = _FIVE_WORKING_DAYS
    update_interval: WorkingTime | None = _FIVE_WORKING_DAYS
    """How often the customer hears how the complaint stands, while it is open."""
    reminder_before: WorkingTime | None = _TWO_WORKING_HOURS
    """Remind the department this much working time before a target is due."""
    second_level_after: WorkingTime | None = _NEXT_WORKING_DAY
    """Escalate to the GM this much working time after a breach."""
    sources: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType(dict.fromkeys(SETTINGS, "default")), compare=False
    )
    """Setting name -> the layer that set it ("default", "severity major", "class urgent", ...)."""

    def apply(self, overrides: Overrides, source: str) -> Targets:
        """These targets with `overrides` laid over them, remembering `source`."""
        if not overrides:
            return self
        unknown = set(overrides) - set(SETTINGS)
        if unknown:
            raise ValueError(f"unknown SLA settings: {', '.join(sorted(unknown))}")
        for required in ("first_response", "resolution"):
            if required in overrides and overrides[required] is None:
                raise ValueError(f"{required} cannot be switched off")
        sources = {**self.sources, **dict.fromkeys(overrides, source)}
        return dataclasses.replace(self, **overrides, sources=MappingProxyType(sources))  # type: ignore[arg-type]

    def target(self, name: Target) -> WorkingTime:
        return self.first_response if name == "first_response" else self.resolution


def _frozen(mapping: Mapping[str, Overrides]) -> Mapping[str, Overrides]:
    return MappingProxyType({key: MappingProxyType(dict(value)) for key, value in mapping.items()})


_BUILT_IN_SEVERITIES: Mapping[str, Overrides] = {"major": {"resolution": WorkingTime(2, "d")}}


@dataclass(frozen=True)
class SlaPolicy:
    """rules.yaml's `sla:` section: the defaults and the layers that override them."""

    default: Targets = Targets()
    severities: Mapping[str, Overrides] = field(default_factory=lambda: _frozen(_BUILT_IN_SEVERITIES))
    departments: Mapping[str, Overrides] = field(default_factory=lambda: _frozen({}))
    department_severities: Mapping[tuple[str, str], Overrides] = field(
        default_factory=lambda: MappingProxyType({})
    )
    """(department, severity) -> overrides for that severity in that department only."""
    classes: Mapping[str, Overrides] = field(default_factory=lambda: _frozen({}))
    """SLA class name (a rule's `then: sla:`) -> overrides."""

    def targets(self, severity: str, department: str, sla_class: str | None = None) -> Targets:
        """The layered targets for a ticket; see the module docstring for the order."""
        targets = self.default
        targets = targets.apply(self.severities.get(severity, {}), f"severity {severity}")
        targets = targets.apply(self.departments.get(department, {}), f"department {department}")
        targets = targets.apply(
            self.department_severities.get((department, severity), {}),
            f"department {department}, severity {severity}",
        )
        if sla_class is not None:
            targets = targets.apply(self.classes.get(sla_class, {}), f"class {sla_class}")
        return targets


@dataclass(frozen=True, slots=True)
class TargetKey:
    """What picks a ticket's targets out of the policy: its severity, department and SLA class."""

    severity: str
    department: str
    sla_class: str | None = None
    """The class a routing rule gave the ticket; None when no rule did."""

    def targets(self, policy: SlaPolicy) -> Targets:
        """The layered targets `policy` holds a ticket with this key to."""
        return policy.targets(self.severity, self.department, self.sla_class)


@dataclass(frozen=True, slots=True)
class LadderPoint:
    """One rung of a ticket's ladder: at `at`, tell `recipient_role` about `target`."""

    kind: StepKind
    target: Target
    at: datetime
    due: datetime
    recipient_role: RecipientRole


@dataclass(frozen=True)
class DueDates:
    """When one ticket's targets are due, and its ladder in time order."""

    received_at: datetime
    first_response_due: datetime
    resolution_due: datetime
    targets: Targets
    ladder: tuple[LadderPoint, ...]

    def due(self, target: Target) -> datetime:
        return self.first_response_due if target == "first_response" else self.resolution_due


@dataclass(frozen=True, slots=True)
class TicketState:
    """What the ladder needs to know about a ticket at the moment it is asked."""

    reference: str
    first_responded_at: datetime | None = None
    resolved_at: datetime | None = None
    resolution_cycle: int = 1
    """1 for the first resolution; a reopened ticket (PTPP not effective) counts up,
    so the new resolution target gets its own reminders and escalations."""
    last_update_at: datetime | None = None
    """The latest human message to the customer (a reply or the resolution), if any."""
    updates: int = 0
    """How many such messages the customer had (the first response is one)."""

    def met_at(self, target: Target) -> datetime | None:
        return self.first_responded_at if target == "first_response" else self.resolved_at


@dataclass(frozen=True, slots=True)
class LadderStep:
    """A reminder or escalation the ticket has earned; send it once per `period_key`."""

    kind: StepKind
    target: StepTarget
    due: datetime
    recipient_role: RecipientRole
    period_key: str
    at: datetime
    """When the step fell due (the scheduler may run later)."""


def due_dates(received_at: datetime, key: TargetKey, policy: SlaPolicy, calendar: WorkCalendar) -> DueDates:
    """The due dates and ladder of a ticket received at `received_at`."""
    targets = key.targets(policy)
    first_response_due = calendar.deadline(received_at, targets.first_response)
    resolution_due = calendar.deadline(received_at, targets.resolution)
    return anchored_due_dates(received_at, first_response_due, resolution_due, targets, calendar)


def anchored_due_dates(
    received_at: datetime,
    first_response_due: datetime,
    resolution_due: datetime,
    targets: Targets,
    calendar: WorkCalendar,
) -> DueDates:
    """The ladder for due times fixed earlier (stamped on a ticket when it was made).

    Reminders and escalations then hang off the due dates a person was shown,
    even when the rules or the calendar changed since.
    """
    ladder: list[LadderPoint] = []
    dues: tuple[tuple[Target, datetime], ...] = (
        ("first_response", first_response_due),
        ("resolution", resolution_due),
    )
    for target, due in dues:
        ladder.extend(_ladder_points(target, due, received_at, targets, calendar))
    ladder.sort(key=lambda point: (point.at, TARGETS.index(point.target)))
    return DueDates(received_at, first_response_due, resolution_due, targets, tuple(ladder))


def _ladder_points(
    target: Target, due: datetime, received_at: datetime, targets: Targets, calendar: WorkCalendar
) -> list[LadderPoint]:
    points: list[LadderPoint] = []
    if targets.reminder_before is not None:
        remind_at = calendar.shift(due, targets.reminder_before, before=True)
        # A reminder that would fall before the ticket existed reminds no one of anything.
        if remind_at > received_at:
            points.append(LadderPoint("reminder", target, remind_at, due, _RECIPIENTS["reminder"]))
    points.append(LadderPoint("breach", target, due, due, _RECIPIENTS["breach"]))
    if targets.second_level_after is not None:
        second_at = calendar.shift(due, targets.second_level_after)
        points.append(LadderPoint("second-level", target, second_at, due, _RECIPIENTS["second-level"]))
    return points


def period_key(reference: str, target: Target, kind: StepKind, resolution_cycle: int = 1) -> str:
    """`sla/CC-2026-000123/first_response/breach`: unique per ticket, target and level.

    The due time is deliberately not part of the key: a due date that moves (a
    severity changed, the rules edited) must not send the same level twice.
    A reopened ticket's later resolution cycles get `resolution.2`, ... instead.
    """
    name = f"{target}.{resolution_cycle}" if target == "resolution" and resolution_cycle > 1 else target
    return f"sla/{reference}/{name}/{kind}"


def ladder_steps(state: TicketState, dates: DueDates, now: datetime) -> list[LadderStep]:
    """The steps the ticket has earned by `now`, in time order.

    A step is earned when its time has come and its target was not met by then.
    A reminder is dropped once its target is met, since reminding a department
    of work it has done is noise; a breach stays a fact, so its escalation is
    still earned when the target was met late.
    """
    steps: list[LadderStep] = []
    for point in dates.ladder:
        if point.at > now:
            continue
        met_at = state.met_at(point.target)
        if met_at is not None and met_at <= point.at:
            continue
        if point.kind == "reminder" and met_at is not None and met_at <= now:
            continue
        key = period_key(state.reference, point.target, point.kind, state.resolution_cycle)
        steps.append(LadderStep(point.kind, point.target, point.due, point.recipient_role, key, point.at))
    return steps


def target_status(due: datetime, met_at: datetime | None, now: datetime) -> TargetStatus:
    """pending / overdue while open; met / met-late once met (for lists and reports)."""
    if met_at is not None:
        return "met" if met_at <= due else "met-late"
    return "pending" if now <= due else "overdue"


def next_update_due(last_update_at: datetime, targets: Targets, calendar: WorkCalendar) -> datetime | None:
    """When the customer should next hear how an open complaint stands; None: no interval."""
    if targets.update_interval is None:
        return None
    return calendar.deadline(last_update_at, targets.update_interval)


# A daemon that was down for a long time looks for the current update window
# at most this many windows past the last update, and then gives up on the ticket.
_MAX_UPDATE_WINDOWS = 1000


@dataclass(frozen=True, slots=True)
class UpdateWindow:
    """One stretch in which the customer must hear from a person: from `start`, due at `due`.

    Window `index` 1 starts at the latest update (the `updates`-th message to
    the customer); each window missed without an update starts the next one at
    its due time. (`updates`, `index`) names a window for good: a later update
    counts up `updates`, so it never lands on a window already reminded.
    """

    updates: int
    index: int
    start: datetime
    due: datetime
    remind_at: datetime | None
    """None when the interval is no longer than `reminder_before` (nothing to remind before)."""


def update_window(
    state: TicketState, targets: Targets, calendar: WorkCalendar, now: datetime
) -> UpdateWindow | None:
    """The update window `now` falls in.

    None before the first response, once resolved, and without an update interval.
    """
    interval = targets.update_interval
    if interval is None or state.first_responded_at is None or state.resolved_at is not None:
        return None
    anchor = max(state.first_responded_at, state.last_update_at or state.first_responded_at)
    updates = max(state.updates, 1)
    start, index = anchor, 1
    due = calendar.deadline(start, interval)
    while due < now:
        if index >= _MAX_UPDATE_WINDOWS:
            return None
        start, index = due, index + 1
        due = calendar.deadline(start, interval)
    remind_at = None
    if targets.reminder_before is not None:
        candidate = calendar.shift(due, targets.reminder_before, before=True)
        remind_at = candidate if candidate > start else None
    return UpdateWindow(updates, index, start, due, remind_at)


def update_period_key(reference: str, window: UpdateWindow) -> str:
    """`sla/CC-2026-000123/update/2.1`: the first window after the customer's second update."""
    return f"sla/{reference}/update/{window.updates}.{window.index}"


def update_steps(
    state: TicketState, targets: Targets, calendar: WorkCalendar, now: datetime
) -> list[LadderStep]:
    """The update reminder the ticket has earned by `now`: the current window's, once its time has come.

    Only the current window counts: after a long outage the department hears
    about the update due next, not about every window it slept through.
    """
    window = update_window(state, targets, calendar, now)
    if window is None or window.remind_at is None or window.remind_at > now:
        return []
    key = update_period_key(state.reference, window)
    return [LadderStep("reminder", "update", window.due, _RECIPIENTS["reminder"], key, window.remind_at)]


def next_step_at(
    state: TicketState, dates: DueDates, calendar: WorkCalendar, now: datetime
) -> datetime | None:
    """The earliest moment after `now` at which the ticket earns a step it has not earned at `now`.

    For the state as it stands: a change to the ticket (a reply, a new due date)
    asks again. None when no step is left to earn. An update window whose
    reminder cannot fall inside it gives its end instead: the ladder looks again
    there, which is early, never late.
    """
    moments: list[datetime] = []
    for point in dates.ladder:
        if point.at <= now:
            continue
        met_at = state.met_at(point.target)
        if met_at is None or met_at > point.at:
            moments.append(point.at)
            break
    if (update := _next_update_step_at(state, dates.targets, calendar, now)) is not None:
        moments.append(update)
    return min(moments, default=None)


def _next_update_step_at(
    state: TicketState, targets: Targets, calendar: WorkCalendar, now: datetime
) -> datetime | None:
    """When the next update reminder after `now` falls: this window's, else the next window's."""
    window = update_window(state, targets, calendar, now)
    if window is None or targets.reminder_before is None or targets.update_interval is None:
        return None
    if window.remind_at is not None and window.remind_at > now:
        return window.remind_at
    start = window.due
    due = calendar.deadline(start, targets.update_interval)
    remind_at = calendar.shift(due, targets.reminder_before, before=True)
    return remind_at if remind_at > start else due


@dataclass(frozen=True, slots=True)
class Stamp:
    """A ticket's stamped due dates, and what says whether each may still move."""

    received_at: datetime
    first_response_due: datetime | None
    """None where the first response is not measured (branch recaps)."""
    resolution_due: datetime | None
    first_responded_at: datetime | None = None
    resolved: bool = False
    """Resolved or closed: the resolution target is settled."""
    cycle_started_at: datetime | None = None
    """When the current resolution cycle began (the reopening); None: at receipt."""


def restamped(stamp: Stamp, targets: Targets, calendar: WorkCalendar) -> Stamp:
    """The due dates of a ticket whose targets changed to `targets` (see the module docstring, 6)."""
    first_response_due = stamp.first_response_due
    if first_response_due is not None and stamp.first_responded_at is None:
        first_response_due = calendar.deadline(stamp.received_at, targets.first_response)
    resolution_due = stamp.resolution_due
    if resolution_due is not None and not stamp.resolved:
        resolution_due = calendar.deadline(stamp.cycle_started_at or stamp.received_at, targets.resolution)
    return dataclasses.replace(stamp, first_response_due=first_response_due, resolution_due=resolution_due)
