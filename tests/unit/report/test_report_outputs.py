"""The report outputs: xlsx with native charts, self-contained html with inline SVG, the review."""

from __future__ import annotations

import io
import re

import openpyxl
import pytest

from daemon.report import svg
from daemon.report.html_out import form_html, monthly_html, review_html
from daemon.report.monthly import MonthTickets, compile_monthly
from daemon.report.periods import AsOf, Month, Quarter
from daemon.report.review import QuarterTickets, compile_review
from daemon.report.text_out import review_json, review_text
from daemon.report.xlsx_out import monthly_xlsx
from daemon.route.loader import load_rules
from tests.integration.helpers import PROJECT
from tests.reportmonth import JAKARTA, NOW, OCTOBER, OUTSIDE, make_ticket, reference

RULES = load_rules(PROJECT / "rules.yaml")
TICKETS = {
    int(ticket.reference[-6:]): ticket
    for ticket in (make_ticket(line, RULES) for line in (*OCTOBER, *OUTSIDE))
}
AS_OF = AsOf(NOW, JAKARTA.key)
HOSTILE = '<script>alert("x")</script><img src="https://evil.example/x.png">'


def _report(departments: tuple[str, ...] = ()) -> object:
    register = [TICKETS[n] for n in range(1, 22) if not departments or TICKETS[n].department in departments]
    return compile_monthly(
        Month(2026, 10),
        RULES,
        AS_OF,
        MonthTickets(register, [TICKETS[23]], [TICKETS[22]], recap_files=None if departments else []),
        departments,
    )


def test_the_workbook_has_its_sheets_the_register_and_three_native_charts() -> None:
    data = monthly_xlsx(_report(), organisation="Harian Nusantara")  # type: ignore[arg-type]
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    assert workbook.sheetnames == ["Ringkasan", "Daftar Induk", "Terbuka", "Tindakan Perbaikan", "Rekap Biro"]
    summary = workbook["Ringkasan"]
    assert len(summary._charts) == 3  # per week, per department, SLA compliance per department
    assert summary["B6"].value == 21
    register = workbook["Daftar Induk"]
    assert register.max_row == 22
    assert register["A2"].value == reference(1)
    headings = [cell.value for cell in register[1]]
    for field in (
        "Akar penyebab",
        "Tindakan perbaikan",
        "Evaluasi efektivitas",
        "Ditutup oleh",
        "Telepon PIC",
    ):
        assert any(field in str(heading) for heading in headings), field
    recaps = workbook["Rekap Biro"]
    assert [row[0] for row in recaps.iter_rows(min_row=2, values_only=True)] == [
        branch.name for branch in RULES.branches.values()
    ]


def test_a_general_managers_workbook_has_only_their_part() -> None:
    data = monthly_xlsx(_report(("digital",)), organisation="Harian Nusantara")  # type: ignore[arg-type]
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    assert "Rekap Biro" not in workbook.sheetnames
    register = workbook["Daftar Induk"]
    assert register.max_row == 6
    assert {row[13] for row in register.iter_rows(min_row=2, values_only=True)} == {
        RULES.department("digital").name
    }


def test_the_html_report_is_self_contained_and_escapes_what_customers_wrote() -> None:
    ticket = TICKETS[5].model_copy(update={"description": HOSTILE, "subject": "<b>tagihan</b>"})
    report = compile_monthly(Month(2026, 10), RULES, AS_OF, MonthTickets([ticket], recap_files=[]))
    page = monthly_html(report, organisation="Harian <Nusantara>")
    assert "<script" not in page and "<img" not in page and "<b>tagihan" not in page
    assert "&lt;script&gt;" in page and "&lt;b&gt;tagihan&lt;/b&gt;" in page
    assert "Harian &lt;Nusantara&gt;" in page
    # Nothing to fetch: no script, no stylesheet link, no external image or font.
    assert not re.search(r"<(link|script|iframe|object)\b", page)
    assert not re.search(r"<[^>]*\s(src|href)=", page)
    assert page.count("<svg") == 3
    assert "<style>" in page


def test_trend_lines_draw_a_point_per_month_and_escape_names() -> None:
    chart = str(svg.lines(["01/26", "02/26", "03/26"], [("<a>", [1, 4, 2]), ("b & c", [0, 1, 0])], title="t"))
    assert chart.count("<polyline") == 2
    assert chart.count("<circle") == 6
    assert "&lt;a&gt;" in chart and "b &amp; c" in chart and "<a>" not in chart
    assert ">4<" in chart or ">5<" in chart, "the axis reaches the highest value"


def test_svg_charts_escape_labels_and_scale_to_whole_numbers() -> None:
    chart = str(svg.columns([("<minggu 1>", 3), ("2", 6)], title="a & b"))
    assert "&lt;minggu 1&gt;" in chart and "<minggu" not in chart
    assert "a &amp; b" in chart
    ticks = re.findall(r'text-anchor="end" fill="#6b7785">(\d+)<', chart)
    assert ticks == ["0", "2", "4", "6", "8"]
    shares = str(svg.paired_shares([("Redaksi", 1.0, None)], title="t", series=("a", "b")))
    assert "100%" in shares and "–" in shares


