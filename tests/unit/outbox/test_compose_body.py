"""A one-part text mail is written without the email package's generator; the bytes are the package's.

`compose._plain_text_bytes` writes the body and the three content headers of
a mail without attachments itself. These tests compose each mail both ways,
the quick way and through `set_content` and `as_bytes`, and require the same
bytes, over bodies with UTF-8, every kind of line break, long lines and the
characters the package treats specially.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from daemon.outbox import compose as composing
from daemon.outbox.compose import Envelope, Rendered, compose

WIB = timezone(timedelta(hours=7))
PIECES = st.sampled_from(
    [
        *map(chr, range(0x20, 0x7F)),
        "\n",
        "\r",
        "\r\n",
        "\t",
        "\x0b",
        "\x0c",
        "\x1c",
        "\x85",
        "\u2028",
        "é",
        "日本",
        "🙂",
        "From ",
        ".",
        "=",
        "x" * 500,
    ]
)
BODIES = st.lists(PIECES, max_size=60).map("".join)
ENVELOPE = Envelope(
    from_name="Layanan Pelanggan PT Contoh",
    from_address="care@example.co.id",
    to="budi@example.co.id",
    message_id="<ack.12345.abcdef@example.co.id>",
    date=datetime(2026, 7, 21, 10, 4, 5, tzinfo=WIB),
    auto_submitted="auto-replied",
    loop_marker="caredesk; ticket=KEL-2026-000123",
    in_reply_to="<orig-123@mail.example.com>",
    references=("<orig-123@mail.example.com>",),
)


def _both_ways(envelope: Envelope, rendered: Rendered) -> tuple[bytes, bytes]:
    quick = compose(envelope, rendered)
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(composing, "_plain_text_bytes", lambda message, body, language: None)
        packaged = compose(envelope, rendered)
    return quick, packaged


@settings(max_examples=300, deadline=None)
@given(body=BODIES, utf8_address=st.booleans(), quoted_name=st.booleans())
@example(body="", utf8_address=False, quoted_name=False)
@example(body="\n", utf8_address=False, quoted_name=False)
@example(body="Yth. Bapak Budi,\n\nTerima kasih.\n", utf8_address=False, quoted_name=False)
@example(body="x" * 998 + "\n", utf8_address=False, quoted_name=False)
@example(body="x" * 999 + "\n", utf8_address=False, quoted_name=False)
@example(body="é" * 499 + "\n", utf8_address=True, quoted_name=True)
@example(body="From here on\r\nbare\rcr\n", utf8_address=False, quoted_name=False)
def test_every_body_has_the_bytes_the_email_package_gives_it(
    body: str, utf8_address: bool, quoted_name: bool
) -> None:
    envelope = ENVELOPE
    if utf8_address:
        envelope = Envelope(**{**envelope.__dict__, "to": "josé@example.co.id"})
    if quoted_name:
        envelope = Envelope(**{**envelope.__dict__, "from_name": 'Dépt. "Qualité"'})
    quick, packaged = _both_ways(envelope, Rendered(subject="Keluhan Anda é", body=body))
    assert quick == packaged


def test_an_ordinary_mail_takes_the_quick_way_and_a_long_line_does_not() -> None:
    """The comparison above means something only if the quick way is the one usually taken."""
    taken: list[bool] = []
    original = composing._plain_text_bytes

    def spy(message: object, body: str, language: str) -> bytes | None:
        result = original(message, body, language)  # type: ignore[arg-type]
        taken.append(result is not None)
        return result

    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(composing, "_plain_text_bytes", spy)
        ascii_mail = compose(ENVELOPE, Rendered(subject="Halo", body="Terima kasih.\n"))
        utf8_mail = compose(ENVELOPE, Rendered(subject="Halo", body="Terima kasih é.\n"))
        long_mail = compose(ENVELOPE, Rendered(subject="Halo", body="x" * 1200 + "\n"))
    assert taken == [True, True, False]
    assert b"Content-Transfer-Encoding: 7bit\r\n" in ascii_mail
    assert b"Content-Transfer-Encoding: 8bit\r\n" in utf8_mail
    assert b"Content-Transfer-Encoding: quoted-printable\r\n" in long_mail


def test_a_mail_with_an_attachment_still_goes_through_the_package() -> None:
    mail = compose(
        ENVELOPE,
        Rendered(subject="Laporan", body="Terlampir.\n"),
        attachments=[("laporan.pdf", "application/pdf", b"%PDF-1.4 x")],
    )
    assert b"multipart/mixed" in mail
    assert b'filename="laporan.pdf"' in mail


def test_text_utf8_cannot_encode_fails_as_it_did() -> None:
    with pytest.raises(UnicodeEncodeError):
        compose(ENVELOPE, Rendered(subject="Halo", body="broken \udcff\n"))


@pytest.mark.parametrize("attachments", [(), (("laporan.pdf", "application/pdf", b"%PDF-1.4 x"),)])
def test_the_mail_says_its_language(attachments: tuple[composing.Attachment, ...]) -> None:
    """`set_content` removes every Content-* header set before it; the language used to go with them."""
    envelope = Envelope(**{**ENVELOPE.__dict__, "language": "en"})
    mail = compose(envelope, Rendered(subject="Hello", body="Thank you.\n"), attachments=attachments)
    head = mail.split(b"\r\n\r\n", 1)[0] + b"\r\n"
    assert head.count(b"\r\nContent-Language: en\r\n") == 1
