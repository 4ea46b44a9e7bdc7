"""The working-day calendar the SLA clock counts in.

This module owns one question: which moments are working time. A working day is
Monday to Friday in the organisation's time zone (Asia/Jakarta by default),
minus the Indonesian public holidays the `holidays` package knows, minus the
extra days off listed in rules.yaml (collective leave, *cuti bersama*, company
days), plus the extra working days listed there (a Saturday worked to make up
for a bridge day). Working time is the business hours (08:00-17:00 by default)
of working days.

Everything here is pure: every method takes the moment it is about, nothing
reads a clock, and every datetime handed in must be aware. The one exception
is the public holidays: `daemon.sla.public_days` reads them from the package
in a child process, once per span of years for the life of the process. Results are aware
datetimes in the calendar's zone. Arithmetic on moments is done in UTC, so the
code stays right in a zone with daylight saving time although Jakarta has none.

Two ways to count, because the procedures use both:

* **working days**, for targets like "respond by the end of the next working
  day": `add_working_days(moment, n)` is the *end of business hours* of the n-th
  working day after the (local) day of `moment`, whatever time of that day the
  moment is. A complaint received on Friday at 16:30 is due on Monday at 17:00.
* **working hours**, for "within 4 hours" and "2 hours before": only the
  business hours of working days count, so 4 hours from Friday 16:00 is
  Monday 11:00.

`WorkingTime` ("2d", "4h", "30m") is the duration rules.yaml writes; `deadline`
applies it as a target counted from an event, `shift` as an offset from a due
time. `daemon.sla.policy` builds due dates and the escalation ladder on top of this.
"""

from __future__ import annotations

import calendar as _stdlib_calendar
import re
from collections.abc import Mapping, Set
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from types import MappingProxyType
from typing import Literal
from zoneinfo import ZoneInfo

from daemon.sla.public_days import PublicDays

DayKind = Literal["workday", "extra-workday", "weekend", "holiday", "collective-leave", "day-off"]
DEFAULT_TIMEZONE = "Asia/Jakarta"
DEFAULT_HOURS = (time(8, 0), time(17, 0))
# A calendar in which no working day follows within this many days is broken
# (every day listed as a day off); stepping stops instead of looping forever.
_SEARCH_LIMIT_DAYS = 3660
_DURATION = re.compile(r"\s*(\d+)\s*([dhm])\s*")
_UNIT_NAMES = {"d": "working day", "h": "working hour", "m": "working minute"}


@dataclass(frozen=True, slots=True)
class Day:
    """One calendar day and why it is (not) a working day."""

    date: date
    working: bool
    kind: DayKind
    reason: str
    """Human-readable: a holiday's name, "weekend", "working day", ..."""


@dataclass(frozen=True, slots=True)
class WorkingTime:
    """A span of working time as rules.yaml writes it: "2d", "4h" or "30m"."""

    amount: int
    unit: Literal["d", "h", "m"]

    @classmethod
    def parse(cls, text: str) -> WorkingTime:
        """ "2d" -> 2 working days; ValueError for anything else (or for zero)."""
        found = _DURATION.fullmatch(text.lower())
        if found is None:
            raise ValueError(
                f"'{text}' is not a working time; write a whole number and d, h or m, like 2d, 4h or 30m"
            )
        amount = int(found.group(1))
        if amount <= 0:
            raise ValueError(f"'{text}' must be more than zero")
        unit: Literal["d", "h", "m"] = found.group(2)  # type: ignore[assignment]
        return cls(amount, unit)

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"

    def describe(self) -> str:
        """ "2 working days", "1 working hour"."""
        name = _UNIT_NAMES[self.unit]
        return f"{self.amount} {name}{'' if self.amount == 1 else 's'}"


@dataclass(frozen=True, slots=True)
class PublicHolidays:
    """Which public holidays the `holidays` package supplies: whose, named in which language."""

    country: str = "ID"
    language: str = "id"
    """Holiday names are in Indonesian by default, as the government publishes them."""
    collective_leave: bool = False
    """Also the government's collective leave days (*cuti bersama*) the package knows."""


@dataclass(frozen=True)
class CalendarConfig:
    """The `calendar:` section of rules.yaml, as values; `build` makes the calendar."""

    timezone: str | None = None
    """None: the `timezone` of caredesk.toml."""
    business_hours: tuple[time, time] = DEFAULT_HOURS
    holidays: Mapping[date, str] = field(default_factory=lambda: MappingProxyType({}))
    """Extra days off by date, with their names (collective leave, company days)."""
    workdays: frozenset[date] = frozenset()
    """Extra working days (a Saturday worked), even on a weekend or a holiday."""
    collective_leave: bool = False
    """Also take the government's collective leave days as the holidays package knows them."""

    _built: dict[str, WorkCalendar] = field(default_factory=dict, init=False, repr=False, compare=False)

    def build(self, fallback_timezone: str = DEFAULT_TIMEZONE) -> WorkCalendar:
        """The calendar; built once per zone, so callers may ask for it per ticket."""
        zone = self.timezone or fallback_timezone
        if zone not in self._built:
            self._built[zone] = WorkCalendar(
                zone,
                hours=self.business_hours,
                extra_holidays=self.holidays,
                extra_workdays=self.workdays,
                public=PublicHolidays(collective_leave=self.collective_leave),
            )
        return self._built[zone]


