"""Reading recap files: every accepted shape, and every unsafe file refused before it is unpacked."""

from __future__ import annotations

import io
import time
import zipfile
from datetime import date, datetime

import openpyxl
import pytest

from daemon.recap.reader import read_recap
from daemon.recap.rows import Choices
from daemon.recap.sheet import RecapLimits, RecapRefused
from daemon.recap.validate import validate_rows
from tests.recapfiles import (
    CONTENT_TYPES,
    MiB,
    complaint_rows,
    csv_bytes,
    filled_template,
    plain_workbook,
    recap_rules,
    rewrite_entries,
    with_cached_formula,
    zip_bomb,
    zip_bytes,
)

LIMITS = RecapLimits()
RULES = recap_rules()
JATIM = RULES.branches["biro-jatim"]
TODAY = date(2026, 4, 3)


def _refusal(filename: str, data: bytes, limits: RecapLimits = LIMITS) -> RecapRefused:
    with pytest.raises(RecapRefused) as caught:
        read_recap(filename, data, limits=limits)
    return caught.value


# ---------------------------------------------------------------------------
# Shapes a branch sends
# ---------------------------------------------------------------------------


def test_template_reads_back_with_branch_month_and_every_column() -> None:
    data = filled_template(complaint_rows(3), rules=RULES)
    sheet = read_recap("rekap-jatim.xlsx", data, limits=LIMITS)
    assert sheet.kind == "xlsx"
    assert (sheet.branch, sheet.month) == ("biro-jatim", "2026-03")
    (table,) = sheet.tables
    assert (table.sheet, table.header_row) == ("Rekap", 4)
    assert table.headers["received"] == "Tanggal Diterima (Date received)"
    assert len(table.headers) == 15 and table.ignored == ()
    assert [(row.sheet, row.row) for row in sheet.rows] == [("Rekap", 5), ("Rekap", 6), ("Rekap", 7)]
    first = sheet.rows[0].values
    assert first["row_ref"] == "JT-001"
    assert first["received"] == datetime(2026, 3, 1)
    assert first["description"] == "Koran edisi 01 March tidak datang ke alamat pelanggan nomor 1"


def test_english_headers_with_header_row_below_a_title_and_branch_month_lines() -> None:
    data = plain_workbook(
        [
            ["Complaint recap, East Java branch"],
            ["Branch:", "biro-jatim"],
            ["Month", "March 2026"],
            [],
            [
                "NO",
                "Date Received",
                "customer",
                "Organization",
                "Contact",
                "Product",
                "Channel",
                "Description",
                "Severity",
                "Status",
                "Handled by",
                "Remarks",
            ],
            [
                1,
                "2026-03-04",
                "Ani",
                "PT Ani",
                "ani@example.com",
                "e-paper",
                "Email",
                "PDF cannot be opened",
                "Major",
                "Done",
                "Head Office",
                "note",
            ],
            [],
            [
                2,
                "2026-03-05",
                "Budi",
                "",
                "0812 1111 2222",
                "koran cetak",
                "phone",
                "Late paper",
                "minor",
                "in progress",
                "branch",
                "",
            ],
        ],
        title="March",
    )
    sheet = read_recap("march.xlsx", data, limits=LIMITS)
    assert (sheet.branch, sheet.month) == ("biro-jatim", "March 2026")
    assert sheet.tables[0].header_row == 5
    assert sheet.tables[0].ignored == ("Remarks",)
    assert [row.row for row in sheet.rows] == [6, 8]
    result = validate_rows(sheet, branch=JATIM, month="2026-03", choices=Choices.of(RULES), today=TODAY)
    assert result.problems == []
    first, second = result.good
    assert (first.product, first.severity, first.status, first.handled_by) == (
        "epaper",
        "major",
        "resolved",
        "head-office",
    )
    assert (first.pic_email, first.channel) == ("ani@example.com", "email")
    assert (second.product, second.status, second.pic_phone, second.channel) == (
        "koran-harian",
        "in_progress",
        "+6281211112222",
        "phone",
    )


