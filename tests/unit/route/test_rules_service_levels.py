"""rules.yaml's `calendar:` and `sla:` sections: values, defaults, and every problem with its position."""

from __future__ import annotations

from datetime import date, time

from daemon.route.loader import check_rules, parse_rules
from daemon.route.rules import format_problem
from daemon.sla.calendar import CalendarConfig, WorkingTime
from daemon.sla.policy import SlaPolicy

# Lines 1-6; the sections under test start on line 7.
HEAD = """\
departments:
  - {id: customer-care, name: Customer Care, email: care@example.co.id}
  - {id: redaksi, name: Redaksi, email: redaksi@example.co.id}
  - {id: teknik, name: Teknik, email: teknik@example.co.id}
default: {department: customer-care}
rules: []
"""


def problems_of(sections: str) -> list[str]:
    _, problems = check_rules(HEAD + sections, "rules.yaml")
    return [format_problem(problem) for problem in problems]


def errors_of(sections: str) -> list[str]:
    rules, problems = check_rules(HEAD + sections, "rules.yaml")
    assert rules is None, "expected the file to be refused"
    return [format_problem(p) for p in problems if p.severity == "error"]


# --- defaults --------------------------------------------------------------------------


def test_a_file_without_the_sections_gets_the_defaults() -> None:
    rules = parse_rules(HEAD, "rules.yaml")
    assert rules.calendar_config == CalendarConfig()
    assert rules.sla_config == SlaPolicy()
    assert rules.warnings == ()
    assert str(rules.sla_config.targets("major", "redaksi").resolution) == "2d"


# --- calendar ------------------------------------------------------------------------


def test_calendar_section_values() -> None:
    rules = parse_rules(
        HEAD
        + """\
calendar:
  timezone: Asia/Makassar
  business_hours: {start: 07:30, end: "16:00"}
  collective_leave: true
  holidays:
    - {date: 2026-10-01, name: HUT perusahaan}
  workdays: [2026-03-28]
""",
        "rules.yaml",
    )
    config = rules.calendar_config
    assert config.timezone == "Asia/Makassar"
    assert config.business_hours == (time(7, 30), time(16))
    assert dict(config.holidays) == {date(2026, 10, 1): "HUT perusahaan"}
    assert config.workdays == frozenset({date(2026, 3, 28)})
    assert config.collective_leave
    calendar = config.build("Asia/Jakarta")
    assert str(calendar.zone) == "Asia/Makassar"
    assert not calendar.is_working_day(date(2026, 10, 1))
    assert calendar.is_working_day(date(2026, 3, 28))
    assert rules.warnings == ()


def test_calendar_timezone_falls_back_to_the_configured_one() -> None:
    rules = parse_rules(HEAD + "calendar: {holidays: []}\n", "rules.yaml")
    assert str(rules.calendar_config.build("Asia/Jayapura").zone) == "Asia/Jayapura"


def test_calendar_errors_name_line_and_column() -> None:
    assert errors_of(
        """\
calendar:
  timezone: Asia/Jakrta
  busines_hours: {start: "08:00", end: "17:00"}
  holidays:
    - {date: 2026-02-30, name: Nope}
    - {date: 24-12-2026, name: Natal}
    - {date: 2026-12-24}
    - {date: 2026-10-01, name: HUT}
    - {date: 2026-10-01, name: HUT again}
  workdays: [2026-03-28, 2026-03-28, 2026-10-01, soon]
"""
    ) == [
        "rules.yaml:8:13: error: unknown time zone 'Asia/Jakrta' (write it like Asia/Jakarta)",
        "rules.yaml:9:3: error: unknown key 'busines_hours' in calendar; did you mean 'business_hours'?",
        "rules.yaml:11:14: error: date '2026-02-30' is not a date: day is out of range for month",
        "rules.yaml:12:14: error: date must be a date like 2026-12-24, not '24-12-2026'",
        "rules.yaml:13:7: error: holiday is missing required key 'name'",
        "rules.yaml:15:14: error: holiday 2026-10-01 is listed twice (first at line 14)",
        "rules.yaml:16:26: error: working day 2026-03-28 is listed twice (first at line 16)",
        "rules.yaml:16:38: error: 2026-10-01 is listed both as a holiday (line 14) and as a working day",
        "rules.yaml:16:50: error: working day must be a date like 2026-12-24, not 'soon'",
    ]


def test_business_hours_must_be_times_and_in_order() -> None:
    assert errors_of('calendar:\n  business_hours: {start: "17:00", end: "08:00"}\n') == [
        "rules.yaml:8:19: error: business hours must start before they end (17:00-08:00)"
    ]
    assert errors_of("calendar:\n  business_hours: {start: 8am, end: '25:00'}\n") == [
        "rules.yaml:8:27: error: start must be a time of day like \"08:00\", not '8am'",
        "rules.yaml:8:37: error: end must be a time of day like \"08:00\", not '25:00'",
    ]


