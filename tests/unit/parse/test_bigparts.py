"""A big attachment set aside before parsing reads exactly as when the parsers see it whole."""

from __future__ import annotations

import base64

import pytest

from daemon.parse import bigparts, limits
from daemon.parse.message import InboundMail
from daemon.parse.parser import parse


def _mail(content: bytes, *, disposition: str = "attachment", ctype: str = "image/jpeg") -> bytes:
    encoded = base64.encodebytes(content).replace(b"\n", b"\r\n")
    return (
        b"From: Budi <budi@example.net>\r\nSubject: foto\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nFoto terlampir.\r\n"
        b"--b\r\nContent-Type: " + ctype.encode() + b'; name="foto.jpg"\r\n'
        b"Content-Disposition: " + disposition.encode() + b'; filename="foto.jpg"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + encoded + b"--b--\r\n"
    )


def _parsed_whole(raw: bytes, monkeypatch: pytest.MonkeyPatch) -> InboundMail:
    with monkeypatch.context() as patch:
        patch.setattr(limits, "SET_ASIDE_BYTES", 10**12)
        return parse(raw)


@pytest.mark.parametrize("ctype", ["image/jpeg", "application/pdf"])
def test_set_aside_attachment_is_the_same_file(ctype: str, monkeypatch: pytest.MonkeyPatch) -> None:
    content = bytes(range(256)) * 8_000  # 2 MB
    raw = _mail(content, ctype=ctype)
    assert bigparts.set_aside(raw).bodies, "the attachment was not set aside"

    mail = parse(raw)

    whole = _parsed_whole(raw, monkeypatch)
    assert [(a.filename, a.sha256, a.size) for a in mail.attachments] == [
        (a.filename, a.sha256, a.size) for a in whole.attachments
    ]
    assert mail.attachments[0].payload == content
    assert (mail.text, mail.defects) == (whole.text, whole.defects)


def test_text_parts_and_small_attachments_are_never_set_aside() -> None:
    content = bytes(range(256)) * 8_000
    assert not bigparts.set_aside(_mail(content, ctype="text/plain")).bodies
    assert not bigparts.set_aside(_mail(content[:1000])).bodies


def test_over_the_size_limit_is_still_dropped_with_its_note(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "ATTACHMENT_SIZE_LIMIT", 1_500_000)
    mail = parse(_mail(bytes(range(256)) * 8_000))
    assert mail.attachments == ()
    assert "attachment dropped: foto.jpg is over 1,500,000 bytes" in mail.defects
