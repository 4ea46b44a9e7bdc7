"""Branch recaps sent by mail over real IMAP (Dovecot) and SMTP (aiosmtpd) become tickets and a reply.

Each recap is a real .xlsx (openpyxl) or .csv attached to a real mail; the
daemon runs its whole loop (`Daemon.run_once`) with a clock fixed on 20 April
2026, after the March recaps were due and outside every reminder window, so
the only mail it sends is what the recap causes.
"""

from __future__ import annotations

import email
import email.policy
import json
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formataddr
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from daemon.app.service import Daemon
from daemon.config import load_config
from daemon.recap.sheet import CellValue
from daemon.report.monthly import build_monthly
from daemon.report.periods import AsOf, Month
from daemon.store import db
from daemon.store.models import RecapAttachment, RecapFile, Ticket, TicketEvent
from tests.clockpin import pin_clock
from tests.integration.helpers import (
    CARE_ADDRESS,
    TRUST_OUR_MX,
    inbound,
    outbound,
    run_cli,
    table,
    tickets,
    tickets_json,
    write_config,
)
from tests.mailfactory import stamped
from tests.recapfiles import (
    RULES_TEXT,
    MiB,
    complaint_rows,
    csv_bytes,
    filled_template,
    recap_rules,
    rewrite_entries,
    zip_bomb,
)

pytestmark = pytest.mark.integration

NOW = datetime(2026, 4, 20, 3, 0, tzinfo=UTC)
JAKARTA = ZoneInfo("Asia/Jakarta")
JATIM = "biro.jatim@example.co.id"
GM_DIGITAL = "gm.digital@example.co.id"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RULES = recap_rules()
# The test rules, with a General Manager for every department, so that major rows are escalated.
RULES_WITH_GMS = RULES_TEXT.replace(
    "email: digital@example.co.id}", f"email: digital@example.co.id, general_manager: {GM_DIGITAL}}}"
).replace(
    "email: sirkulasi@example.co.id}",
    "email: sirkulasi@example.co.id, general_manager: gm.koran@example.co.id}",
)
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
JPG = (
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + bytes(range(256)) + b"\xff\xd9"
)


@pytest.fixture
def config(tmp_path: Path, database_url: str, dovecot: Any, smtp_sink: Any) -> Path:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES_WITH_GMS)
    return write_config(
        tmp_path,
        database_url=database_url,
        mailbox_url=dovecot.url,
        smtp_url=smtp_sink.url,
        rules=rules,
        extra=TRUST_OUR_MX,
    )


def recap_mail(
    n: int,
    files: Sequence[tuple[str, bytes, str]],
    *,
    sender: str = JATIM,
    subject: str = "Rekap keluhan pelanggan Maret 2026",
) -> bytes:
    """A branch's recap mail: a short note and its attachments, as a mail client sends it."""
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = formataddr(("Biro Jawa Timur", sender))
    message["To"] = CARE_ADDRESS
    message["Subject"] = subject
    message["Date"] = "Mon, 20 Apr 2026 09:00:00 +0700"
    message["Message-ID"] = f"<recap-{n}.{sender}>"
    message.set_content("Dengan hormat,\n\nTerlampir rekap keluhan bulan Maret 2026.\n\nSalam,\nBiro\n")
    for filename, data, mime in files:
        maintype, subtype = mime.split("/", 1)
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    # As our receiving server delivers it: a branch's recap needs a verified sender.
    return stamped(message.as_bytes())


def run_daemon(config: Path) -> None:
    with Daemon(load_config(config), clock=lambda: NOW) as daemon:
        daemon.run_once()


def mails_to(smtp_sink: Any, recipient: str) -> list[email.message.EmailMessage]:
    found = []
    for received in smtp_sink.messages:
        if recipient in [rcpt.lower() for rcpt in received.rcpt_tos]:
            found.append(email.message_from_bytes(received.data, policy=email.policy.default))
    return found


def replies_to(smtp_sink: Any, recipient: str) -> list[email.message.EmailMessage]:
    """The answers to mails from `recipient` (other jobs may mail the same address)."""
    return [message for message in mails_to(smtp_sink, recipient) if message["In-Reply-To"]]


def body(message: email.message.EmailMessage) -> str:
    text: str = message.get_content()
    return text


