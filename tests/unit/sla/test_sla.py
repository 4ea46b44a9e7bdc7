"""Service-level targets, due dates and the reminder/escalation ladder, on an injected clock."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemon.route.loader import load_rules
from daemon.sla.calendar import WorkCalendar, WorkingTime
from daemon.sla.policy import (
    LadderStep,
    SlaPolicy,
    TargetKey,
    Targets,
    TicketState,
    due_dates,
    ladder_steps,
    next_update_due,
    period_key,
    target_status,
    update_steps,
    update_window,
)

ROOT = Path(__file__).resolve().parents[3]
JAKARTA = ZoneInfo("Asia/Jakarta")
CALENDAR = WorkCalendar("Asia/Jakarta", extra_holidays={date(2026, 12, 24): "Cuti bersama Natal"})
POLICY = SlaPolicy()
REFERENCE = "CC-2026-000123"


def wib(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=JAKARTA)


def kinds(steps: list[LadderStep]) -> list[tuple[str, str, str]]:
    return [(step.target, step.kind, step.recipient_role) for step in steps]


# A minor complaint received on Friday 7 August 2026 at 16:30.
FRIDAY = wib(2026, 8, 7, 16, 30)
MINOR = due_dates(FRIDAY, TargetKey("minor", "koran"), POLICY, CALENDAR)


# --- targets -----------------------------------------------------------------------------


def test_default_targets_follow_the_procedure() -> None:
    minor = POLICY.targets("minor", "koran")
    assert (str(minor.first_response), str(minor.resolution)) == ("1d", "5d")
    major = POLICY.targets("major", "koran")
    assert str(major.resolution) == "2d"
    assert major.sources["resolution"] == "severity major"
    assert major.sources["first_response"] == "default"


def test_layers_apply_in_order_and_say_who_set_what() -> None:
    policy = SlaPolicy(
        default=Targets(),
        severities=MappingProxyType({"major": {"resolution": WorkingTime(2, "d")}}),
        departments=MappingProxyType({"redaksi": {"first_response": WorkingTime(4, "h")}}),
        department_severities=MappingProxyType({("redaksi", "major"): {"resolution": WorkingTime(1, "d")}}),
        classes=MappingProxyType(
            {"urgent": {"first_response": WorkingTime(2, "h"), "reminder_before": None}}
        ),
    )
    targets = policy.targets("major", "redaksi", "urgent")
    assert (str(targets.first_response), str(targets.resolution)) == ("2h", "1d")
    assert targets.reminder_before is None
    assert targets.sources["first_response"] == "class urgent"
    assert targets.sources["resolution"] == "department redaksi, severity major"
    assert targets.sources["second_level_after"] == "default"
    # Another department's major complaint keeps the severity layer.
    assert str(policy.targets("major", "koran").resolution) == "2d"
    # An unknown class changes nothing.
    assert policy.targets("minor", "koran", "nope") == policy.targets("minor", "koran")


def test_a_target_cannot_be_switched_off() -> None:
    with pytest.raises(ValueError, match="cannot be switched off"):
        Targets().apply({"first_response": None}, "class x")


# --- due dates ---------------------------------------------------------------------------


def test_friday_afternoon_receipt_first_response_due_monday_at_five() -> None:
    assert MINOR.first_response_due == wib(2026, 8, 10, 17)
    # Five working days: 10th-14th.
    assert MINOR.resolution_due == wib(2026, 8, 14, 17)


def test_major_complaint_is_resolved_within_two_working_days() -> None:
    major = due_dates(FRIDAY, TargetKey("major", "koran"), POLICY, CALENDAR)
    assert major.first_response_due == wib(2026, 8, 10, 17)
    assert major.resolution_due == wib(2026, 8, 11, 17)


def test_receipt_on_the_eve_of_independence_day() -> None:
    dates = due_dates(wib(2026, 8, 14, 16, 30), TargetKey("minor", "koran"), POLICY, CALENDAR)
    assert dates.first_response_due == wib(2026, 8, 18, 17)
    assert dates.resolution_due == wib(2026, 8, 24, 17)


def test_targets_in_working_hours() -> None:
    policy = SlaPolicy(classes=MappingProxyType({"urgent": {"first_response": WorkingTime(4, "h")}}))
    dates = due_dates(FRIDAY, TargetKey("minor", "koran", "urgent"), policy, CALENDAR)
    assert dates.first_response_due == wib(2026, 8, 10, 11, 30)


def test_the_shipped_rules_give_urgent_complaints_four_working_hours() -> None:
    rules = load_rules(ROOT / "rules.yaml")
    calendar = rules.calendar_config.build()
    dates = due_dates(
        wib(2026, 12, 23, 15), TargetKey("major", "keuangan", "urgent"), rules.sla_config, calendar
    )
    # Two hours on the 23rd; the 24th is collective leave, the 25th Christmas.
    assert dates.first_response_due == wib(2026, 12, 28, 10)
    assert dates.targets.sources["first_response"] == "class urgent"


# --- the ladder ------------------------------------------------------------------------


def test_ladder_of_a_minor_complaint() -> None:
    ladder = [(p.target, p.kind, p.at, p.recipient_role) for p in MINOR.ladder]
    assert ladder == [
        ("first_response", "reminder", wib(2026, 8, 10, 15), "department"),
        ("first_response", "breach", wib(2026, 8, 10, 17), "manager"),
        ("first_response", "second-level", wib(2026, 8, 11, 17), "gm"),
        ("resolution", "reminder", wib(2026, 8, 14, 15), "department"),
        ("resolution", "breach", wib(2026, 8, 14, 17), "manager"),
        # One business day (9 working hours) after the breach; the 17th is a holiday.
        ("resolution", "second-level", wib(2026, 8, 18, 17), "gm"),
    ]


def test_nothing_is_due_before_the_reminder() -> None:
    state = TicketState(REFERENCE)
    assert ladder_steps(state, MINOR, FRIDAY) == []
    assert ladder_steps(state, MINOR, wib(2026, 8, 10, 14, 59)) == []


def test_reminder_then_breach_then_second_level_as_time_passes() -> None:
    state = TicketState(REFERENCE)
    assert kinds(ladder_steps(state, MINOR, wib(2026, 8, 10, 15))) == [
        ("first_response", "reminder", "department")
    ]
    assert kinds(ladder_steps(state, MINOR, wib(2026, 8, 10, 17, 1))) == [
        ("first_response", "reminder", "department"),
        ("first_response", "breach", "manager"),
    ]
    later = ladder_steps(state, MINOR, wib(2026, 8, 11, 17))
    assert kinds(later)[-1] == ("first_response", "second-level", "gm")
    assert later[1].due == wib(2026, 8, 10, 17)


def test_a_response_before_the_reminder_stops_the_first_response_ladder() -> None:
    state = TicketState(REFERENCE, first_responded_at=wib(2026, 8, 10, 9))
    assert ladder_steps(state, MINOR, wib(2026, 8, 12, 12)) == []


def test_a_late_response_is_still_a_breach_but_not_a_second_level() -> None:
    state = TicketState(REFERENCE, first_responded_at=wib(2026, 8, 11, 9))
    # The reminder is noise once the reply is out; the breach happened.
    assert kinds(ladder_steps(state, MINOR, wib(2026, 8, 12, 12))) == [
        ("first_response", "breach", "manager")
    ]


def test_a_response_exactly_at_the_due_time_is_on_time() -> None:
    state = TicketState(REFERENCE, first_responded_at=MINOR.first_response_due)
    assert ladder_steps(state, MINOR, wib(2026, 8, 12)) == []
    assert target_status(MINOR.first_response_due, state.first_responded_at, wib(2026, 8, 12)) == "met"


def test_resolution_ladder_runs_on_its_own() -> None:
    state = TicketState(REFERENCE, first_responded_at=wib(2026, 8, 10, 9))
    steps = ladder_steps(state, MINOR, wib(2026, 8, 14, 17, 30))
    assert kinds(steps) == [("resolution", "reminder", "department"), ("resolution", "breach", "manager")]
    resolved = TicketState(REFERENCE, first_responded_at=wib(2026, 8, 10, 9), resolved_at=wib(2026, 8, 13))
    assert ladder_steps(resolved, MINOR, wib(2026, 9, 1)) == []


def test_a_reminder_that_would_come_before_receipt_is_left_out() -> None:
    policy = SlaPolicy(classes=MappingProxyType({"urgent": {"first_response": WorkingTime(1, "h")}}))
    dates = due_dates(wib(2026, 8, 10, 9), TargetKey("minor", "koran", "urgent"), policy, CALENDAR)
    first = [point.kind for point in dates.ladder if point.target == "first_response"]
    assert first == ["breach", "second-level"]


def test_reminders_and_second_level_can_be_switched_off() -> None:
    policy = SlaPolicy(default=Targets(reminder_before=None, second_level_after=None))
    dates = due_dates(FRIDAY, TargetKey("minor", "koran"), policy, CALENDAR)
    assert [point.kind for point in dates.ladder] == ["breach", "breach"]


# --- exactly once: period keys ---------------------------------------------------------


def test_period_keys_name_ticket_target_and_level() -> None:
    steps = ladder_steps(TicketState(REFERENCE), MINOR, wib(2026, 9, 1))
    assert [step.period_key for step in steps] == [
        "sla/CC-2026-000123/first_response/reminder",
        "sla/CC-2026-000123/first_response/breach",
        "sla/CC-2026-000123/first_response/second-level",
        "sla/CC-2026-000123/resolution/reminder",
        "sla/CC-2026-000123/resolution/breach",
        "sla/CC-2026-000123/resolution/second-level",
    ]


def test_same_inputs_give_the_same_keys_and_other_tickets_other_keys() -> None:
    now = wib(2026, 9, 1)
    again = due_dates(FRIDAY, TargetKey("minor", "koran"), POLICY, CALENDAR)
    first = ladder_steps(TicketState(REFERENCE), MINOR, now)
    assert ladder_steps(TicketState(REFERENCE), again, now) == first
    other = ladder_steps(TicketState("CC-2026-000124"), MINOR, now)
    assert not {step.period_key for step in first} & {step.period_key for step in other}


def test_a_moved_due_date_does_not_repeat_a_level_but_a_reopened_cycle_does() -> None:
    # The severity went up after the reminder: the breach of the new due time
    # is still the same (ticket, target, level) and is not sent twice.
    assert period_key(REFERENCE, "resolution", "breach") == "sla/CC-2026-000123/resolution/breach"
    assert period_key(REFERENCE, "resolution", "breach", 2) == "sla/CC-2026-000123/resolution.2/breach"
    assert period_key(REFERENCE, "first_response", "breach", 2) == "sla/CC-2026-000123/first_response/breach"


def test_a_scheduler_claiming_period_keys_sends_each_step_exactly_once() -> None:
    # The later scheduler claims each key in a unique (job, period) row; a set
    # stands in for that table. It wakes every 7 minutes for two weeks, and a
    # second daemon wakes in between: every step is sent once, none is lost.
    claimed: dict[str, datetime] = {}
    sent: list[str] = []
    responded = wib(2026, 8, 11, 10)
    moment = FRIDAY
    while moment < wib(2026, 8, 22):
        for now in (moment, moment + timedelta(minutes=3)):
            state = TicketState(REFERENCE, first_responded_at=responded if responded <= now else None)
            for step in ladder_steps(state, MINOR, now):
                if step.period_key not in claimed:
                    claimed[step.period_key] = now
                    sent.append(step.period_key)
        moment += timedelta(minutes=7)
    assert sorted(sent) == sorted(set(sent))
    assert [key.rsplit("/", 2)[-2:] for key in sent] == [
        ["first_response", "reminder"],
        ["first_response", "breach"],
        ["resolution", "reminder"],
        ["resolution", "breach"],
        ["resolution", "second-level"],
    ]
    # Sent within one wake-up of falling due.
    breach = "sla/CC-2026-000123/first_response/breach"
    assert timedelta(0) <= claimed[breach] - MINOR.first_response_due < timedelta(minutes=7)


times = st.datetimes(
    min_value=datetime(2026, 8, 7, 17), max_value=datetime(2026, 8, 31), timezones=st.just(JAKARTA)
)


@given(st.lists(times, min_size=2, max_size=6), st.one_of(st.none(), times), st.one_of(st.none(), times))
def test_the_ladder_is_monotone_in_time(
    nows: list[datetime], responded: datetime | None, resolved: datetime | None
) -> None:
    nows.sort()
    # The state as it stands at the first `now` (nothing recorded later), asked again later.
    state = TicketState(
        REFERENCE,
        first_responded_at=responded if responded and responded <= nows[0] else None,
        resolved_at=resolved if resolved and resolved <= nows[0] else None,
    )
    earlier: list[LadderStep] = []
    for now in nows:
        steps = ladder_steps(state, MINOR, now)
        assert set(earlier) <= set(steps)
        assert all(step.at <= now for step in steps)
        earlier = steps


# --- status and update interval ---------------------------------------------------------


def test_target_status() -> None:
    due = wib(2026, 8, 10, 17)
    assert target_status(due, None, wib(2026, 8, 10, 16)) == "pending"
    assert target_status(due, None, wib(2026, 8, 10, 17, 1)) == "overdue"
    assert target_status(due, wib(2026, 8, 10, 12), wib(2026, 8, 20)) == "met"
    assert target_status(due, wib(2026, 8, 11, 8), wib(2026, 8, 20)) == "met-late"


def test_next_customer_update() -> None:
    assert next_update_due(FRIDAY, Targets(), CALENDAR) == wib(2026, 8, 14, 17)
    assert next_update_due(FRIDAY, Targets(update_interval=None), CALENDAR) is None


# --- customer update windows ------------------------------------------------------------

# First response on Monday 10 August 09:00; five working days on (the 17th is a holiday): the 18th.
RESPONDED = TicketState(REFERENCE, first_responded_at=wib(2026, 8, 10, 9), updates=1)


def update_keys(state: TicketState, now: datetime, targets: Targets | None = None) -> list[str]:
    steps = update_steps(state, targets or Targets(), CALENDAR, now)
    assert all(
        (step.target, step.kind, step.recipient_role) == ("update", "reminder", "department")
        for step in steps
    )
    return [step.period_key for step in steps]


def test_no_update_clock_before_the_first_response() -> None:
    assert update_window(TicketState(REFERENCE), Targets(), CALENDAR, wib(2026, 9, 30)) is None
    assert update_keys(TicketState(REFERENCE), wib(2026, 9, 30)) == []


def test_the_first_update_window_runs_from_the_first_response() -> None:
    window = update_window(RESPONDED, Targets(), CALENDAR, wib(2026, 8, 12))
    assert window is not None
    assert (window.updates, window.index, window.start) == (1, 1, wib(2026, 8, 10, 9))
    assert (window.due, window.remind_at) == (wib(2026, 8, 18, 17), wib(2026, 8, 18, 15))
    assert update_keys(RESPONDED, wib(2026, 8, 18, 14, 59)) == []
    assert update_keys(RESPONDED, wib(2026, 8, 18, 15)) == [f"sla/{REFERENCE}/update/1.1"]
    assert update_keys(RESPONDED, wib(2026, 8, 18, 17)) == [f"sla/{REFERENCE}/update/1.1"]


def test_a_missed_update_starts_the_next_window_at_its_due_time() -> None:
    # Nothing earned right after the miss: the next window's reminder comes before its own due time.
    assert update_keys(RESPONDED, wib(2026, 8, 19, 10)) == []
    window = update_window(RESPONDED, Targets(), CALENDAR, wib(2026, 8, 19, 10))
    assert window is not None
    # The 25th is Maulid Nabi.
    assert (window.index, window.start, window.due) == (2, wib(2026, 8, 18, 17), wib(2026, 8, 26, 17))
    assert update_keys(RESPONDED, wib(2026, 8, 26, 14, 59)) == []
    assert update_keys(RESPONDED, wib(2026, 8, 26, 15, 30)) == [f"sla/{REFERENCE}/update/1.2"]


def test_an_update_to_the_customer_restarts_the_clock_under_a_new_key() -> None:
    updated = TicketState(
        REFERENCE, first_responded_at=wib(2026, 8, 10, 9), last_update_at=wib(2026, 8, 20, 10), updates=2
    )
    assert update_keys(updated, wib(2026, 8, 26, 15, 30)) == []  # window 1.2 is gone: the customer heard
    assert update_keys(updated, wib(2026, 8, 28, 15)) == [f"sla/{REFERENCE}/update/2.1"]


def test_no_update_reminders_once_resolved_or_without_an_interval_or_a_reminder() -> None:
    resolved = TicketState(REFERENCE, first_responded_at=wib(2026, 8, 10, 9), resolved_at=wib(2026, 8, 12))
    assert update_keys(resolved, wib(2026, 8, 18, 16)) == []
    assert update_keys(RESPONDED, wib(2026, 8, 18, 16), Targets(update_interval=None)) == []
    assert update_keys(RESPONDED, wib(2026, 8, 18, 16), Targets(reminder_before=None)) == []


def test_update_windows_in_working_hours() -> None:
    hourly = Targets(update_interval=WorkingTime(3, "h"), reminder_before=WorkingTime(1, "h"))
    friday = TicketState(REFERENCE, first_responded_at=wib(2026, 8, 7, 15), updates=1)
    window = update_window(friday, hourly, CALENDAR, wib(2026, 8, 7, 16))
    assert window is not None and window.due == wib(2026, 8, 10, 9)  # two hours on Friday, one on Monday
    assert window.remind_at == wib(2026, 8, 10, 8)
    assert update_keys(friday, wib(2026, 8, 7, 16, 59), hourly) == []
    assert update_keys(friday, wib(2026, 8, 10, 8), hourly) == [f"sla/{REFERENCE}/update/1.1"]
    # An interval no longer than the reminder leaves nothing to remind before.
    short = Targets(update_interval=WorkingTime(1, "h"), reminder_before=WorkingTime(2, "h"))
    assert update_keys(friday, wib(2026, 8, 7, 15, 59), short) == []


@given(st.lists(st.integers(min_value=0, max_value=60 * 24 * 40), min_size=1, max_size=30))
def test_every_update_window_reminds_under_its_own_key(offsets: list[int]) -> None:
    # However often the ladder asks, a key always names the same window, and windows never share one.
    due_by_key: dict[str, datetime] = {}
    for offset in sorted(offsets):
        now = RESPONDED.first_responded_at + timedelta(minutes=offset)  # type: ignore[operator]
        for step in update_steps(RESPONDED, Targets(), CALENDAR, now):
            assert step.at <= now < step.due or step.due == now
            assert due_by_key.setdefault(step.period_key, step.due) == step.due
    assert len(set(due_by_key.values())) == len(due_by_key)


def test_a_target_key_picks_the_same_layers_as_the_policy() -> None:
    policy = SlaPolicy(classes=MappingProxyType({"urgent": {"first_response": WorkingTime(4, "h")}}))
    key = TargetKey("major", "koran", "urgent")
    assert key.targets(policy) == policy.targets("major", "koran", "urgent")
    assert key.targets(policy).sources["first_response"] == "class urgent"
    assert TargetKey("minor", "koran").targets(policy) == policy.targets("minor", "koran")
