"""The processor hands each kind of mail to exactly one handler."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from daemon.classify.kinds import Kind
from daemon.tickets.processing import Processor

RAW = (
    b"From: budi@example.net\r\nTo: cs@example.co.id\r\nSubject: Koran\r\n"
    b"Message-ID: <key@example.net>\r\n\r\nKoran tidak datang.\r\n"
)


def _processor() -> Processor:
    # Constructing a processor touches none of its collaborators.
    desk: Any = SimpleNamespace(
        config=SimpleNamespace(address="cs@example.co.id", own_addresses=("cs@example.co.id",))
    )
    parts: Any = SimpleNamespace()
    engine: Any = None
    return Processor(engine, lambda: None, desk, parts)


def test_every_kind_has_exactly_one_handler() -> None:
    handlers = _processor().handlers
    assert set(handlers) == set(Kind)
    assert len({handler.__name__ for handler in handlers.values()}) == len(Kind)
