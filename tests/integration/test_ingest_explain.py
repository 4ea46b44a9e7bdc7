"""`caredesk ingest --explain` with a database: the thread a reply belongs to, the mail a bounce returns.

Read-only on SQLite and PostgreSQL: after explaining, every table holds exactly what it held before.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from daemon.cli import main
from daemon.store.models import AddressStatus, InboundMessage, OutboundMessage, Ticket, TicketEvent
from tests import mailfactory
from tests.clockpin import config_variables
from tests.integration.helpers import outbound, table, tickets, write_config

pytestmark = pytest.mark.integration


@pytest.fixture
def desk(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A database with one complaint from gone@example.net, acknowledged, in a file outbox."""
    for name in config_variables():
        monkeypatch.delenv(name)
    config = write_config(
        tmp_path,
        database_url=database_url,
        mailbox_url=f"maildir:{tmp_path / 'mail'}",
        smtp_url=f"file:{tmp_path / 'out'}",
    )
    first = tmp_path / "first.eml"
    first.write_bytes(mailfactory.complaint(1, sender="gone@example.net", subject="Koran tidak diantar"))
    assert main(["--config", str(config), "ingest", str(first)]) == 0
    return {"config": config, "url": database_url, "folder": tmp_path}


def _explain(desk: dict[str, Any], capsys: pytest.CaptureFixture[str], raw: bytes) -> dict[str, Any]:
    mail = desk["folder"] / "explained.eml"
    mail.write_bytes(raw)
    capsys.readouterr()
    assert main(["--config", str(desk["config"]), "ingest", "--explain", "--json", str(mail)]) == 0
    [result] = json.loads(capsys.readouterr().out)
    return dict(result)


def _snapshot(url: str) -> list[int]:
    return [
        len(table(url, model))
        for model in (InboundMessage, OutboundMessage, Ticket, TicketEvent, AddressStatus)
    ]


def test_a_bounce_of_our_acknowledgement_is_shown_tied_and_nothing_changes(
    desk: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    ack = next(row for row in outbound(desk["url"]) if row.kind == "ack")
    before = _snapshot(desk["url"])

    result = _explain(desk, capsys, mailfactory.delivery_failure(original_to=ack.recipient, original=ack.raw))

    assert result["kind"] == "bounce"
    assert result["bounce_tied"].startswith(f"tied to outbound #{ack.id} (ack to gone@example.net)")
    assert result["database"].startswith("read-only")
    assert _snapshot(desk["url"]) == before


def test_a_bounce_of_mail_we_never_sent_is_shown_not_tied(
    desk: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    result = _explain(desk, capsys, mailfactory.delivery_failure(original_to="someone@example.net"))

    assert result["kind"] == "bounce"
    assert result["bounce_tied"].startswith("not tied")


def test_a_reply_to_our_mail_is_a_follow_up_on_its_ticket(
    desk: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    [ticket] = tickets(desk["url"])
    ack = next(row for row in outbound(desk["url"]) if row.kind == "ack")
    reply = mailfactory.complaint(2, sender="gone@example.net", subject=f"Re: {ack.subject}").replace(
        b"\r\nSubject:", f"\r\nIn-Reply-To: {ack.message_id}\r\nSubject:".encode(), 1
    )

    result = _explain(desk, capsys, reply)

    assert result["kind"] == "follow-up"
    assert result["thread"].startswith(f"ticket {ticket.reference}")
    assert result["outcome"] == f"added to {result['thread']}"


def test_a_mail_already_stored_says_what_became_of_it(
    desk: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    result = _explain(desk, capsys, (desk["folder"] / "first.eml").read_bytes())

    assert result["stored"].startswith("yes, as inbound #")
    assert result["stored"].endswith("(the same bytes): processed: new complaint")


def test_a_new_complaint_counts_the_senders_earlier_ones(
    desk: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    result = _explain(desk, capsys, mailfactory.complaint(3, sender="gone@example.net", subject="Lagi-lagi"))

    assert result["kind"] == "complaint"
    assert result["prior_complaints"] == 1
    assert result["stored"] == "no: the daemon has not seen this mail"
    assert len(tickets(desk["url"])) == 1
