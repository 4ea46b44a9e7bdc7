"""A complaint mail over real IMAP (Dovecot) and SMTP (aiosmtpd) becomes a routed
ticket, an acknowledgement, a department notice and, when major, an escalation."""

from __future__ import annotations

import email
import email.policy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from daemon.parse.parser import parse
from daemon.route.loader import load_rules
from daemon.route.router import route
from tests import mailfactory
from tests.integration.helpers import (
    CARE_ADDRESS,
    PROJECT,
    inbound,
    outbound,
    run_cli,
    tickets,
    tickets_json,
    write_config,
)

pytestmark = pytest.mark.integration

REFERENCE = re.compile(r"CC-\d{4}-\d{6}")


@pytest.fixture
def config(tmp_path: Path, database_url: str, dovecot: Any, smtp_sink: Any) -> Path:
    return write_config(tmp_path, database_url=database_url, mailbox_url=dovecot.url, smtp_url=smtp_sink.url)


def _by_recipient(smtp_sink: Any) -> dict[str, list[email.message.EmailMessage]]:
    found: dict[str, list[email.message.EmailMessage]] = {}
    for received in smtp_sink.messages:
        message = email.message_from_bytes(received.data, policy=email.policy.default)
        for rcpt in received.rcpt_tos:
            found.setdefault(rcpt.lower(), []).append(message)  # type: ignore[arg-type]
    return found


def test_complaint_becomes_one_ticket_moved_acknowledged_and_routed(
    config: Path, database_url: str, dovecot: Any, smtp_sink: Any, capsys: Any
) -> None:
    rules = load_rules(PROJECT / "rules.yaml")
    dovecot.append(mailfactory.complaint(sender="budi.santoso@example.net", language="id"))

    assert run_cli("--config", str(config), "run", "--once") == 0

    listed = tickets_json(config, capsys)
    assert len(listed) == 1
    ticket = listed[0]
    assert REFERENCE.fullmatch(ticket["reference"])
    assert ticket["customer_email"] == "budi.santoso@example.net"
    assert ticket["status"] == "assigned"
    assert ticket["severity"] == "minor"
    assert dovecot.count("INBOX") == 0
    assert dovecot.count("Processed") == 1

    smtp_sink.wait_for(2)
    mails = _by_recipient(smtp_sink)
    ack = mails["budi.santoso@example.net"][0]
    assert f"[{ticket['reference']}]" in ack["Subject"]
    assert ack["Auto-Submitted"] == "auto-replied"
    assert ack["From"].addresses[0].addr_spec == CARE_ADDRESS
    body = ack.get_content()
    assert "Keluhan Anda telah kami catat" in body and "Your complaint was recorded" in body
    department = rules.department(ticket["department"])
    notice = mails[department.email.lower()][0]
    assert f"[{ticket['reference']}]" in notice["Subject"]
    assert notice["Auto-Submitted"] == "auto-generated"
    assert len(smtp_sink.messages) == 2

    capsys.readouterr()
    assert run_cli("--config", str(config), "tickets", "show", ticket["reference"], "--json") == 0
    shown = json.loads(capsys.readouterr().out)
    steps = [(e["old"], e["new"]) for e in shown["history"] if e["field"] == "status"]
    assert steps == [(None, "new"), ("new", "acknowledged"), ("acknowledged", "assigned")]
    routed = next(e for e in shown["history"] if e["action"] == "routed")
    assert rules.version in routed["reason"]  # the decision and the rules version are on record


def test_english_complaint_gets_an_english_only_acknowledgement(
    config: Path, dovecot: Any, smtp_sink: Any
) -> None:
    dovecot.append(mailfactory.complaint(sender="jane.doe@example.org", language="en"))

    assert run_cli("--config", str(config), "run", "--once") == 0

    smtp_sink.wait_for(2)
    ack = _by_recipient(smtp_sink)["jane.doe@example.org"][0]
    body = ack.get_content()
    assert "Your complaint was recorded" in body
    assert "Keluhan Anda" not in body


def test_major_complaint_is_escalated_to_the_general_manager(
    config: Path, database_url: str, dovecot: Any, smtp_sink: Any
) -> None:
    rules = load_rules(PROJECT / "rules.yaml")
    dovecot.append(mailfactory.major_complaint(sender="andi@example.net"))

    assert run_cli("--config", str(config), "run", "--once") == 0

    [ticket] = tickets(database_url)
    assert ticket.severity == "major"
    assert ticket.escalated
    general_manager = rules.department(ticket.department).general_manager
    assert general_manager
    smtp_sink.wait_for(3)
    escalation = _by_recipient(smtp_sink)[general_manager.lower()][0]
    assert f"[{ticket.reference}]" in escalation["Subject"]
    text = escalation.get_content()
    assert "andi@example.net" in text
    assert "+6281234567890" in text or "0812" in text  # the PIC phone
    assert "somasi" in text.lower()  # the rule that made it major says why


