"""The complaint's category and the customer's organisation, end to end with the shipped rules.yaml.

A complaint arrives over real IMAP; the rule that routes it gives its
category and the sender's domain its organisation; a department member
changes both by replying; the quarterly review counts resolved complaints
by those categories. SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import email
import email.policy
import json
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

import pytest

from daemon import clock
from daemon.store.models import Ticket, TicketEvent
from tests.integration.helpers import CARE_ADDRESS, TRUST_OUR_MX, run_cli, table, tickets, write_config
from tests.mailfactory import stamped

pytestmark = pytest.mark.integration

CIRCULATION = "sirkulasi@example.co.id"
CIRCULATION_MEMBER = "bambang.sirkulasi@example.co.id"
FINANCE = "keuangan@example.co.id"
FINANCE_MEMBER = "sri.handayani@example.co.id"
AGENCY_READER = "andi@mail.agensi-kreatif.example.com"
"""In a subdomain of `agensi-kreatif.example.com`: PT Agensi Kreatif Indonesia in the shipped rules."""
GMAIL_READER = "sari.pembaca@gmail.com"

LATE_PAPER = (
    "Koran langganan tidak diantar sejak Senin",
    "Selamat pagi,\n\nKoran langganan kantor kami tidak diantar sejak hari Senin.\n"
    "Mohon segera ditindaklanjuti.\n\nHormat kami,\nAndi\n0812-3456-7890\n",
)
DOUBLE_BILL = (
    "Tagihan ganda bulan Juli",
    "Selamat siang,\n\nSaya ditagih dua kali untuk langganan bulan Juli, Rp 150.000.\n"
    "Mohon salah satu tagihan dibatalkan.\n\nSari\n0813-1111-2222\n",
)


@pytest.fixture
def desk(tmp_path: Path, database_url: str, dovecot: Any, smtp_sink: Any) -> dict[str, Any]:
    config = write_config(
        tmp_path,
        database_url=database_url,
        mailbox_url=dovecot.url,
        smtp_url=smtp_sink.url,
        extra=TRUST_OUR_MX,
    )
    return {"config": config, "url": database_url, "imap": dovecot, "smtp": smtp_sink, "tmp": tmp_path}


def _run(desk: dict[str, Any], *mails: bytes) -> None:
    for raw in mails:
        desk["imap"].append(raw)
    assert run_cli("--config", str(desk["config"]), "run", "--once") == 0


def _complaint(sender: str, letter: tuple[str, str]) -> bytes:
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = sender
    message["To"] = f"Customer Care <{CARE_ADDRESS}>"
    message["Subject"], body = letter
    message["Message-ID"] = make_msgid(domain=sender.partition("@")[2])
    message["Date"] = format_datetime(clock.now())
    message.set_content(body)
    return message.as_bytes()


def _sent(desk: dict[str, Any], to: str, kind: str) -> list[EmailMessage]:
    found = []
    for received in desk["smtp"].messages:
        if to in [recipient.lower() for recipient in received.rcpt_tos]:
            message = email.message_from_bytes(received.data, policy=email.policy.default)
            if f".{kind}@" in str(message["Message-ID"]):
                found.append(message)
    return found


def _reply(sender: str, to: EmailMessage, body: str) -> bytes:
    """A staff member's answer to our notice, as Outlook writes it, vouched for by our mail server."""
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = sender
    message["To"] = str(to["Reply-To"])
    message["Subject"] = f"RE: {to['Subject']}"
    message["Message-ID"] = make_msgid(domain="example.co.id")
    message["Date"] = format_datetime(clock.now())
    message["In-Reply-To"] = message["References"] = str(to["Message-ID"])
    message.set_content(f"{body}\n\n-----Original Message-----\nFrom: Customer Care\n> ...\n")
    return stamped(message.as_bytes())


def _ticket_of(desk: dict[str, Any], customer: str) -> Ticket:
    [ticket] = [ticket for ticket in tickets(desk["url"]) if ticket.customer_email == customer]
    return ticket


def _events(desk: dict[str, Any], ticket: Ticket) -> list[TicketEvent]:
    return [event for event in table(desk["url"], TicketEvent) if event.ticket_id == ticket.id]


def _show_json(desk: dict[str, Any], reference: str, capsys: Any) -> dict[str, Any]:
    capsys.readouterr()
    assert run_cli("--config", str(desk["config"]), "tickets", "show", reference, "--json") == 0
    shown: dict[str, Any] = json.loads(capsys.readouterr().out)
    return shown


