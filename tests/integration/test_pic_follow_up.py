"""The customer's contact person (PIC), over real IMAP and SMTP: given later by mail, kept, inherited.

A complaint without a phone number is acknowledged with a request for a PIC;
the customer's answer fills the ticket's empty PIC fields (with a history
entry) and nothing the customer writes later overwrites them. A complaint
opened from a low survey score starts with the PIC of the ticket the survey
was about, so the customer is not asked for it again.
"""

from __future__ import annotations

import email
import email.policy
import json
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from pathlib import Path
from typing import Any

import pytest

from daemon import clock
from daemon.store.models import Ticket, TicketEvent
from tests import mailfactory
from tests.integration.helpers import CARE_ADDRESS, inbound, run_cli, table, tickets, write_config

pytestmark = pytest.mark.integration

CUSTOMER = "sari.dewi@example.net"
NAME = "Sari Dewi"
DEPARTMENT = "sirkulasi@example.co.id"
MEMBER = "bambang.sirkulasi@example.co.id"
TRUSTED = "mx.example.co.id"
PASS = f"{TRUSTED}; dkim=pass header.d=example.co.id; dmarc=pass header.from=example.co.id"
ASKS_FOR_PIC = "nomor telepon narahubung (PIC)"
RULES = """\
departments:
  - {id: customer-care, name: Customer Care, email: customercare@example.co.id,
     members: [customercare@example.co.id]}
  - {id: koran, name: Sirkulasi Koran, email: sirkulasi@example.co.id,
     members: [sirkulasi@example.co.id, bambang.sirkulasi@example.co.id]}
products:
  - {id: koran-harian, name: Koran Harian Nusantara, department: koran,
     aliases: [koran harian, koran], keywords: [loper]}
default: {department: customer-care, severity: minor}
rules:
  - name: legal-threat
    description: The customer threatens legal action
    when:
      subject_or_body: {words: [somasi, pengacara]}
    then: {severity: major}
"""
NO_PHONE = (
    "Dengan hormat,\n\n"
    "Sudah tiga hari koran langganan kami tidak diantar ke alamat Jl. Kenanga 12,\n"
    "Sidoarjo. Mohon dicek ke agen loper di wilayah kami.\n\n"
    "Salam,\n"
    "Sari Dewi\n"
)


@pytest.fixture
def desk(tmp_path: Path, database_url: str, dovecot: Any, smtp_sink: Any) -> dict[str, Any]:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    config = write_config(
        tmp_path,
        database_url=database_url,
        mailbox_url=dovecot.url,
        smtp_url=smtp_sink.url,
        rules=rules,
        extra=f'survey_standard = 3\n[security]\ntrusted_authserv_ids = "{TRUSTED}"\n',
    )
    return {"config": config, "url": database_url, "imap": dovecot, "smtp": smtp_sink}


@pytest.fixture(autouse=True)
def _plus_addressing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAREDESK_MAILBOX_PLUS_ADDRESSING", "true")


def _run(desk: dict[str, Any]) -> None:
    assert run_cli("--config", str(desk["config"]), "run", "--once") == 0


def _sent(desk: dict[str, Any], to: str, kind: str) -> list[EmailMessage]:
    found = []
    for received in desk["smtp"].messages:
        if to in [r.lower() for r in received.rcpt_tos]:
            message = email.message_from_bytes(received.data, policy=email.policy.default)
            if f".{kind}@" in str(message["Message-ID"]):
                found.append(message)
    return found


