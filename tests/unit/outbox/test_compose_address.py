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
    envelope = Envelope(
        from_name="Customer Care",
        from_address="cs@example.co.id",
        to=QUOTED,
        message_id="<ack-1@example.co.id>",
        date=datetime(2026, 11, 6, 3, 0, tzinfo=UTC),
        auto_submitted="auto-replied",
        loop_marker="caredesk-test",
    )
    raw = compose(envelope, Rendered(subject="[CC-2026-000001] Keluhan diterima", body="Terima kasih.\n"))

    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert b'\nTo: "system administrator"@example.com\r\n' in raw
    assert message["To"].addresses[0].addr_spec == QUOTED
    # smtplib writes the envelope recipient as it is, in angle brackets.
    assert smtplib.quoteaddr(QUOTED) == f"<{QUOTED}>"
