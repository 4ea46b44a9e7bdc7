"""The official branch-recap template: an .xlsx a branch fills in, one row per complaint.

Sheet `Rekap` has the branch (B1) and month (B2) at the top, the bilingual
column headers on row 4 and the complaints from row 5 on; drop-down lists
offer the severities, statuses, channels, handlers and the products and
complaint categories of rules.yaml. Sheet `Petunjuk` explains it all in Indonesian and English;
the hidden sheet `Daftar` holds the drop-down lists (a list written inline in
a validation may not hold commas, and product names do).

The headers and words come from `daemon.recap.columns`, the same table the
reader matches against, so a template always reads back.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import IO

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from daemon.recap.columns import (
    CHANNEL_WORDS,
    COLUMNS,
    HANDLED_BY_WORDS,
    SEVERITY_WORDS,
    STATUS_WORDS,
)
from daemon.route.rules import Categories, Product

RECAP_SHEET = "Rekap"
INSTRUCTIONS_SHEET = "Petunjuk"
LISTS_SHEET = "Daftar"
HEADER_ROW = 4
FIRST_DATA_ROW = HEADER_ROW + 1
VALIDATED_ROWS = 2000
"""Drop-downs cover this many rows; a branch with more can copy a row down."""

_HEADER_FILL = PatternFill("solid", start_color="DDEBF7")
_BOLD = Font(bold=True)

INSTRUCTIONS: tuple[tuple[str, str], ...] = (
    (
        "Isi satu baris per keluhan di lembar 'Rekap', mulai baris 5.",
        "Fill in one row per complaint on the 'Rekap' sheet, from row 5.",
    ),
    (
        "Isi kode biro di sel B1 dan bulan rekap (YYYY-MM, misalnya 2026-03) di sel B2.",
        "Put the branch id in cell B1 and the recap month (YYYY-MM, e.g. 2026-03) in cell B2.",
    ),
    (
        "Kolom 'No.' adalah nomor keluhan biro: jangan diubah atau diurutkan ulang setelah rekap dikirim. "
        "Rekap koreksi memakai nomor yang sama, sehingga keluhan yang sudah tercatat diperbarui, "
        "bukan digandakan.",
        "The 'No.' column is the branch's own complaint number: never change or renumber it once the "
        "recap is sent. A corrected recap uses the same numbers, so complaints already recorded are "
        "updated, not duplicated.",
    ),
    (
        "Wajib diisi: Tanggal Diterima dan Uraian Keluhan. Tanggal harus di dalam bulan rekap; tulis "
        "sebagai tanggal Excel, YYYY-MM-DD atau DD/MM/YYYY.",
        "Required: Date received and Description. Dates must fall within the recap month; write them as "
        "Excel dates, YYYY-MM-DD or DD/MM/YYYY.",
    ),
    (
        "Pilih Produk, Saluran, Kategori, Tingkat, Status dan Ditangani Oleh dari daftar pilihan. "
        "Kategori di luar daftar ditolak; kosongkan bila tidak tahu.",
        "Choose Product, Channel, Category, Severity, Status and Handled by from the drop-down lists. "
        "A category not in the list is refused; leave it empty when unsure.",
    ),
    (
        "Ditangani Oleh: 'biro' untuk keluhan produk biro yang diselesaikan sendiri; 'kantor pusat' untuk "
        "keluhan produk kantor pusat yang diteruskan ke Customer Care.",
        "Handled by: 'biro' (branch) for complaints about the branch's own products it resolved itself; "
        "'kantor pusat' (head office) for complaints about head-office products forwarded to Customer Care.",
    ),
    (
        "Kirim berkas .xlsx (tanpa makro, bukan .xlsm) atau .csv melalui email ke Customer Care paling "
        "lambat tanggal 5 bulan berikutnya, beserta formulir keluhan (PDF, gambar atau Word).",
        "Email the .xlsx (no macros, not .xlsm) or .csv file to Customer Care by the 5th of the following "
        "month, with the complaint forms (PDF, images or Word).",
    ),
    (
        "Baris yang salah tidak diimpor; balasan email menyebutkan lembar, baris dan kolomnya. Perbaiki "
        "lalu kirim ulang seluruh berkas.",
        "Rows with mistakes are not imported; the reply names their sheet, row and column. Fix them and "
        "send the whole file again.",
    ),
    (
        "Rumus (formula) tidak dihitung: yang dibaca adalah nilai terakhir yang disimpan Excel.",
        "Formulas are not calculated: what is read is the value Excel last saved.",
    ),
)


def write_template(
    path_or_stream: str | Path | IO[bytes],
    *,
    branch: str | None,
    month: str | None,
    products: Sequence[Product],
    categories: Categories | None = None,
) -> None:
    """Write the recap template, with the branch and month filled in when given.

    `categories` (the `categories:` of rules.yaml) fill the category drop-down.
    """
    categories = categories or Categories()
    workbook = Workbook()
    recap = workbook.active
    assert isinstance(recap, Worksheet)
    recap.title = RECAP_SHEET
    instructions = workbook.create_sheet(INSTRUCTIONS_SHEET)
    lists = workbook.create_sheet(LISTS_SHEET)
    _write_recap(recap, branch, month)
    _write_lists(recap, lists, products, categories)
    _write_instructions(instructions, products, categories)
    lists.sheet_state = "hidden"
    workbook.properties.title = "Rekapitulasi keluhan pelanggan biro / Branch complaint recap"
    workbook.properties.creator = "caredesk"
    workbook.save(path_or_stream)


def _write_recap(sheet: Worksheet, branch: str | None, month: str | None) -> None:
    sheet["A1"] = "Biro / Branch"
    sheet["B1"] = branch or ""
    sheet["A2"] = "Bulan / Month (YYYY-MM)"
    # Text, not a date: Excel would otherwise show 2026-03 as a day of that month.
    sheet["B2"] = month or ""
    sheet["B2"].number_format = "@"
    for label in ("A1", "A2"):
        sheet[label].font = _BOLD
    sheet["D1"] = "Rekapitulasi keluhan pelanggan / Customer complaint recap"
    sheet["D1"].font = Font(bold=True, size=13)
    sheet["D2"] = "Lihat lembar 'Petunjuk' / See the 'Petunjuk' (instructions) sheet"
    for position, column in enumerate(COLUMNS, start=1):
        cell = sheet.cell(row=HEADER_ROW, column=position, value=column.header)
        cell.font = _BOLD
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        sheet.column_dimensions[get_column_letter(position)].width = column.width
    sheet.row_dimensions[HEADER_ROW].height = 32
    sheet.freeze_panes = f"A{FIRST_DATA_ROW}"


def _write_lists(
    recap: Worksheet, lists: Worksheet, products: Sequence[Product], categories: Categories
) -> None:
    """One column of choices per drop-down on the hidden sheet, and the validations that use them."""
    choices = {
        "severity": [words[0] for words in SEVERITY_WORDS.values()],
        "status": [words[0] for words in STATUS_WORDS.values()],
        "channel": [words[0] for words in CHANNEL_WORDS.values()],
        "handled_by": [words[0] for words in HANDLED_BY_WORDS.values()],
        "product": [product.name for product in products],
        "category": list(categories.names),
    }
    # Only the product and channel lists may be left: a branch may name a
    # product by one of its aliases, or a channel we do not list.
    strict = {"severity", "status", "handled_by", "category"}
    positions = {column.key: index for index, column in enumerate(COLUMNS, start=1)}
    for list_column, (key, values) in enumerate(choices.items(), start=1):
        letter = get_column_letter(list_column)
        lists.cell(row=1, column=list_column, value=f"daftar {key}")
        for row, value in enumerate(values, start=2):
            lists.cell(row=row, column=list_column, value=value)
        if not values:
            continue
        source = f"{quote_sheetname(LISTS_SHEET)}!${letter}$2:${letter}${len(values) + 1}"
        target = get_column_letter(positions[key])
        validation = DataValidation(
            type="list",
            formula1=source,
            allow_blank=True,
            showErrorMessage=True,
            errorStyle="stop" if key in strict else "warning",
            errorTitle="Pilihan tidak ada di daftar / Not in the list",
            error="Pilih dari daftar / Choose from the list",
        )
        validation.add(f"{target}{FIRST_DATA_ROW}:{target}{FIRST_DATA_ROW + VALIDATED_ROWS - 1}")
        recap.add_data_validation(validation)


def _write_instructions(sheet: Worksheet, products: Sequence[Product], categories: Categories) -> None:
    sheet["A1"] = "Petunjuk pengisian rekap keluhan / How to fill in the complaint recap"
    sheet["A1"].font = Font(bold=True, size=13)
    row = 3
    for number, (indonesian, english) in enumerate(INSTRUCTIONS, start=1):
        sheet.cell(row=row, column=1, value=f"{number}. {indonesian}")
        sheet.cell(row=row + 1, column=1, value=f"    {english}").font = Font(italic=True)
        row += 3
    sheet.cell(row=row, column=1, value="Kolom / Column").font = _BOLD
    sheet.cell(row=row, column=2, value="Isi / What to enter").font = _BOLD
    for column in COLUMNS:
        row += 1
        sheet.cell(row=row, column=1, value=column.header)
        sheet.cell(row=row, column=2, value=column.explanation)
    row += 2
    sheet.cell(row=row, column=1, value="Produk / Products").font = _BOLD
    for product in products:
        row += 1
        sheet.cell(row=row, column=1, value=product.name)
        sheet.cell(row=row, column=2, value=", ".join((product.id, *product.aliases)))
    if categories:
        row += 2
        sheet.cell(row=row, column=1, value="Kategori / Categories").font = _BOLD
    for category in categories.entries:
        row += 1
        sheet.cell(row=row, column=1, value=category.name)
        sheet.cell(row=row, column=2, value=", ".join(category.aliases))
    sheet.column_dimensions["A"].width = 40
    sheet.column_dimensions["B"].width = 100
    for cells in sheet.iter_rows(min_row=3, max_row=row, max_col=2):
        for cell in cells:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