def test_csv_with_semicolons_bom_and_untidy_indonesian_headers() -> None:
    data = csv_bytes(
        [
            ["Biro", "biro-jatim"],
            ["Bulan", "2026-03"],
            ["  no. ", "TGL.  Diterima", "Nama pelanggan", "PIC/Kontak", "PRODUK", "uraian", "tingkat"],
            [
                "7",
                "05/03/2026",
                "Sari",
                "sari@example.com",
                "Koran Harian Nusantara",
                "Koran basah; robek",
                "Mayor",
            ],
        ],
        delimiter=";",
        bom=True,
    )
    sheet = read_recap("rekap.csv", data, limits=LIMITS)
    assert sheet.kind == "csv"
    assert (sheet.branch, sheet.month) == ("biro-jatim", "2026-03")
    (row,) = sheet.rows
    assert (row.sheet, row.row) == ("rekap.csv", 4)
    assert row.values["description"] == "Koran basah; robek"
    result = validate_rows(sheet, branch=JATIM, month="2026-03", choices=Choices.of(RULES), today=TODAY)
    (good,) = result.good
    assert (good.row_ref, good.received, good.severity) == ("7", date(2026, 3, 5), "major")


def test_csv_with_commas_quoted_multiline_description_counts_records_not_lines() -> None:
    data = csv_bytes(
        [
            ["No", "Tanggal", "Produk", "Keluhan"],
            ["1", "2026-03-02", "epaper", "Baris pertama,\nbaris kedua; masih satu sel"],
            ["2", "2026-03-03", "epaper", "=1+1"],
        ],
        delimiter=",",
        bom=False,
    )
    sheet = read_recap("Rekap Maret.CSV", data, limits=LIMITS)
    assert [row.row for row in sheet.rows] == [2, 3]
    assert sheet.rows[0].values["description"] == "Baris pertama,\nbaris kedua; masih satu sel"
    # Cell text is data: a formula-looking text stays text.
    assert sheet.rows[1].values["description"] == "=1+1"


def test_csv_not_in_utf8_is_read_as_windows_1252_with_a_note() -> None:
    text = "No;Tanggal;Produk;Uraian\r\n1;2026-03-02;epaper;Caf\xe9 tutup\r\n"
    sheet = read_recap("rekap.csv", text.encode("cp1252"), limits=LIMITS)
    assert sheet.rows[0].values["description"] == "Café tutup"
    assert any("Windows-1252" in note for note in sheet.notes)


def test_sheets_without_a_header_row_are_skipped_with_a_note() -> None:
    workbook = openpyxl.load_workbook(io.BytesIO(filled_template(complaint_rows(2), rules=RULES)))
    workbook.create_sheet("Catatan")["A1"] = "catatan bebas"
    out = io.BytesIO()
    workbook.save(out)
    sheet = read_recap("rekap.xlsx", out.getvalue(), limits=LIMITS)
    assert [table.sheet for table in sheet.tables] == ["Rekap"]
    assert len(sheet.rows) == 2
    assert sheet.notes == (
        "lembar 'Catatan' dilewati: baris judul kolom tidak ditemukan / "
        "sheet 'Catatan' skipped: no header row found",
    )


def test_a_file_without_recap_headers_is_refused() -> None:
    refusal = _refusal("rekap.xlsx", plain_workbook([["Nama", "Alamat"], ["Ani", "Surabaya"]]))
    assert "no header row found" in refusal.reason
    assert "baris judul kolom tidak ditemukan" in refusal.indonesian


# ---------------------------------------------------------------------------
# Formulas: cached values only, never evaluated
# ---------------------------------------------------------------------------


