"""Plain header text goes into an outgoing mail as it is; the bytes are those the email package makes.

`compose` hands a header to the email package to parse and fold only when
its text is not plain (`compose._put`). These tests compose each mail both
ways, every header through the package and plain ones raw, and require the
same bytes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from daemon.outbox import compose as composing
from daemon.outbox.compose import Envelope, Rendered, compose

WIB = timezone(timedelta(hours=7))
# Printable ASCII, the characters a structured header gives meaning to, a little
# UTF-8, and the start of an RFC 2047 word.
PIECES = st.sampled_from(
    [*map(chr, range(0x20, 0x7F)), "é", "ñ", "日", "=?", "?=", "  ", "=?utf-8?q?", "<a@b>"]
)
TEXT = st.lists(PIECES, max_size=40).map("".join)
ADDRESSES = st.sampled_from(
    ["budi@example.co.id", '"system administrator"@example.com', "a+b.1@x.example", "josé@example.co.id"]
)
MESSAGE_IDS = st.one_of(
    st.sampled_from(["<ack.1.abc@example.co.id>", "<CA+x=y/z@mail.gmail.com>", "<a@b> <c@d>"]),
    TEXT.filter(lambda text: text.strip() != ""),
)


def _both_ways(
    envelope: Envelope, rendered: Rendered, monkeypatch: pytest.MonkeyPatch
) -> tuple[bytes, bytes]:
    quick = compose(envelope, rendered)
    with monkeypatch.context() as patched:
        patched.setattr(composing, "_plain_header", lambda value: False)
        parsed = compose(envelope, rendered)
    return quick, parsed


def _envelope(**changes: object) -> Envelope:
    fields: dict[str, object] = {
        "from_name": "Layanan Pelanggan PT Contoh",
        "from_address": "care@example.co.id",
        "to": "budi@example.co.id",
        "message_id": "<ack.12345.abcdef@example.co.id>",
        "date": datetime(2026, 7, 21, 10, 4, 5, tzinfo=WIB),
        "auto_submitted": "auto-replied",
        "loop_marker": "caredesk; ticket=KEL-2026-000123",
        "in_reply_to": "<orig-123@mail.example.com>",
        "references": ("<orig-123@mail.example.com>",),
        "language": "id",
    }
    return Envelope(**{**fields, **changes})  # type: ignore[arg-type]


RENDERED = Rendered(subject="[KEL-2026-000123] Keluhan Anda sudah kami terima", body="Yth. Bapak Budi,\n")


@settings(max_examples=300, deadline=None)
@given(name=TEXT, to=ADDRESSES, subject=TEXT, in_reply_to=MESSAGE_IDS, marker=TEXT)
@example(
    name="PT. Contoh, Tbk", to="budi@example.co.id", subject="Re: (urgent)", in_reply_to="<a@b>", marker="x"
)
@example(
    name='Budi "B" Santoso', to="budi@example.co.id", subject="=?utf-8?q?x?=", in_reply_to="<a@b>", marker="y"
)
@example(name="Dépt. Qualité", to="josé@example.co.id", subject="Keluhan é", in_reply_to="<a@b>", marker="z")
def test_every_header_has_the_bytes_the_email_package_gives_it(
    name: str, to: str, subject: str, in_reply_to: str, marker: str
) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        envelope = _envelope(from_name=name, to=to, in_reply_to=in_reply_to, loop_marker=marker or "x")
        rendered = Rendered(subject=composing.header_safe(subject), body="Terima kasih.\n")
        quick, parsed = _both_ways(envelope, rendered, monkeypatch)
    assert quick == parsed


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 7, 21, 10, 4, 5, tzinfo=WIB),
        datetime(2026, 1, 1, 0, 0, 0, 999_999, tzinfo=UTC),
        datetime(2026, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-3, minutes=-30))),
    ],
)
def test_the_date_header_is_the_same_either_way(moment: datetime, monkeypatch: pytest.MonkeyPatch) -> None:
    quick, parsed = _both_ways(_envelope(date=moment), RENDERED, monkeypatch)
    assert quick == parsed


def test_a_long_thread_keeps_the_first_and_last_ten_references_the_same_either_way(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    references = tuple(f"<part-{n}.{'x' * 40}@mail.example.com>" for n in range(30))
    quick, parsed = _both_ways(_envelope(references=references), RENDERED, monkeypatch)
    assert quick == parsed
    assert b"<part-0." in quick and b"<part-29." in quick and b"<part-19." not in quick


def test_plain_text_is_written_raw_and_anything_else_goes_through_the_package() -> None:
    assert composing._plain_header("Layanan Pelanggan <care@example.co.id>")
    assert composing._plain_header("Tue, 21 Jul 2026 10:04:05 +0700")
    for other in (
        '"PT. Contoh" <care@example.co.id>',
        "Keluhan é",
        "=?utf-8?q?x?=",
        "a  b",
        " a",
        "a\r\nBcc: x",
    ):
        assert not composing._plain_header(other), other
    assert not composing._plain_header("x" * 901)


def test_a_line_break_in_a_header_is_still_refused() -> None:
    """`set_raw` would take one; plain text cannot hold it, so the package refuses it as before."""
    with pytest.raises(ValueError, match="linefeed or carriage return"):
        compose(_envelope(loop_marker="caredesk\r\nBcc: victim@example.com"), RENDERED)