def test_out_of_office_and_bounce_make_no_ticket_and_no_acknowledgement(
    config: Path, database_url: str, dovecot: Any, smtp_sink: Any
) -> None:
    dovecot.append(mailfactory.out_of_office(to=CARE_ADDRESS))
    dovecot.append(mailfactory.delivery_failure(original_to="gone@example.net"))

    assert run_cli("--config", str(config), "run", "--once") == 0

    assert tickets(database_url) == []
    rows = inbound(database_url)
    assert [row.state for row in rows] == ["ignored", "ignored"]
    assert all(row.reason for row in rows)
    assert outbound(database_url) == []
    assert smtp_sink.messages == []
    # Recorded and moved out of the way, never deleted.
    assert dovecot.count("INBOX") == 0
    assert dovecot.count("Processed") == 2


def test_same_mail_appended_twice_makes_one_ticket(
    config: Path, database_url: str, dovecot: Any, smtp_sink: Any
) -> None:
    raw = mailfactory.complaint(sender="siti@example.net")
    dovecot.append(raw)
    dovecot.append(raw)

    assert run_cli("--config", str(config), "run", "--once") == 0

    assert len(tickets(database_url)) == 1
    assert sorted(row.state for row in inbound(database_url)) == ["duplicate", "processed"]
    smtp_sink.wait_for(2)
    assert len(_by_recipient(smtp_sink)["siti@example.net"]) == 1


def test_customer_reply_to_the_acknowledgement_threads_onto_the_ticket(
    config: Path, database_url: str, dovecot: Any, smtp_sink: Any
) -> None:
    dovecot.append(mailfactory.complaint(sender="rina@example.net"))
    assert run_cli("--config", str(config), "run", "--once") == 0
    smtp_sink.wait_for(2)
    ack = _by_recipient(smtp_sink)["rina@example.net"][0]

    reply = mailfactory.complaint(
        sender="rina@example.net",
        subject=f"Re: {ack['Subject']}",
        body="Terima kasih, nomor saya 0813-1111-2222.",
        extra_headers={"In-Reply-To": ack["Message-ID"], "References": ack["Message-ID"]},
    )
    dovecot.append(reply)
    assert run_cli("--config", str(config), "run", "--once") == 0

    assert len(tickets(database_url)) == 1
    rows = inbound(database_url)
    assert rows[1].ticket_id == rows[0].ticket_id
    assert rows[1].reason == "customer follow-up"
    smtp_sink.wait_for(3)
    mails = _by_recipient(smtp_sink)
    assert len(mails["rina@example.net"]) == 1  # no second acknowledgement
    forwarded = [m for m in smtp_sink.messages if "forward" in str(m.message["Message-ID"])]
    assert len(forwarded) == 1 and "0813-1111-2222" in forwarded[0].message.get_content()


def test_major_complaint_of_a_department_without_gm_reaches_the_default_departments_gm(
    tmp_path: Path, database_url: str, dovecot: Any, smtp_sink: Any
) -> None:
    shipped = load_rules(PROJECT / "rules.yaml")
    mail = mailfactory.complaint(
        sender="andi@example.net",
        subject="Somasi: e-paper langganan saya tidak bisa diunduh",
        body="Sudah tiga hari e-paper tidak bisa diunduh. Kuasa hukum saya akan mengirim somasi.\n\nAndi",
    )
    owner = shipped.department(route_of(mail, shipped))
    default_gm = shipped.department(shipped.default_department).general_manager
    assert owner.general_manager and default_gm and owner.general_manager != default_gm
    # The owning department loses its general manager; nothing else changes.
    text = (PROJECT / "rules.yaml").read_text(encoding="utf-8")
    edited = text.replace(f"    general_manager: {owner.general_manager}\n", "", 1)
    rules_path = tmp_path / "rules.yaml"
    rules_path.write_text(edited, encoding="utf-8")
    assert load_rules(rules_path).department(owner.id).general_manager is None
    config = write_config(
        tmp_path, database_url=database_url, mailbox_url=dovecot.url, smtp_url=smtp_sink.url, rules=rules_path
    )
    dovecot.append(mail)

    assert run_cli("--config", str(config), "run", "--once") == 0

    [ticket] = tickets(database_url)
    assert ticket.escalated
    smtp_sink.wait_for(3)
    escalation = _by_recipient(smtp_sink)[default_gm.lower()][0]
    assert f"[{ticket.reference}]" in escalation["Subject"]
    assert owner.general_manager.lower() not in _by_recipient(smtp_sink)


def route_of(raw: bytes, rules: Any) -> str:
    department = route(parse(raw), rules).department
    assert department is not None
    return department