def test_the_complaint_form_has_every_field_of_the_procedure() -> None:
    from daemon.report.form import ComplaintForm, HistoryEntry
    from daemon.report.monthly import register_row

    ticket = TICKETS[2]
    form = ComplaintForm(
        row=register_row(ticket, RULES, JAKARTA, NOW),
        tags=("vip",),
        escalated=True,
        sla_class="",
        history=(HistoryEntry(NOW, "caredesk", "routed", "department", "", "digital", HOSTILE),),
        messages=(),
        generated_at=NOW,
        timezone="Asia/Jakarta",
    )
    page = form_html(form, organisation="Harian Nusantara")
    for label in (
        "Nomor / number",
        "Tanggal diterima",
        "Pelanggan / customer",
        "Organisasi / organisation",
        "Kontak PIC",
        "Produk atau layanan",
        "Saluran / channel",
        "Uraian keluhan",
        "Kategori / category",
        "Tingkat / severity",
        "Departemen pemilik",
        "Akar penyebab",
        "Tindakan perbaikan",
        "Target tindakan",
        "Tanggal selesai",
        "Evaluasi efektivitas",
        "Status",
        "Ditutup oleh",
        "Riwayat",
    ):
        assert label in page, label
    assert reference(2) in page and "Tidak efektif, dianalisis ulang" in page
    assert "&lt;script&gt;" in page and "<script" not in page


def test_the_complaint_form_lists_the_attachments_of_the_mail_that_came_in() -> None:
    from daemon.report.form import AttachmentEntry, ComplaintForm
    from daemon.report.monthly import register_row

    sha = "ab" * 32
    row = register_row(TICKETS[2], RULES, JAKARTA, NOW)
    listed = AttachmentEntry("foto <kerusakan>.jpg", "image/jpeg", "283 B", sha, "rina@example.id", NOW)
    with_files = ComplaintForm(row, (), False, "", (), (), NOW, "Asia/Jakarta", (listed,))
    without = ComplaintForm(row, (), False, "", (), (), NOW, "Asia/Jakarta")

    page = form_html(with_files, organisation="Harian Nusantara")

    assert "Lampiran <small>/ attachments (1)</small>" in page
    assert "foto &lt;kerusakan&gt;.jpg" in page and "image/jpeg" in page and "283 B" in page
    assert sha in page and "rina@example.id" in page
    assert "Tidak ada lampiran. / No attachments." in form_html(without, organisation="x")


def _review() -> object:
    resolved = [TICKETS[n] for n in (1, 2, 3, 4, 5, 8, 9, 10, 11, 13, 14, 15, 16, 17, 23)]
    return compile_review(
        Quarter(2026, 4),
        RULES,
        AsOf(NOW, "Asia/Jakarta"),
        QuarterTickets(resolved, received=22, still_open=8),
    )


def test_the_management_review_summarises_the_quarters_resolved_complaints() -> None:
    review = _review()
    assert review.total == 15  # type: ignore[attr-defined]
    counts = {c.key: c.count for c in review.by_department if c.count}  # type: ignore[attr-defined]
    assert counts == {
        "digital": 4,
        "koran": 2,
        "keuangan": 2,
        "redaksi": 2,
        "teknik": 3,
        "customer-care": 1,
        "iklan": 1,
    }
    # Received on the company's day off (1 October), resolved on 8 October: five working days.
    rows = {row.reference: row for row in review.resolved}  # type: ignore[attr-defined]
    assert review.working_days(rows[reference(1)]) == 5  # type: ignore[attr-defined]
    assert review.working_days(rows[reference(14)]) == 6  # type: ignore[attr-defined]
    compliance = review.compliance  # type: ignore[attr-defined]
    assert (compliance.resolution_met, compliance.resolution_measured) == (11, 15)
    effectiveness = {c.key: c.count for c in review.effectiveness}  # type: ignore[attr-defined]
    assert effectiveness == {"effective": 4, "not-effective": 1, "evaluated": 1, "not-evaluated": 9}
    data = review_json(review)  # type: ignore[arg-type]
    assert data["resolved"] == 15 and data["received"] == 22 and data["still_open"] == 8
    assert data["complaints"][0]["reference"] == reference(1)
    # The text is the summary; the list of complaints comes with `listed` (`report review --list`).
    text = review_text(review)  # type: ignore[arg-type]
    assert "resolved in the quarter        15" in text and reference(23) not in text
    assert "add --list" in text
    assert reference(23) in review_text(review, listed=True)  # type: ignore[arg-type]
    page = review_html(review, organisation="Harian Nusantara")  # type: ignore[arg-type]
    assert page.count("<svg") == 1 and reference(23) in page


@pytest.mark.parametrize("departments", [(), ("teknik", "redaksi")])
def test_reports_render_with_no_complaint_at_all(departments: tuple[str, ...]) -> None:
    empty = compile_monthly(Month(2026, 2), RULES, AS_OF, MonthTickets([], recap_files=None), departments)
    assert empty.total == 0 and empty.compliance.first_response_share is None
    page = monthly_html(empty, organisation="x")
    assert "Tidak ada keluhan bulan ini" in page and page.count("<svg") == 3
    workbook = openpyxl.load_workbook(io.BytesIO(monthly_xlsx(empty, organisation="x")))
    assert workbook["Daftar Induk"].max_row == 1


def test_the_review_json_written_in_pieces_is_the_json_of_the_whole_review() -> None:
    import json

    from daemon.report.text_out import review_json_parts

    empty = compile_review(Quarter(2026, 1), RULES, AS_OF, QuarterTickets([], received=0, still_open=0))
    for review in (_review(), empty):
        whole = json.dumps(review_json(review), ensure_ascii=False, indent=2) + "\n"  # type: ignore[arg-type]
        assert "".join(review_json_parts(review)) == whole  # type: ignore[arg-type]
