"""`caredesk calendar --month YYYY-MM`: the working days the SLA clock counts, and why."""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from daemon import clock
from daemon.commands import UserError, configure
from daemon.config import ConfigError
from daemon.route.loader import load_rules
from daemon.route.rules import Rules, RulesError, format_problem
from daemon.sla.calendar import Day, WorkCalendar

_MONTH = re.compile(r"(\d{4})-(\d{2})")


@dataclass(frozen=True)
class MonthListing:
    """One month of the calendar, as the command lists it."""

    year: int
    month: int
    days: tuple[Day, ...]

    @property
    def name(self) -> str:
        """`2026-08`."""
        return f"{self.year}-{self.month:02d}"

    @property
    def working(self) -> int:
        """How many of the days are working days."""
        return sum(day.working for day in self.days)


def cmd_calendar(args: argparse.Namespace) -> int:
    config = configure(args)
    rules = _load(Path(args.rules) if args.rules else config.rules)
    calendar = rules.calendar_config.build(config.timezone)
    year, month = _parse_month(args.month, calendar)
    listing = MonthListing(year, month, tuple(calendar.month(year, month)))
    if args.json:
        print(json.dumps(_as_json(calendar, rules, listing), ensure_ascii=False, indent=2))
        return 0
    start, end = calendar.hours
    print(f"{listing.name}  {calendar.zone}  business hours {start:%H:%M}-{end:%H:%M}  ({rules.source})")
    for day in listing.days:
        state = "working" if day.working else "-"
        print(f"{day.date.isoformat()} {day.date:%a}  {state:<8} {_reason(day)}".rstrip())
    print(f"{listing.working} working days")
    return 0


# What each kind of day is called in the listing; the JSON carries the kind itself.
_LABELS = {"holiday": "public holiday", "collective-leave": "collective leave", "day-off": "day off"}


def _reason(day: Day) -> str:
    if day.kind == "workday":
        return ""
    label = _LABELS.get(day.kind)
    return f"{label}: {day.reason}" if label else day.reason


def _load(path: Path) -> Rules:
    try:
        return load_rules(path)
    except RulesError as error:
        details = "\n".join(format_problem(problem) for problem in error.problems)
        raise ConfigError(f"{path}: rules are invalid:\n{details}") from None


def _parse_month(text: str | None, calendar: WorkCalendar) -> tuple[int, int]:
    if text is None:
        today = calendar.local_date(clock.now())
        return today.year, today.month
    found = _MONTH.fullmatch(text.strip())
    if found is None or not 1 <= int(found.group(2)) <= 12:
        raise UserError(f"--month must look like 2026-08, not {text!r}")
    return int(found.group(1)), int(found.group(2))


def _as_json(calendar: WorkCalendar, rules: Rules, listing: MonthListing) -> dict[str, Any]:
    start, end = calendar.hours
    return {
        "month": listing.name,
        "timezone": str(calendar.zone),
        "business_hours": {"start": f"{start:%H:%M}", "end": f"{end:%H:%M}"},
        "rules": rules.source,
        "rules_version": rules.version,
        "working_days": listing.working,
        "days": [
            {
                "date": day.date.isoformat(),
                "weekday": f"{day.date:%a}",
                "working": day.working,
                "kind": day.kind,
                "reason": day.reason,
            }
            for day in listing.days
        ],
    }
