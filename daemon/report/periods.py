"""Report periods: a calendar month (`2026-10`) and a quarter (`2026Q4`), in local time.

A period's bounds are the local midnights that start and end it, as aware
datetimes, so that a query for "October in Jakarta" is a half-open range of
moments whatever zone the database stores in. `AsOf` is the moment a report
is made and the zone its times are shown in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo
from zoneinfo import ZoneInfo

_MONTH = re.compile(r"(\d{4})-(\d{1,2})")
_QUARTER = re.compile(r"(\d{4})\s*-?\s*[Qq]([1-4])")


@dataclass(frozen=True, order=True, slots=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        """`2026-10` -> Month(2026, 10); ValueError for anything else."""
        found = _MONTH.fullmatch(text.strip())
        if found is None or not 1 <= int(found.group(2)) <= 12:
            raise ValueError(f"a month looks like 2026-10, not {text!r}")
        return cls(int(found.group(1)), int(found.group(2)))

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)

    def __str__(self) -> str:
        return f"{self.year}-{self.month:02d}"

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> Month:
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    def bounds(self, zone: tzinfo) -> tuple[datetime, datetime]:
        """[start, end) of the month in `zone`."""
        return _midnight(self.first_day, zone), _midnight(self.next().first_day, zone)


@dataclass(frozen=True, order=True, slots=True)
class Quarter:
    year: int
    quarter: int

    @classmethod
    def parse(cls, text: str) -> Quarter:
        """`2026Q4` (or `2026-Q4`) -> Quarter(2026, 4); ValueError for anything else."""
        found = _QUARTER.fullmatch(text.strip())
        if found is None:
            raise ValueError(f"a quarter looks like 2026Q4, not {text!r}")
        return cls(int(found.group(1)), int(found.group(2)))

    def __str__(self) -> str:
        return f"{self.year}Q{self.quarter}"

    @property
    def months(self) -> tuple[Month, Month, Month]:
        first = 3 * (self.quarter - 1) + 1
        return Month(self.year, first), Month(self.year, first + 1), Month(self.year, first + 2)

    def bounds(self, zone: tzinfo) -> tuple[datetime, datetime]:
        first, _, last = self.months
        return first.bounds(zone)[0], last.bounds(zone)[1]


@dataclass(frozen=True, slots=True)
class AsOf:
    """When a report is made, and the zone it is made in.

    Outcomes (met, overdue) and open tickets are as they stand at `now`; every
    time the report shows, and the bounds of its period, are local to `timezone`.
    """

    now: datetime
    timezone: str

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def local_now(self) -> datetime:
        """`now` in the report's zone: the report's "generated at"."""
        return self.now.astimezone(self.zone)


def _midnight(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=zone)
