"""The monthly workbook's look: layout, number formats, charts on their tables, text kept as text."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime

import openpyxl
from hypothesis import given
from hypothesis import strategies as st
from openpyxl.chart import BarChart
from openpyxl.workbook.workbook import Workbook

from daemon.report import labels
from daemon.report.monthly import MonthlyReport, MonthTickets, compile_monthly
from daemon.report.periods import AsOf, Month
from daemon.report.xlsx_out import monthly_xlsx
from daemon.route.loader import load_rules
from tests.integration.helpers import PROJECT
from tests.reportmonth import JAKARTA, NOW, OCTOBER, make_ticket

RULES = load_rules(PROJECT / "rules.yaml")
TICKETS = [make_ticket(line, RULES) for line in OCTOBER]


def _report() -> MonthlyReport:
    register = TICKETS[:21]
    return compile_monthly(
        Month(2026, 10), RULES, AsOf(NOW, JAKARTA.key), MonthTickets(register, [TICKETS[5]], [TICKETS[2]])
    )


def _workbook(report: MonthlyReport) -> Workbook:
    return openpyxl.load_workbook(io.BytesIO(monthly_xlsx(report, organisation="Harian Nusantara")))


def _column(key: str) -> str:
    return openpyxl.utils.get_column_letter([k for k, _ in labels.REGISTER_COLUMNS].index(key) + 1)


def test_the_sheets_keep_their_layout_and_page_setup() -> None:
    workbook = _workbook(_report())
    frozen = {"Daftar Induk": "B2", "Terbuka": "A2", "Tindakan Perbaikan": "A2", "Ringkasan": None}
    for title, cell in frozen.items():
        sheet = workbook[title]
        assert sheet.freeze_panes == cell, title
        assert sheet.page_setup.orientation == "landscape", title
        assert sheet.page_setup.paperSize == 9, title  # A4
        assert sheet.page_setup.fitToHeight == 0 and sheet.page_setup.fitToWidth in (None, 1), title
        assert sheet.sheet_properties.pageSetUpPr.fitToPage, title
        assert sheet.print_title_rows == (None if title == "Ringkasan" else "$1:$1"), title
    register = workbook["Daftar Induk"]
    assert register.auto_filter.ref == f"A1:{_column('resolution_status')}22"
    # Widths in characters (the spreadsheet adds its cell padding, under a character).
    assert 60 <= register.column_dimensions[_column("description")].width < 61
    assert 18 <= register.column_dimensions["A"].width < 19
    assert 46 <= workbook["Ringkasan"].column_dimensions["A"].width < 47
    heading = register["A1"]
    assert heading.font.b and heading.fill.fgColor.rgb.endswith("E2F1F6") and heading.alignment.wrap_text
    assert register["C2"].alignment.wrap_text and register["C2"].alignment.vertical == "top"
    title = workbook["Ringkasan"]["A1"]
    assert title.font.b and title.font.sz == 14 and title.font.color.rgb.endswith("1F6F8B")


def test_times_dates_and_shares_are_numbers_in_their_formats() -> None:
    report = _report()
    workbook = _workbook(report)
    register = workbook["Daftar Induk"]
    first = next(iter(report.register))
    received = register[f"{_column('received')}2"]
    assert received.value == first.received.replace(tzinfo=None)
    assert received.number_format == "dd-mm-yyyy hh:mm"
    with_target = next(row for row in report.corrective_actions if row.action_target is not None)
    actions = workbook["Tindakan Perbaikan"]
    target = next(cell for cell in actions["E"][1:] if cell.value is not None)
    assert target.value == datetime.combine(with_target.action_target, datetime.min.time())  # type: ignore[arg-type]
    assert target.number_format == "dd-mm-yyyy"
    summary = workbook["Ringkasan"]
    assert summary["B6"].value == 21 and summary["B6"].data_type == "n"
    assert summary["B7"].value == report.compliance.first_response_share
    assert summary["B7"].number_format == "0%" and summary["B7"].font.b


def test_the_summary_charts_are_drawn_from_its_tables() -> None:
    report = _report()
    summary = _workbook(report)["Ringkasan"]
    charts: list[BarChart] = summary._charts
    assert [chart.type for chart in charts] == ["col", "bar", "bar"]
    weeks = 13, 12 + len(report.by_week)
    departments = weeks[1] + 4, weeks[1] + 3 + len(report.by_department)
    shares = departments[1] + 4, departments[1] + 3 + len(report.compliance_by_department)

    def refs(chart: BarChart) -> list[tuple[str, str, str]]:
        return [(s.tx.strRef.f, s.cat.strRef.f, s.val.numRef.f) for s in chart.series]

    def rows(first: int, last: int, column: str) -> str:
        return f"Ringkasan!${column}${first}:${column}${last}"

    assert refs(charts[0]) == [(f"Ringkasan!$B${weeks[0] - 1}", rows(*weeks, "A"), rows(*weeks, "B"))]
    assert summary[f"A{weeks[0]}"].value == report.by_week[0].label
    assert refs(charts[1]) == [
        (f"Ringkasan!$B${departments[0] - 1}", rows(*departments, "A"), rows(*departments, "B"))
    ]
    assert summary[f"A{departments[0]}"].value == report.by_department[0].label
    assert refs(charts[2]) == [
        (f"Ringkasan!${column}${shares[0] - 1}", rows(*shares, "A"), rows(*shares, column)) for column in "CD"
    ]
    assert summary[f"C{shares[0] - 1}"].value == "Tanggapan / response"
    # Each series carries its cells' values, which a spreadsheet shows before it recalculates.
    cached = charts[1].series[0]
    assert [point.v for point in cached.cat.strRef.strCache.pt] == [c.label for c in report.by_department]
    assert [point.v for point in cached.val.numRef.numCache.pt] == [c.count for c in report.by_department]
    # Horizontal bars read top-down; the shares from 0 to 100%; the compliance chart starts a printed page.
    assert charts[1].x_axis.scaling.orientation == "maxMin" == charts[2].x_axis.scaling.orientation
    assert (charts[2].y_axis.scaling.min, charts[2].y_axis.scaling.max) == (0, 1)
    assert charts[2].y_axis.number_format.formatCode == "0%"
    assert charts[2].legend.position == "b" and charts[0].legend is None
    assert [brk.id for brk in summary.row_breaks.brk] == [shares[1] + 2]
    assert charts[2].anchor._from.row == shares[1] + 2  # 0-based: the first row of the new page


def test_customer_text_is_written_as_it_was_typed() -> None:
    typed = {
        "subject": "<r><t>bold?</t></r>",  # what XlsxWriter's own writer would pass through as rich text
        "description": "baris satu\r\nbaris dua & <tiga>",
        "customer_name": "  =1+41",
        "customer_organisation": "#N/A",
        "root_cause": " spasi di tepi ",
    }
    ticket = TICKETS[0].model_copy(update=typed)
    report = compile_monthly(
        Month(2026, 10), RULES, AsOf(NOW, JAKARTA.key), MonthTickets([ticket], [], [ticket], recap_files=[])
    )
    data = monthly_xlsx(report, organisation="Harian & <Nusantara>")
    register = openpyxl.load_workbook(io.BytesIO(data))["Daftar Induk"]
    keys = {"subject": "subject", "description": "description", "customer_name": "customer_name"}
    keys |= {"customer_organisation": "organisation", "root_cause": "root_cause"}
    for field, key in keys.items():
        cell = register[f"{_column(key)}2"]
        assert (cell.value, cell.data_type) == (typed[field], "s"), field
        assert bool(cell.quotePrefix) == (field == "customer_name"), field
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheet = archive.read("xl/worksheets/sheet2.xml").decode()
        summary = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<r><t>" not in sheet and "&lt;r&gt;&lt;t&gt;bold?" in sheet
    assert "Harian &amp; &lt;Nusantara&gt;" in summary


def test_an_escape_a_spreadsheet_would_decode_stays_literal() -> None:
    ticket = TICKETS[0].model_copy(update={"subject": "kode _x0041_ di struk"})
    report = compile_monthly(Month(2026, 10), RULES, AsOf(NOW, JAKARTA.key), MonthTickets([ticket]))
    with zipfile.ZipFile(io.BytesIO(monthly_xlsx(report, organisation="x"))) as archive:
        sheet = archive.read("xl/worksheets/sheet2.xml").decode()
    # Excel reads `_xHHHH_` in a text as the character HHHH; its own escape of the underscore keeps it.
    assert "kode _x005F_x0041_ di struk" in sheet


@given(st.text(alphabet=st.sampled_from("ab _x0F9&<>\r\n\t\x00\x1f\u00a0é="), max_size=30))
def test_the_quick_look_at_a_text_finds_what_the_full_one_finds(text: str) -> None:
    from daemon.report.xlsx_sheet import _SPECIAL, _special

    assert _special(text) == (_SPECIAL.search(text) is not None)
