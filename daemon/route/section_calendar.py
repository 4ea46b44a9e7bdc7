"""The `calendar:` section: the working-day calendar the service levels count in.

This module owns what the section may say (time zone, business hours, extra
holidays, extra working days, collective leave) and how each is checked; the
calendar itself, and what a working day is, belong to `daemon.sla.calendar`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, time
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from yaml.nodes import Node, ScalarNode

from daemon.route.reader import NULL_TAG, Entry, NodeReader, is_null, node_kind
from daemon.sla.calendar import DEFAULT_HOURS, DEFAULT_TIMEZONE, CalendarConfig, PublicHolidays, WorkCalendar

_CALENDAR_KEYS = ("timezone", "business_hours", "holidays", "workdays", "collective_leave")
_HOURS_KEYS = ("start", "end")
_HOLIDAY_KEYS = ("date", "name")
_CLOCK = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

Holidays = Mapping[date, tuple[str, Node]]
"""Extra days off: date -> (name, the node of its date)."""


def read_calendar(reader: NodeReader, entry: Entry | None) -> CalendarConfig | None:
    """The `calendar:` section; the built-in calendar when it is absent or empty."""
    if entry is None or is_null(entry.value):
        return CalendarConfig()
    fields = reader.record(entry.value, "calendar", _CALENDAR_KEYS)
    if fields is None:
        return None
    before = reader.errors
    timezone = reader.optional(fields, "timezone", lambda n, w: _timezone(reader, n, w))
    hours = reader.optional(fields, "business_hours", lambda n, w: _business_hours(reader, n, w))
    holidays = _holidays(reader, fields.get("holidays"))
    workdays = _workdays(reader, fields.get("workdays"), holidays)
    collective_leave = bool(reader.optional(fields, "collective_leave", reader.flag))
    if reader.errors > before:
        return None
    config = CalendarConfig(
        timezone=timezone,
        business_hours=hours or DEFAULT_HOURS,
        holidays=MappingProxyType({day: name for day, (name, _) in holidays.items()}),
        workdays=frozenset(workdays),
        collective_leave=collective_leave,
    )
    _warn_redundant_days(reader, config, holidays, workdays)
    return config


def _timezone(reader: NodeReader, node: Node, what: str) -> str | None:
    name = reader.text(node, what)
    if name is None:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        reader.error(node, f"unknown time zone '{name}' (write it like Asia/Jakarta)")
        return None
    return name


def _business_hours(reader: NodeReader, node: Node, what: str) -> tuple[time, time] | None:
    fields = reader.record(node, what, _HOURS_KEYS, _HOURS_KEYS)
    if fields is None or set(fields) != set(_HOURS_KEYS):
        return None
    start = _clock(reader, fields["start"].value, "start")
    end = _clock(reader, fields["end"].value, "end")
    if start is None or end is None:
        return None
    if not start < end:
        reader.error(node, f"business hours must start before they end ({start:%H:%M}-{end:%H:%M})")
        return None
    return start, end


def _clock(reader: NodeReader, node: Node, what: str) -> time | None:
    # YAML 1.1 reads an unquoted 08:00 as the number 480; the node keeps the text.
    found = _CLOCK.fullmatch(node.value.strip()) if isinstance(node, ScalarNode) else None
    if found is None:
        reader.error(node, f'{what} must be a time of day like "08:00", not {node_kind(node)}')
        return None
    return time(int(found.group(1)), int(found.group(2)))


def _calendar_date(reader: NodeReader, node: Node, what: str) -> date | None:
    # An unquoted 2026-12-24 is a YAML timestamp; the node keeps the text.
    text = node.value.strip() if isinstance(node, ScalarNode) and node.tag != NULL_TAG else None
    if text is None or not _ISO_DATE.fullmatch(text):
        reader.error(node, f"{what} must be a date like 2026-12-24, not {node_kind(node)}")
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        reader.error(node, f"{what} '{text}' is not a date: {exc}")
        return None


def _holidays(reader: NodeReader, entry: Entry | None) -> dict[date, tuple[str, Node]]:
    found: dict[date, tuple[str, Node]] = {}
    for node in reader.items(entry, "holidays"):
        fields = reader.record(node, "holiday", _HOLIDAY_KEYS, _HOLIDAY_KEYS)
        if fields is None or set(fields) != set(_HOLIDAY_KEYS):
            continue
        day = _calendar_date(reader, fields["date"].value, "date")
        name = reader.text(fields["name"].value, "name")
        if day is None or name is None:
            continue
        if day in found:
            first = found[day][1].start_mark.line + 1
            reader.error(fields["date"].value, f"holiday {day} is listed twice (first at line {first})")
            continue
        found[day] = (name, fields["date"].value)
    return found


def _workdays(reader: NodeReader, entry: Entry | None, holidays: Holidays) -> dict[date, Node]:
    found: dict[date, Node] = {}
    for node in reader.items(entry, "workdays"):
        day = _calendar_date(reader, node, "working day")
        if day is None:
            continue
        if day in found:
            first = found[day].start_mark.line + 1
            reader.error(node, f"working day {day} is listed twice (first at line {first})")
        elif day in holidays:
            line = holidays[day][1].start_mark.line + 1
            reader.error(node, f"{day} is listed both as a holiday (line {line}) and as a working day")
        else:
            found[day] = node
    return found


def _warn_redundant_days(
    reader: NodeReader, config: CalendarConfig, holidays: Holidays, workdays: Mapping[date, Node]
) -> None:
    """Listing a day that is off (or worked) anyway is harmless, but usually a wrong date."""
    plain = WorkCalendar(
        config.timezone or DEFAULT_TIMEZONE,
        hours=config.business_hours,
        public=PublicHolidays(collective_leave=config.collective_leave),
    )
    for day, (_, node) in holidays.items():
        known = plain.day(day)
        if not known.working:
            reader.warning(node, f"{day} ({day:%A}) is not a working day anyway: {known.reason}")
    for day, node in workdays.items():
        if plain.is_working_day(day):
            reader.warning(node, f"{day} ({day:%A}) is a working day anyway")
