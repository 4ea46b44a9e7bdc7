"""The monthly report as an Excel workbook (XlsxWriter), with native charts.

Sheets: *Ringkasan* (the summary tables, and charts drawn by the spreadsheet
program from them: complaints per week, per department, SLA compliance per
department), *Daftar Induk* (the complaint register, every field of the
form), *Terbuka* (open and overdue), *Tindakan Perbaikan* (corrective
actions and their effectiveness) and, in the full report, *Rekap Biro* (which
branches sent their recap). Times are local and written as spreadsheet dates
without a zone, which is what people filter and sort on.

XlsxWriter makes the workbook: its styles, sheets' layout (widths, frozen
panes, page setup), charts and package. It runs in `constant_memory` mode,
in which each sheet's rows go to a temporary file as they come and strings
are written in the cell; so a register of 100,000 complaints is never held
in memory, and the summary, which places tables at fixed rows, is laid out in
a small `_Grid` first and then written top down.

The rows themselves are written as XML, one string a row, by `daemon.report.xlsx_sheet`.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterable, Sequence
from operator import attrgetter
from pathlib import Path
from typing import IO, Any

from xlsxwriter import Workbook

from daemon.report import labels
from daemon.report.monthly import Count, MonthlyReport, RegisterRow
from daemon.report.rows import Rows
from daemon.report.xlsx_sheet import (
    BRAND,
    HEADING,
    PERCENT,
    PLAIN,
    STRONG,
    STRONG_PERCENT,
    TITLED,
    TOPPED,
    TOPPED_PERCENT,
    WRAPPED,
    Look,
    Sheet,
    Styles,
)

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SECOND_COLOUR = "#E07A2F"
A4 = 9
"""XlsxWriter's number for A4 paper."""
PIXELS_PER_CM = 96 / 2.54


class _Grid:
    """Cells placed by (row, column), then written top down into a sheet."""

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

    def write(self, sheet: Sheet) -> None:
        for row in range(1, max(self.cells, default=0) + 1):
            placed = self.cells.get(row, {})
            width = max(placed, default=0)
            values = [placed.get(column, (None, PLAIN)) for column in range(1, width + 1)]
            sheet.append([value for value, _ in values], [look for _, look in values] or [PLAIN])


def monthly_xlsx(report: MonthlyReport, *, organisation: str) -> bytes:
    buffer = io.BytesIO()
    write_monthly_xlsx(report, buffer, organisation=organisation)
    return buffer.getvalue()


def write_monthly_xlsx(report: MonthlyReport, target: str | Path | IO[bytes], *, organisation: str) -> None:
    """The workbook of `report`, written to `target` (a path or a binary file)."""
    workbook = Workbook(str(target) if isinstance(target, Path) else target, {"constant_memory": True})
    styles = Styles(workbook)
    try:
        summary = _sheet(workbook, styles, "Ringkasan", (46, 16, 22, 22))
        _summary(workbook, summary, report, organisation)
        _register(workbook, styles, report.register)
        open_widths = (18, 18, 30, 10, 22, 50, 22, 14)
        _open(_sheet(workbook, styles, "Terbuka", open_widths, freeze=(1, 0)), report.open_tickets)
        action_widths = (18, 28, 40, 40, 12, 34, 18, 34, 30)
        actions = _sheet(workbook, styles, "Tindakan Perbaikan", action_widths, freeze=(1, 0))
        _actions(actions, report.corrective_actions)
        if report.recaps is not None:
            sheet = _sheet(workbook, styles, "Rekap Biro", (32, 44, 14, 22))
            rows = [(r.name, r.state_label, r.files, r.last_received) for r in report.recaps]
            _list(sheet, ("Biro / branch", "Status", "Berkas / files", "Terakhir / last received"), rows)
        for sheet in workbook.worksheets():
            sheet.flush()
    except BaseException:
        # Closed all the same, which removes its temporary files; the error is the one to see.
        with contextlib.suppress(Exception):
            workbook.close()
        raise
    workbook.close()


