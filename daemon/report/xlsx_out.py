"""The monthly report as an Excel workbook (openpyxl), with native charts.

Sheets: *Ringkasan* (the summary tables, and charts drawn by the spreadsheet
program from them: complaints per week, per department, SLA compliance per
department), *Daftar Induk* (the complaint register, every field of the
form), *Terbuka* (open and overdue), *Tindakan Perbaikan* (corrective
actions and their effectiveness) and, in the full report, *Rekap Biro* (which
branches sent their recap). Times are local and written as spreadsheet dates
without a zone, which is what people filter and sort on.

The workbook is written in openpyxl's write-only mode: each row goes to the
sheet's file as it is appended, so a register of 100,000 complaints is never
held as cells in memory. A sheet's layout (widths, frozen panes, page setup)
is therefore set before its first row, and the summary, which places tables
at fixed rows, is laid out in a small `_Grid` first and then written top down.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, cast

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from daemon.report import labels
from daemon.report.cells import xlsx_text
from daemon.report.monthly import Count, MonthlyReport, RegisterRow
from daemon.report.rows import Rows

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


@dataclass(frozen=True, eq=False)
class Look:
    """How a cell looks; each is a constant here, told apart by identity."""

    font: Font | None = None
    fill: PatternFill | None = None
    alignment: Alignment | None = None
    number_format: str | None = None


PLAIN = Look()
TITLED = Look(font=TITLE)
STRONG = Look(font=BOLD)
STRONG_PERCENT = Look(font=BOLD, number_format=PERCENT)
HEADING = Look(font=BOLD, fill=HEADING_FILL, alignment=WRAP)
WRAPPED = Look(alignment=WRAP)
TOPPED = Look(alignment=TOP)
TOPPED_PERCENT = Look(alignment=TOP, number_format=PERCENT)

Sheet = Worksheet
"""A write-only sheet (`_ListSheet`), which has the layout attributes of a sheet."""


class _ListSheet(WriteOnlyWorksheet):
    """A write-only sheet whose rows are cells made by `_Cells` (or None), appended as they are.

    openpyxl's own `append` first tries each value as a plain value and, for a
    cell, falls back after a ValueError (formatting the cell's repr): half the
    time of a 100,000-row register. Every value here is a ready cell.
    """

    def _values_to_row(self, values: Iterable[Cell | None], row_idx: int) -> Iterator[Cell]:
        for column, cell in enumerate(values, start=1):
            if cell is not None:
                cell.column, cell.row = column, row_idx
                yield cell


class _Cells:
    """The cells of one write-only sheet: text always a string cell, never a formula.

    A styled cell is made once per column and look and filled anew for each
    row: openpyxl writes a row's cells out when the row is appended.
    """

    def __init__(self, sheet: Sheet) -> None:
        self.sheet = sheet
        self._made: dict[tuple[int, int, str | None, bool], Cell] = {}

    def append(self, values: Iterable[object], look: Look | Sequence[Look] = PLAIN) -> None:
        looks = (look,) if isinstance(look, Look) else tuple(look)
        self.sheet.append(
            [
                self._cell(column, value, looks[min(column, len(looks) - 1)])
                for column, value in enumerate(values)
            ]
        )

    def _cell(self, column: int, value: object, look: Look) -> Cell | None:
        if value is None or value == "":
            return None  # an empty cell is no cell: the sheet stays smaller
        number_format, quote = look.number_format, False
        if isinstance(value, str):
            # A string cell, whatever the text starts with: never a formula (nor an error like #N/A).
            value, quote = xlsx_text(value)
            kind = "s"
        elif isinstance(value, bool):
            kind = "b"
        elif isinstance(value, int | float):
            kind = "n"
        elif isinstance(value, datetime):
            # Spreadsheets have no time zones: local wall-clock time, as the report shows it.
            value, number_format, kind = value.replace(tzinfo=None), number_format or DATE_TIME, "d"
        elif isinstance(value, date):
            number_format, kind = number_format or DATE, "d"
        else:
            value, kind = xlsx_text(str(value))[0], "s"
        key = (column, id(look), number_format, quote)
        cell = self._made.get(key)
        if cell is None:
            cell = self._made[key] = _styled(self.sheet, look, number_format, quote)
        # Typed here as openpyxl's value setter types these, without its second look at the text.
        cell._value = value  # type: ignore[attr-defined]  # Cell's slot behind `value`
        cell.data_type = kind
        return cell


def _styled(sheet: Sheet, look: Look, number_format: str | None, quote: bool) -> Cell:
    cell = WriteOnlyCell(sheet)
    if look.font is not None:
        cell.font = look.font
    if look.fill is not None:
        cell.fill = look.fill
    if look.alignment is not None:
        cell.alignment = look.alignment
    if number_format is not None:
        cell.number_format = number_format
    if quote:
        cell.quotePrefix = True
    return cell


class _Grid:
    """Cells placed by (row, column), then written top down into a write-only sheet."""

    def __init__(self) -> None:
        self.cells: dict[int, dict[int, tuple[object, Look]]] = {}

    def put(self, row: int, column: int, value: object, look: Look = PLAIN) -> None:
        self.cells.setdefault(row, {})[column] = (value, look)

    def table(
        self, row: int, heading: Sequence[str], rows: Iterable[Sequence[object]], looks: Sequence[Look] = ()
    ) -> None:
        """A table from column A down from `row`: the heading, then one line per row of values."""
        for column, text in enumerate(heading, start=1):
            self.put(row, column, text, HEADING)
        for line, values in enumerate(rows, start=row + 1):
            for column, value in enumerate(values, start=1):
                self.put(line, column, value, looks[column - 1] if column <= len(looks) else TOPPED)

    def write(self, cells: _Cells) -> None:
        for row in range(1, max(self.cells, default=0) + 1):
            placed = self.cells.get(row, {})
            width = max(placed, default=0)
            values = [placed.get(column, (None, PLAIN)) for column in range(1, width + 1)]
            cells.append([value for value, _ in values], [look for _, look in values] or [PLAIN])


def monthly_xlsx(report: MonthlyReport, *, organisation: str) -> bytes:
    buffer = io.BytesIO()
    write_monthly_xlsx(report, buffer, organisation=organisation)
    return buffer.getvalue()


def write_monthly_xlsx(report: MonthlyReport, target: str | Path | IO[bytes], *, organisation: str) -> None:
    """The workbook of `report`, written to `target` (a path or a binary file)."""
    workbook = Workbook(write_only=True)
    _summary(_sheet(workbook, "Ringkasan", (46, 16, 22, 22)), report, organisation)
    _register(workbook, report.register)
    _open(_sheet(workbook, "Terbuka", (18, 18, 30, 10, 22, 50, 22, 14), freeze="A2"), report.open_tickets)
    actions = _sheet(workbook, "Tindakan Perbaikan", (18, 28, 40, 40, 12, 34, 18, 34, 30), freeze="A2")
    _actions(actions, report.corrective_actions)
    if report.recaps is not None:
        sheet = _sheet(workbook, "Rekap Biro", (32, 44, 14, 22))
        rows = [(r.name, r.state_label, r.files, r.last_received) for r in report.recaps]
        _list(sheet, ("Biro / branch", "Status", "Berkas / files", "Terakhir / last received"), rows)
    workbook.save(target)


def _sheet(workbook: Workbook, title: str, widths: Iterable[float], *, freeze: str | None = None) -> Sheet:
    """A new write-only sheet with its layout, which must be set before its first row."""
    made = _ListSheet(parent=workbook, title=title)
    workbook._add_sheet(made)  # type: ignore[attr-defined]  # what create_sheet does with its own class
    sheet = cast(Sheet, made)
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    if freeze:
        sheet.freeze_panes = freeze
    _print_setup(sheet)
    return sheet


# --- the summary sheet and its charts -------------------------------------------


def _summary(sheet: Sheet, report: MonthlyReport, organisation: str) -> None:
    grid = _Grid()
    grid.put(1, 1, "Laporan Bulanan Keluhan Pelanggan / Monthly customer complaint report", TITLED)
    grid.put(2, 1, labels.month_title(report.month.year, report.month.month), STRONG)
    generated = labels.when(report.generated_at)
    grid.put(3, 1, f"{organisation} · dibuat / generated {generated} ({report.timezone})")
    if report.departments:
        grid.put(4, 1, "Bagian / part: " + ", ".join(count.label for count in report.by_department))
    _key_figures(grid, report)
    _tables_and_charts(sheet, grid, report, 12)
    grid.write(_Cells(sheet))


def _key_figures(grid: _Grid, report: MonthlyReport) -> None:
    """The month in five numbers, from row 6 down: received, on time twice, open, overdue."""
    compliance = report.compliance
    facts = [
        ("Keluhan diterima / complaints received", report.total, STRONG),
        (
            "Ditanggapi ≤ 1 hari kerja / responded in 1 working day",
            compliance.first_response_share,
            STRONG_PERCENT,
        ),
        ("Selesai tepat waktu / resolved on target", compliance.resolution_share, STRONG_PERCENT),
        ("Masih terbuka / still open", len(report.open_tickets), STRONG),
        ("Lewat tenggat / overdue", report.overdue, STRONG),
    ]
    for offset, (label, value, look) in enumerate(facts):
        grid.put(6 + offset, 1, label)
        grid.put(6 + offset, 2, value, look)


def _tables_and_charts(sheet: Sheet, grid: _Grid, report: MonthlyReport, row: int) -> None:
    """The count and compliance tables from `row` down, and the charts beside them."""
    weeks = _counts_table(grid, row, "Minggu / week", report.by_week)
    row += len(report.by_week) + 3
    departments = _counts_table(grid, row, "Departemen / department", report.by_department)
    row += len(report.by_department) + 3
    shares = _compliance_table(grid, row, report)
    row += len(report.compliance_by_department) + 3
    second_page = row
    for caption, counts in (
        ("Tingkat / severity", report.by_severity),
        ("Saluran / channel", report.by_channel),
        ("Biro / branch", report.by_branch),
        ("Produk / product", report.by_product),
    ):
        _counts_table(grid, row, caption, counts)
        row += len(counts) + 3
    sheet.add_chart(_column_chart("Keluhan per minggu / complaints per week", sheet, weeks), "F2")
    sheet.add_chart(_bar_chart("Keluhan per departemen / per department", sheet, departments), "F19")
    sheet.add_chart(_compliance_chart(sheet, shares), f"F{second_page}")
    # Printed, the compliance chart and the tables beside it start a page
    # instead of being cut in two.
    sheet.row_breaks.append(Break(id=second_page - 1))


Span = tuple[int, int]
"""(first data row, last data row) of a summary table; its labels are in column A."""


def _counts_table(grid: _Grid, row: int, caption: str, counts: Sequence[Count]) -> Span:
    grid.table(row, (caption, "Jumlah / count"), [(count.label, count.count) for count in counts])
    return row + 1, row + max(len(counts), 1)


def _compliance_table(grid: _Grid, row: int, report: MonthlyReport) -> Span:
    heading = (
        "Kepatuhan SLA / SLA compliance",
        "Keluhan / complaints",
        "Tanggapan / response",
        "Selesai / resolved",
    )
    items = report.compliance_by_department
    rows = [(i.label, i.tickets, i.first_response_share, i.resolution_share) for i in items]
    grid.table(row, heading, rows, (TOPPED, TOPPED, TOPPED_PERCENT, TOPPED_PERCENT))
    return row + 1, row + max(len(rows), 1)


def _column_chart(title: str, sheet: Sheet, span: Span) -> BarChart:
    chart = _chart(title, "col")
    chart.add_data(Reference(sheet, min_col=2, min_row=span[0] - 1, max_row=span[1]), titles_from_data=True)
    chart.set_categories(Reference(sheet, min_col=1, min_row=span[0], max_row=span[1]))
    chart.legend = None
    _colour(chart)
    return chart


def _bar_chart(title: str, sheet: Sheet, span: Span) -> BarChart:
    chart = _chart(title, "bar")
    chart.add_data(Reference(sheet, min_col=2, min_row=span[0] - 1, max_row=span[1]), titles_from_data=True)
    chart.set_categories(Reference(sheet, min_col=1, min_row=span[0], max_row=span[1]))
    chart.legend = None
    _colour(chart)
    chart.height = max(7.5, 1.1 * (span[1] - span[0] + 1) + 1.5)
    # Horizontal bars list the first category at the bottom; reversed, they read top-down.
    chart.x_axis.scaling.orientation = "maxMin"
    return chart


def _compliance_chart(sheet: Sheet, span: Span) -> BarChart:
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

_REGISTER_WIDTHS = {
    "description": 60,
    "subject": 36,
    "root_cause": 36,
    "corrective_action": 36,
    "preventive_action": 30,
    "effectiveness": 30,
    "customer_name": 24,
    "organisation": 24,
}


def _register(workbook: Workbook, rows: Rows) -> None:
    widths = [_REGISTER_WIDTHS.get(key, 18) for key, _ in labels.REGISTER_COLUMNS]
    sheet = _sheet(workbook, "Daftar Induk", widths, freeze="B2")
    heading = tuple(label for _, label in labels.REGISTER_COLUMNS)
    _list(sheet, heading, (_register_values(row) for row in rows), wrap=True)
    if len(rows):
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(heading))}{len(rows) + 1}"


def _register_values(row: RegisterRow) -> list[object]:
    values: list[object] = []
    for key, _ in labels.REGISTER_COLUMNS:
        value = getattr(row, key)
        if key == "severity":
            value = labels.SEVERITIES.get(value, value)
        elif key == "channel":
            value = labels.CHANNELS.get(value, value)
        elif key == "status":
            value = labels.STATUSES.get(value, value)
        elif key in ("first_response_status", "resolution_status"):
            value = labels.target_status(value) if value else ""
        values.append(value)
    return values


def _open(sheet: Sheet, rows: Rows) -> None:
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
    values = (
        (
            row.reference,
            row.received,
            row.department_name,
            row.severity,
            labels.STATUSES.get(row.status, row.status),
            row.subject,
            row.resolution_due,
            "ya / yes" if row.overdue else "",
        )
        for row in rows
    )
    _list(sheet, heading, values)


def _actions(sheet: Sheet, rows: Rows) -> None:
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
    values = (
        (
            row.reference,
            row.department_name,
            row.root_cause,
            row.corrective_action,
            row.action_target,
            row.preventive_action,
            row.completed,
            row.effectiveness,
            labels.EFFECTIVENESS[row.effectiveness_kind],
        )
        for row in rows
    )
    _list(sheet, heading, values, wrap=True)


def _list(
    sheet: Sheet, heading: Sequence[str], rows: Iterable[Sequence[object]], *, wrap: bool = False
) -> None:
    """A list sheet: the heading, then one line per row, each appended as it comes."""
    cells = _Cells(sheet)
    cells.append(heading, HEADING)
    look = WRAPPED if wrap else TOPPED
    for values in rows:
        cells.append(values, look)


def _print_setup(sheet: Sheet) -> None:
    """Landscape A4, as wide as one page and as long as it takes, headings repeated."""
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    if sheet.sheet_properties.pageSetUpPr is None:
        sheet.sheet_properties.pageSetUpPr = PageSetupProperties()
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    if sheet.title != "Ringkasan":
        sheet.print_title_rows = "1:1"
