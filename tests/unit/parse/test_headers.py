"""Header text: the raw header block's caps, RFC 2047 decoding, display text, dates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from daemon.parse import limits
from daemon.parse.headers import as_utc, decode_bytes, decode_words, display_text, header_date, limit_headers


def test_a_short_header_block_is_left_alone() -> None:
    raw = b"Subject: x\r\n\r\nbody"
    assert limit_headers(raw) == (raw, ())


def test_an_overlong_field_keeps_its_head_and_tail() -> None:
    ids = b" ".join(b"<m%d@x>" % number for number in range(5000))
    raw = b"Subject: x\r\nReferences: " + ids + b"\r\n\r\nbody"
    capped, notes = limit_headers(raw)
    assert notes == ("header field truncated",)
    header = capped.split(b"\r\n\r\n", 1)[0]
    assert b"<m0@x>" in header and b"<m4999@x>" in header and b"<m2500@x>" not in header
    assert capped.endswith(b"\r\n\r\nbody")


def test_fields_beyond_the_block_limit_are_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "HEADER_FIELD_LIMIT", 100)
    monkeypatch.setattr(limits, "HEADER_BLOCK_LIMIT", 200)
    raw = b"".join(b"X-Filler-%d: %s\r\n" % (number, b"y" * 40) for number in range(10)) + b"\r\nbody"
    capped, notes = limit_headers(raw)
    assert notes == ("header block truncated",)
    assert b"X-Filler-0:" in capped and b"X-Filler-9:" not in capped
    assert capped.endswith(b"\r\nbody")


def test_adjacent_words_of_one_charset_are_joined_before_decoding() -> None:
    # The two bytes of "é" in UTF-8, split across two encoded-words.
    assert decode_words("=?utf-8?q?caf=C3?= =?utf-8?q?=A9?=") == "café"


def test_smuggled_line_breaks_become_spaces() -> None:
    assert decode_words("=?utf-8?q?a=0D=0Ab?=") == "a b"


def test_an_unknown_charset_falls_back_to_utf8() -> None:
    assert decode_bytes("é".encode(), "no-such-charset") == "é"
    assert decode_bytes(b"", "utf-8") == ""


def test_display_text_removes_bidi_and_collapses_whitespace() -> None:
    assert display_text("a\u202eb\r\n\tc\u200b d", limit=4) == "ab c"


def test_dates_are_aware_utc() -> None:
    assert header_date("Mon, 1 Jan 2024 10:00:00 +0700") == datetime(2024, 1, 1, 3, 0, tzinfo=UTC)
    assert header_date("Mon, 1 Jan 2024 10:00:00") == datetime(2024, 1, 1, 10, 0, tzinfo=UTC)
    assert header_date("kemarin") is None
    assert header_date(None) is None
    assert as_utc(datetime(2024, 1, 1, tzinfo=timezone(timedelta(hours=7)))) == datetime(
        2023, 12, 31, 17, 0, tzinfo=UTC
    )
    assert as_utc("2024-01-01") is None
