"""Humans behind a damaged sender, over real IMAP (Dovecot) and SMTP (aiosmtpd), on both databases.

A mail whose From a strict parser cannot read (no angle brackets, a quoted
local part with a space, a stray line or a broken field before it, a fallback
field) still becomes a ticket for the person who wrote it, the acknowledgement
reaches that exact address, and the history says where the sender was found.
An acknowledgement that is held back is never recorded as "acknowledged".
"""

from __future__ import annotations

import email
import email.policy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests import mailfactory
from tests.integration.helpers import outbound, run_cli, tickets_json, write_config

pytestmark = pytest.mark.integration

DATA = Path(__file__).resolve().parents[1] / "data"
_FROM_LINE = re.compile(rb"^From: .*$", re.MULTILINE)


@pytest.fixture
def config(tmp_path: Path, database_url: str, dovecot: Any, smtp_sink: Any) -> Path:
    return write_config(tmp_path, database_url=database_url, mailbox_url=dovecot.url, smtp_url=smtp_sink.url)


def _with_from(raw: bytes, value: bytes) -> bytes:
    """`raw` with its From field replaced by `value`, written as the broken mailer wrote it."""
    return _FROM_LINE.sub(lambda _match: b"From: " + value + b"\r", raw, count=1)


def _history(config: Path, reference: str, capsys: Any) -> list[dict[str, Any]]:
    capsys.readouterr()
    assert run_cli("--config", str(config), "tickets", "show", reference, "--json") == 0
    shown: dict[str, Any] = json.loads(capsys.readouterr().out)
    history: list[dict[str, Any]] = shown["history"]
    return history


def _acknowledgements(smtp_sink: Any) -> list[tuple[list[str], email.message.EmailMessage]]:
    found = []
    for received in smtp_sink.messages:
        message = email.message_from_bytes(received.data, policy=email.policy.default)
        if message["Auto-Submitted"] == "auto-replied":
            found.append((list(received.rcpt_tos), message))
    return found


def test_a_from_without_angle_brackets_is_ticketed_and_acknowledged_at_its_address(
    config: Path, dovecot: Any, smtp_sink: Any, capsys: Any
) -> None:
    dovecot.append(
        _with_from(mailfactory.complaint(sender="test@example.com", name="Test"), b"Test test@example.com")
    )

    assert run_cli("--config", str(config), "run", "--once") == 0

    [ticket] = tickets_json(config, capsys)
    assert (ticket["customer_email"], ticket["customer_name"]) == ("test@example.com", "Test")
    smtp_sink.wait_for(2)
    [(recipients, ack)] = _acknowledgements(smtp_sink)
    assert recipients == ["test@example.com"]
    assert ack["To"].addresses[0].addr_spec == "test@example.com"
    assert f"[{ticket['reference']}]" in ack["Subject"]
    history = _history(config, ticket["reference"], capsys)
    created = next(entry for entry in history if entry["action"] == "created")
    assert created["reason"] == "complaint received by email; sender recovered from From (no angle brackets)"
    assert "acknowledged" in [entry["action"] for entry in history]


def test_a_quoted_local_part_with_a_space_is_acknowledged_at_that_exact_address(
    config: Path, dovecot: Any, smtp_sink: Any, capsys: Any
) -> None:
    quoted = '"System Administrator"@example.com'
    dovecot.append(_with_from(mailfactory.complaint(sender=quoted, name=""), quoted.encode()))

    assert run_cli("--config", str(config), "run", "--once") == 0

    [ticket] = tickets_json(config, capsys)
    # Lower case, as every address caredesk compares; the quotes and the space stay.
    assert ticket["customer_email"] == '"system administrator"@example.com'
    smtp_sink.wait_for(2)
    [(recipients, ack)] = _acknowledgements(smtp_sink)
    assert recipients == ['"system administrator"@example.com']
    assert ack["To"].addresses[0].username == "system administrator"
    assert ack["To"].addresses[0].domain == "example.com"
    actions = [entry["action"] for entry in _history(config, ticket["reference"], capsys)]
    assert "acknowledged" in actions and "failed-ack" not in actions


@pytest.mark.parametrize(
    ("name", "customer", "created"),
    [
        (
            "sender_exchange_broken_fold",
            "budi.hartono@sentosaabadi.co.id",
            "sender recovered from From (hidden by a broken header line before it)",
        ),
        (
            "sender_escaped_mbox_line",
            "yusuf.hakim@karyaindah.co.id",
            "sender recovered from From (a stray line before the headers)",
        ),
        (
            "sender_reply_to_fallback",
            "rudi.siregar@mitraniaga.co.id",
            "sender taken from Reply-To: From was unusable",
        ),
    ],
)
def test_a_named_damaged_mail_reaches_its_writer(
    name: str, customer: str, created: str, config: Path, dovecot: Any, smtp_sink: Any, capsys: Any
) -> None:
    dovecot.append((DATA / f"{name}.eml").read_bytes())

    assert run_cli("--config", str(config), "run", "--once") == 0

    [ticket] = tickets_json(config, capsys)
    assert ticket["customer_email"] == customer
    smtp_sink.wait_for(2)
    [(recipients, _ack)] = _acknowledgements(smtp_sink)
    assert recipients == [customer]
    entry = next(e for e in _history(config, ticket["reference"], capsys) if e["action"] == "created")
    assert entry["reason"] == f"complaint received by email; {created}"


def test_a_held_back_acknowledgement_is_never_recorded_as_acknowledged(
    tmp_path: Path, database_url: str, dovecot: Any, smtp_sink: Any, capsys: Any
) -> None:
    config = write_config(
        tmp_path,
        database_url=database_url,
        mailbox_url=dovecot.url,
        smtp_url=smtp_sink.url,
        extra="[limits]\nauto_per_hour = 1",
    )
    dovecot.append(mailfactory.complaint(1, sender="siti@example.net"))
    dovecot.append(mailfactory.complaint(2, sender="siti@example.net"))

    assert run_cli("--config", str(config), "run", "--once") == 0

    listed = sorted(tickets_json(config, capsys), key=lambda ticket: str(ticket["reference"]))
    assert len(listed) == 2
    acks = sorted((row.ticket_id, row.state) for row in outbound(database_url) if row.kind == "ack")
    assert [state for _ticket, state in acks] == ["sent", "suppressed"]
    first, second = (_history(config, ticket["reference"], capsys) for ticket in listed)
    assert "acknowledged" in [entry["action"] for entry in first]
    actions = [entry["action"] for entry in second]
    assert "suppressed-ack" in actions and "acknowledged" not in actions
    steps = [(entry["old"], entry["new"]) for entry in second if entry["field"] == "status"]
    assert steps == [(None, "new"), ("new", "assigned")]
