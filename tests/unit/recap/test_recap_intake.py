"""Which mails are recaps, and which recap deadline step is due on a date: the pure parts of recap intake."""

from __future__ import annotations

import dataclasses
import email.policy
from datetime import date
from email.message import EmailMessage

import pytest

from daemon.classify.recaps import reader_name, recognise
from daemon.parse.message import Attachment, InboundMail
from daemon.parse.parser import parse
from daemon.recap.deadline import due_on, month_label
from tests.recapfiles import recap_rules

CARE = "care@example.co.id"
RULES = recap_rules()
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def mail(
    sender: str,
    subject: str,
    attachments: list[tuple[str, bytes, str]],
    *,
    to: str = CARE,
) -> InboundMail:
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = "<unit-recap@example.co.id>"
    message.set_content("Terlampir.\n")
    for filename, data, mime in attachments:
        maintype, subtype = mime.split("/", 1)
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return parse(message.as_bytes(), own_addresses=(CARE,))


def test_branch_mail_with_a_workbook_is_a_recap_and_its_other_attachments_are_forms() -> None:
    found = recognise(
        mail(
            "biro.jatim@example.co.id",
            "Laporan bulanan",
            [("rekap.xlsx", b"PK\x03\x04", XLSX), ("form.pdf", b"%PDF", "application/pdf")],
        ),
        RULES,
        CARE,
    )
    assert found is not None and found.branch is not None
    assert found.branch.id == "biro-jatim"
    assert [a.filename for a in found.spreadsheets] == ["rekap.xlsx"]
    assert [a.filename for a in found.forms] == ["form.pdf"]


@pytest.mark.parametrize(
    ("filename", "mime"),
    [
        ("rekap.csv", "application/octet-stream"),
        ("rekap.xlsm", "application/octet-stream"),
        ("rekap.XLS", "application/octet-stream"),
        ("rekap", "text/csv"),
        ("rekap", XLSX),
    ],
)
def test_spreadsheets_are_known_by_name_or_content_type(filename: str, mime: str) -> None:
    found = recognise(mail("biro.bali@example.co.id", "x", [(filename, b"a;b\n", mime)]), RULES, CARE)
    assert found is not None and len(found.spreadsheets) == 1


def test_branch_mail_without_a_spreadsheet_is_left_to_the_pipeline() -> None:
    forwarded = mail("biro.jatim@example.co.id", "Fwd: keluhan", [("foto.jpg", b"\xff\xd8", "image/jpeg")])
    assert recognise(forwarded, RULES, CARE) is None


def test_recap_to_care_from_an_unknown_address_is_recognised_without_a_branch() -> None:
    found = recognise(
        mail("staf@gmail.example", "REKAPITULASI keluhan Maret", [("r.xlsx", b"PK", XLSX)]), RULES, CARE
    )
    assert found is not None and found.branch is None


@pytest.mark.parametrize(
    ("subject", "to"),
    [("Tagihan saya salah", CARE), ("Rekap tagihan", "billing@example.co.id")],
)
def test_customer_spreadsheet_without_recap_word_or_not_to_care_is_not_a_recap(subject: str, to: str) -> None:
    found = recognise(mail("budi@example.net", subject, [("t.xlsx", b"PK", XLSX)], to=to), RULES, CARE)
    assert found is None


def test_spreadsheet_the_parser_dropped_for_size_still_makes_a_branch_mail_a_recap() -> None:
    parsed = mail("biro.jatim@example.co.id", "Rekap", [])
    too_big = dataclasses.replace(
        parsed, defects=("attachment dropped: rekap besar.xlsx is over 26,214,400 bytes",)
    )
    found = recognise(too_big, RULES, CARE)
    assert found is not None and found.dropped == ("rekap besar.xlsx",)


def test_reader_name_adds_the_suffix_the_content_type_implies() -> None:
    def attachment(filename: str, mime: str) -> Attachment:
        return Attachment(filename, mime, 0, "", b"")

    assert reader_name(attachment("rekap", "text/csv; charset=utf-8")) == "rekap.csv"
    assert reader_name(attachment("rekap.xlsx", "text/csv")) == "rekap.xlsx"
    assert reader_name(attachment("rekap.dat", "application/octet-stream")) == "rekap.dat"


@pytest.mark.parametrize(
    ("today", "step", "month"),
    [
        (date(2026, 4, 1), "1st", "2026-03"),
        (date(2026, 4, 3), "1st", "2026-03"),
        (date(2026, 4, 4), "4th", "2026-03"),
        (date(2026, 4, 5), "4th", "2026-03"),
        (date(2026, 4, 6), "missing", "2026-03"),
        (date(2026, 4, 15), "missing", "2026-03"),
        (date(2026, 1, 2), "1st", "2025-12"),
    ],
)
def test_the_step_due_on_each_day(today: date, step: str, month: str) -> None:
    due = due_on(today)
    assert due is not None
    assert (due.step, due.month, due.deadline) == (step, month, today.replace(day=5))


@pytest.mark.parametrize("day", [16, 20, 28, 31])
def test_nothing_is_due_after_the_report_window(day: int) -> None:
    assert due_on(date(2026, 3, day)) is None


def test_month_label_is_indonesian_and_english() -> None:
    assert month_label("2026-08") == ("Agustus 2026", "August 2026")