def test_formula_cells_give_their_cached_value_and_are_never_evaluated() -> None:
    data = filled_template(complaint_rows(3), rules=RULES)
    # Evaluated, this would be "X"; Excel's saved value is what counts.
    data = with_cached_formula(data, "H5", 'UPPER("x")', "Koran tidak datang (cached)")
    data = with_cached_formula(data, "C6", 'WEBSERVICE("http://127.0.0.1:9/steal")', None)
    sheet = read_recap("rekap.xlsx", data, limits=LIMITS)
    first, second, _third = sheet.rows
    assert first.values["description"] == "Koran tidak datang (cached)"
    assert first.formula_without_value == frozenset()
    assert second.values["customer"] is None
    assert second.formula_without_value == frozenset({"customer"})
    result = validate_rows(sheet, branch=JATIM, month="2026-03", choices=Choices.of(RULES), today=TODAY)
    assert [row.row for row in result.good] == [5, 7]
    (problem,) = result.problems
    assert (problem.sheet, problem.row, problem.column, problem.cell) == (
        "Rekap",
        6,
        "Nama Pelanggan (Customer name)",
        "C6",
    )
    assert problem.message == "rumus tanpa nilai / formula without a value"


# ---------------------------------------------------------------------------
# Refused before unpacking
# ---------------------------------------------------------------------------


def test_macro_enabled_extension_is_refused() -> None:
    data = filled_template(complaint_rows(1), rules=RULES)
    refusal = _refusal("rekap.xlsm", data)
    assert "macro-enabled" in refusal.english and "makro" in refusal.indonesian


def test_xlsx_holding_a_vba_project_is_refused() -> None:
    data = rewrite_entries(
        filled_template(complaint_rows(1), rules=RULES), {"xl/vbaProject.bin": b"\xd0\xcf"}
    )
    assert "macro-enabled" in _refusal("rekap.xlsx", data).english


def test_xlsx_with_the_macro_content_type_is_refused() -> None:
    data = filled_template(complaint_rows(1), rules=RULES)
    types = zipfile.ZipFile(io.BytesIO(data)).read("[Content_Types].xml")
    macro = types.replace(
        b"spreadsheetml.sheet.main+xml", b"../application/vnd.ms-excel.sheet.macroEnabled.main+xml"
    )
    assert macro != types
    data = rewrite_entries(data, {"[Content_Types].xml": macro})
    assert "macro-enabled" in _refusal("rekap.xlsx", data).english


def test_excel_4_macro_sheets_are_refused() -> None:
    data = rewrite_entries(
        filled_template(complaint_rows(1), rules=RULES), {"xl/macrosheets/sheet1.xml": b"<xm/>"}
    )
    assert "macro-enabled" in _refusal("rekap.xlsx", data).english


def test_xlsx_that_is_not_a_zip_is_refused() -> None:
    refusal = _refusal("rekap.xlsx", b"No;Tanggal\n1;2026-03-01\n")
    assert "cannot be read as an Excel workbook" in refusal.english


def test_old_xls_or_password_protected_workbook_is_refused() -> None:
    ole2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512
    assert "password-protected" in _refusal("rekap.xlsx", ole2).english


def test_unknown_file_type_is_refused() -> None:
    assert "unknown file type .pdf" in _refusal("rekap.pdf", b"%PDF-1.7").english


def test_zip_bomb_is_refused_from_its_directory_before_anything_is_inflated() -> None:
    bomb = zip_bomb(uncompressed=60 * MiB)
    assert len(bomb) < 200_000
    started = time.process_time()
    refusal = _refusal("rekap.xlsx", bomb)
    elapsed = time.process_time() - started
    # The sheet's compressed bytes are corrupt: had the reader inflated it, the
    # refusal would be "damaged", not a size refusal.
    assert "zip bomb" in refusal.english
    assert "60.0 MB unpacked (at most 50.0 MB)" in refusal.english
    assert elapsed < 0.5


def test_highly_compressed_entry_is_refused_for_its_ratio() -> None:
    refusal = _refusal("rekap.xlsx", zip_bomb(uncompressed=5 * MiB))
    assert "zip bomb" in refusal.english
    assert "compression ratio 1" in refusal.english and "rasio kompresi" in refusal.indonesian


def test_too_many_zip_entries_are_refused() -> None:
    entries = {"[Content_Types].xml": CONTENT_TYPES} | {f"xl/media/{n}.txt": b"x" for n in range(30)}
    refusal = _refusal("rekap.xlsx", zip_bytes(entries), RecapLimits(max_entries=20))
    assert "31 entri (maksimum 20)" in refusal.indonesian
    assert "31 entries (at most 20)" in refusal.english


