"""`caredesk calendar --month`: the working days of a month from the configured rules file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from daemon.cli import main
from daemon.config import EX_CONFIG

ROOT = Path(__file__).resolve().parents[3]


def config_for(folder: Path, rules: Path) -> str:
    path = folder / "caredesk.toml"
    path.write_text(f'rules = "{rules}"\n', encoding="utf-8")
    return str(path)


def calendar_json(capsys: pytest.CaptureFixture[str], config: str, *args: str) -> Any:
    assert main(["--config", config, "calendar", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_march_2026_with_the_shipped_rules_lists_idul_fitri_and_collective_leave(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = calendar_json(capsys, config_for(tmp_path, ROOT / "rules.yaml"), "--month", "2026-03")
    assert result["month"] == "2026-03"
    assert result["timezone"] == "Asia/Jakarta"
    assert result["business_hours"] == {"start": "08:00", "end": "17:00"}
    assert result["working_days"] == 17
    days = {day["date"]: day for day in result["days"]}
    assert len(days) == 31
    assert days["2026-03-02"] == {
        "date": "2026-03-02",
        "weekday": "Mon",
        "working": True,
        "kind": "workday",
        "reason": "working day",
    }
    assert (days["2026-03-07"]["working"], days["2026-03-07"]["kind"]) == (False, "weekend")
    assert (days["2026-03-19"]["kind"], days["2026-03-19"]["reason"]) == ("holiday", "Hari Suci Nyepi")
    assert (days["2026-03-23"]["kind"], days["2026-03-23"]["reason"]) == (
        "day-off",
        "Cuti bersama Idul Fitri",
    )
    assert sum(1 for day in days.values() if day["working"]) == 17


def test_text_listing_gives_each_day_its_reason_and_the_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["--config", config_for(tmp_path, ROOT / "rules.yaml"), "calendar", "--month", "2026-08"]) == 0
    )
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("2026-08  Asia/Jakarta  business hours 08:00-17:00")
    assert "2026-08-17 Mon  -        public holiday: Hari Kemerdekaan Republik Indonesia" in lines
    assert "2026-08-18 Tue  working" in lines
    assert "2026-08-22 Sat  -        weekend" in lines
    assert lines[-1] == "19 working days"
    assert len(lines) == 1 + 31 + 1


def test_rules_file_given_on_the_command_line_with_an_extra_working_saturday(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "candidate.yaml"
    rules.write_text(
        "departments: [{id: cc, name: CC, email: cc@example.co.id}]\n"
        "default: {department: cc}\n"
        "rules: []\n"
        "calendar:\n"
        "  timezone: Asia/Makassar\n"
        "  business_hours: {start: '07:30', end: '16:30'}\n"
        "  workdays: [2026-08-22]\n",
        encoding="utf-8",
    )
    config = config_for(tmp_path, ROOT / "rules.yaml")
    result = calendar_json(capsys, config, "--month", "2026-08", "--rules", str(rules))
    assert result["working_days"] == 20
    assert result["timezone"] == "Asia/Makassar"
    saturday = next(day for day in result["days"] if day["date"] == "2026-08-22")
    assert (saturday["working"], saturday["kind"]) == (True, "extra-workday")


def test_a_bad_month_is_a_user_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = config_for(tmp_path, ROOT / "rules.yaml")
    for month in ("2026-13", "08-2026", "August"):
        assert main(["--config", config, "calendar", "--month", month]) == 1
        assert "--month must look like 2026-08" in capsys.readouterr().err


def test_invalid_rules_are_a_configuration_error_with_the_position(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "departments: [{id: cc, name: CC, email: cc@example.co.id}]\n"
        "default: {department: cc}\n"
        "rules: []\n"
        "calendar:\n"
        "  holidays: [{date: 2026-02-30, name: Nope}]\n",
        encoding="utf-8",
    )
    assert main(["--config", config_for(tmp_path, rules), "calendar", "--month", "2026-02"]) == EX_CONFIG
    err = capsys.readouterr().err
    assert f"{rules}:5:21: error: date '2026-02-30' is not a date" in err


def test_a_month_listing_is_named_and_counts_its_working_days() -> None:
    from daemon.commands.calendar import MonthListing
    from daemon.sla.calendar import WorkCalendar

    calendar = WorkCalendar("Asia/Jakarta")
    listing = MonthListing(2026, 8, tuple(calendar.month(2026, 8)))
    assert listing.name == "2026-08"
    assert listing.working == len(calendar.working_days(2026, 8))
    assert MonthListing(2026, 2, ()).working == 0
