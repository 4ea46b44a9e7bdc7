"""The monthly report's numbers against the hand-counted fixture month (tests/reportmonth.py).

Every expected number below was counted by hand from the table in
tests/reportmonth.py; the report is checked as a value and as its CSV.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from daemon.report.csv_out import monthly_csv
from daemon.report.monthly import MonthlyReport, MonthTickets, compile_monthly, effectiveness_kind, weeks
from daemon.report.periods import AsOf, Month, Quarter
from daemon.route.loader import load_rules
from tests.integration.helpers import PROJECT
from tests.reportmonth import (
    JAKARTA,
    NOW,
    OCTOBER,
    OUTSIDE,
    RECAP_FILES,
    csv_sections,
    make_ticket,
    reference,
    wib,
)

RULES = load_rules(PROJECT / "rules.yaml")
OCTOBER_2026 = Month(2026, 10)


def _report(departments: tuple[str, ...] = ()) -> MonthlyReport:
    """What `build_monthly` would select from the database, chosen here by hand."""
    every = [make_ticket(line, RULES) for line in (*OCTOBER, *OUTSIDE)]
    by_number = {int(ticket.reference[-6:]): ticket for ticket in every}
    register = [by_number[n] for n in range(1, 22)]
    completed = [by_number[23]]  # received in September, completed in October
    still_open = [by_number[n] for n in (22, 6, 7, 12, 18, 19, 20, 21)]
    if departments:
        register = [t for t in register if t.department in departments]
        completed = [t for t in completed if t.department in departments]
        still_open = [t for t in still_open if t.department in departments]
    files = [(branch, state, wib(11, 3, 10)) for branch, state in RECAP_FILES]
    return compile_monthly(
        OCTOBER_2026,
        RULES,
        AsOf(NOW, JAKARTA.key),
        MonthTickets(register, completed, still_open, recap_files=None if departments else files),
        departments,
    )


def _counts(items: object) -> dict[str, int]:
    return {item.key: item.count for item in items}  # type: ignore[attr-defined]


# Counted by hand from tests/reportmonth.py.
BY_DEPARTMENT = {
    "customer-care": 2,
    "teknik": 3,
    "redaksi": 2,
    "keuangan": 3,
    "koran": 4,
    "digital": 5,
    "iklan": 2,
    "penerbitan": 0,  # the shipped rules' books department: no complaint this month
}
BY_PRODUCT = {
    "epaper": 2,
    "aplikasi": 3,
    "website": 3,
    "koran-harian": 4,
    "iklan-cetak": 1,
    "iklan-digital": 1,
    "buku": 0,
    "": 7,
}
BY_SEVERITY = {"major": 4, "minor": 17}
BY_CHANNEL = {"email": 16, "phone": 2, "letter": 1, "whatsapp": 1, "social-media": 1}
BY_BRANCH = {"": 17, "biro-jatim": 2, "biro-sumut": 1, "biro-sulsel": 0, "biro-bali": 1}
BY_WEEK = {"2026-10-01": 3, "2026-10-05": 6, "2026-10-12": 4, "2026-10-19": 4, "2026-10-26": 4}
# department: (first responses on time, measured, resolutions on target, measured)
COMPLIANCE = {
    "digital": (5, 5, 2, 5),
    "koran": (1, 2, 2, 3),
    "keuangan": (1, 2, 2, 3),
    "iklan": (2, 2, 1, 2),
    "redaksi": (1, 1, 2, 2),
    "teknik": (1, 3, 1, 2),
    "customer-care": (1, 2, 1, 1),
    "penerbitan": (0, 0, 0, 0),
}
OPEN = [22, 6, 7, 12, 18, 19, 20, 21]
OVERDUE = [22, 6, 7, 12, 18]
ACTIONS = [23, 1, 2, 4, 8, 10, 17]
EFFECTIVENESS = {"effective": 4, "not-effective": 1, "evaluated": 1, "not-evaluated": 1}


def test_the_register_is_the_months_complaints_in_local_time() -> None:
    report = _report()
    assert report.total == 21
    assert [row.reference for row in report.register] == [reference(n) for n in range(1, 22)]
    first, last = report.register[0], report.register[-1]
    # 00:15 on 1 October in Jakarta is 17:15 UTC on 30 September.
    assert first.received == wib(10, 1, 0, 15) and first.received.astimezone(UTC).day == 30
    assert last.received == wib(10, 31, 23, 30)
    assert first.product_name == "E-Paper Harian Nusantara"
    assert first.department_name == RULES.department("digital").name
    assert report.register[3].branch == "biro-jatim" and report.register[3].branch_name == "Biro Jawa Timur"


def test_counts_by_department_product_severity_channel_branch_and_week() -> None:
    report = _report()
    assert _counts(report.by_department) == BY_DEPARTMENT
    assert _counts(report.by_product) == BY_PRODUCT
    assert _counts(report.by_severity) == BY_SEVERITY
    assert _counts(report.by_channel) == BY_CHANNEL
    assert _counts(report.by_branch) == BY_BRANCH
    assert _counts(report.by_week) == BY_WEEK
    assert [count.label for count in report.by_week] == [
        "1–4 Okt",
        "5–11 Okt",
        "12–18 Okt",
        "19–25 Okt",
        "26–31 Okt",
    ]


def test_sla_compliance_counts_only_outcomes_known_by_the_report_day() -> None:
    report = _report()
    overall = report.compliance
    # 17 head-office complaints have a visible first response: 12 on time,
    # 2 late, 3 never answered; the 4 branch-recap complaints are not counted.
    assert (overall.first_response_met, overall.first_response_measured) == (12, 17)
    # 21 resolutions: 11 on target, 3 late, 4 open and overdue, 3 not yet due.
    assert (overall.resolution_met, overall.resolution_measured) == (11, 18)
    assert overall.first_response_share == pytest.approx(12 / 17)
    by_department = {
        item.key: (
            item.first_response_met,
            item.first_response_measured,
            item.resolution_met,
            item.resolution_measured,
        )
        for item in report.compliance_by_department
    }
    assert by_department == COMPLIANCE


def test_open_overdue_corrective_actions_and_missing_recaps() -> None:
    report = _report()
    assert [row.reference for row in report.open_tickets] == [reference(n) for n in OPEN]
    assert [row.reference for row in report.overdue_tickets] == [reference(n) for n in OVERDUE]
    assert sorted(row.reference for row in report.corrective_actions) == sorted(reference(n) for n in ACTIONS)
    assert _counts(report.effectiveness) == EFFECTIVENESS
    states = {recap.branch: recap.state for recap in report.recaps or ()}
    assert states == {
        "biro-jatim": "imported",
        "biro-sumut": "refused",
        "biro-sulsel": "missing",
        "biro-bali": "imported",
    }
    assert [recap.branch for recap in report.missing_recaps] == ["biro-sumut", "biro-sulsel"]


def test_a_general_managers_part_covers_only_their_departments() -> None:
    report = _report(("digital",))
    assert report.total == 5
    assert {row.department for row in report.register} == {"digital"}
    assert _counts(report.by_department) == {"digital": 5}
    assert set(_counts(report.by_product)) == {"epaper", "aplikasi", "website"}
    assert [row.reference for row in report.open_tickets] == [reference(22), reference(18)]
    assert report.recaps is None and report.missing_recaps == ()
    digital = report.compliance_by_department[0]
    assert (digital.first_response_met, digital.resolution_met, digital.resolution_measured) == (5, 2, 5)


def test_the_csv_says_the_same_numbers() -> None:
    sections = csv_sections(monthly_csv(_report()))
    about = {row["key"]: row["value"] for row in sections["report"]}
    assert about["month"] == "2026-10" and about["total"] == "21"
    assert (about["open"], about["overdue"]) == ("8", "5")
    for name, expected in (
        ("by_department", BY_DEPARTMENT),
        ("by_product", BY_PRODUCT),
        ("by_severity", BY_SEVERITY),
        ("by_channel", BY_CHANNEL),
        ("by_branch", BY_BRANCH),
        ("by_week", BY_WEEK),
        ("effectiveness", EFFECTIVENESS),
    ):
        assert {row["key"]: int(row["count"]) for row in sections[name]} == expected, name
    compliance = {row["key"]: row for row in sections["compliance"]}
    assert compliance["all"]["first_response_met"] == "12"
    assert compliance["all"]["first_response_measured"] == "17"
    assert compliance["all"]["resolution_share"] == f"{11 / 18:.4f}"
    names = ("first_response_met", "first_response_measured", "resolution_met", "resolution_measured")
    for key, expected in COMPLIANCE.items():
        assert tuple(int(compliance[key][name]) for name in names) == expected, key
    assert [row["reference"] for row in sections["open_tickets"]] == [reference(n) for n in OPEN]
    assert [row["overdue"] for row in sections["open_tickets"]] == ["1"] * 5 + ["0"] * 3
    assert {row["branch"]: row["state"] for row in sections["recaps"]}["biro-sulsel"] == "missing"
    register = sections["register"]
    assert len(register) == 21
    assert register[0]["reference"] == reference(1)
    assert register[0]["received"] == "2026-10-01T00:15:00+07:00"
    assert register[1]["resolution_status"] == "met-late"
    assert register[5]["first_response_status"] == "overdue"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Efektif", "effective"),
        ("efektif, tidak ada keluhan ulang", "effective"),
        ("Tidak efektif, dianalisis ulang", "not-effective"),
        ("not effective: reopened", "not-effective"),
        ("ineffective", "not-effective"),
        ("Pelanggan puas", "evaluated"),
        ("  ", "not-evaluated"),
    ],
)
def test_effectiveness_is_read_from_the_words_written(text: str, kind: str) -> None:
    assert effectiveness_kind(text) == kind


def test_periods_parse_and_bound_in_local_time() -> None:
    month = Month.parse("2026-10")
    assert (str(month.previous()), str(month.next())) == ("2026-09", "2026-11")
    assert str(Month(2026, 1).previous()) == "2025-12" and str(Month(2026, 12).next()) == "2027-01"
    start, end = month.bounds(JAKARTA)
    assert start.astimezone(UTC) == datetime(2026, 9, 30, 17, tzinfo=UTC)
    assert end == datetime(2026, 11, 1, tzinfo=JAKARTA)
    quarter = Quarter.parse("2026Q4")
    assert [str(m) for m in quarter.months] == ["2026-10", "2026-11", "2026-12"]
    assert Quarter.parse("2026-q1").bounds(JAKARTA)[1] == datetime(2026, 4, 1, tzinfo=JAKARTA)
    for bad in ("2026-13", "Oktober", "2026"):
        with pytest.raises(ValueError):
            Month.parse(bad)
    with pytest.raises(ValueError):
        Quarter.parse("2026Q5")


def test_weeks_run_monday_to_sunday_cut_at_the_months_ends() -> None:
    assert weeks(Month(2026, 2))[0] == (date(2026, 2, 1), date(2026, 2, 1))  # a Sunday
    assert weeks(Month(2026, 2))[-1] == (date(2026, 2, 23), date(2026, 2, 28))
    assert sum((last - first).days + 1 for first, last in weeks(Month(2026, 10))) == 31


def test_a_report_is_made_as_of_a_moment_in_its_zone() -> None:
    as_of = AsOf(datetime(2026, 11, 5, 2, 0, tzinfo=UTC), "Asia/Jakarta")
    assert as_of.zone == JAKARTA
    assert as_of.local_now == wib(11, 5, 9)
    assert as_of.local_now.tzinfo == JAKARTA


def test_a_register_row_judges_each_target_as_the_ticket_view_does() -> None:
    from daemon.report.monthly import register_row
    from daemon.sla.stamping import sla_view

    tickets = [make_ticket(line, RULES) for line in (*OCTOBER, *OUTSIDE)]
    unknown = tickets[10].model_copy(update={"completed_at": None})  # resolved, completion not recorded
    reopened = tickets[12].model_copy(update={"status": "in_progress"})  # completed once, open again
    for ticket in (*tickets, unknown, reopened):
        row, view = register_row(ticket, RULES, JAKARTA, NOW), sla_view(ticket, NOW)
        assert (row.first_response_status, row.resolution_status) == (
            view.first_response_status,
            view.resolution_status,
        ), ticket.reference
    assert register_row(unknown, RULES, JAKARTA, NOW).resolution_status is None