@pytest.mark.parametrize("name", ["../../etc/cron.d/x", "/etc/passwd", "C:/Windows/x.xml", "xl\\..\\..\\x"])
def test_entry_names_escaping_the_archive_are_refused(name: str) -> None:
    data = zip_bytes({"[Content_Types].xml": CONTENT_TYPES, name: b"x"})
    assert "invalid entry name" in _refusal("rekap.xlsx", data).english


@pytest.mark.parametrize("name", ["xl/embeddings/Microsoft_Excel_Worksheet.xlsx", "xl/media/inner.zip"])
def test_nested_archives_are_refused(name: str) -> None:
    data = zip_bytes({"[Content_Types].xml": CONTENT_TYPES, name: zip_bytes({"a.txt": b"a"})})
    assert "nested archive" in _refusal("rekap.xlsx", data).english


def test_file_larger_than_the_attachment_limit_is_refused() -> None:
    refusal = _refusal("rekap.csv", b"x" * 2000, RecapLimits(max_compressed_bytes=1000))
    assert refusal.english == "the file is too large (2000 bytes; at most 1000 bytes)"


def test_too_many_rows_are_refused() -> None:
    header = ["No", "Tanggal", "Uraian", "Produk"]
    rows = [[str(n), "2026-03-02", f"keluhan {n}", "epaper"] for n in range(1, 20_002)]
    started = time.perf_counter()
    refusal = _refusal("rekap.csv", csv_bytes([header, *rows]))
    assert "too many rows (more than 20000)" in refusal.english
    assert time.perf_counter() - started < 5


def test_too_many_rows_in_a_workbook_are_refused() -> None:
    data = filled_template(complaint_rows(30), rules=RULES)
    refusal = _refusal("rekap.xlsx", data, RecapLimits(max_rows=25))
    assert "too many rows (more than 25)" in refusal.english


def test_damaged_workbook_xml_is_refused_not_crashed_on() -> None:
    data = filled_template(complaint_rows(1), rules=RULES)
    data = rewrite_entries(data, {"xl/workbook.xml": b"<workbook><sheets><sheet"})
    assert "cannot be read as an Excel workbook" in _refusal("rekap.xlsx", data).english


@pytest.mark.parametrize("part", ["xl/workbook.xml", "xl/worksheets/sheet1.xml"])
def test_xml_entity_bomb_inside_the_workbook_is_refused(part: str) -> None:
    data = filled_template(complaint_rows(1), rules=RULES)
    xml = zipfile.ZipFile(io.BytesIO(data)).read(part)
    doctype = (
        b'<!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    )
    bomb = doctype + xml.replace(b"Rekap", b"&lol3;", 1).replace(b"Biro / Branch", b"&lol3;", 1)
    assert bomb.count(b"&lol3;") >= 1
    data = rewrite_entries(data, {part: bomb})
    assert "cannot be read as an Excel workbook" in _refusal("rekap.xlsx", data).english


def test_the_fullest_header_row_wins_over_a_date_and_complaint_line_above_it() -> None:
    data = plain_workbook(
        [
            ["Tanggal", "Keluhan"],
            ["No", "Tanggal Diterima", "Nama Pelanggan", "Produk", "Uraian Keluhan"],
            ["1", "2026-03-02", "Ani", "epaper", "PDF kosong"],
        ]
    )
    sheet = read_recap("rekap.xlsx", data, limits=LIMITS)
    assert sheet.tables[0].header_row == 2
    assert dict(sheet.rows[0].values) == {
        "row_ref": "1",
        "received": "2026-03-02",
        "customer": "Ani",
        "product": "epaper",
        "description": "PDF kosong",
    }


def test_a_csv_with_only_date_and_description_is_enough() -> None:
    sheet = read_recap(
        "rekap.csv", csv_bytes([["Tanggal", "Uraian"], ["2026-03-02", "PDF kosong"]]), limits=LIMITS
    )
    assert [dict(row.values) for row in sheet.rows] == [
        {"received": "2026-03-02", "description": "PDF kosong"}
    ]