def test_listing_a_day_that_is_off_or_worked_anyway_is_a_warning() -> None:
    problems = problems_of(
        """\
calendar:
  holidays:
    - {date: 2026-08-17, name: Tujuh belasan}
    - {date: 2026-03-28, name: Sabtu}
  workdays: [2026-08-18]
"""
    )
    assert problems == [
        "rules.yaml:9:14: warning: 2026-08-17 (Monday) is not a working day anyway: "
        "Hari Kemerdekaan Republik Indonesia",
        "rules.yaml:10:14: warning: 2026-03-28 (Saturday) is not a working day anyway: weekend",
        "rules.yaml:11:14: warning: 2026-08-18 (Tuesday) is a working day anyway",
    ]


# --- sla -----------------------------------------------------------------------------------


SLA = """\
sla:
  default:
    first_response: 1d
    resolution: 4d
    update_interval: false
    reminder_before: 30m
    escalation: {second_level_after: 4h}
  severity:
    major: {resolution: 1d}
  departments:
    redaksi:
      first_response: 4h
      severity:
        minor: {resolution: 3d}
  classes:
    urgent: {first_response: 2h, reminder_before: false}
"""


def test_switching_on_with_true_is_not_a_working_time() -> None:
    assert errors_of("sla:\n  default: {reminder_before: true}\n") == [
        "rules.yaml:8:30: error: reminder_before must be a working time like 1d or 4h, "
        "or false to switch it off"
    ]


def test_sla_section_values_layer_over_the_built_in_defaults() -> None:
    policy = parse_rules(HEAD + SLA, "rules.yaml").sla_config
    default = policy.targets("minor", "teknik")
    assert (default.first_response, default.resolution) == (WorkingTime(1, "d"), WorkingTime(4, "d"))
    assert default.update_interval is None
    assert default.reminder_before == WorkingTime(30, "m")
    assert default.second_level_after == WorkingTime(4, "h")
    assert policy.targets("major", "teknik").resolution == WorkingTime(1, "d")
    redaksi = policy.targets("minor", "redaksi")
    assert (redaksi.first_response, redaksi.resolution) == (WorkingTime(4, "h"), WorkingTime(3, "d"))
    assert redaksi.sources["resolution"] == "department redaksi, severity minor"
    urgent = policy.targets("minor", "redaksi", "urgent")
    assert urgent.first_response == WorkingTime(2, "h") and urgent.reminder_before is None


def test_built_in_major_resolution_stays_when_only_the_default_changes() -> None:
    policy = parse_rules(HEAD + "sla:\n  default: {resolution: 10d}\n", "rules.yaml").sla_config
    assert policy.targets("minor", "teknik").resolution == WorkingTime(10, "d")
    assert policy.targets("major", "teknik").resolution == WorkingTime(2, "d")


def test_sla_errors_name_line_and_column() -> None:
    assert errors_of(
        """\
sla:
  default:
    first_response: 2 days
    resolution: 5
    reminder: 2h
    escalation: {second_level: 1d}
  severity:
    mayor: {resolution: 1d}
  departments:
    redaksii: {first_response: 4h}
    teknik: {first_response: false, severity: {minor: {resolution: 0d}}}
  clases: {}
"""
    ) == [
        "rules.yaml:9:21: error: first_response: '2 days' is not a working time; "
        "write a whole number and d, h or m, like 2d, 4h or 30m",
        "rules.yaml:10:17: error: resolution needs a unit: write 5d (working days) or 5h",
        "rules.yaml:11:5: error: unknown key 'reminder' in sla default; did you mean 'reminder_before'?",
        "rules.yaml:12:18: error: unknown key 'second_level' in sla default escalation; "
        "did you mean 'second_level_after'?",
        "rules.yaml:14:5: error: unknown key 'mayor' in sla severity; did you mean 'major'?",
        "rules.yaml:16:5: error: unknown department 'redaksii'; did you mean 'redaksi'?",
        "rules.yaml:17:30: error: first_response must be a working time like 1d or 4h; "
        "it cannot be switched off",
        "rules.yaml:17:68: error: resolution: '0d' must be more than zero",
        "rules.yaml:18:3: error: unknown key 'clases' in sla; did you mean 'classes'?",
    ]


def test_a_rule_naming_an_undefined_sla_class_is_warned_about_where_it_names_it() -> None:
    text = HEAD.replace(
        "rules: []\n",
        "rules:\n"
        "  - name: legal\n"
        "    description: Legal threats\n"
        "    when: {body: {words: [somasi]}}\n"
        "    then: {severity: major, sla: urgnt}\n",
    )
    _, problems = check_rules(text + "sla:\n  classes:\n    urgent: {first_response: 4h}\n", "rules.yaml")
    assert [format_problem(p) for p in problems] == [
        "rules.yaml:10:34: warning: rule legal: SLA class 'urgnt' is not defined under sla: classes, "
        "so the default targets apply; did you mean 'urgent'?"
    ]
    # Without any sla: section the same rule is warned about too: its class would do nothing.
    rules = parse_rules(text, "rules.yaml")
    assert len(rules.warnings) == 1
