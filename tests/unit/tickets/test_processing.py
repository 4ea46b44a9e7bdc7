"""The processor hands each kind of mail to exactly one handler, and keys duplicates by content."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace
from typing import Any

from daemon.classify.kinds import Kind
from daemon.parse.parser import parse
from daemon.tickets.processing import Processor, logical_key

RAW = (
    b"From: budi@example.net\r\nTo: cs@example.co.id\r\nSubject: Koran\r\n"
    b"Message-ID: <key@example.net>\r\n\r\nKoran tidak datang.\r\n"
)


def _processor() -> Processor:
    # Constructing a processor touches none of its collaborators.
    desk: Any = SimpleNamespace(config=SimpleNamespace(address="cs@example.co.id"))
    parts: Any = SimpleNamespace()
    engine: Any = None
    return Processor(engine, lambda: None, desk, parts)


def test_every_kind_has_exactly_one_handler() -> None:
    handlers = _processor().handlers
    assert set(handlers) == set(Kind)
    assert len({handler.__name__ for handler in handlers.values()}) == len(Kind)


def test_the_same_mail_delivered_twice_has_the_same_logical_key() -> None:
    mail = parse(RAW, own_addresses=("cs@example.co.id",))
    again = parse(RAW.replace(b"To: cs@", b"To: other@"), own_addresses=("cs@example.co.id",))
    assert logical_key(mail) == logical_key(again)
    changed = dataclasses.replace(mail, body_sha256="0" * 64)
    assert logical_key(changed) != logical_key(mail)
