"""What a recap mail's reply and record say, and which tickets it escalates (the pure parts)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from daemon.recap.escalate import created_and_raised
from daemon.recap.heading import month_end, month_start
from daemon.recap.intake import mail_reason
from daemon.recap.receive import RecapOutcome, month_notes
from daemon.recap.reply import MailOutcome, form_entry, reply_context
from daemon.recap.sheet import RecapRefused, RecapSheet
from daemon.recap.store import ImportedRow, ImportSummary
from daemon.store.models import RecapFile
from tests.recapfiles import recap_rules

JATIM = recap_rules().branches["biro-jatim"]
REFUSED = RecapRefused("berkas rusak", "the file is damaged")


def _file(name: str, *, imported: int = 0, refused: int = 0) -> RecapFile:
    return RecapFile(
        branch=JATIM.id, filename=name, sha256="0" * 64, raw=b"", rows_imported=imported, rows_refused=refused
    )


def _imported(month: str, summary: ImportSummary | None = None) -> RecapOutcome:
    return RecapOutcome(_file(f"rekap-{month}.xlsx", imported=3, refused=1), month, summary=summary)


def test_the_mail_reason_names_the_months_imported_else_the_first_refusal() -> None:
    refused = RecapOutcome(_file("rusak.xlsx"), "", refused=REFUSED)
    assert mail_reason(JATIM, [_imported("2026-03"), refused, _imported("2026-02")]) == (
        "branch recap biro-jatim 2026-02,2026-03"
    )
    assert mail_reason(JATIM, [refused]) == "recap refused: biro-jatim: the file is damaged"


def test_the_reply_counts_rows_and_refused_files() -> None:
    refused = RecapOutcome(_file("rusak.xlsx"), "", refused=REFUSED)
    outcome = MailOutcome(
        [_imported("2026-03"), refused], [form_entry("form.pdf", "application/pdf", 2048)], []
    )
    context = reply_context(
        outcome,
        org={"name": "Care", "address": "care@example.co.id"},
        branch=JATIM,
        received=datetime(2026, 4, 3, 9, 0, tzinfo=UTC),
    )
    assert context["months"] == outcome.months == ["2026-03"]
    assert context["totals"] == {"imported": 3, "refused_rows": 1, "refused_files": 1}
    assert context["forms"] == [{"filename": "form.pdf", "content_type": "application/pdf", "size": "2 kB"}]
    files = context["files"]
    assert isinstance(files, list)
    assert [file["reason_en"] for file in files] == ["", "the file is damaged"]


def test_escalation_looks_at_created_tickets_and_those_whose_severity_changed() -> None:
    summary = ImportSummary(
        created=(ImportedRow("Rekap", 5, 11, "CC-2026-000011"),),
        updated=(
            ImportedRow("Rekap", 6, 12, "CC-2026-000012", ("severity",)),
            ImportedRow("Rekap", 7, 13, "CC-2026-000013", ("pic_phone",)),
        ),
        unchanged=(ImportedRow("Rekap", 8, 14, "CC-2026-000014"),),
    )
    refused = RecapOutcome(_file("rusak.xlsx"), "", refused=REFUSED)
    assert created_and_raised([_imported("2026-03", summary), refused]) == ({11}, {12})


def test_an_unreadable_month_cell_is_noted_with_the_month_taken() -> None:
    sheet = RecapSheet(filename="rekap.xlsx", kind="xlsx", tables=(), rows=(), month="bulan lalu")
    (note,) = month_notes(sheet, "2026-03")
    assert "'bulan lalu'" in note and "2026-03" in note
    assert (
        month_notes(RecapSheet(filename="r.csv", kind="csv", tables=(), rows=(), month="2026-03"), "2026-03")
        == []
    )
    assert month_notes(RecapSheet(filename="r.csv", kind="csv", tables=(), rows=()), "2026-03") == []


def test_month_bounds() -> None:
    assert month_start("2026-02") == date(2026, 2, 1)
    assert month_end(date(2026, 2, 1)) == date(2026, 2, 28)
    assert month_end(date(2024, 2, 1)) == date(2024, 2, 29)
    assert month_end(date(2026, 12, 1)) == date(2026, 12, 31)
