"""A resend under the same Message-ID that adds an attachment is no duplicate: it joins its ticket."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.integration.helpers import PROJECT, inbound, outbound, run_cli, tickets, write_config

pytestmark = pytest.mark.integration

DATA = PROJECT / "tests" / "data"


def test_a_resend_with_the_forgotten_attachment_joins_the_first_copys_ticket(
    tmp_path: Path, database_url: str, dovecot: Any, smtp_sink: Any
) -> None:
    config = write_config(
        tmp_path, database_url=database_url, mailbox_url=dovecot.url, smtp_url=smtp_sink.url
    )
    dovecot.append((DATA / "duplicate_first_copy.eml").read_bytes())
    dovecot.append((DATA / "duplicate_resend_with_attachment.eml").read_bytes())

    assert run_cli("--config", str(config), "run", "--once") == 0

    made = tickets(database_url)
    assert len(made) == 1
    rows = sorted(inbound(database_url), key=lambda row: row.id)
    assert [row.state for row in rows] == ["processed", "processed"]
    assert {row.ticket_id for row in rows} == {made[0].id}
    assert b"IMG_20260721_095512.jpg" in rows[1].raw
    # One acknowledgement: the resend is a follow-up, handed to the department, not a new complaint.
    kinds = sorted(
        row.kind for row in outbound(database_url) if row.recipient == "rina.wulandari@example.net"
    )
    assert kinds == ["ack"]
    assert "forward" in {row.kind for row in outbound(database_url)}


def test_the_very_same_mail_twice_is_still_one_duplicate(
    tmp_path: Path, database_url: str, dovecot: Any, smtp_sink: Any
) -> None:
    config = write_config(
        tmp_path, database_url=database_url, mailbox_url=dovecot.url, smtp_url=smtp_sink.url
    )
    raw = (DATA / "duplicate_first_copy.eml").read_bytes()
    dovecot.append(raw)
    dovecot.append(raw.replace(b"id 4Xa1b2C3d4z9", b"id 4Xa1b2C3zz01"))  # relayed twice: other Received

    assert run_cli("--config", str(config), "run", "--once") == 0

    assert len(tickets(database_url)) == 1
    assert sorted(row.state for row in inbound(database_url)) == ["duplicate", "processed"]