def _text(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    text: str = body.get_content()
    return text


def _customer_reply(answered: EmailMessage, text: str) -> bytes:
    """The customer's answer as Gmail sends it: text and html, the quote under "Pada ... menulis:"."""
    message = EmailMessage(policy=email.policy.SMTP)
    message["MIME-Version"] = "1.0"
    message["References"] = str(answered["Message-ID"])
    message["In-Reply-To"] = str(answered["Message-ID"])
    message["From"] = formataddr((NAME, CUSTOMER))
    message["Date"] = format_datetime(clock.now())
    message["Message-ID"] = make_msgid(domain="mail.gmail.com")
    message["Subject"] = f"Re: {answered['Subject']}"
    message["To"] = str(answered["Reply-To"] or CARE_ADDRESS)
    quoted = "\n".join(f"> {line}" if line else ">" for line in _text(answered).splitlines()[:12])
    header = f"Pada {format_datetime(clock.now())} Customer Care Test <{CARE_ADDRESS}> menulis:"
    message.set_content(f"{text}\n\n{header}\n\n{quoted}\n")
    paragraphs = "".join(f"<div>{line or '<br>'}</div>" for line in text.splitlines())
    message.add_alternative(
        f'<div dir="ltr">{paragraphs}</div><br><div class="gmail_quote">'
        f'<div dir="ltr" class="gmail_attr">{header}<br></div>'
        f'<blockquote class="gmail_quote">{_text(answered)[:400]}</blockquote></div>\n',
        subtype="html",
    )
    return message.as_bytes()


def _member_reply(notice: EmailMessage, commands: str) -> bytes:
    """A department member's command mail from Outlook, authenticated by our receiving server."""
    message = EmailMessage(policy=email.policy.SMTP)
    message["Authentication-Results"] = PASS
    message["From"] = MEMBER
    message["To"] = str(notice["Reply-To"])
    message["Subject"] = f"RE: {notice['Subject']}"
    message["Message-ID"] = make_msgid(domain="example.co.id")
    message["Date"] = format_datetime(clock.now())
    message["In-Reply-To"] = str(notice["Message-ID"])
    message.set_content(f"{commands}\n\n-----Original Message-----\nFrom: Customer Care\n")
    return message.as_bytes()


def _ticket(desk: dict[str, Any], reference: str) -> Ticket:
    [found] = [t for t in tickets(desk["url"]) if t.reference == reference]
    return found


def _pic_events(desk: dict[str, Any], ticket: Ticket) -> list[TicketEvent]:
    return [
        e
        for e in table(desk["url"], TicketEvent)
        if e.ticket_id == ticket.id and e.field_name in ("pic_phone", "pic_email")
    ]


def _show(desk: dict[str, Any], reference: str, capsys: Any) -> dict[str, Any]:
    capsys.readouterr()
    assert run_cli("--config", str(desk["config"]), "tickets", "show", reference, "--json") == 0
    shown: dict[str, Any] = json.loads(capsys.readouterr().out)
    return shown


def test_pic_sent_in_a_follow_up_is_kept_on_the_ticket(desk: dict[str, Any], capsys: Any) -> None:
    # Issue 12.8: the acknowledgement asks for a PIC phone; the customer sends it.
    complaint = mailfactory.complaint(
        sender=CUSTOMER, name=NAME, subject="Koran tidak diantar", body=NO_PHONE
    )
    desk["imap"].append(complaint)
    _run(desk)
    [ticket] = tickets(desk["url"])
    assert (ticket.department, ticket.pic_phone, ticket.pic_email) == ("koran", "", CUSTOMER)
    [ack] = _sent(desk, CUSTOMER, "ack")
    assert ASKS_FOR_PIC in _text(ack)

    answer = "Baik. PIC kami Ibu Sari Dewi, HP 0812-7777-3344.\nKoran hari ini juga belum datang."
    desk["imap"].append(_customer_reply(ack, answer))
    _run(desk)

    kept = _ticket(desk, ticket.reference)
    assert (kept.pic_phone, kept.pic_email) == ("+6281277773344", CUSTOMER)
    [filled] = _pic_events(desk, kept)
    follow_up = next(row for row in inbound(desk["url"]) if row.reason.startswith("customer follow-up"))
    assert (filled.actor, filled.action, filled.field_name, filled.old_value, filled.new_value) == (
        CUSTOMER,
        "changed",
        "pic_phone",
        None,
        "+6281277773344",
    )
    assert filled.inbound_id == follow_up.id
    assert "follow-up" in filled.reason
    assert _show(desk, ticket.reference, capsys)["pic_phone"] == "+6281277773344"

    # A later mail naming another number and another address overwrites nothing.
    later = "Kalau sulit dihubungi, telepon kantor 021-555-1234 atau email sari.kantor@example.net."
    desk["imap"].append(_customer_reply(ack, later))
    _run(desk)

    again = _ticket(desk, ticket.reference)
    assert (again.pic_phone, again.pic_email) == ("+6281277773344", CUSTOMER)
    assert len(_pic_events(desk, again)) == 1


def test_linked_survey_complaint_inherits_the_pic(desk: dict[str, Any], capsys: Any) -> None:
    # Issue 12.8: the complaint a low survey score opens starts with the PIC of the
    # ticket the survey was about; nobody asks the customer for it again.
    letter = NO_PHONE.replace(
        "Salam,\n", "PIC: Sari Dewi, sari.dewi@kantor.example.net, HP/WA 0812-7777-3344\n\nSalam,\n"
    )
    desk["imap"].append(
        mailfactory.complaint(sender=CUSTOMER, name=NAME, subject="Koran tidak diantar", body=letter)
    )
    _run(desk)
    [earlier] = tickets(desk["url"])
    assert (earlier.pic_phone, earlier.pic_email) == ("+6281277773344", "sari.dewi@kantor.example.net")
    [notice] = _sent(desk, DEPARTMENT, "notice")
    for commands in (
        "#root-cause loper baru\n#action rute diperbarui\n#target 2026-12-31\n#status resolved",
        "#effective yes",
    ):
        desk["imap"].append(_member_reply(notice, commands))
        _run(desk)
    [survey] = _sent(desk, CUSTOMER, "survey")

    desk["imap"].append(_customer_reply(survey, "2\nKoran masih sering terlambat datang."))
    _run(desk)

    assert _ticket(desk, earlier.reference).survey_score == 2
    [linked] = [t for t in tickets(desk["url"]) if t.related_ticket_id == earlier.id]
    assert (linked.pic_phone, linked.pic_email) == ("+6281277773344", "sari.dewi@kantor.example.net")
    [ack] = [m for m in _sent(desk, CUSTOMER, "ack") if linked.reference in str(m["Subject"])]
    assert ASKS_FOR_PIC not in _text(ack)
    [new_notice] = [m for m in _sent(desk, DEPARTMENT, "notice") if linked.reference in str(m["Subject"])]
    assert "PIC telepon / phone:   +6281277773344" in _text(new_notice)
    inherited = {(e.actor, e.field_name, e.new_value) for e in _pic_events(desk, linked)}
    assert inherited == {
        ("caredesk", "pic_phone", "+6281277773344"),
        ("caredesk", "pic_email", "sari.dewi@kantor.example.net"),
    }
    assert all(earlier.reference in e.reason for e in _pic_events(desk, linked))
    shown = _show(desk, linked.reference, capsys)
    assert (shown["pic_phone"], shown["related_ticket"]) == ("+6281277773344", earlier.reference)
