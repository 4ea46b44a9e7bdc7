"""The public holidays a child process reads from the `holidays` package (`daemon.sla.public_days`)."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, timedelta

import holidays
import pytest

from daemon.sla import public_days
from daemon.sla.public_days import PublicDays, PublicHolidaysUnavailable


@pytest.mark.parametrize(
    ("country", "language", "categories"),
    [("ID", "id", ()), ("ID", "id", ("government",)), ("ID", "en_US", ()), ("NL", "nl", ())],
)
def test_every_day_of_six_years_has_the_name_the_package_gives_in_process(
    country: str, language: str, categories: tuple[str, ...]
) -> None:
    chosen = {"categories": categories} if categories else {}
    package = holidays.country_holidays(country, language=language, **chosen)
    days = PublicDays(country, language, categories)
    first, last = date(2024, 1, 1), date(2029, 12, 31)
    every = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    assert [days.get(day) for day in every] == [package.get(day) for day in every]
    assert sum(days.get(day) is not None for day in every) > 30


def test_independence_day_in_indonesian_and_two_holidays_on_one_day_joined() -> None:
    days = PublicDays("ID", "id")
    assert days.get(date(2026, 8, 17)) == "Hari Kemerdekaan Republik Indonesia"
    assert days.get(date(2026, 8, 18)) is None
    # 13 May 2021: Idul Fitri and Ascension Day.
    assert days.get(date(2021, 5, 13)) == "Hari Raya Idul Fitri; Kenaikan Yesus Kristus"


def test_one_child_answers_a_span_of_years_for_every_calendar_asking_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[list[int]] = []
    real = public_days._ask_child

    def counted(key: tuple[str, str, tuple[str, ...]], years: list[int]) -> dict[int, dict[date, str]]:
        asked.append(years)
        return real(key, years)

    monkeypatch.setattr(public_days, "_ask_child", counted)
    monkeypatch.setattr(public_days, "_known", {})
    assert PublicDays("ID", "id").get(date(2031, 1, 1)) == "Tahun Baru Masehi"
    assert PublicDays("ID", "id").get(date(2033, 12, 25)) == "Hari Raya Natal"
    assert PublicDays("ID", "id").get(date(2030, 6, 2)) is None
    assert asked == [[2030, 2031, 2032, 2033, 2034]]
    PublicDays("ID", "id").get(date(2035, 1, 1))
    assert asked[1] == [2035, 2036, 2037, 2038]


def test_a_country_the_package_does_not_know_is_a_clear_error() -> None:
    with pytest.raises(
        PublicHolidaysUnavailable, match=r"public holidays of XX for .*Country XX not available"
    ):
        PublicDays("XX", "id").get(date(2026, 1, 1))


def test_a_child_that_cannot_start_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(public_days, "_known", {})
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")
    with pytest.raises(
        PublicHolidaysUnavailable, match="cannot work out the public holidays of ID for 2025-2029"
    ):
        PublicDays("ID", "id").get(date(2026, 1, 1))


def test_the_caredesk_process_itself_never_imports_the_package() -> None:
    """Run in a fresh interpreter: this test process imported `holidays` above."""
    code = (
        "import sys; from datetime import date; from daemon.sla.calendar import WorkCalendar; "
        "c = WorkCalendar(); assert c.public_holiday(date(2026, 8, 17)); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('holidays', 'dateutil')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"