def with_three_bad_rows() -> list[dict[str, CellValue]]:
    rows = complaint_rows(50)
    rows[9]["received"] = None  # sheet row 14
    rows[24]["product"] = "Majalah Bulanan"  # sheet row 29
    rows[39]["severity"] = "sedang"  # sheet row 44
    return rows


def ticket_fields(database_url: str) -> dict[str, dict[str, Any]]:
    return {ticket.reference: ticket.model_dump() for ticket in tickets(database_url)}


MAIL_KINDS = ("ack", "notice", "escalation", "recap-reply")
"""What a mail can cause; the daemon's periodic jobs (monthly report, ...) send other kinds."""


def sent_kinds(database_url: str) -> list[str]:
    return sorted(row.kind for row in outbound(database_url) if row.kind in MAIL_KINDS)


def test_recap_with_three_bad_rows_makes_47_tickets_and_a_reply_naming_the_three(
    config: Path, database_url: str, dovecot: Any, smtp_sink: Any
) -> None:
    data = filled_template(with_three_bad_rows(), rules=RULES)
    dovecot.append(recap_mail(1, [("rekap-jatim-2026-03.xlsx", data, XLSX)]))

    run_daemon(config)

    made = tickets(database_url)
    assert len(made) == 47
    assert {ticket.origin for ticket in made} == {"branch:biro-jatim"}
    [row] = inbound(database_url)
    assert (row.state, row.reason, row.ticket_id) == ("processed", "branch recap biro-jatim 2026-03", None)
    assert dovecot.count("INBOX") == 0 and dovecot.count("Processed") == 1
    # No acknowledgement: the reply, the escalations, and a department notice for
    # each row head office handles that is still open (JT-021 and JT-042).
    majors = [ticket for ticket in made if ticket.severity == "major"]
    notices = 2
    assert sent_kinds(database_url) == sorted(
        ["recap-reply"] + ["escalation"] * len(majors) + ["notice"] * notices
    )
    smtp_sink.wait_for(1 + len(majors) + notices)
    [reply] = replies_to(smtp_sink, JATIM)
    assert reply["In-Reply-To"] == f"<recap-1.{JATIM}>"
    assert "47 baris diimpor / rows imported, 3 ditolak / refused" in reply["Subject"]
    text = body(reply)
    assert "baris/row 14, kolom/column 'Tanggal Diterima (Date received)' (B14)" in text
    assert "baris/row 29, kolom/column 'Produk (Product)' (F29)" in text
    assert "unknown product 'Majalah Bulanan'" in text
    assert "baris/row 44, kolom/column 'Tingkat (Severity: major/minor)' (J44)" in text
    assert text.count("- baris/row ") == 3
    assert "Diimpor / Imported:                47" in text


