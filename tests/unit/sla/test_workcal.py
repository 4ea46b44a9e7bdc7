"""The working-day calendar: weekends, public holidays, collective leave, business hours."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemon.route.loader import load_rules
from daemon.sla.calendar import PublicHolidays, WorkCalendar, WorkingTime

ROOT = Path(__file__).resolve().parents[3]
JAKARTA = ZoneInfo("Asia/Jakarta")


def wib(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=JAKARTA)


@pytest.fixture(scope="module")
def plain() -> WorkCalendar:
    """Monday-Friday minus Indonesian public holidays, nothing from rules.yaml."""
    return WorkCalendar("Asia/Jakarta")


@pytest.fixture(scope="module")
def shipped() -> WorkCalendar:
    """The calendar of the shipped rules.yaml, with its 2026 collective leave days."""
    return load_rules(ROOT / "rules.yaml").calendar_config.build()


# --- which days are worked ----------------------------------------------------------


def test_weekdays_are_worked_and_weekends_are_not(plain: WorkCalendar) -> None:
    week = [date(2026, 8, 3) + timedelta(days=offset) for offset in range(7)]
    assert [plain.is_working_day(day) for day in week] == [True] * 5 + [False] * 2
    assert plain.day(date(2026, 8, 8)).reason == "weekend"
    assert plain.holiday_name(date(2026, 8, 8)) is None
    assert plain.holiday_name(date(2026, 8, 4)) is None


def test_independence_day_is_a_public_holiday(plain: WorkCalendar) -> None:
    independence_day = plain.day(date(2026, 8, 17))
    assert not independence_day.working
    assert independence_day.kind == "holiday"
    assert plain.holiday_name(date(2026, 8, 17)) == "Hari Kemerdekaan Republik Indonesia"


def test_idul_fitri_is_a_public_holiday_even_when_it_falls_on_a_weekend(plain: WorkCalendar) -> None:
    assert plain.holiday_name(date(2026, 3, 21)) == "Hari Raya Idul Fitri"
    assert plain.day(date(2026, 3, 21)).kind == "holiday"


def test_august_2026_has_19_working_days(plain: WorkCalendar) -> None:
    # 21 weekdays minus Independence Day (Mon 17th) and the Prophet's Birthday (Tue 25th).
    days = plain.working_days(2026, 8)
    assert len(days) == 19
    assert date(2026, 8, 17) not in days and date(2026, 8, 25) not in days
    assert len(plain.month(2026, 8)) == 31


def test_collective_leave_from_rules_yaml_is_not_worked(shipped: WorkCalendar, plain: WorkCalendar) -> None:
    assert plain.is_working_day(date(2026, 12, 24))
    leave = shipped.day(date(2026, 12, 24))
    assert (leave.working, leave.kind, leave.reason) == (False, "day-off", "Cuti bersama Hari Raya Natal")
    assert shipped.holiday_name(date(2026, 12, 24)) == "Cuti bersama Hari Raya Natal"


def test_idul_fitri_week_with_collective_leave_leaves_17_working_days_in_march(
    shipped: WorkCalendar,
) -> None:
    # Nyepi (19th) and Idul Fitri (21st-22nd) are public holidays; the 18th, 20th,
    # 23rd and 24th are collective leave listed in rules.yaml: a whole week off.
    off = [date(2026, 3, day) for day in range(18, 25)]
    assert not any(shipped.is_working_day(day) for day in off)
    assert len(shipped.working_days(2026, 3)) == 17


def test_shipped_collective_leave_dates_match_the_government_days_the_holidays_package_knows(
    shipped: WorkCalendar,
) -> None:
    government = WorkCalendar(public=PublicHolidays(collective_leave=True))
    package_days = {
        day.date
        for month in range(1, 13)
        for day in government.month(2026, month)
        if day.kind == "collective-leave"
    }
    listed = {day for day, name in shipped.extra_holidays.items() if name.startswith("Cuti bersama")}
    assert listed == package_days
    assert len(listed) == 8


def test_an_extra_working_day_is_worked_even_on_a_weekend_or_a_holiday() -> None:
    calendar = WorkCalendar(extra_workdays={date(2026, 3, 28), date(2026, 8, 17)})
    saturday = calendar.day(date(2026, 3, 28))
    assert (saturday.working, saturday.kind) == (True, "extra-workday")
    assert "instead of weekend" in saturday.reason
    assert calendar.is_working_day(date(2026, 8, 17))
    assert "Hari Kemerdekaan" in calendar.day(date(2026, 8, 17)).reason
    assert calendar.holiday_name(date(2026, 8, 17)) is None


def test_collective_leave_from_the_holidays_package_when_switched_on() -> None:
    calendar = WorkCalendar(public=PublicHolidays(collective_leave=True))
    day = calendar.day(date(2026, 12, 24))
    assert (day.working, day.kind) == (False, "collective-leave")
    assert "Natal" in day.reason


# --- the default first-response target: end of the next working day ---------------------


def test_friday_afternoon_receipt_is_due_monday_at_close_of_business(plain: WorkCalendar) -> None:
    assert plain.end_of_next_working_day(wib(2026, 8, 7, 16, 30)) == wib(2026, 8, 10, 17)


def test_receipt_on_the_eve_of_a_monday_holiday_is_due_tuesday(plain: WorkCalendar) -> None:
    assert plain.end_of_next_working_day(wib(2026, 8, 14, 16, 30)) == wib(2026, 8, 18, 17)


def test_receipt_on_a_holiday_is_due_at_the_end_of_the_next_working_day(plain: WorkCalendar) -> None:
    assert plain.end_of_next_working_day(wib(2026, 8, 17, 10)) == wib(2026, 8, 18, 17)
    assert plain.end_of_next_working_day(wib(2026, 8, 15, 9)) == wib(2026, 8, 18, 17)


def test_receipt_early_in_the_morning_still_gets_the_whole_next_day(plain: WorkCalendar) -> None:
    assert plain.end_of_next_working_day(wib(2026, 8, 4, 7)) == wib(2026, 8, 5, 17)


def test_the_local_day_decides_not_the_utc_day(plain: WorkCalendar) -> None:
    # Thursday 23:59 in Jakarta is Thursday: due Friday.
    assert plain.end_of_next_working_day(wib(2026, 8, 6, 23, 59)) == wib(2026, 8, 7, 17)
    # Thursday 17:30 UTC is already Friday 00:30 in Jakarta: due Monday.
    thursday_utc = datetime(2026, 8, 6, 17, 30, tzinfo=UTC)
    assert plain.end_of_next_working_day(thursday_utc) == wib(2026, 8, 10, 17)


def test_receipt_on_new_years_eve_is_due_after_the_new_year_holiday_and_weekend(plain: WorkCalendar) -> None:
    # 1 January 2027 is a Friday and a public holiday.
    assert plain.end_of_next_working_day(wib(2026, 12, 31, 23, 59)) == wib(2027, 1, 4, 17)


def test_receipt_before_collective_leave_and_christmas_is_due_after_both(shipped: WorkCalendar) -> None:
    # Thursday 24th is collective leave, Friday 25th Christmas, then the weekend.
    assert shipped.end_of_next_working_day(wib(2026, 12, 23, 18)) == wib(2026, 12, 28, 17)


def test_receipt_before_the_idul_fitri_week_is_due_after_it(shipped: WorkCalendar) -> None:
    assert shipped.end_of_next_working_day(wib(2026, 3, 17, 10)) == wib(2026, 3, 25, 17)


def test_add_working_days_counts_only_working_days(plain: WorkCalendar) -> None:
    # Five working days after Friday 14 August: 18th-21st (the 17th is a holiday), then the 24th.
    assert plain.add_working_days(wib(2026, 8, 14, 9), 5) == wib(2026, 8, 24, 17)
    assert plain.add_working_days(wib(2026, 8, 14, 9), 0) == wib(2026, 8, 14, 17)
    assert plain.add_working_days(wib(2026, 8, 15, 9), 0) == wib(2026, 8, 18, 17)
    with pytest.raises(ValueError):
        plain.add_working_days(wib(2026, 8, 14), -1)


def test_working_days_between_counts_days_after_the_first_up_to_the_last(plain: WorkCalendar) -> None:
    assert plain.working_days_between(wib(2026, 8, 14, 16, 30), wib(2026, 8, 18, 9)) == 1
    assert plain.working_days_between(wib(2026, 8, 14, 16, 30), wib(2026, 8, 14, 17)) == 0
    assert plain.working_days_between(wib(2026, 8, 18, 9), wib(2026, 8, 14, 16, 30)) == -1


# --- working hours ------------------------------------------------------------------


def test_working_hours_skip_the_night_and_the_weekend(plain: WorkCalendar) -> None:
    assert plain.add_working_hours(wib(2026, 8, 7, 16), 4) == wib(2026, 8, 10, 11)
    assert plain.add_working_hours(wib(2026, 8, 8, 12), 2) == wib(2026, 8, 10, 10)
    assert plain.add_working_hours(wib(2026, 8, 10, 6), 1) == wib(2026, 8, 10, 9)


def test_landing_exactly_on_closing_time_stays_on_that_day(plain: WorkCalendar) -> None:
    assert plain.add_working_hours(wib(2026, 8, 10, 8), 9) == wib(2026, 8, 10, 17)
    assert plain.add_working_hours(wib(2026, 8, 10, 17), -9) == wib(2026, 8, 10, 8)


def test_negative_hours_walk_back_over_the_weekend(plain: WorkCalendar) -> None:
    assert plain.add_working_hours(wib(2026, 8, 10, 9), -2) == wib(2026, 8, 7, 16)
    # Tuesday 18th 09:00 minus 2 hours skips Independence Day on Monday.
    assert plain.add_working_hours(wib(2026, 8, 18, 9), -2) == wib(2026, 8, 14, 16)


def test_zero_hours_is_the_moment_itself(plain: WorkCalendar) -> None:
    saturday = wib(2026, 8, 8, 12)
    assert plain.add_working_hours(saturday, 0) == saturday


def test_working_hours_between(plain: WorkCalendar) -> None:
    assert plain.working_hours_between(wib(2026, 8, 7, 16), wib(2026, 8, 10, 11)) == 4
    assert plain.working_hours_between(wib(2026, 8, 10, 11), wib(2026, 8, 7, 16)) == -4
    assert plain.working_hours_between(wib(2026, 8, 8, 0), wib(2026, 8, 9, 23)) == 0
    assert plain.working_hours_between(wib(2026, 8, 3), wib(2026, 8, 8)) == 45


def test_other_business_hours() -> None:
    calendar = WorkCalendar(hours=(time(7, 30), time(16)))
    assert calendar.business_day_hours() == 8.5
    assert calendar.end_of_next_working_day(wib(2026, 8, 7, 16, 30)) == wib(2026, 8, 10, 16)
    with pytest.raises(ValueError, match="start before"):
        WorkCalendar(hours=(time(17), time(8)))


def test_hours_are_counted_in_real_time_across_a_daylight_saving_change() -> None:
    # Jakarta has no DST; in Amsterdam 29 March 2026 02:00 jumps to 03:00, so
    # "business hours" 01:00-05:00 that day last three real hours.
    amsterdam = ZoneInfo("Europe/Amsterdam")
    calendar = WorkCalendar(
        "Europe/Amsterdam",
        hours=(time(1), time(5)),
        extra_workdays={date(2026, 3, 29)},
        public=PublicHolidays(country="NL"),
    )
    opening = datetime(2026, 3, 29, 1, tzinfo=amsterdam)
    assert calendar.working_hours_between(opening, datetime(2026, 3, 29, 5, tzinfo=amsterdam)) == 3
    assert calendar.add_working_hours(opening, 2) == datetime(2026, 3, 29, 4, tzinfo=amsterdam)


def test_naive_datetimes_are_refused(plain: WorkCalendar) -> None:
    with pytest.raises(ValueError, match="naive"):
        plain.end_of_next_working_day(datetime(2026, 8, 7, 16, 30))
    with pytest.raises(ValueError, match="naive"):
        plain.add_working_hours(datetime(2026, 8, 7, 16, 30), 1)


def test_results_are_in_the_calendar_zone_whatever_zone_came_in(plain: WorkCalendar) -> None:
    # 09:30 UTC is 16:30 in Jakarta: half an hour on Friday, half on Monday.
    due = plain.add_working_hours(datetime(2026, 8, 7, 9, 30, tzinfo=UTC), 1)
    assert due.utcoffset() == timedelta(hours=7)
    assert (due.date(), due.hour, due.minute) == (date(2026, 8, 10), 8, 30)


# --- durations as rules.yaml writes them ---------------------------------------------


@pytest.mark.parametrize(("text", "amount", "unit"), [("2d", 2, "d"), ("4h", 4, "h"), (" 30M ", 30, "m")])
def test_working_time_parses(text: str, amount: int, unit: str) -> None:
    span = WorkingTime.parse(text)
    assert (span.amount, span.unit) == (amount, unit)
    assert str(span) == f"{amount}{unit}"


@pytest.mark.parametrize("text", ["2", "d", "1.5h", "2 days", "-1d", "0h", ""])
def test_bad_working_times_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        WorkingTime.parse(text)


def test_a_deadline_in_days_ends_at_close_and_in_hours_counts_business_time(plain: WorkCalendar) -> None:
    received = wib(2026, 8, 7, 16, 30)
    assert plain.deadline(received, WorkingTime(2, "d")) == wib(2026, 8, 11, 17)
    assert plain.deadline(received, WorkingTime(4, "h")) == wib(2026, 8, 10, 11, 30)
    assert plain.deadline(received, WorkingTime(90, "m")) == wib(2026, 8, 10, 9)


def test_a_shift_of_one_day_is_one_business_day_of_hours(plain: WorkCalendar) -> None:
    assert plain.shift(wib(2026, 8, 10, 17), WorkingTime(1, "d")) == wib(2026, 8, 11, 17)
    assert plain.shift(wib(2026, 8, 11, 11), WorkingTime(1, "d")) == wib(2026, 8, 12, 11)
    assert plain.shift(wib(2026, 8, 10, 17), WorkingTime(2, "h"), before=True) == wib(2026, 8, 10, 15)


# --- properties ------------------------------------------------------------------------

moments = st.datetimes(
    min_value=datetime(2025, 12, 1), max_value=datetime(2027, 2, 1), timezones=st.just(JAKARTA)
)
CALENDAR = WorkCalendar(extra_holidays={date(2026, 12, 24): "Cuti bersama Natal"})


@given(moments, st.integers(min_value=1, max_value=30))
def test_working_days_between_undoes_add_working_days(moment: datetime, days: int) -> None:
    due = CALENDAR.add_working_days(moment, days)
    assert CALENDAR.is_working_day(due.date())
    assert due.timetz() == time(17, tzinfo=JAKARTA)
    assert CALENDAR.working_days_between(moment, due) == days


@given(moments, st.integers(min_value=1, max_value=9 * 20 * 60))
def test_working_hours_between_undoes_add_working_hours(moment: datetime, minutes: int) -> None:
    hours = minutes / 60
    later = CALENDAR.add_working_hours(moment, hours)
    assert later > moment
    assert CALENDAR.working_hours_between(moment, later) == pytest.approx(hours)
    earlier = CALENDAR.add_working_hours(moment, -hours)
    assert CALENDAR.working_hours_between(earlier, moment) == pytest.approx(hours)


def test_a_calendar_config_builds_its_calendar_once_per_zone() -> None:
    config = load_rules(ROOT / "rules.yaml").calendar_config
    assert config.build("Asia/Jakarta") is config.build("Asia/Jakarta")
    assert str(config.build("Asia/Jayapura").zone) == "Asia/Jakarta"  # rules.yaml names its zone


def test_public_holidays_default_to_indonesias_in_indonesian_without_collective_leave() -> None:
    assert PublicHolidays() == PublicHolidays(country="ID", language="id", collective_leave=False)
    # Independence Day is an Indonesian public holiday, named in Indonesian; not a Dutch one.
    assert WorkCalendar().public_holiday(date(2026, 8, 17)) == "Hari Kemerdekaan Republik Indonesia"
    assert WorkCalendar(public=PublicHolidays(country="NL")).public_holiday(date(2026, 8, 17)) is None
