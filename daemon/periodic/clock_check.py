"""Whether the clock can be believed for the periodic jobs: the pure decision, no database.

The periodic jobs (the SLA ladder, the monthly report and its reminder, the
branch-recap deadlines) act on the date: a clock that jumps 40 days ahead sends
every reminder and escalation due in those days and the report of a month that
is not over. Each run that is allowed records the time it ran (the database's
"last seen" time, shared by every daemon on it); the next run compares its clock
with it:

* no last-seen time yet (a new database, or one from before this check): allowed;
* more than `[periodic] max_clock_forward_hours` ahead of it: held. A daemon that
  was stopped that long looks the same, and is held too: its admin confirms once;
* more than `[periodic] max_clock_backward_minutes` behind it: held. Several
  daemons' clocks a few seconds apart are not;
* a bound of 0 switches that side of the check off.

Held stays held, whatever the clock does next, until an administrator confirms
the clock (`caredesk clock confirm`); that is for `daemon.app.clock_guard`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from daemon.config import PeriodicConfig


@dataclass(frozen=True, slots=True)
class Bounds:
    """How far the clock may move between two periodic runs; None is no limit."""

    forward: timedelta | None
    backward: timedelta | None

    @classmethod
    def from_config(cls, periodic: PeriodicConfig) -> Bounds:
        forward, backward = periodic.max_clock_forward_hours, periodic.max_clock_backward_minutes
        return cls(
            forward=timedelta(hours=forward) if forward else None,
            backward=timedelta(minutes=backward) if backward else None,
        )


@dataclass(frozen=True, slots=True)
class Jump:
    """A move of the clock past a bound: periodic jobs wait for an administrator."""

    last_seen: datetime
    """When the periodic jobs last ran, as the database recorded it."""
    now: datetime
    """What the clock says now."""
    bound: timedelta

    @property
    def step(self) -> timedelta:
        """How far the clock moved: positive forward, negative backward."""
        return self.now - self.last_seen

    @property
    def forward(self) -> bool:
        return self.step > timedelta(0)

    @property
    def setting(self) -> str:
        """The configuration key whose bound was passed."""
        key = "max_clock_forward_hours" if self.forward else "max_clock_backward_minutes"
        return f"[periodic] {key}"

    @property
    def limit(self) -> str:
        """The bound as its setting gives it: `72 hours`, `10 minutes`."""
        if self.forward:
            return f"{self.bound.total_seconds() / 3600:g} hours"
        return f"{self.bound.total_seconds() / 60:g} minutes"

    def describe(self) -> str:
        """One sentence: which way, how far, against what."""
        way = "forward" if self.forward else "backward"
        return (
            f"the clock moved {duration(self.step)} {way} since the periodic jobs last ran "
            f"(at {self.last_seen:%Y-%m-%d %H:%M:%S} UTC; now {self.now:%Y-%m-%d %H:%M:%S} UTC), "
            f"more than the {self.limit} of {self.setting}"
        )


def judge(last_seen: datetime | None, now: datetime, bounds: Bounds) -> Jump | None:
    """The jump that holds the periodic jobs at `now`, or None when they may run."""
    if last_seen is None:
        return None
    step = now - last_seen
    if bounds.forward is not None and step > bounds.forward:
        return Jump(last_seen, now, bounds.forward)
    if bounds.backward is not None and -step > bounds.backward:
        return Jump(last_seen, now, bounds.backward)
    return None


def seen(last_seen: datetime | None, now: datetime) -> datetime:
    """The last-seen time after an allowed run at `now`: it never moves back.

    A daemon whose clock is a little behind another's (within the backward bound)
    does not pull the shared time back, so a clock that keeps losing ground is
    still noticed once it is further behind than the bound.
    """
    return now if last_seen is None else max(last_seen, now)


def duration(span: timedelta) -> str:
    """`40 days 2 hours`, `3 hours 5 minutes`, `12 minutes`, `40 seconds`: the two largest units."""
    seconds = int(abs(span).total_seconds())
    parts = []
    for name, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {name}{'s' if count != 1 else ''}")
    return " ".join(parts[:2]) or "0 seconds"
