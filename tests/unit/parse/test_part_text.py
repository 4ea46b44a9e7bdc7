"""One body part's text, decoded the one way both backends use, and the note on its charset."""

from __future__ import annotations

import email
import email.policy

from daemon.parse.body import part_text


def _part(headers: str, body: bytes) -> email.message.Message:
    return email.message_from_bytes(headers.encode() + b"\r\n\r\n" + body, policy=email.policy.compat32)


def test_a_declared_label_is_read_as_its_superset_without_a_note() -> None:
    text = part_text(_part("Content-Type: text/plain; charset=GB2312", "王喆".encode("gb18030")))
    assert text.text == "王喆"
    assert text.note is None


def test_html_without_a_mime_charset_uses_its_meta_charset() -> None:
    html = '<html><head><meta http-equiv="Content-Type" content="text/html; charset=big5"></head>'
    part = _part("Content-Type: text/html", (html + "<p>訂嘅貨</p>").encode("big5hkscs"))
    assert "<p>訂嘅貨</p>" in part_text(part).text


def test_quoted_printable_and_base64_are_undone_first() -> None:
    part = _part(
        "Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable",
        b"=93Hi=94 =80",
    )
    assert part_text(part).text == "“Hi” €"


def test_a_label_that_did_not_fit_is_noted() -> None:
    part = _part("Content-Type: text/plain; charset=iso-8859-1", "Grüße".encode())
    assert part_text(part).text == "Grüße"
    assert part_text(part).note == "charset 'iso-8859-1' did not fit: read as utf-8"


def test_an_empty_part_is_empty() -> None:
    assert part_text(_part("Content-Type: text/plain", b"")).text == ""