def _sheet(
    workbook: Workbook,
    styles: Styles,
    title: str,
    widths: Iterable[float],
    *,
    freeze: tuple[int, int] | None = None,
) -> Sheet:
    """A new sheet with its layout: column widths, frozen panes (row, column), page setup."""
    sheet: Sheet = workbook.add_worksheet(title, worksheet_class=Sheet)
    sheet.setup(styles)
    for index, width in enumerate(widths):
        sheet.set_column(index, index, width)
    if freeze:
        sheet.freeze_panes(*freeze)
    _print_setup(sheet)
    return sheet


# --- the summary sheet and its charts -------------------------------------------


def _summary(workbook: Workbook, sheet: Sheet, report: MonthlyReport, organisation: str) -> None:
    grid = _Grid()
    grid.put(1, 1, "Laporan Bulanan Keluhan Pelanggan / Monthly customer complaint report", TITLED)
    grid.put(2, 1, labels.month_title(report.month.year, report.month.month), STRONG)
    generated = labels.when(report.generated_at)
    grid.put(3, 1, f"{organisation} · dibuat / generated {generated} ({report.timezone})")
    if report.departments:
        grid.put(4, 1, "Bagian / part: " + ", ".join(count.label for count in report.by_department))
    _key_figures(grid, report)
    _tables_and_charts(workbook, sheet, grid, report, 12)
    grid.write(sheet)


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


def _tables_and_charts(
    workbook: Workbook, sheet: Sheet, grid: _Grid, report: MonthlyReport, row: int
) -> None:
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
    charts = Charts(workbook, sheet.name)
    title = "Keluhan per minggu / complaints per week"
    sheet.insert_chart(1, 5, charts.counts(title, weeks, report.by_week, "column"))
    title = "Keluhan per departemen / per department"
    sheet.insert_chart(18, 5, charts.counts(title, departments, report.by_department, "bar"))
    sheet.insert_chart(second_page - 1, 5, charts.compliance(shares, report))
    # Printed, the compliance chart and the tables beside it start a page
    # instead of being cut in two: the break is below row `second_page - 1` (1-based).
    sheet.set_h_pagebreaks([second_page - 1])


Span = tuple[int, int]
"""(first data row, last data row), 1-based, of a summary table; its labels are in column A."""


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


