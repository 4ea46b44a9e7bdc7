"""The recipient of an outgoing mail: one addr-spec, safe in the To header and the SMTP envelope."""

from __future__ import annotations

import email
import email.policy
import smtplib
from datetime import UTC, datetime

import pytest

from daemon.outbox.compose import Envelope, Rendered, checked_address, compose

QUOTED = '"system administrator"@example.com'


@pytest.mark.parametrize("address", ["budi@example.co.id", QUOTED, '"budi.santoso"@example.co.id'])
def test_a_plain_or_quoted_local_part_is_accepted(address: str) -> None:
    assert checked_address(address) == address


@pytest.mark.parametrize(
    "address",
    [
        "",
        "budi santoso@example.co.id",
        "Budi <budi@example.co.id>",
        "a@example.co.id, b@example.co.id",
        '"unterminated@example.co.id',
        '"x"y@example.co.id',
        '""@example.co.id',
        '"a\\"b"@example.co.id',
        '"a"@b@example.co.id',
        "budi@example.co.id\r\nBcc: x@evil.example",
        '"a\r\nBcc: x"@example.co.id',
    ],
)
def test_anything_else_is_refused(address: str) -> None:
    with pytest.raises(ValueError, match="unusable address"):
        checked_address(address)


def test_a_quoted_local_part_survives_the_to_header_and_the_smtp_envelope() -> None:
    raw = compose(
        _envelope(QUOTED), Rendered(subject="[CC-2026-000001] Keluhan diterima", body="Terima kasih.\n")
    )

    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert b'\nTo: "system administrator"@example.com\r\n' in raw
    assert message["To"].addresses[0].addr_spec == QUOTED
    # smtplib writes the envelope recipient as it is, in angle brackets.
    assert smtplib.quoteaddr(QUOTED) == f"<{QUOTED}>"


def _envelope(to: str) -> Envelope:
    return Envelope(
        from_name="Customer Care",
        from_address="cs@example.co.id",
        to=to,
        message_id="<ack-2@example.co.id>",
        date=datetime(2026, 11, 6, 3, 0, tzinfo=UTC),
        auto_submitted="auto-replied",
        loop_marker="caredesk-test",
    )


def test_a_utf8_address_is_written_in_utf8_not_as_an_encoded_word() -> None:
    # RFC 2047 words are not allowed in an addr-spec: `=?utf-8?q?jos=C3=A9?=@...` reaches nobody.
    rendered = Rendered(subject="[CC-2026-000002] Keluhan diterima – José", body="Terima kasih.\n")
    raw = compose(_envelope("josé@example.com"), rendered)

    assert "\nTo: josé@example.com\r\n".encode() in raw
    assert b"=?utf-8?" not in raw.split(b"\r\n\r\n", 1)[0]
    # RFC 6532 headers are UTF-8 text (the standard library's byte parser would escape them).
    message = email.message_from_string(raw.decode("utf-8"), policy=email.policy.default)
    assert message["To"].addresses[0].addr_spec == "josé@example.com"
    assert str(message["Subject"]).endswith("José")


def test_an_ascii_address_keeps_ascii_headers() -> None:
    raw = compose(_envelope("jose@example.com"), Rendered(subject="Keluhan – José", body="x\n"))
    assert raw.split(b"\r\n\r\n", 1)[0].isascii()