def test_same_file_again_changes_nothing_and_a_corrected_file_fixes_the_three_rows(
    config: Path, database_url: str, dovecot: Any, smtp_sink: Any
) -> None:
    first = filled_template(with_three_bad_rows(), rules=RULES)
    dovecot.append(recap_mail(1, [("rekap-jatim-2026-03.xlsx", first, XLSX)]))
    run_daemon(config)
    before = ticket_fields(database_url)
    escalations = sent_kinds(database_url).count("escalation")
    assert len(before) == 47 and escalations == 3

    dovecot.append(recap_mail(2, [("rekap-jatim-2026-03.xlsx", first, XLSX)]))
    run_daemon(config)

    assert ticket_fields(database_url) == before
    assert sent_kinds(database_url).count("escalation") == escalations
    files = table(database_url, RecapFile)
    assert [(f.state, f.rows_created, f.rows_unchanged) for f in files] == [
        ("imported", 47, 0),
        ("imported", 0, 47),
    ]
    assert files[0].raw == files[1].raw == first

    # The three rows fixed, and a row already imported (JT-001) now said to be major.
    fixed_rows = complaint_rows(50)
    fixed_rows[0]["severity"] = "mayor"
    corrected = filled_template(fixed_rows, rules=RULES)
    dovecot.append(recap_mail(3, [("rekap-jatim-2026-03-revisi.xlsx", corrected, XLSX)]))
    run_daemon(config)

    after = ticket_fields(database_url)
    assert len(after) == 50
    changed = {ref for ref in before if after[ref] != before[ref]}
    assert len(changed) == 1
    [raised] = changed
    assert (before[raised]["severity"], after[raised]["severity"], after[raised]["escalated"]) == (
        "minor",
        "major",
        True,
    )
    assert {ref: after[ref] for ref in before if ref != raised} == {
        ref: before[ref] for ref in before if ref != raised
    }
    fixed = [after[reference] for reference in after.keys() - before.keys()]
    assert sorted(ticket["description"].rsplit(" ", 1)[1] for ticket in fixed) == ["10", "25", "40"]
    assert len(table(database_url, RecapFile)) == 3
    # Every major ticket was escalated exactly once, whichever file made it.
    majors = Counter(t.reference for t in tickets(database_url) if t.severity == "major")
    references = {t.id: t.reference for t in tickets(database_url)}
    escalated = Counter(
        references[row.ticket_id] for row in outbound(database_url) if row.kind == "escalation"
    )
    assert escalated == majors and len(majors) == 6
    # The two open head-office rows were announced by the first file only.
    assert sent_kinds(database_url).count("notice") == 2
    smtp_sink.wait_for(3 + 6 + 2)
    assert sum("ESKALASI" in str(m["Subject"]) for m in mails_to(smtp_sink, GM_DIGITAL)) == 5
    [koran] = [m for m in mails_to(smtp_sink, "gm.koran@example.co.id") if "ESKALASI" in str(m["Subject"])]
    assert f"[{raised}]" in str(koran["Subject"])
    assert "dicatat mayor oleh Biro Jawa Timur" in body(koran)
    replies = replies_to(smtp_sink, JATIM)
    assert len(replies) == 3
    assert "tidak berubah / unchanged:     47" in body(replies[1])
    assert "ditolak" not in replies[2]["Subject"]
    assert "baru / new:                    3" in body(replies[2])
    assert "diperbarui / updated:          1" in body(replies[2])
    assert f"- {raised} (lembar/sheet 'Rekap', baris/row 5): severity" in body(replies[2])
    assert f"{raised} (koran): diteruskan ke / escalated to gm.koran@example.co.id" in body(replies[2])
    assert "- baris/row" not in body(replies[2])


def test_recap_from_an_address_that_is_no_branch_is_refused_with_a_reply_and_kept(
    config: Path, database_url: str, dovecot: Any, smtp_sink: Any
) -> None:
    stranger = "staf.jatim@gmail.example"
    data = filled_template(complaint_rows(5), rules=RULES)
    raw = recap_mail(1, [("rekap-maret.xlsx", data, XLSX)], sender=stranger)
    dovecot.append(raw)

    run_daemon(config)

    assert tickets(database_url) == []
    [row] = inbound(database_url)
    assert row.state == "processed"
    assert row.reason == f"recap refused: sender {stranger} is not a branch address"
    assert row.raw == raw
    [kept] = table(database_url, RecapFile)
    assert (kept.branch, kept.state, kept.raw) == ("", "refused", data)
    assert "not a branch address" in kept.reason
    smtp_sink.wait_for(1)
    [reply] = replies_to(smtp_sink, stranger)
    assert reply["Auto-Submitted"] == "auto-replied"
    text = body(reply)
    assert "tidak terdaftar sebagai alamat biro" in text and "is not a registered branch address" in text
    assert "rekap-maret.xlsx" in text
    assert dovecot.count("Processed") == 1


