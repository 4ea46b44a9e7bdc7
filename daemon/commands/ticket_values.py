"""How a ticket's values read in `tickets list` and `tickets show`: as JSON, and as text for people.

The commands build one dict per ticket with real values (datetimes, dates,
booleans, lists). `--json` writes them as ISO strings with their UTC offset,
booleans and lists; the text views print every time in the configured time
zone (`2026-07-21 10:00`, the format of the register's due dates), booleans as
yes/no and lists joined with ", ".
"""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Iterable, Mapping
from datetime import date, datetime, tzinfo
from typing import Any

from daemon.tickets.summary import breaches, ticket_summary

__all__ = ["breaches", "ticket_summary"]

TIME_FORMAT = "%Y-%m-%d %H:%M"
ELLIPSIS = "…"


def json_value(value: object) -> str:
    """What `json.dumps` cannot write itself: a time or a date, as ISO 8601 (a time with its offset)."""
    if isinstance(value, date):  # datetime too
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def json_text(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, default=json_value)


def write_json_list(items: Iterable[Mapping[str, Any]]) -> None:
    """A JSON list written one item at a time, as `json.dumps(list, indent=2)` would write it whole."""
    out = sys.stdout
    empty = True
    out.write("[")
    for item in items:
        out.write(("\n" if empty else ",\n") + textwrap.indent(json_text(item), "  "))
        empty = False
    out.write("]\n" if empty else "\n]\n")


def local_time(value: datetime | None, zone: tzinfo) -> str:
    """`2026-07-21 10:00` in `zone`, or `-`."""
    return f"{value.astimezone(zone):{TIME_FORMAT}}" if value is not None else "-"


def text_value(value: object, zone: tzinfo) -> str:
    """A value of the JSON view as the text view prints it."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return local_time(value, zone)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value)
    return str(value)


def clip(text: str, width: int) -> str:
    """`text` in at most `width` characters, cut with an ellipsis when it is longer."""
    return text if len(text) <= width else text[: width - 1] + ELLIPSIS
