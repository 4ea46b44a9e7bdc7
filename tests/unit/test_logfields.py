"""The fields a log line carries while one mail or one outgoing row is handled."""

from __future__ import annotations

import json
import logging

from daemon import logfields


def _record(message: str, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("caredesk.test", logging.INFO, __file__, 1, message, (), None)
    for name, value in extra.items():
        setattr(record, name, value)
    logfields.ContextFields().filter(record)
    return record


def test_fields_are_bound_for_the_block_and_gone_after() -> None:
    with logfields.bound(inbound=7, message_id=""):
        logfields.add(ticket="CC-2026-000001", message_id="<m@x>")
        inside = _record("inside")
        with logfields.bound(outbound=3):
            nested = _record("nested")
        after_nested = _record("after nested")
    outside = _record("outside")

    assert (inside.inbound, inside.ticket, inside.message_id) == (7, "CC-2026-000001", "<m@x>")  # type: ignore[attr-defined]
    assert (nested.inbound, nested.outbound) == (7, 3)  # type: ignore[attr-defined]
    assert not hasattr(after_nested, "outbound")
    assert not any(hasattr(outside, name) for name in logfields.FIELDS)


def test_add_outside_a_block_changes_nothing_and_extra_wins() -> None:
    logfields.add(ticket="CC-2026-000009")
    assert not hasattr(_record("x"), "ticket")
    with logfields.bound(ticket="CC-1"):
        assert _record("y", ticket="CC-2").ticket == "CC-2"  # type: ignore[attr-defined]


def test_the_json_line_has_level_logger_message_and_fields() -> None:
    with logfields.bound(ticket="CC-2026-000001"):
        record = _record("sent ack")
    line = json.loads(logfields.json_formatter().format(record))
    assert line["level"] == "INFO" and line["logger"] == "caredesk.test"
    assert line["message"] == "sent ack" and line["ticket"] == "CC-2026-000001"
    assert line["time"].endswith("+00:00")