class WorkCalendar:
    """Working days and business hours in one time zone; see the module docstring."""

    def __init__(
        self,
        timezone: str | tzinfo = DEFAULT_TIMEZONE,
        hours: tuple[time, time] = DEFAULT_HOURS,
        extra_holidays: Mapping[date, str] | None = None,
        extra_workdays: Set[date] = frozenset(),
        *,
        public: PublicHolidays = PublicHolidays(),
    ) -> None:
        self.zone: tzinfo = ZoneInfo(timezone) if isinstance(timezone, str) else timezone
        start, end = hours
        if not start < end:
            raise ValueError(f"business hours must start before they end, not {start:%H:%M}-{end:%H:%M}")
        self.hours = (start, end)
        self.extra_holidays: Mapping[date, str] = MappingProxyType(dict(extra_holidays or {}))
        self.extra_workdays = frozenset(extra_workdays)
        # The package's dates come from a child process (`daemon.sla.public_days`):
        # importing the package here would keep all its countries in memory.
        self._public = PublicDays(public.country, public.language)
        self._collective = (
            PublicDays(public.country, public.language, categories=("government",))
            if public.collective_leave
            else None
        )

    # -- days ---------------------------------------------------------------

    def public_holiday(self, day: date) -> str | None:
        """The name of the public holiday on `day` (the holidays package), if any."""
        return self._public.get(day)

    def day(self, day: date) -> Day:
        """What `day` is; extra working days win over everything, then days off."""
        if day in self.extra_workdays:
            instead = self.extra_holidays.get(day) or self.public_holiday(day)
            if instead is None and day.weekday() >= 5:
                instead = "weekend"
            note = f" instead of {instead}" if instead else ""
            return Day(day, True, "extra-workday", f"extra working day (rules.yaml){note}")
        if day in self.extra_holidays:
            return Day(day, False, "day-off", self.extra_holidays[day])
        public = self.public_holiday(day)
        if public is not None:
            return Day(day, False, "holiday", public)
        collective = self._collective.get(day) if self._collective is not None else None
        if collective is not None:
            return Day(day, False, "collective-leave", collective)
        if day.weekday() >= 5:
            return Day(day, False, "weekend", "weekend")
        return Day(day, True, "workday", "working day")

    def is_working_day(self, day: date) -> bool:
        return self.day(day).working

    def holiday_name(self, day: date) -> str | None:
        """Why a weekday is not worked (a holiday or a listed day off), else None."""
        found = self.day(day)
        return found.reason if found.kind in ("holiday", "collective-leave", "day-off") else None

    def month(self, year: int, month: int) -> list[Day]:
        """Every day of the month, working or not."""
        days_in_month = _stdlib_calendar.monthrange(year, month)[1]
        return [self.day(date(year, month, number)) for number in range(1, days_in_month + 1)]

    def working_days(self, year: int, month: int) -> list[date]:
        return [day.date for day in self.month(year, month) if day.working]

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after `day`."""
        return self._step(day, 1)

    def previous_working_day(self, day: date) -> date:
        """The last working day strictly before `day`."""
        return self._step(day, -1)

    def _step(self, day: date, direction: int) -> date:
        for _ in range(_SEARCH_LIMIT_DAYS):
            day += timedelta(days=direction)
            if self.is_working_day(day):
                return day
        raise ValueError(f"no working day within {_SEARCH_LIMIT_DAYS} days of {day}")

    # -- moments ------------------------------------------------------------

    def local_date(self, moment: datetime) -> date:
        return self.local(moment).date()

    def local(self, moment: datetime) -> datetime:
        """`moment` in the calendar's zone; naive datetimes are refused."""
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"a naive datetime has no place on the calendar: {moment!r}")
        return moment.astimezone(self.zone)

    def opening(self, day: date) -> datetime:
        """Start of business hours on `day` (in the calendar's zone)."""
        return datetime.combine(day, self.hours[0], tzinfo=self.zone)

    def closing(self, day: date) -> datetime:
        """End of business hours on `day`."""
        return datetime.combine(day, self.hours[1], tzinfo=self.zone)

    def _window(self, day: date) -> tuple[datetime, datetime] | None:
        """Business hours of `day` in UTC, or None on a day that is not worked."""
        if not self.is_working_day(day):
            return None
        return self.opening(day).astimezone(UTC), self.closing(day).astimezone(UTC)

    def business_day_hours(self) -> float:
        """How long a working day's business hours are, in hours."""
        start, end = (datetime.combine(date(2000, 1, 3), hour) for hour in self.hours)
        return (end - start).total_seconds() / 3600

    # -- counting in working days ---------------------------------------------

    def add_working_days(self, moment: datetime, days: int) -> datetime:
        """End of business hours of the `days`-th working day after the local day of `moment`.

        With 0, the end of business on the day of `moment` when that is a working
        day, else on the next working day.
        """
        if days < 0:
            raise ValueError("add_working_days counts forwards only")
        day = self.local_date(moment)
        if days == 0 and not self.is_working_day(day):
            day = self.next_working_day(day)
        for _ in range(days):
            day = self.next_working_day(day)
        return self.closing(day)

    def end_of_next_working_day(self, moment: datetime) -> datetime:
        """The default first-response target: by the end of the next working day."""
        return self.add_working_days(moment, 1)

    def working_days_between(self, start: datetime, end: datetime) -> int:
        """Working days after the local day of `start`, up to and including that of `end`.

        The inverse of `add_working_days`: a moment on the day that
        `add_working_days(start, n)` falls on is n working days after `start`.
        Negative when `end` is on an earlier day.
        """
        first, last = self.local_date(start), self.local_date(end)
        if last < first:
            return -self.working_days_between(end, start)
        count = 0
        day = first
        while day < last:
            day += timedelta(days=1)
            count += self.is_working_day(day)
        return count

    # -- counting in working hours --------------------------------------------

    def add_working_hours(self, moment: datetime, hours: float) -> datetime:
        """The moment `hours` of business time after `moment` (before it, when negative).

        Time outside business hours does not count: 2 hours from Saturday noon
        is Monday 10:00. Landing exactly on the end of business stays on that day.
        """
        self.local(moment)
        remaining = timedelta(hours=hours)
        if remaining == timedelta(0):
            return self.local(moment)
        if remaining < timedelta(0):
            return self._subtract(moment.astimezone(UTC), -remaining)
        cursor = moment.astimezone(UTC)
        day = self.local_date(moment)
        for _ in range(_SEARCH_LIMIT_DAYS):
            window = self._window(day)
            if window is not None:
                begin = max(cursor, window[0])
                if begin < window[1]:
                    available = window[1] - begin
                    if remaining <= available:
                        return (begin + remaining).astimezone(self.zone)
                    remaining -= available
            day += timedelta(days=1)
        raise ValueError(f"no working time within {_SEARCH_LIMIT_DAYS} days of {moment}")

    def _subtract(self, moment: datetime, remaining: timedelta) -> datetime:
        """Walk back `remaining` business time from `moment`; exact fit stays on the day."""
        day = self.local_date(moment)
        for _ in range(_SEARCH_LIMIT_DAYS):
            window = self._window(day)
            if window is not None:
                finish = min(moment, window[1])
                if finish > window[0]:
                    available = finish - window[0]
                    if remaining <= available:
                        return (finish - remaining).astimezone(self.zone)
                    remaining -= available
            day -= timedelta(days=1)
        raise ValueError(f"no working time within {_SEARCH_LIMIT_DAYS} days before {moment}")

    def working_hours_between(self, start: datetime, end: datetime) -> float:
        """Business hours from `start` to `end`; negative when `end` is earlier."""
        if end < start:
            return -self.working_hours_between(end, start)
        start_utc, end_utc = start.astimezone(UTC), end.astimezone(UTC)
        total = timedelta(0)
        day, last = self.local_date(start), self.local_date(end)
        while day <= last:
            window = self._window(day)
            if window is not None:
                overlap = min(end_utc, window[1]) - max(start_utc, window[0])
                total += max(overlap, timedelta(0))
            day += timedelta(days=1)
        return total.total_seconds() / 3600

    # -- durations as rules.yaml writes them ------------------------------------

    def deadline(self, moment: datetime, span: WorkingTime) -> datetime:
        """A target counted from an event: "2d" is the end of the 2nd working day after."""
        if span.unit == "d":
            return self.add_working_days(moment, span.amount)
        return self.add_working_hours(moment, self.span_hours(span))

    def shift(self, moment: datetime, span: WorkingTime, *, before: bool = False) -> datetime:
        """An offset from a due time, in business time: "1d" is one business day's hours."""
        hours = self.span_hours(span)
        return self.add_working_hours(moment, -hours if before else hours)

    def span_hours(self, span: WorkingTime) -> float:
        if span.unit == "d":
            return span.amount * self.business_day_hours()
        return span.amount if span.unit == "h" else span.amount / 60