def test_complaint_gets_category_and_organisation_from_rules(desk: dict[str, Any], capsys: Any) -> None:
    _run(desk, _complaint(AGENCY_READER, LATE_PAPER), _complaint(GMAIL_READER, DOUBLE_BILL))

    agency = _ticket_of(desk, AGENCY_READER)
    assert (agency.department, agency.category, agency.customer_organisation) == (
        "koran",
        "delivery",
        "PT Agensi Kreatif Indonesia",
    )
    reader = _ticket_of(desk, GMAIL_READER)
    assert (reader.department, reader.category, reader.customer_organisation) == ("keuangan", "billing", "")

    [routed] = [event for event in _events(desk, agency) if event.action == "routed"]
    assert routed.data is not None
    assert (routed.data["category"], routed.data["organisation"]) == (
        "delivery",
        "PT Agensi Kreatif Indonesia",
    )
    assert routed.data["decided_by"]["category"] == "print-delivery"
    [notice] = _sent(desk, CIRCULATION, "notice")
    assert 'category:   delivery  (rule "print-delivery")' in notice.get_content()

    shown = _show_json(desk, agency.reference, capsys)
    assert (shown["category"], shown["customer_organisation"]) == ("delivery", "PT Agensi Kreatif Indonesia")


def test_department_sets_category_by_reply(desk: dict[str, Any]) -> None:
    _run(desk, _complaint(GMAIL_READER, LATE_PAPER))
    before = _ticket_of(desk, GMAIL_READER)
    assert (before.category, before.customer_organisation) == ("delivery", "")
    [notice] = _sent(desk, CIRCULATION, "notice")

    body = "#kategori pelayanan\n#organisasi Toko Buku Cendekia, Bogor\n#category cuaca\n"
    _run(desk, _reply(CIRCULATION_MEMBER, notice, body))

    after = _ticket_of(desk, GMAIL_READER)
    assert (after.category, after.customer_organisation) == ("service", "Toko Buku Cendekia, Bogor")
    changes = [
        (event.actor, event.field_name, event.old_value, event.new_value)
        for event in _events(desk, after)
        if event.action == "changed"
    ]
    assert changes == [
        (CIRCULATION_MEMBER, "category", "delivery", "service"),
        (CIRCULATION_MEMBER, "customer_organisation", "", "Toko Buku Cendekia, Bogor"),
    ]
    [confirmation] = _sent(desk, CIRCULATION_MEMBER, "confirmation")
    text = confirmation.get_content()
    assert "category: delivery -> service" in text
    assert "customer_organisation: - -> Toko Buku Cendekia, Bogor" in text
    assert "#category cuaca" in text
    assert (
        "unknown category 'cuaca'; the categories are: "
        "delivery, billing, editorial, advertising, technical, product-quality, service, other"
    ) in text


def test_quarterly_review_counts_complaints_by_the_category_their_rule_gave(desk: dict[str, Any]) -> None:
    _run(desk, _complaint(AGENCY_READER, LATE_PAPER), _complaint(GMAIL_READER, DOUBLE_BILL))
    [paper_notice] = _sent(desk, CIRCULATION, "notice")
    [bill_notice] = _sent(desk, FINANCE, "notice")
    resolve = "#root-cause {cause}\n#action {action}\n#target 2026-12-31\n#status resolved\n"
    _run(
        desk,
        _reply(
            CIRCULATION_MEMBER, paper_notice, resolve.format(cause="Loper sakit", action="Loper pengganti")
        ),
        _reply(
            FINANCE_MEMBER,
            bill_notice,
            resolve.format(cause="Tagihan terkirim dua kali", action="Dibatalkan"),
        ),
    )
    assert {ticket.status for ticket in tickets(desk["url"])} == {"resolved"}

    out = desk["tmp"] / "review.json"
    config = str(desk["config"])
    assert (
        run_cli(
            "--config",
            config,
            "report",
            "review",
            "--quarter",
            "2026Q3",
            "--format",
            "json",
            "--out",
            str(out),
        )
        == 0
    )
    review = json.loads(out.read_text(encoding="utf-8"))
    by_category = {count["key"]: count["count"] for count in review["by_category"]}
    assert by_category == {"billing": 1, "delivery": 1}
    assert {row["category"] for row in review["complaints"]} == {"billing", "delivery"}
    assert {row["organisation"] for row in review["complaints"]} == {"PT Agensi Kreatif Indonesia", ""}
