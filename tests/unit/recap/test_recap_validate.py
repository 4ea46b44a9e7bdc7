"""Validating recap rows: bad rows are named by sheet, row and column; good rows are normalised."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

import pytest
from openpyxl.utils.datetime import to_excel

from daemon.recap.heading import branch_mismatch, parse_month, recap_month
from daemon.recap.reader import read_recap
from daemon.recap.rows import Choices, RecapRow
from daemon.recap.sheet import CellValue, RecapLimits, RecapSheet, SheetRow, Table
from daemon.recap.validate import validate_rows
from tests.recapfiles import complaint_rows, csv_bytes, filled_template, recap_rules

RULES = recap_rules()
JATIM = RULES.branches["biro-jatim"]
TODAY = date(2026, 4, 3)
HEADERS = ["No", "Tanggal", "Nama", "Produk", "Uraian", "Tingkat", "Status", "Tanggal Selesai", "Ditangani"]


def _validate(
    *rows: list[object], month: str = "2026-03", today: date = TODAY
) -> tuple[list[RecapRow], list[str]]:
    sheet = read_recap("rekap.csv", csv_bytes([HEADERS, *rows]), limits=RecapLimits())
    result = validate_rows(sheet, branch=JATIM, month=month, choices=Choices.of(RULES), today=today)
    return result.good, [f"{p.row} {p.column}: {p.message}" for p in result.problems]


def _one(**cells: object) -> RecapRow:
    row = {"No": "1", "Tanggal": "2026-03-05", "Nama": "Ani", "Produk": "epaper", "Uraian": "PDF rusak"} | {
        key: str(value) for key, value in cells.items()
    }
    good, problems = _validate([row.get(header, "") for header in HEADERS])
    assert problems == []
    return good[0]


# ---------------------------------------------------------------------------
# The acceptance case: 50 rows, 3 bad
# ---------------------------------------------------------------------------


def test_template_with_50_rows_and_3_bad_gives_47_rows_and_3_problems_naming_sheet_row_column() -> None:
    rows = complaint_rows(50)
    rows[9]["received"] = None  # Excel row 14
    rows[24]["product"] = "Majalah Bulanan"  # Excel row 29
    rows[39]["severity"] = "sedang"  # Excel row 44
    sheet = read_recap("rekap-jatim-2026-03.xlsx", filled_template(rows, rules=RULES), limits=RecapLimits())
    result = validate_rows(sheet, branch=JATIM, month="2026-03", choices=Choices.of(RULES), today=TODAY)
    assert len(result.good) == 47
    assert (result.rows_total, result.rows_refused) == (50, 3)
    assert [(p.sheet, p.row, p.column, p.cell) for p in result.problems] == [
        ("Rekap", 14, "Tanggal Diterima (Date received)", "B14"),
        ("Rekap", 29, "Produk (Product)", "F29"),
        ("Rekap", 44, "Tingkat (Severity: major/minor)", "J44"),
    ]
    messages = [p.message for p in result.problems]
    assert messages[0] == "tanggal kosong / the date is missing"
    assert messages[1] == (
        "produk 'Majalah Bulanan' tidak dikenal, pilih dari daftar / "
        "unknown product 'Majalah Bulanan', choose one from the list"
    )
    assert (
        messages[2]
        == "tingkat 'sedang' tidak sah, isi mayor atau minor / invalid severity 'sedang', use major or minor"
    )
    assert str(result.problems[0]) == (
        "Rekap, baris/row 14, kolom/column 'Tanggal Diterima (Date received)' (B14): "
        "tanggal kosong / the date is missing"
    )
    assert {row.row for row in result.good}.isdisjoint({14, 29, 44})


def test_good_template_rows_are_normalised() -> None:
    sheet = read_recap("rekap.xlsx", filled_template(complaint_rows(14), rules=RULES), limits=RecapLimits())
    result = validate_rows(sheet, branch=JATIM, month="2026-03", choices=Choices.of(RULES), today=TODAY)
    assert result.problems == []
    row = next(r for r in result.good if r.row_ref == "JT-007")
    assert row == RecapRow(
        sheet="Rekap",
        row=11,
        row_ref="JT-007",
        received=date(2026, 3, 7),
        customer="Pelanggan 7",
        organisation="CV Maju 7",
        pic="0812-3456-0007",
        pic_phone="+6281234560007",
        pic_email="",
        product="koran-harian",
        channel="in-person",
        description="Koran edisi 07 March tidak datang ke alamat pelanggan nomor 7",
        category="pengiriman",
        severity="minor",
        root_cause="loper sakit",
        action="loper pengganti dikirim",
        completed=date(2026, 3, 8),
        status="resolved",
        handled_by="head-office",
    )
    tenth = next(r for r in result.good if r.row_ref == "JT-010")
    assert tenth.severity == "major"


# ---------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written",
    [
        "2026-03-05",
        "05/03/2026",
        "5-3-2026",
        "05.03.26",
        "5 Maret 2026",
        "5 mar 2026",
        "March 5, 2026",
        "2026/3/5",
    ],
)
def test_dates_are_read_in_the_shapes_branches_write_them(written: str) -> None:
    assert _one(Tanggal=written).received == date(2026, 3, 5)


def test_excel_serial_number_is_a_date() -> None:
    serial = int(to_excel(datetime(2026, 3, 5)))
    sheet = RecapSheet(
        "rekap.xlsx",
        "xlsx",
        (
            Table(
                "Rekap",
                1,
                {"received": "Tanggal", "description": "Uraian"},
                {"received": "A", "description": "B"},
            ),
        ),
        (SheetRow("Rekap", 2, {"received": serial, "description": "PDF rusak"}),),
    )
    result = validate_rows(sheet, branch=JATIM, month="2026-03", choices=Choices(), today=TODAY)
    assert result.good[0].received == date(2026, 3, 5)


def test_ambiguous_date_takes_the_reading_inside_the_recap_month() -> None:
    # Day-first this is 3 May, outside March; month-first it is 5 March.
    assert _one(Tanggal="03/05/2026").received == date(2026, 3, 5)


def test_date_outside_the_month_in_the_future_or_unreadable_is_a_problem() -> None:
    good, problems = _validate(
        ["1", "2026-02-28", "Ani", "epaper", "PDF rusak"],
        ["2", "kemarin", "Ani", "epaper", "PDF rusak"],
        ["3", "2026-03-30", "Ani", "epaper", "PDF rusak"],
        today=date(2026, 3, 20),
    )
    assert good == []
    assert problems == [
        "2 Tanggal: tanggal 2026-02-28 di luar bulan rekap 2026-03 / "
        "the date 2026-02-28 is outside the recap month 2026-03",
        "3 Tanggal: tanggal 'kemarin' tidak dapat dibaca, tulis sebagai YYYY-MM-DD atau DD/MM/YYYY / "
        "cannot read the date 'kemarin', write it as YYYY-MM-DD or DD/MM/YYYY",
        "4 Tanggal: tanggal 2026-03-30 belum terjadi / the date 2026-03-30 is in the future",
    ]


def test_completion_before_receipt_is_a_problem() -> None:
    _good, problems = _validate(
        ["1", "2026-03-10", "Ani", "epaper", "PDF rusak", "", "selesai", "2026-03-09"]
    )
    assert problems == [
        "2 Tanggal Selesai: tanggal selesai sebelum tanggal diterima (2026-03-10) / "
        "the completion date is before the date received (2026-03-10)"
    ]


# ---------------------------------------------------------------------------
# Words
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "severity"),
    [("MAYOR", "major"), ("Major", "major"), (" minor ", "minor"), ("Mayor (major)", "major"), ("", "minor")],
)
def test_severity_accepts_mayor_major_minor_in_any_case(written: str, severity: str) -> None:
    assert _one(Tingkat=written).severity == severity


@pytest.mark.parametrize(
    "written",
    ["epaper", "E-Paper Harian Nusantara", "e-paper", "KORAN DIGITAL", "epaper - E-Paper Harian Nusantara"],
)
def test_product_matches_id_name_or_alias_tolerantly(written: str) -> None:
    assert _one(Produk=written).product == "epaper"


def test_product_name_with_punctuation_matches() -> None:
    assert _one(Produk="iklan baris (classified, print)").product == "iklan-baris"


def test_empty_product_is_left_to_routing() -> None:
    assert _one(Produk="").product is None


def test_unknown_product_suggests_the_nearest() -> None:
    _good, problems = _validate(["1", "2026-03-05", "Ani", "E-Paper Harian Nusantra", "PDF rusak"])
    assert problems == [
        "2 Produk: produk 'E-Paper Harian Nusantra' tidak dikenal; maksud Anda 'E-Paper Harian Nusantara'? / "
        "unknown product 'E-Paper Harian Nusantra'; did you mean 'E-Paper Harian Nusantara'?"
    ]


@pytest.mark.parametrize(
    ("written", "completed", "status"),
    [
        ("", "2026-03-06", "resolved"),
        ("", "", "new"),
        ("Dalam Proses", "", "in_progress"),
        ("SELESAI", "2026-03-06", "resolved"),
        ("baru", "", "new"),
    ],
)
def test_status_words_and_the_default_from_the_completion_date(
    written: str, completed: str, status: str
) -> None:
    row = _one(Status=written, **{"Tanggal Selesai": completed})
    assert row.status == status


def test_invalid_status_handler_and_empty_description_are_problems() -> None:
    _good, problems = _validate(["1", "2026-03-05", "Ani", "epaper", "", "", "kacau", "", "tetangga"])
    assert problems == [
        "2 Uraian: uraian keluhan kosong / the description is empty",
        "2 Status: status 'kacau' tidak sah, isi baru, proses atau selesai / "
        "invalid status 'kacau', use new (baru), in progress (proses) or done (selesai)",
        "2 Ditangani: 'tetangga' tidak sah, isi biro atau kantor pusat / "
        "invalid 'tetangga', use branch (biro) or head office (kantor pusat)",
    ]


def test_the_branch_own_name_means_handled_by_the_branch() -> None:
    assert _one(Ditangani="Biro Jawa Timur").handled_by == "branch"
    assert _one(Ditangani="Kantor Pusat").handled_by == "head-office"


def test_too_long_values_are_problems_not_silently_cut() -> None:
    _good, problems = _validate(["1", "2026-03-05", "A" * 321, "epaper", "PDF rusak"])
    assert problems == [
        "2 Nama: terlalu panjang (321 karakter, maksimum 320) / too long (321 characters, at most 320)"
    ]


# ---------------------------------------------------------------------------
# Row identity
# ---------------------------------------------------------------------------


def test_row_key_is_the_branch_number_with_leading_zeros_ignored() -> None:
    assert _one(No="007").row_key == _one(No="7").row_key == "ref:7"
    assert _one(No="JT/03/001").row_key == "ref:jt 03 001"


def test_row_key_without_a_number_is_the_content_and_ignores_spacing_and_case() -> None:
    first = _one(No="", Nama="Ani  Wijaya", Uraian="PDF rusak")
    second = _one(No="", Nama="ani wijaya", Uraian="PDF  RUSAK.")
    assert first.row_key == second.row_key and first.row_key.startswith("sha256:")
    assert replace(first, description="PDF hilang").row_key != first.row_key


def test_the_same_number_twice_is_a_problem_on_the_later_row() -> None:
    good, problems = _validate(
        ["5", "2026-03-05", "Ani", "epaper", "PDF rusak"], ["5", "2026-03-06", "Budi", "epaper", "PDF hilang"]
    )
    assert [row.row for row in good] == [2]
    assert problems == ["3 No: nomor '5' sudah dipakai di baris 2 / number '5' is already used on row 2"]


# ---------------------------------------------------------------------------
# The file: month and branch
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written",
    ["2026-03", "03/2026", "3-2026", "Maret 2026", "march 2026", "Mar-2026", "2026-03-01", date(2026, 3, 1)],
)
def test_month_cell_shapes(written: CellValue) -> None:
    assert parse_month(written) == "2026-03"


def _sheet(filename: str, month: CellValue = None, branch: str | None = None) -> RecapSheet:
    return RecapSheet(filename, "csv", (), (), branch=branch, month=month)


def test_recap_month_from_the_cell_then_the_file_name_then_the_previous_month() -> None:
    assert recap_month(_sheet("rekap.xlsx", "Februari 2026"), received=date(2026, 4, 3)) == "2026-02"
    assert recap_month(_sheet("rekap_jatim_2026-01.xlsx"), received=date(2026, 4, 3)) == "2026-01"
    assert recap_month(_sheet("rekap 11-2025.csv"), received=date(2026, 4, 3)) == "2025-11"
    assert recap_month(_sheet("rekap.xlsx"), received=date(2026, 1, 4)) == "2025-12"


@pytest.mark.parametrize(
    "written", ["biro-jatim", "Biro Jawa Timur", "JAWA TIMUR", "biro.jatim@example.co.id", ""]
)
def test_branch_cell_naming_the_sender_branch_is_accepted(written: str) -> None:
    assert branch_mismatch(_sheet("r.xlsx", branch=written or None), JATIM) is None


def test_branch_cell_naming_another_branch_is_refused() -> None:
    refusal = branch_mismatch(_sheet("r.xlsx", branch="biro-bali"), JATIM)
    assert refusal is not None
    assert (
        refusal.english
        == "this file is for branch 'biro-bali' but was sent from the address of Biro Jawa Timur"
    )
