"""The monthly report as an Excel workbook (openpyxl), with native charts.

Sheets: *Ringkasan* (the summary tables, and charts drawn by the spreadsheet
program from them: complaints per week, per department, SLA compliance per
department), *Daftar Induk* (the complaint register, every field of the
form), *Terbuka* (open and overdue), *Tindakan Perbaikan* (corrective
actions and their effectiveness) and, in the full report, *Rekap Biro* (which
branches sent their recap). Times are local and written as spreadsheet dates
without a zone, which is what people filter and sort on.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from daemon.report import labels
from daemon.report.cells import put
from daemon.report.monthly import Count, MonthlyReport, RegisterRow

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BRAND = "1F6F8B"
HEADING_FILL = PatternFill("solid", fgColor="E2F1F6")
BOLD = Font(bold=True)
TITLE = Font(bold=True, size=14, color=BRAND)
WRAP = Alignment(wrap_text=True, vertical="top")
TOP = Alignment(vertical="top")
DATE_TIME = "dd-mm-yyyy hh:mm"
DATE = "dd-mm-yyyy"
PERCENT = "0%"
SECOND_COLOUR = "E07A2F"


def monthly_xlsx(report: MonthlyReport, *, organisation: str) -> bytes:
    workbook = Workbook()
    summary = workbook.active
    assert summary is not None
    summary.title = "Ringkasan"
    _summary(summary, report, organisation)
    _register(workbook.create_sheet("Daftar Induk"), report.register)
    _open(workbook.create_sheet("Terbuka"), report.open_tickets)
    _actions(workbook.create_sheet("Tindakan Perbaikan"), report)
    if report.recaps is not None:
        sheet = workbook.create_sheet("Rekap Biro")
        rows = [(r.name, r.state_label, r.files, _naive(r.last_received)) for r in report.recaps]
        _table(sheet, 1, ("Biro / branch", "Status", "Berkas / files", "Terakhir / last received"), rows)
        _widths(sheet, (32, 44, 14, 22))
    for sheet in workbook.worksheets:
        _print_setup(sheet)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- the summary sheet and its charts -------------------------------------------


def _summary(sheet: Worksheet, report: MonthlyReport, organisation: str) -> None:
    put(sheet, 1, 1, "Laporan Bulanan Keluhan Pelanggan / Monthly customer complaint report").font = TITLE
    put(sheet, 2, 1, labels.month_title(report.month.year, report.month.month)).font = BOLD
    generated = labels.when(report.generated_at)
    put(sheet, 3, 1, f"{organisation} · dibuat / generated {generated} ({report.timezone})")
    if report.departments:
        put(sheet, 4, 1, "Bagian / part: " + ", ".join(count.label for count in report.by_department))
    _key_figures(sheet, report)
    _tables_and_charts(sheet, report, 12)


def _key_figures(sheet: Worksheet, report: MonthlyReport) -> None:
    """The month in five numbers, from row 6 down: received, on time twice, open, overdue."""
    compliance = report.compliance
    facts = [
        ("Keluhan diterima / complaints received", report.total, None),
        ("Ditanggapi ≤ 1 hari kerja / responded in 1 working day", compliance.first_response_share, PERCENT),
        ("Selesai tepat waktu / resolved on target", compliance.resolution_share, PERCENT),
        ("Masih terbuka / still open", len(report.open_tickets), None),
        ("Lewat tenggat / overdue", len(report.overdue_tickets), None),
    ]
    for offset, (label, value, number_format) in enumerate(facts):
        put(sheet, 6 + offset, 1, label)
        target = put(sheet, 6 + offset, 2, value)
        target.font = BOLD
        if number_format:
            target.number_format = number_format


def _tables_and_charts(sheet: Worksheet, report: MonthlyReport, row: int) -> None:
    """The count and compliance tables from `row` down, and the charts beside them."""
    weeks = _counts_table(sheet, row, "Minggu / week", report.by_week)
    row += len(report.by_week) + 3
    departments = _counts_table(sheet, row, "Departemen / department", report.by_department)
    row += len(report.by_department) + 3
    shares = _compliance_table(sheet, row, report)
    row += len(report.compliance_by_department) + 3
    second_page = row
    for caption, counts in (
        ("Tingkat / severity", report.by_severity),
        ("Saluran / channel", report.by_channel),
        ("Biro / branch", report.by_branch),
        ("Produk / product", report.by_product),
    ):
        _counts_table(sheet, row, caption, counts)
        row += len(counts) + 3
    _widths(sheet, (46, 16, 22, 22))
    sheet.add_chart(_column_chart("Keluhan per minggu / complaints per week", sheet, weeks), "F2")
    sheet.add_chart(_bar_chart("Keluhan per departemen / per department", sheet, departments), "F19")
    sheet.add_chart(_compliance_chart(sheet, shares), f"F{second_page}")
    # Printed, the compliance chart and the tables beside it start a page
    # instead of being cut in two.
    sheet.row_breaks.append(Break(id=second_page - 1))


Span = tuple[int, int]
"""(first data row, last data row) of a summary table; its labels are in column A."""


def _counts_table(sheet: Worksheet, row: int, caption: str, counts: Sequence[Count]) -> Span:
    _table(sheet, row, (caption, "Jumlah / count"), [(count.label, count.count) for count in counts])
    return row + 1, row + max(len(counts), 1)


def _compliance_table(sheet: Worksheet, row: int, report: MonthlyReport) -> Span:
    heading = (
        "Kepatuhan SLA / SLA compliance",
        "Keluhan / complaints",
        "Tanggapan / response",
        "Selesai / resolved",
    )
    items = report.compliance_by_department
    rows = [(i.label, i.tickets, i.first_response_share, i.resolution_share) for i in items]
    _table(sheet, row, heading, rows)
    for offset in range(len(rows)):
        for column in (3, 4):
            sheet.cell(row + 1 + offset, column).number_format = PERCENT
    return row + 1, row + max(len(rows), 1)


def _column_chart(title: str, sheet: Worksheet, span: Span) -> BarChart:
    chart = _chart(title, "col")
    chart.add_data(Reference(sheet, min_col=2, min_row=span[0] - 1, max_row=span[1]), titles_from_data=True)
    chart.set_categories(Reference(sheet, min_col=1, min_row=span[0], max_row=span[1]))
    chart.legend = None
    _colour(chart)
    return chart


def _bar_chart(title: str, sheet: Worksheet, span: Span) -> BarChart:
    chart = _chart(title, "bar")
    chart.add_data(Reference(sheet, min_col=2, min_row=span[0] - 1, max_row=span[1]), titles_from_data=True)
    chart.set_categories(Reference(sheet, min_col=1, min_row=span[0], max_row=span[1]))
    chart.legend = None
    _colour(chart)
    chart.height = max(7.5, 1.1 * (span[1] - span[0] + 1) + 1.5)
    # Horizontal bars list the first category at the bottom; reversed, they read top-down.
    chart.x_axis.scaling.orientation = "maxMin"
    return chart


def _compliance_chart(sheet: Worksheet, span: Span) -> BarChart:
    chart = _chart("Kepatuhan SLA per departemen / SLA compliance per department", "bar")
    data = Reference(sheet, min_col=3, max_col=4, min_row=span[0] - 1, max_row=span[1])
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(Reference(sheet, min_col=1, min_row=span[0], max_row=span[1]))
    chart.y_axis.scaling.min = 0
    chart.y_axis.scaling.max = 1
    chart.y_axis.number_format = PERCENT
    chart.y_axis.majorUnit = 0.25
    for series, colour in zip(chart.series, (BRAND, SECOND_COLOUR), strict=False):
        series.graphicalProperties.solidFill = colour
        series.graphicalProperties.line.solidFill = colour
    chart.x_axis.scaling.orientation = "maxMin"
    chart.legend.position = "b"
    chart.height = max(8.5, 1.5 * (span[1] - span[0] + 1) + 2)
    return chart


def _colour(chart: BarChart) -> None:
    chart.series[0].graphicalProperties.solidFill = BRAND
    chart.series[0].graphicalProperties.line.solidFill = BRAND


def _chart(title: str, direction: str) -> BarChart:
    chart = BarChart()
    chart.type = direction
    chart.title = title
    chart.style = 10
    chart.width = 18
    chart.height = 7.5
    chart.gapWidth = 60
    # openpyxl leaves an axis' `delete` unset, which Excel and LibreOffice read as hidden.
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    # Name every category, however crowded: a skipped department name is a lost row.
    chart.x_axis.tickLblSkip = 1
    return chart


# --- the list sheets ----------------------------------------------------------------


def _register(sheet: Worksheet, rows: Sequence[RegisterRow]) -> None:
    heading = tuple(label for _, label in labels.REGISTER_COLUMNS)
    values = [tuple(_register_value(row, key) for key, _ in labels.REGISTER_COLUMNS) for row in rows]
    _table(sheet, 1, heading, values, wrap=True)
    widths = {"description": 60, "subject": 36, "root_cause": 36, "corrective_action": 36}
    widths |= {"preventive_action": 30, "effectiveness": 30, "customer_name": 24, "organisation": 24}
    _widths(sheet, [widths.get(key, 18) for key, _ in labels.REGISTER_COLUMNS])
    sheet.freeze_panes = "B2"
    if rows:
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(heading))}{len(rows) + 1}"


def _register_value(row: RegisterRow, key: str) -> object:
    value = getattr(row, key)
    if key == "severity":
        return labels.SEVERITIES.get(value, value)
    if key == "channel":
        return labels.CHANNELS.get(value, value)
    if key == "status":
        return labels.STATUSES.get(value, value)
    if key in ("first_response_status", "resolution_status"):
        return labels.target_status(value) if value else ""
    return _naive(value)


def _open(sheet: Worksheet, rows: Sequence[RegisterRow]) -> None:
    heading = (
        "Nomor / no.",
        "Diterima / received",
        "Departemen / department",
        "Tingkat / severity",
        "Status",
        "Perihal / subject",
        "Tenggat selesai / resolution due",
        "Lewat tenggat / overdue",
    )
    values = [
        (
            row.reference,
            _naive(row.received),
            row.department_name,
            row.severity,
            labels.STATUSES.get(row.status, row.status),
            row.subject,
            _naive(row.resolution_due),
            "ya / yes" if row.overdue else "",
        )
        for row in rows
    ]
    _table(sheet, 1, heading, values)
    _widths(sheet, (18, 18, 30, 10, 22, 50, 22, 14))
    sheet.freeze_panes = "A2"


def _actions(sheet: Worksheet, report: MonthlyReport) -> None:
    heading = (
        "Nomor / no.",
        "Departemen / department",
        "Akar penyebab / root cause",
        "Tindakan perbaikan / corrective action",
        "Target",
        "Tindakan pencegahan / preventive action",
        "Selesai / completed",
        "Efektivitas / effectiveness",
        "Evaluasi / evaluation",
    )
    values = [
        (
            row.reference,
            row.department_name,
            row.root_cause,
            row.corrective_action,
            row.action_target,
            row.preventive_action,
            _naive(row.completed),
            row.effectiveness,
            labels.EFFECTIVENESS[row.effectiveness_kind],
        )
        for row in report.corrective_actions
    ]
    _table(sheet, 1, heading, values, wrap=True)
    _widths(sheet, (18, 28, 40, 40, 12, 34, 18, 34, 30))
    sheet.freeze_panes = "A2"


# --- cells --------------------------------------------------------------------------


def _table(
    sheet: Worksheet,
    row: int,
    heading: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    wrap: bool = False,
) -> None:
    """A table from column A down from `row`: the heading, then one line per row of values."""
    for column, text in enumerate(heading, start=1):
        cell = put(sheet, row, column, text)
        cell.font, cell.fill, cell.alignment = BOLD, HEADING_FILL, WRAP
    for line, values in enumerate(rows, start=row + 1):
        for column, value in enumerate(values, start=1):
            cell = put(sheet, line, column, value)
            cell.alignment = WRAP if wrap else TOP
            if isinstance(value, datetime):
                cell.number_format = DATE_TIME
            elif isinstance(value, date):
                cell.number_format = DATE


def _print_setup(sheet: Worksheet) -> None:
    """Landscape A4, as wide as one page and as long as it takes, headings repeated."""
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    if sheet.sheet_properties.pageSetUpPr is None:
        sheet.sheet_properties.pageSetUpPr = PageSetupProperties()
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    if sheet.title != "Ringkasan":
        sheet.print_title_rows = "1:1"


def _widths(sheet: Worksheet, widths: Iterable[float]) -> None:
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width


def _naive(value: object) -> object:
    """Spreadsheets have no time zones: local wall-clock time, as the report shows it."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return value
