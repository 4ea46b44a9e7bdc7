"""Log lines that carry the mail and ticket they are about, and `[logging] format`.

While one mail is processed or one outgoing row is sent, the stage binds what
it knows (`inbound`, `message_id`, `ticket`, `outbound`) with `bound(...)` and
adds to it with `add(...)` as it learns more (the ticket is known after routing).
A filter on the handler copies the fields onto every record logged meanwhile, so
the JSON format has them as fields of their own, whichever module logged the
line; the text format stays as it was.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter

FIELDS = ("inbound", "message_id", "ticket", "outbound")
FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_current: ContextVar[dict[str, object] | None] = ContextVar("caredesk_log_fields", default=None)


@contextlib.contextmanager
def bound(**fields: object) -> Iterator[None]:
    """Within the block, every log record carries `fields` (on top of any bound outside it)."""
    outer = _current.get() or {}
    token = _current.set({**outer, **{k: v for k, v in fields.items() if v not in (None, "")}})
    try:
        yield
    finally:
        _current.reset(token)


def add(**fields: object) -> None:
    """Add to the innermost `bound` block (nothing happens outside one)."""
    current = _current.get()
    if current is not None:
        current.update({k: v for k, v in fields.items() if v not in (None, "")})


class ContextFields(logging.Filter):
    """Copies the bound fields onto each record (a field a call passed in `extra` wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in (_current.get() or {}).items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


def json_formatter() -> logging.Formatter:
    """One JSON object a line: time (ISO 8601, UTC), level, logger, message, then the fields."""
    return JsonFormatter(
        "{levelname}{name}{message}",
        style="{",
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp="time",
    )


def configure(level: str, log_format: str = "text") -> None:
    """Log to standard error at `level`, as text or JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ContextFields())
    handler.setFormatter(json_formatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=getattr(logging, level, logging.INFO), handlers=[handler])
