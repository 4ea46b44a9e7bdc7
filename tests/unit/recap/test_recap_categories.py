"""The recap's category column: a drop-down of rules.yaml's categories, and only those read back."""

from __future__ import annotations

import io
from datetime import date

import openpyxl

from daemon.recap.reader import read_recap
from daemon.recap.rows import Choices
from daemon.recap.sheet import RecapLimits
from daemon.recap.template import write_template
from daemon.recap.validate import validate_rows
from tests.recapfiles import complaint_rows, csv_bytes, filled_template, recap_rules

RULES = recap_rules()
JATIM = RULES.branches["biro-jatim"]
TODAY = date(2026, 4, 3)
CATEGORY_HEADER = "Kategori (Category)"


def _template() -> openpyxl.Workbook:
    out = io.BytesIO()
    write_template(
        out,
        branch="biro-jatim",
        month="2026-03",
        products=tuple(RULES.products.values()),
        categories=RULES.categories,
    )
    return openpyxl.load_workbook(io.BytesIO(out.getvalue()))


def test_the_category_column_offers_the_rules_categories_and_stops_anything_else() -> None:
    workbook = _template()
    recap, lists = workbook["Rekap"], workbook["Daftar"]
    headers = {str(cell.value): cell.column_letter for cell in recap[4]}
    column = headers[CATEGORY_HEADER]
    [validation] = [v for v in recap.data_validations.dataValidation if str(v.sqref).startswith(f"{column}5")]
    assert str(validation.sqref) == f"{column}5:{column}2004"
    assert validation.errorStyle == "stop"
    source = str(validation.formula1).split("!")[1].replace("$", "")
    assert [row[0].value for row in lists[source]] == ["pengiriman", "kualitas cetak", "tagihan"]


def test_the_instructions_list_each_category_with_its_aliases() -> None:
    sheet = _template()["Petunjuk"]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows(max_col=2)]
    at = rows.index(["Kategori / Categories", None])
    assert rows[at + 1 : at + 4] == [
        ["pengiriman", "delivery"],
        ["kualitas cetak", "print quality"],
        ["tagihan", None],
    ]


def test_a_category_by_name_or_alias_is_stored_as_the_list_spells_it() -> None:
    rows = complaint_rows(3)
    rows[0]["category"] = "Print Quality"
    rows[1]["category"] = ""
    sheet = read_recap("rekap.xlsx", filled_template(rows, rules=RULES), limits=RecapLimits())
    result = validate_rows(sheet, branch=JATIM, month="2026-03", choices=Choices.of(RULES), today=TODAY)
    assert result.problems == []
    assert [row.category for row in result.good] == ["kualitas cetak", "", "pengiriman"]


def test_an_unknown_category_refuses_its_row_naming_the_cell_and_the_list() -> None:
    header = ["No", "Tanggal", "Uraian", "Kategori"]
    rows = [["1", "2026-03-02", "koran tidak datang", "pengirman"], ["2", "2026-03-03", "tagihan", "tagihan"]]
    sheet = read_recap("rekap.csv", csv_bytes([header, *rows]), limits=RecapLimits())
    result = validate_rows(sheet, branch=JATIM, month="2026-03", choices=Choices.of(RULES), today=TODAY)
    assert [row.row_ref for row in result.good] == ["2"]
    [problem] = result.problems
    assert (problem.row, problem.column, problem.cell) == (2, "Kategori", "D2")
    assert problem.message == (
        "kategori 'pengirman' tidak dikenal, pilih dari daftar (pengiriman, kualitas cetak, tagihan); "
        "maksud Anda 'pengiriman'? / unknown category 'pengirman', choose one from the list "
        "(pengiriman, kualitas cetak, tagihan); did you mean 'pengiriman'?"
    )
    assert result.refused_rows == (("rekap.csv", 2),)