def test_macro_enabled_file_zip_bomb_and_another_branchs_file_are_refused_with_a_clear_reply(
    config: Path, database_url: str, dovecot: Any, smtp_sink: Any
) -> None:
    macro = rewrite_entries(
        filled_template(complaint_rows(5), rules=RULES), {"xl/vbaProject.bin": b"\xd0\xcf"}
    )
    bomb = zip_bomb(uncompressed=64 * MiB)
    bali = filled_template(complaint_rows(5), rules=RULES, branch="biro-bali")
    dovecot.append(
        recap_mail(1, [("rekap-maret.xlsm", macro, "application/vnd.ms-excel.sheet.macroEnabled.12")])
    )
    dovecot.append(recap_mail(2, [("rekap-maret.xlsx", bomb, XLSX)]))
    dovecot.append(recap_mail(3, [("rekap-bali-maret.xlsx", bali, XLSX)]))

    run_daemon(config)

    assert tickets(database_url) == []
    rows = inbound(database_url)
    assert [row.state for row in rows] == ["processed"] * 3
    assert all(row.reason.startswith("recap refused: biro-jatim: ") for row in rows)
    kept = table(database_url, RecapFile)
    assert [(f.state, f.raw) for f in kept] == [("refused", macro), ("refused", bomb), ("refused", bali)]
    smtp_sink.wait_for(3)
    replies = {reply["In-Reply-To"]: body(reply) for reply in replies_to(smtp_sink, JATIM)}
    assert "the file is macro-enabled and was not opened" in replies[f"<recap-1.{JATIM}>"]
    assert "berkas berisi makro" in replies[f"<recap-1.{JATIM}>"]
    assert "refused before unpacking, as a possible zip bomb" in replies[f"<recap-2.{JATIM}>"]
    assert "this file is for branch 'biro-bali'" in replies[f"<recap-3.{JATIM}>"]
    for text in replies.values():
        assert "DITOLAK" in text and "REFUSED: no row of this file was imported" in text
    assert dovecot.count("Processed") == 3


def test_complaint_forms_are_kept_with_the_recap_and_listed_in_the_reply(
    config: Path, database_url: str, dovecot: Any, smtp_sink: Any
) -> None:
    data = filled_template(complaint_rows(4), rules=RULES)
    files = [
        ("rekap-jatim-2026-03.xlsx", data, XLSX),
        ("formulir-keluhan-JT-001.pdf", PDF, "application/pdf"),
        ("foto-koran-basah.jpg", JPG, "image/jpeg"),
    ]
    dovecot.append(recap_mail(1, files))

    run_daemon(config)

    [recap] = table(database_url, RecapFile)
    forms = table(database_url, RecapAttachment)
    assert [(f.filename, f.content_type, f.data, f.recap_file_id, f.month) for f in forms] == [
        ("formulir-keluhan-JT-001.pdf", "application/pdf", PDF, recap.id, "2026-03"),
        ("foto-koran-basah.jpg", "image/jpeg", JPG, recap.id, "2026-03"),
    ]
    assert {f.size for f in forms} == {len(PDF), len(JPG)}
    assert len(tickets(database_url)) == 4
    smtp_sink.wait_for(1)
    [reply] = replies_to(smtp_sink, JATIM)
    text = body(reply)
    assert "Complaint forms kept (2)" in text
    assert "formulir-keluhan-JT-001.pdf (application/pdf" in text
    assert "foto-koran-basah.jpg (image/jpeg" in text


def test_csv_recap_with_english_headers_is_imported(
    config: Path, database_url: str, dovecot: Any, smtp_sink: Any
) -> None:
    header = ["No.", "Date received", "Customer", "Contact", "Product", "Channel", "Description", "Status"]
    rows: list[list[object]] = [
        [
            "B-1",
            "03/03/2026",
            "Made Wirawan",
            "0812-1111-2222",
            "koran cetak",
            "phone",
            "Koran basah",
            "done",
        ],
        [
            "B-2",
            "2026-03-17",
            "Ni Luh Sari",
            "sari@example.net",
            "epaper",
            "email",
            "PDF tidak terbuka",
            "new",
        ],
    ]
    dovecot.append(
        recap_mail(
            1,
            [("recap-bali-2026-03.csv", csv_bytes([header, *rows]), "text/csv")],
            sender="biro.bali@example.co.id",
        )
    )

    run_daemon(config)

    made = sorted(tickets(database_url), key=lambda ticket: ticket.description)
    assert [(t.origin, t.status, t.channel, t.product) for t in made] == [
        ("branch:biro-bali", "resolved", "phone", "koran-harian"),
        ("branch:biro-bali", "new", "email", "epaper"),
    ]
    assert made[0].closed_by == "branch:biro-bali"
    [row] = inbound(database_url)
    assert row.reason == "branch recap biro-bali 2026-03"
    smtp_sink.wait_for(1)
    [reply] = replies_to(smtp_sink, "biro.bali@example.co.id")
    assert "Diimpor / Imported:                2" in body(reply)