class Charts:
    """The summary's bar charts, each drawn by the spreadsheet program from a table of the sheet.

    Each series refers to its cells and carries their values too (the cache a
    spreadsheet shows before it recalculates): in constant-memory mode
    XlsxWriter cannot read them back from the sheet.
    """

    def __init__(self, workbook: Workbook, sheet: str) -> None:
        self.workbook = workbook
        self.sheet = sheet

    def counts(self, title: str, span: Span, counts: Sequence[Count], direction: str) -> Any:
        """Column B of a counts table by its labels: upright columns ('column') or horizontal bars ('bar')."""
        chart = self._chart(title, direction)
        values = [count.count for count in counts]
        chart.add_series(self._series(span, 1, BRAND, ("Jumlah / count", [c.label for c in counts], values)))
        chart.set_legend({"none": True})
        if direction == "bar":
            chart.set_size(_size(18, max(7.5, 1.1 * (span[1] - span[0] + 1) + 1.5)))
        return chart

    def compliance(self, span: Span, report: MonthlyReport) -> Any:
        """Columns C and D (response, resolution shares) of the compliance table, as bars from 0 to 100%."""
        chart = self._chart("Kepatuhan SLA per departemen / SLA compliance per department", "bar")
        items = report.compliance_by_department
        names = [item.label for item in items]
        for column, colour, data in (
            (2, BRAND, ("Tanggapan / response", names, [item.first_response_share for item in items])),
            (3, SECOND_COLOUR, ("Selesai / resolved", names, [item.resolution_share for item in items])),
        ):
            chart.add_series(self._series(span, column, colour, data))
        # A bar chart's x axis is its value axis in XlsxWriter's terms.
        chart.set_x_axis({"min": 0, "max": 1, "num_format": PERCENT, "major_unit": 0.25})
        chart.set_legend({"position": "bottom"})
        chart.set_size(_size(18, max(8.5, 1.5 * (span[1] - span[0] + 1) + 2)))
        return chart

    def _series(
        self, span: Span, column: int, colour: str, data: tuple[str, list[str], Sequence[object]]
    ) -> dict[str, object]:
        """The series of one column of a table; `data` is what its cells hold (heading, labels, values)."""
        first, last = span[0] - 1, span[1] - 1  # 0-based rows, as XlsxWriter counts them
        name, categories, values = data
        return {
            "name": [self.sheet, first - 1, column],
            "name_data": [name],
            "categories": [self.sheet, first, 0, last, 0],
            "categories_data": categories,
            "values": [self.sheet, first, column, last, column],
            "values_data": list(values),
            "fill": {"color": colour},
            "border": {"color": colour},
            "gap": 60,
        }

    def _chart(self, title: str, direction: str) -> Any:
        chart = self.workbook.add_chart({"type": direction})
        chart.set_title({"name": title})
        chart.set_style(10)
        chart.set_size(_size(18, 7.5))
        # Name every category, however crowded: a skipped department name is a lost row.
        categories = {"interval_unit": 1}
        if direction == "bar":
            # Horizontal bars list the first category at the bottom; reversed, they read top-down.
            chart.set_y_axis({**categories, "reverse": True})
        else:
            chart.set_x_axis(categories)
        return chart


def _size(width_cm: float, height_cm: float) -> dict[str, int]:
    return {"width": round(width_cm * PIXELS_PER_CM), "height": round(height_cm * PIXELS_PER_CM)}


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


def _register(workbook: Workbook, styles: Styles, rows: Rows) -> None:
    widths = [_REGISTER_WIDTHS.get(key, 18) for key, _ in labels.REGISTER_COLUMNS]
    sheet = _sheet(workbook, styles, "Daftar Induk", widths, freeze=(1, 1))
    heading = tuple(label for _, label in labels.REGISTER_COLUMNS)
    _list(sheet, heading, (_register_values(row) for row in rows), wrap=True)
    if len(rows):
        sheet.autofilter(0, 0, len(rows), len(heading) - 1)


_REGISTER_KEYS = tuple(key for key, _ in labels.REGISTER_COLUMNS)
_REGISTER_FIELDS = attrgetter(*_REGISTER_KEYS)
_NAMED = tuple(
    (_REGISTER_KEYS.index(key), names)
    for key, names in (
        ("severity", labels.SEVERITIES),
        ("channel", labels.CHANNELS),
        ("status", labels.STATUSES),
    )
)
"""The register's columns shown by a label instead of their key (position, labels)."""
_TARGETS = tuple(_REGISTER_KEYS.index(key) for key in ("first_response_status", "resolution_status"))


def _register_values(row: RegisterRow) -> list[object]:
    values: list[object] = list(_REGISTER_FIELDS(row))
    for index, names in _NAMED:
        values[index] = names.get(values[index], values[index])  # type: ignore[call-overload]
    for index in _TARGETS:
        value = values[index]
        values[index] = labels.target_status(value) if value else ""  # type: ignore[arg-type]
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
    sheet.append(heading, HEADING)
    look = WRAPPED if wrap else TOPPED
    for values in rows:
        sheet.append(values, look)


def _print_setup(sheet: Sheet) -> None:
    """Landscape A4, as wide as one page and as long as it takes, headings repeated."""
    sheet.set_landscape()
    sheet.set_paper(A4)
    sheet.fit_to_pages(1, 0)
    if sheet.name != "Ringkasan":
        sheet.repeat_rows(0)
