"""Due dates stamped on tickets, and how their targets stand at a moment (breach flags)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from daemon.route.loader import load_rules
from daemon.sla.policy import TargetKey
from daemon.sla.stamping import due_values, sla_view, stamp_due_dates, target_key, ticket_due_dates
from daemon.store.models import Ticket
from tests.clockpin import wib
from tests.integration.helpers import PROJECT

RULES = load_rules(PROJECT / "rules.yaml")


def _ticket(received: datetime, **fields: object) -> Ticket:
    values: dict[str, object] = {
        "reference": "CC-2026-000001",
        "department": "koran",
        "severity": "minor",
        "customer_email": "a@example.net",
        "received_at": received.astimezone(UTC),
        **fields,
    }
    return stamp_due_dates(Ticket(**values), RULES, received, timezone="Asia/Jakarta")


def test_a_complaint_is_due_by_the_end_of_the_next_working_day() -> None:
    friday = _ticket(wib(8, 7, 16, 30))
    assert friday.first_response_due == wib(8, 10, 17)
    assert friday.resolution_due == wib(8, 14, 17)
    # Thursday 1 October 2026 is the company's anniversary in rules.yaml.
    assert _ticket(wib(9, 30, 10)).first_response_due == wib(10, 2, 17)


def test_targets_follow_severity_department_and_sla_class() -> None:
    assert _ticket(wib(8, 4, 10), severity="major").resolution_due == wib(8, 6, 17)  # 2 working days
    assert _ticket(wib(8, 4, 10), severity="major", department="teknik").resolution_due == wib(8, 5, 17)
    urgent = _ticket(wib(8, 4, 10), sla_class="urgent")
    assert urgent.first_response_due == wib(8, 4, 14)  # four business hours


def test_a_branch_recap_ticket_has_no_first_response_due_date() -> None:
    values = due_values(
        wib(10, 5, 0),
        TargetKey("minor", "koran"),
        RULES,
        origin="branch:biro-jatim",
        timezone="Asia/Jakarta",
    )
    assert values == {"first_response_due": None, "resolution_due": wib(10, 12, 17)}


@pytest.mark.parametrize(
    ("responded", "now", "status", "breached"),
    [
        (None, wib(8, 10, 16), "pending", False),
        (None, wib(8, 10, 17, 1), "overdue", True),
        (wib(8, 10, 9), wib(8, 20, 9), "met", False),
        (wib(8, 11, 9), wib(8, 20, 9), "met-late", True),
    ],
)
def test_the_first_response_target_at_a_moment(
    responded: datetime | None, now: datetime, status: str, breached: bool
) -> None:
    view = sla_view(_ticket(wib(8, 7, 16, 30), first_responded_at=responded), now)
    assert view.first_response_status == status
    assert view.first_response_breached is breached


def test_the_resolution_is_the_completion_of_a_resolved_ticket() -> None:
    ticket = _ticket(wib(8, 7, 16, 30), status="resolved", completed_at=wib(8, 14, 16))
    assert sla_view(ticket, wib(9, 1, 9)).resolution_status == "met"
    reopened = _ticket(wib(8, 7, 16, 30), status="in_progress", completed_at=wib(8, 14, 16))
    view = sla_view(reopened, wib(9, 1, 9))
    assert view.resolution_status == "overdue" and view.overdue and view.resolution_breached
    # Resolved, but nobody wrote down when: neither on target nor overdue.
    unknown = _ticket(wib(8, 7, 16, 30), status="closed")
    assert sla_view(unknown, wib(9, 1, 9)).resolution_status is None
    assert not sla_view(unknown, wib(9, 1, 9)).resolution_breached


def test_the_ladder_hangs_off_the_stamped_due_dates() -> None:
    ticket = _ticket(wib(8, 7, 16, 30))
    # A due date set by hand (or by older rules) is the one the ladder uses.
    ticket.first_response_due = wib(8, 11, 17)
    dates = ticket_due_dates(ticket, RULES, "Asia/Jakarta")
    assert dates is not None
    breach = next(p for p in dates.ladder if p.kind == "breach" and p.target == "first_response")
    assert breach.at == wib(8, 11, 17)
    reminder = next(p for p in dates.ladder if p.kind == "reminder" and p.target == "first_response")
    assert reminder.at == wib(8, 11, 17) - timedelta(hours=2)
    ticket.resolution_due = None
    assert ticket_due_dates(ticket, RULES, "Asia/Jakarta") is None


def test_escalations_go_up_the_department_and_say_when_nobody_is_there() -> None:
    from daemon.periodic.ladder import recipient_for
    from daemon.route.rules import Department

    full = Department("koran", "Koran", "koran@x.id", manager="m@x.id", general_manager="gm@x.id")
    assert [recipient_for(role, full)[0] for role in ("department", "manager", "gm")] == [
        "koran@x.id",
        "m@x.id",
        "gm@x.id",
    ]
    no_manager = Department("koran", "Koran", "koran@x.id", general_manager="gm@x.id")
    assert recipient_for("manager", no_manager) == (
        "gm@x.id",
        "koran has no manager: sent to its general manager",
    )
    nobody = Department("koran", "Koran", "koran@x.id")
    assert recipient_for("gm", nobody) == (None, "koran has no general manager configured")


def test_a_tickets_target_key_is_its_severity_department_and_class() -> None:
    ticket = _ticket(wib(8, 4, 10), severity="major", department="teknik", sla_class="urgent")
    assert target_key(ticket) == TargetKey("major", "teknik", "urgent")
    assert due_values(ticket.received_at, target_key(ticket), RULES, origin="", timezone="Asia/Jakarta") == {
        "first_response_due": ticket.first_response_due,
        "resolution_due": ticket.resolution_due,
    }