def test_mail_with_a_spreadsheet_from_a_customer_without_recap_in_the_subject_is_a_complaint(
    config: Path, database_url: str, dovecot: Any, smtp_sink: Any
) -> None:
    data = filled_template(complaint_rows(2), rules=RULES)
    dovecot.append(
        recap_mail(1, [("tagihan.xlsx", data, XLSX)], sender="budi@example.net", subject="Tagihan saya salah")
    )

    run_daemon(config)

    [ticket] = tickets(database_url)
    assert isinstance(ticket, Ticket) and ticket.origin == "email"
    assert table(database_url, RecapFile) == []
    assert "ack" in sent_kinds(database_url)


def test_recap_status_shows_who_sent_when_what_was_imported_and_refused_and_who_did_not(
    config: Path, database_url: str, dovecot: Any, smtp_sink: Any, capsys: Any
) -> None:
    macro = rewrite_entries(
        filled_template(complaint_rows(2), rules=RULES), {"xl/vbaProject.bin": b"\xd0\xcf"}
    )
    dovecot.append(
        recap_mail(
            1, [("rekap-jatim-2026-03.xlsx", filled_template(with_three_bad_rows(), rules=RULES), XLSX)]
        )
    )
    dovecot.append(recap_mail(2, [("rekap-bali.xlsm", macro, XLSX)], sender="biro.bali@example.co.id"))
    dovecot.append(recap_mail(3, [("rekap.xlsx", macro, XLSX)], sender="someone@gmail.example"))
    run_daemon(config)
    capsys.readouterr()

    assert run_cli("--config", str(config), "recap", "status", "--month", "2026-03", "--json") == 0

    status = json.loads(capsys.readouterr().out)
    assert (status["month"], status["deadline"], status["missing"]) == (
        "2026-03",
        "2026-04-05",
        ["biro-bali"],
    )
    jatim, bali = status["branches"]
    assert (jatim["branch"], jatim["sent"], jatim["tickets"]) == ("biro-jatim", True, 47)
    assert jatim["first_sent_at"].startswith("2026-04-20T10:00:00+07:00")
    [jatim_file] = jatim["files"]
    assert (jatim_file["rows_imported"], jatim_file["rows_refused"], jatim_file["created"]) == (47, 3, 47)
    assert [(p["row"], p["cell"]) for p in jatim_file["problems"]] == [(14, "B14"), (29, "F29"), (44, "J44")]
    assert (bali["sent"], bali["tickets"]) == (False, 0)
    [bali_file] = bali["files"]
    assert bali_file["state"] == "refused" and "macro-enabled" in bali_file["reason"]
    [stranger] = status["not_from_branch"]
    assert (stranger["sender"], stranger["filename"]) == ("someone@gmail.example", "rekap.xlsx")

    assert run_cli("--config", str(config), "recap", "status", "--month", "2026-03") == 0
    text = capsys.readouterr().out
    assert "biro-jatim  Biro Jawa Timur: sent 2026-04-20 10:00, 47 complaints recorded" in text
    assert "Rekap row 29, 'Produk (Product)' (F29)" in text
    assert "biro-bali  Biro Bali: NOT SENT" in text
    assert "not sent (1): biro-bali" in text
    assert run_cli("--config", str(config), "recap", "status", "--month", "March") == 1


def _row_ticket(database_url: str, number: int) -> Ticket:
    """The ticket of `complaint_rows`' row `number` (its description ends with the number)."""
    [found] = [t for t in tickets(database_url) if t.description.endswith(f"nomor {number}")]
    return found


