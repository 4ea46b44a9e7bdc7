"""Reports made for a month of 100,000 complaints: counted by the database, lists read as they are written.

On the fixture month (tests/reportmonth.py) plus a few edge cases, the report
built from the database (GROUP BY, service-level outcomes in SQL) must say what
the same report compiled in memory from the same tickets says; and making it
must not load the month's tickets as ORM objects.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import select
from sqlmodel import Session, col

from daemon.report import html_out
from daemon.report.csv_out import monthly_csv
from daemon.report.monthly import MonthlyReport, MonthTickets, build_monthly, compile_monthly
from daemon.report.periods import AsOf, Month, Quarter
from daemon.report.review import QuarterTickets, ReviewReport, build_review, compile_review
from daemon.report.xlsx_out import monthly_xlsx
from daemon.route.loader import load_rules
from daemon.sla.stamping import CLOSED_STATUSES
from daemon.store import db
from daemon.store.models import Ticket
from tests.clockpin import config_variables
from tests.integration.helpers import PROJECT, run_cli, write_config
from tests.reportmonth import JAKARTA, NOW, RECAP_FILES, populate, reference, wib

pytestmark = pytest.mark.integration

RULES = load_rules(PROJECT / "rules.yaml")
AS_OF = AsOf(NOW, JAKARTA.key)
OCTOBER = Month(2026, 10)


def _edge_cases(tickets: list[Ticket]) -> None:
    """Outcomes the fixture month lacks: resolved with no completion date, reopened, just answered on time."""
    by_number = {int(ticket.reference[-6:]): ticket for ticket in tickets}
    unknown = by_number[11]  # resolved, its completion date never recorded: outcome unknown
    unknown.completed_at = None
    reopened = by_number[13]  # completed once, then reopened: open again, its old completion kept
    reopened.status = "in_progress"
    exact = by_number[7]  # answered at the very moment it was due: met
    assert exact.first_response_due is not None
    exact.first_responded_at = exact.first_response_due
    by_number[10].corrective_action = ""  # an empty action is no action in the month's list
    by_number[19].effectiveness = "kurang efektif"
    by_number[19].corrective_action = "Ganti kurir"
    by_number[20].resolution_due = None  # no resolution target at all


@pytest.fixture
def engine(database_url: str) -> Iterator[Any]:
    engine = db.make_engine(database_url)
    db.create_schema(engine)
    with db.session(engine) as session:
        _edge_cases(populate(session, RULES))
        session.commit()
    yield engine
    engine.dispose()


def _in_memory(session: Session, departments: tuple[str, ...] = ()) -> MonthlyReport:
    """The same report compiled from ORM tickets chosen in Python (the way it used to be made)."""
    start, end = OCTOBER.bounds(JAKARTA)
    every = list(session.execute(select(Ticket).order_by(col(Ticket.received_at), col(Ticket.id))).scalars())
    mine = [t for t in every if not departments or t.department in departments]
    return compile_monthly(
        OCTOBER,
        RULES,
        AS_OF,
        MonthTickets(
            [t for t in mine if start <= t.received_at < end],
            [
                t
                for t in mine
                if t.completed_at and start <= t.completed_at < end and t.corrective_action is not None
            ],
            [t for t in mine if t.received_at < end and t.status not in CLOSED_STATUSES],
            None if departments else [(b, s, wib(11, 3, 10)) for b, s in RECAP_FILES],
        ),
        departments,
    )


def _said(report: MonthlyReport) -> dict[str, Any]:
    """Everything a report says, lists as references."""
    return {
        "counts": [
            report.by_week,
            report.by_department,
            report.by_product,
            report.by_severity,
            report.by_channel,
            report.by_branch,
            report.effectiveness,
        ],
        "compliance": (report.compliance, report.compliance_by_department),
        "register": [row.reference for row in report.register],
        "rows": [row for row in report.register],
        "open": [row.reference for row in report.open_tickets],
        "overdue": (report.overdue, [row.reference for row in report.overdue_tickets]),
        "actions": sorted(row.reference for row in report.corrective_actions),
        "totals": (report.total, len(report.open_tickets), len(report.corrective_actions)),
        "recaps": report.recaps,
    }


@pytest.mark.parametrize("departments", [(), ("digital", "koran")])
def test_the_report_counted_by_the_database_says_what_the_tickets_say(
    engine: Any, departments: tuple[str, ...]
) -> None:
    with db.session(engine) as session:
        expected = _said(_in_memory(session, departments))
        session.expunge_all()
        built = build_monthly(session, RULES, OCTOBER, AS_OF, departments)
        found = _said(built)
        assert found == expected
        assert found["totals"][0] == (21 if not departments else 9)
        # Gone through twice, a list is read twice, the same.
        assert [row.reference for row in built.register] == found["register"]


def test_making_the_report_loads_no_ticket_as_an_orm_object(engine: Any) -> None:
    with db.session(engine) as session:
        report = build_monthly(session, RULES, OCTOBER, AS_OF)
        workbook = openpyxl.load_workbook(io.BytesIO(monthly_xlsx(report, organisation="x")))
        page = html_out.monthly_html(report, organisation="x")
        sections = monthly_csv(report)
        assert len(session.identity_map) == 0
    assert workbook["Daftar Induk"].max_row == 22 and reference(21) in page and reference(21) in sections


def test_the_review_counted_by_the_database_says_what_the_tickets_say(engine: Any) -> None:
    quarter = Quarter(2026, 4)
    start, end = quarter.bounds(JAKARTA)
    with db.session(engine) as session:
        every = list(
            session.execute(select(Ticket).order_by(col(Ticket.completed_at), col(Ticket.id))).scalars()
        )
        resolved = [
            t
            for t in every
            if t.status in CLOSED_STATUSES and t.completed_at and start <= t.completed_at < end
        ]
        received = [t for t in every if start <= t.received_at < end]
        open_count = sum(t.status not in CLOSED_STATUSES for t in received)
        expected = _review_said(
            compile_review(quarter, RULES, AS_OF, QuarterTickets(resolved, len(received), open_count))
        )
        session.expunge_all()
        found = _review_said(build_review(session, RULES, quarter, AS_OF))
        assert len(session.identity_map) == 0
    assert found == expected
    assert found["total"] == 13  # the fixture's 15, less one with no completion date and one reopened


def _review_said(review: ReviewReport) -> dict[str, Any]:
    return {
        "total": review.total,
        "days": review.days,
        "counts": [
            review.by_department,
            review.by_product,
            review.by_severity,
            review.by_category,
            review.by_channel,
            review.effectiveness,
        ],
        "compliance": review.compliance,
        "received": (review.received, review.still_open),
        "rows": [(row, review.working_days(row)) for row in review.resolved],
    }


@pytest.fixture
def config(tmp_path: Path, database_url: str, engine: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    for name in config_variables():
        monkeypatch.delenv(name)
    return str(
        write_config(
            tmp_path,
            database_url=database_url,
            mailbox_url=f"maildir:{tmp_path / 'mail'}",
            smtp_url=f"file:{tmp_path / 'out'}",
        )
    )


def test_the_review_lists_its_complaints_only_when_asked(config: str, capsys: Any) -> None:
    capsys.readouterr()
    assert run_cli("--config", config, "report", "review", "--quarter", "2026Q4") == 0
    summary = capsys.readouterr().out
    assert "resolved in the quarter        13" in summary
    assert reference(1) not in summary and "add --list" in summary
    assert run_cli("--config", config, "report", "review", "--quarter", "2026Q4", "--list") == 0
    listed = capsys.readouterr().out
    assert listed.startswith(summary.split("\nthe 13 resolved")[0]) and reference(1) in listed
    # The JSON, written a piece at a time, is the JSON of the whole review.
    assert run_cli("--config", config, "report", "review", "--quarter", "2026Q4", "--format", "json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["resolved"] == len(data["complaints"]) == 13


def test_the_html_page_shows_the_first_rows_of_a_long_list_and_says_where_the_rest_are(
    config: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(html_out, "LIST_LIMIT", 5)
    page = tmp_path / "oktober.html"
    args = ("report", "monthly", "--month", "2026-10", "--format", "html", "--out", str(page))
    assert run_cli("--config", config, *args) == 0
    text = page.read_text(encoding="utf-8")
    assert "The first 5 of 21 are shown; the xlsx and csv reports list them all." in text
    assert reference(5) in text and reference(6) not in text.split("complaint register")[1]
    assert text.count("<svg") == 3 and "(21)" in text  # the summary is whole
    assert not list(tmp_path.glob(".*.partial"))


def test_a_report_that_fails_half_way_leaves_no_file(tmp_path: Path) -> None:
    from daemon.commands.report import write_output

    def pieces() -> Iterator[str]:
        yield "[report]\r\n"
        raise RuntimeError("the database went away")

    out = tmp_path / "report.csv"
    with pytest.raises(RuntimeError):
        write_output(pieces(), str(out))
    assert list(tmp_path.iterdir()) == []


def test_a_ticket_received_at_a_weeks_edge_counts_in_its_local_week(engine: Any) -> None:
    with db.session(engine) as session:
        # 23:59:59 on Sunday 11 October in Jakarta is still the week of 5 October.
        late = session.execute(select(Ticket).where(col(Ticket.reference) == reference(3))).scalar_one()
        late.received_at = wib(10, 11, 23, 59).astimezone(UTC) + timedelta(seconds=59)
        session.commit()
        weeks = {count.key: count.count for count in build_monthly(session, RULES, OCTOBER, AS_OF).by_week}
        expected = {count.key: count.count for count in _in_memory(session).by_week}
    assert weeks == expected and weeks["2026-10-05"] == 7
