"""`caredesk report monthly|review` and `tickets list|show` with due dates, on the fixture month.

The command line reads the real clock, so only numbers that do not depend on
the moment are checked here (the moment-dependent ones are checked on an
injected clock in tests/unit/report/test_report_monthly.py).
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from daemon.route.loader import load_rules
from daemon.store import db
from tests.clockpin import config_variables
from tests.integration.helpers import PROJECT, run_cli, write_config
from tests.reportmonth import csv_sections, populate, reference
from tests.unit.report.test_report_monthly import BY_BRANCH, BY_CHANNEL, BY_DEPARTMENT, BY_PRODUCT

pytestmark = pytest.mark.integration

RULES = load_rules(PROJECT / "rules.yaml")


@pytest.fixture
def config(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for name in config_variables():
        monkeypatch.delenv(name)
    path = write_config(
        tmp_path,
        database_url=database_url,
        mailbox_url=f"maildir:{tmp_path / 'mail'}",
        smtp_url=f"file:{tmp_path / 'out'}",
    )
    engine = db.make_engine(database_url)
    db.create_schema(engine)
    with db.session(engine) as session:
        populate(session, RULES)
        session.commit()
    engine.dispose()
    yield str(path)


def _out(capsys: Any, config: str, *args: str) -> str:
    capsys.readouterr()
    assert run_cli("--config", config, *args) == 0
    return str(capsys.readouterr().out)


def test_report_monthly_as_csv_xlsx_and_html(config: str, tmp_path: Path, capsys: Any) -> None:
    sections = csv_sections(
        _out(capsys, config, "report", "monthly", "--month", "2026-10", "--format", "csv")
    )
    assert len(sections["register"]) == 21
    for name, expected in (
        ("by_department", BY_DEPARTMENT),
        ("by_product", BY_PRODUCT),
        ("by_channel", BY_CHANNEL),
        ("by_branch", BY_BRANCH),
    ):
        assert {row["key"]: int(row["count"]) for row in sections[name]} == expected, name
    assert {row["reference"] for row in sections["open_tickets"]} == {
        reference(n) for n in (22, 6, 7, 12, 18, 19, 20, 21)
    }

    xlsx = tmp_path / "oktober.xlsx"
    assert run_cli("--config", config, "report", "monthly", "--month", "2026-10", "--out", str(xlsx)) == 0
    workbook = openpyxl.load_workbook(io.BytesIO(xlsx.read_bytes()))
    assert workbook["Daftar Induk"].max_row == 22 and len(workbook["Ringkasan"]._charts) == 3

    html = tmp_path / "oktober.html"
    args = ("report", "monthly", "--month", "2026-10", "--format", "html", "--out", str(html))
    assert run_cli("--config", config, *args) == 0
    page = html.read_text(encoding="utf-8")
    assert page.count("<svg") == 3 and reference(21) in page and reference(24) not in page


def test_report_monthly_for_departments_and_mistakes(config: str, capsys: Any) -> None:
    args = ("report", "monthly", "--month", "2026-10", "--format", "csv", "--department", "digital")
    sections = csv_sections(_out(capsys, config, *args, "--department", "iklan"))
    assert len(sections["register"]) == 7
    assert "recaps" not in sections
    assert run_cli("--config", config, "report", "monthly", "--department", "marketing") == 1
    assert "unknown department marketing" in capsys.readouterr().err
    assert run_cli("--config", config, "report", "monthly", "--month", "2026-13") == 1
    assert run_cli("--config", config, "report", "review", "--quarter", "2026Q5") == 1


def test_report_review_counts_the_quarters_resolved_complaints(config: str, capsys: Any) -> None:
    data = json.loads(_out(capsys, config, "report", "review", "--quarter", "2026Q4", "--format", "json"))
    assert (data["resolved"], data["received"], data["still_open"]) == (15, 22, 8)
    # In the order they were completed: the last on 28 October.
    assert [c["reference"] for c in data["complaints"]][-1] == reference(16)
    text = _out(capsys, config, "report", "review", "--quarter", "2026Q4")
    assert "resolved in the quarter        15" in text
    assert (
        json.loads(_out(capsys, config, "report", "review", "--quarter", "2026Q1", "--format", "json"))[
            "resolved"
        ]
        == 0
    )


def test_tickets_list_and_show_carry_due_dates_and_breaches(config: str, capsys: Any) -> None:
    listed = {t["reference"]: t for t in json.loads(_out(capsys, config, "tickets", "list", "--json"))}
    answered_late, on_time = listed[reference(3)], listed[reference(1)]
    assert answered_late["first_response_breached"] is True
    assert answered_late["first_response_status"] == "met-late"
    assert on_time["first_response_breached"] is False and on_time["resolution_breached"] is False
    assert on_time["first_response_due"] == "2026-10-02T10:00:00+00:00"  # 17:00 WIB, the day off skipped
    assert listed[reference(2)]["resolution_breached"] is True
    recap = listed[reference(4)]
    assert recap["first_response_due"] is None and recap["first_response_breached"] is False
    text = _out(capsys, config, "tickets", "list", "--status", "all")
    assert "RESOLUTION DUE" in text
    line = next(row for row in text.splitlines() if row.startswith(reference(3)))
    assert "FR!" in line
    detail = json.loads(_out(capsys, config, "tickets", "show", reference(9), "--json"))
    assert detail["first_response_breached"] and detail["resolution_breached"]
    assert "resolution due" in _out(capsys, config, "tickets", "show", reference(9))


def test_the_complaint_form_as_html_and_pdf(config: str, tmp_path: Path, capsys: Any) -> None:
    page = _out(capsys, config, "tickets", "show", reference(2), "--format", "html")
    assert "Formulir Keluhan Pelanggan" in page and reference(2) in page
    assert "Tidak efektif, dianalisis ulang" in page
    pdf = tmp_path / "form.pdf"
    assert (
        run_cli("--config", config, "tickets", "show", reference(2), "--format", "pdf", "--out", str(pdf))
        == 0
    )
    assert pdf.read_bytes().startswith(b"%PDF-")
    pdftotext = shutil.which("pdftotext")
    assert pdftotext, "poppler-utils is installed by scripts/bootstrap"
    text = subprocess.run([pdftotext, str(pdf), "-"], capture_output=True, check=True, timeout=60).stdout
    assert reference(2).encode() in text and b"Formulir Keluhan Pelanggan" in text
    assert run_cli("--config", config, "tickets", "show", "CC-2026-999999", "--format", "html") == 1