def test_head_office_recap_row_reaches_the_owning_department(
    config: Path, database_url: str, dovecot: Any, smtp_sink: Any
) -> None:
    # Issue 12.7: a row the branch forwarded to head office ("kantor pusat") that is
    # still open is the owning department's to work: it gets the notice a mailed
    # complaint gets, once, however often the branch sends its file again.
    rows = complaint_rows(3)
    rows[0] |= {
        "product": "epaper",
        "description": "PDF e-paper edisi Minggu tidak bisa dibuka sejak pagi, pelanggan nomor 1",
        "handled_by": "kantor pusat",
        "status": "baru",
        "root_cause": "",
        "action": "",
        "completed": None,
    }
    rows[1]["handled_by"] = "kantor pusat"  # head office resolved it already: nothing to do
    # rows[2] is open and the branch's own (biro): the branch works it.
    dovecot.append(recap_mail(1, [("rekap-jatim-2026-03.xlsx", filled_template(rows, rules=RULES), XLSX)]))

    run_daemon(config)

    forwarded = _row_ticket(database_url, 1)
    assert (forwarded.department, forwarded.status, forwarded.origin) == (
        "digital",
        "assigned",
        "branch:biro-jatim",
    )
    notices = [row for row in outbound(database_url) if row.kind == "notice"]
    assert [(row.ticket_id, row.recipient) for row in notices] == [(forwarded.id, "digital@example.co.id")]
    smtp_sink.wait_for(2)
    [notice] = [m for m in mails_to(smtp_sink, "digital@example.co.id")]
    assert str(notice["Subject"]).startswith(f"[{forwarded.reference}] Keluhan baru / New complaint")
    assert notice["Auto-Submitted"] == "auto-generated"
    text = body(notice)
    assert "A new customer complaint for Media Digital." in text
    assert "PDF e-paper edisi Minggu tidak bisa dibuka" in text
    assert "Biro Jawa Timur for 2026-03, sheet 'Rekap' row 5: handled by head office" in text
    assert "+6281234560001" in text  # the row's PIC, for the department to call
    assert [
        (e.action, e.old_value, e.new_value)
        for e in table(database_url, TicketEvent)
        if e.ticket_id == forwarded.id and e.action == "assigned"
    ] == [("assigned", "new", "assigned")]

    # The same file again, then a corrected one (a new phone number for the row):
    # the department heard of the complaint once, and hears nothing more.
    dovecot.append(recap_mail(2, [("rekap-jatim-2026-03.xlsx", filled_template(rows, rules=RULES), XLSX)]))
    run_daemon(config)
    rows[0]["pic"] = "0813-1111-2222"
    corrected = filled_template(rows, rules=RULES)
    dovecot.append(recap_mail(3, [("rekap-jatim-2026-03-revisi.xlsx", corrected, XLSX)]))
    run_daemon(config)

    assert _row_ticket(database_url, 1).pic_phone == "+6281311112222"
    assert sent_kinds(database_url) == ["notice", "recap-reply", "recap-reply", "recap-reply"]
    smtp_sink.wait_for(4)
    assert len(mails_to(smtp_sink, "digital@example.co.id")) == 1
    assert _row_ticket(database_url, 1).status == "assigned"


def test_imported_open_recap_row_is_not_overdue_at_once(
    config: Path,
    database_url: str,
    dovecot: Any,
    smtp_sink: Any,
    capsys: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Issue 12.7: the March recap arrives on 20 April. A row still open (JT-003,
    # received 3 March) is head office's from the import: its due dates count from
    # then, while its date stays 3 March so the March report still lists it.
    dovecot.append(
        recap_mail(1, [("rekap-jatim-2026-03.xlsx", filled_template(complaint_rows(3), rules=RULES), XLSX)])
    )
    run_daemon(config)
    pin_clock(monkeypatch, NOW)

    listed = {row["reference"]: row for row in tickets_json(config, capsys)}

    still_open, resolved = _row_ticket(database_url, 3), _row_ticket(database_url, 1)
    shown = listed[still_open.reference]
    assert (shown["status"], shown["resolution_status"], shown["resolution_breached"]) == (
        "in_progress",
        "pending",
        False,
    )
    assert datetime.fromisoformat(shown["received_at"]) == datetime(2026, 3, 3, tzinfo=JAKARTA)
    assert datetime.fromisoformat(shown["resolution_due"]) > NOW
    assert datetime.fromisoformat(shown["created_at"]) == NOW
    # A row the branch resolved is measured from its own date, as before: on time.
    assert listed[resolved.reference]["resolution_status"] == "met"
    [created] = [
        e for e in table(database_url, TicketEvent) if e.ticket_id == still_open.id and e.action == "created"
    ]
    assert "received 2026-03-03, service levels count from the import" in created.reason

    engine = db.make_engine(database_url)
    try:
        with db.session(engine) as session:
            report = build_monthly(session, RULES, Month(2026, 3), AsOf(NOW, "Asia/Jakarta"))
    finally:
        engine.dispose()
    assert still_open.reference in {row.reference for row in report.register}
    assert still_open.reference in {row.reference for row in report.open_tickets}
    assert report.overdue_tickets == ()
