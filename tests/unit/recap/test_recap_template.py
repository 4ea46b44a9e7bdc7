"""The recap template: what a branch sees when it opens it, and the command that writes it."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pytest

from daemon import cli
from daemon.recap.columns import COLUMNS
from daemon.recap.reader import read_recap
from daemon.recap.sheet import RecapLimits
from daemon.recap.template import write_template
from tests.recapfiles import RULES_TEXT, recap_rules

RULES = recap_rules()
PRODUCTS = tuple(RULES.products.values())


def _template(branch: str | None = "biro-jatim", month: str | None = "2026-03") -> openpyxl.Workbook:
    out = io.BytesIO()
    write_template(out, branch=branch, month=month, products=PRODUCTS)
    return openpyxl.load_workbook(io.BytesIO(out.getvalue()))


def test_branch_and_month_sit_labelled_at_the_top() -> None:
    sheet = _template()["Rekap"]
    assert (sheet["A1"].value, sheet["B1"].value) == ("Biro / Branch", "biro-jatim")
    assert (sheet["A2"].value, sheet["B2"].value) == ("Bulan / Month (YYYY-MM)", "2026-03")
    assert sheet["B2"].number_format == "@"


def test_headers_are_indonesian_with_the_english_meaning_beside_them() -> None:
    sheet = _template()["Rekap"]
    headers = [cell.value for cell in sheet[4]]
    assert headers == [column.header for column in COLUMNS]
    assert headers[:3] == [
        "No. (Ref. no.)",
        "Tanggal Diterima (Date received)",
        "Nama Pelanggan (Customer name)",
    ]
    assert "Ditangani Oleh (Handled by: branch/head office)" in headers
    assert sheet.freeze_panes == "A5"


def _drop_downs(workbook: openpyxl.Workbook) -> dict[str, list[str]]:
    """Header of the validated column -> the choices its drop-down offers."""
    recap, lists = workbook["Rekap"], workbook["Daftar"]
    found: dict[str, list[str]] = {}
    for validation in recap.data_validations.dataValidation:
        assert validation.type == "list"
        target = str(validation.sqref).split(":")[0]
        column = "".join(ch for ch in target if ch.isalpha())
        source = str(validation.formula1).split("!")[1].replace("$", "")
        assert target == f"{column}5" and str(validation.sqref).endswith("2004")
        cells = lists[source]
        found[str(recap[f"{column}4"].value)] = [str(row[0].value) for row in cells]
    return found


WEB_OTHER = ("situs web", "lainnya")


def test_drop_downs_offer_severity_status_channel_handler_and_the_rules_products() -> None:
    workbook = _template()
    drop_downs = _drop_downs(workbook)
    assert drop_downs == {
        "Tingkat (Severity: major/minor)": ["mayor", "minor"],
        "Status (Status: new/in progress/done)": ["baru", "proses", "selesai"],
        "Saluran (Channel)": [
            "email",
            "telepon",
            "surat",
            "langsung",
            "whatsapp",
            "media sosial",
            *WEB_OTHER,
        ],
        "Ditangani Oleh (Handled by: branch/head office)": ["biro", "kantor pusat"],
        "Produk (Product)": [
            "E-Paper Harian Nusantara",
            "Koran Harian Nusantara",
            "Iklan baris (classified, print)",
        ],
    }
    assert workbook["Daftar"].sheet_state == "hidden"


def test_instructions_sheet_is_bilingual_and_lists_every_column_and_product() -> None:
    sheet = _template()["Petunjuk"]
    text = [str(cell.value) for row in sheet.iter_rows() for cell in row if cell.value is not None]
    joined = "\n".join(text)
    assert "Isi satu baris per keluhan" in joined and "One row per complaint" not in joined
    assert "Fill in one row per complaint" in joined
    assert "paling lambat tanggal 5" in joined and "by the 5th of the following month" in joined
    for column in COLUMNS:
        assert column.header in text
    assert "E-Paper Harian Nusantara" in text and "epaper, e-paper, koran digital" in text


def test_blank_template_leaves_branch_and_month_empty_and_reads_back_with_no_rows() -> None:
    out = io.BytesIO()
    write_template(out, branch=None, month=None, products=PRODUCTS)
    sheet = read_recap("rekap.xlsx", out.getvalue(), limits=RecapLimits())
    assert (sheet.branch, sheet.month, sheet.rows, sheet.notes) == (None, None, (), ())
    assert sheet.tables[0].header_row == 4


def _config(tmp_path: Path) -> Path:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES_TEXT, encoding="utf-8")
    config = tmp_path / "caredesk.toml"
    config.write_text(
        f'rules = "{rules}"\n\n[database]\nurl = "sqlite:///{tmp_path}/db.sqlite"\n', encoding="utf-8"
    )
    return config


def test_recap_template_command_writes_the_template(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "rekap.xlsx"
    code = cli.main(
        [
            *("--config", str(_config(tmp_path)), "recap", "template", "--out", str(out)),
            *("--branch", "biro-bali", "--month", "2026-04"),
        ]
    )
    assert code == 0
    assert capsys.readouterr().out == f"{out}: recap template with 3 products\n"
    sheet = read_recap(out.name, out.read_bytes(), limits=RecapLimits())
    assert (sheet.branch, sheet.month) == ("biro-bali", "2026-04")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--branch", "biro-papua"], "unknown branch 'biro-papua'; the branches in"),
        (["--month", "April"], "--month must be YYYY-MM, not 'April'"),
    ],
)
def test_recap_template_command_refuses_unknown_branch_or_bad_month(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], arguments: list[str], message: str
) -> None:
    out = tmp_path / "rekap.xlsx"
    code = cli.main(["--config", str(_config(tmp_path)), "recap", "template", "--out", str(out), *arguments])
    assert code == 1
    assert message in capsys.readouterr().err
    assert not out.exists()
