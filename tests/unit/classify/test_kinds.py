"""Every mail gets exactly one kind: bounce, automated, recap, follow-up or complaint, in that order."""

from __future__ import annotations

import email.policy
from email.message import EmailMessage
from pathlib import Path

from daemon.classify.kinds import Kind, RecapInbox, classify
from daemon.parse.message import InboundMail
from daemon.parse.parser import parse
from tests.recapfiles import recap_rules

DATA = Path(__file__).resolve().parents[2] / "data"
CARE = "care@example.co.id"
OWN = (CARE,)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RECAPS = RecapInbox(recap_rules(), CARE)


def _sample(name: str) -> InboundMail:
    return parse((DATA / f"{name}.eml").read_bytes(), own_addresses=OWN)


def _mail(
    sender: str,
    subject: str = "Laporan bulanan",
    *,
    workbook: bool = True,
    headers: tuple[tuple[str, str], ...] = (),
) -> InboundMail:
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = sender
    message["To"] = CARE
    message["Subject"] = subject
    message["Message-ID"] = "<kinds@example.co.id>"
    for name, value in headers:
        message[name] = value
    message.set_content("Terlampir.\n")
    if workbook:
        message.add_attachment(
            b"PK\x03\x04", maintype="application", subtype=XLSX.split("/")[1], filename="r.xlsx"
        )
    return parse(message.as_bytes(), own_addresses=OWN)


def test_a_bounce_is_a_bounce() -> None:
    decision = classify(_sample("bounce_dsn_postfix"), own_addresses=OWN, thread_ticket_id=7, recaps=RECAPS)
    assert decision.kind is Kind.BOUNCE
    assert decision.ticket_id is None


def test_automated_mail_keeps_the_ticket_it_answers() -> None:
    decision = classify(_sample("out_of_office_auto_submitted"), own_addresses=OWN, thread_ticket_id=7)
    assert decision.kind is Kind.AUTOMATED
    assert decision.ticket_id == 7


def test_an_automated_mail_from_a_branch_is_not_its_recap() -> None:
    robot = _mail("biro.jatim@example.co.id", headers=(("Auto-Submitted", "auto-generated"),))
    assert classify(robot, own_addresses=OWN, thread_ticket_id=None, recaps=RECAPS).kind is Kind.AUTOMATED


def test_a_branch_mail_with_a_workbook_is_its_recap() -> None:
    decision = classify(
        _mail("biro.jatim@example.co.id"), own_addresses=OWN, thread_ticket_id=None, recaps=RECAPS
    )
    assert decision.kind is Kind.RECAP
    assert decision.reason == "recap from branch biro-jatim"
    assert decision.recap is not None and decision.recap.branch is not None
    assert [a.filename for a in decision.recap.spreadsheets] == ["r.xlsx"]


def test_a_recap_from_an_address_that_is_no_branch_is_a_recap_too() -> None:
    stranger = _mail("staf@gmail.example", "Rekap keluhan Maret")
    decision = classify(stranger, own_addresses=OWN, thread_ticket_id=None, recaps=RECAPS)
    assert decision.kind is Kind.RECAP
    assert decision.recap is not None and decision.recap.branch is None


def test_a_recap_wins_over_a_follow_up() -> None:
    decision = classify(
        _mail("biro.bali@example.co.id"), own_addresses=OWN, thread_ticket_id=3, recaps=RECAPS
    )
    assert decision.kind is Kind.RECAP
    assert decision.ticket_id is None


def test_without_the_recap_inbox_no_mail_is_a_recap() -> None:
    decision = classify(_mail("biro.jatim@example.co.id"), own_addresses=OWN, thread_ticket_id=None)
    assert decision.kind is Kind.COMPLAINT
    assert decision.recap is None


def test_a_branch_mail_without_a_spreadsheet_is_left_to_threading() -> None:
    plain = _mail("biro.jatim@example.co.id", workbook=False)
    assert classify(plain, own_addresses=OWN, thread_ticket_id=3, recaps=RECAPS).kind is Kind.FOLLOW_UP
    assert classify(plain, own_addresses=OWN, thread_ticket_id=None, recaps=RECAPS).kind is Kind.COMPLAINT


def test_a_reply_on_a_known_thread_is_a_follow_up() -> None:
    decision = classify(
        _mail("budi@example.net", workbook=False), own_addresses=OWN, thread_ticket_id=5, recaps=RECAPS
    )
    assert (decision.kind, decision.ticket_id) == (Kind.FOLLOW_UP, 5)


def test_anything_else_is_a_new_complaint() -> None:
    decision = classify(
        _mail("budi@example.net", workbook=False), own_addresses=OWN, thread_ticket_id=None, recaps=RECAPS
    )
    assert decision.kind is Kind.COMPLAINT
    assert decision.reason == "new mail from a customer"
