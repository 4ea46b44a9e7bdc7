"""When the SLA ladder must look at a ticket next: never later than the first step it earns.

The ladder reads only the tickets whose `next_sla_step_at` has come, so
`next_earned_at` must name the first moment a ticket earns a step it had not
earned before; a look that finds nothing new is allowed, a step found late is not.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from daemon.periodic.steps import NO_UPDATES, Updates, earned_steps, next_earned_at
from daemon.route.loader import load_rules
from daemon.sla.stamping import stamp_due_dates
from daemon.store.models import Ticket
from tests.integration.helpers import PROJECT

RULES = load_rules(PROJECT / "rules.yaml")
JAKARTA = ZoneInfo("Asia/Jakarta")
RECEIVED = datetime(2026, 8, 7, 16, 30, tzinfo=JAKARTA)
STEP = timedelta(minutes=10)


def _ticket(**fields: object) -> Ticket:
    values: dict[str, object] = {
        "reference": "CC-2026-000001",
        "department": "koran",
        "severity": "minor",
        "customer_email": "a@example.net",
        "received_at": RECEIVED.astimezone(UTC),
        **fields,
    }
    return stamp_due_dates(Ticket(**values), RULES, RECEIVED, timezone="Asia/Jakarta")


def _keys(ticket: Ticket, at: datetime, updates: Updates) -> set[str]:
    return {step.period_key for step in earned_steps(ticket, RULES, at, "Asia/Jakarta", updates)}


def _walk(ticket: Ticket, start: datetime, days: int, updates: Updates = NO_UPDATES) -> int:
    """Follow the next looks from `start` for `days`, checking no step is earned in between; the looks."""
    now, end, looks = start, start + timedelta(days=days), 0
    while now < end:
        seen = _keys(ticket, now, updates)
        upcoming = next_earned_at(ticket, RULES, now, "Asia/Jakarta", updates)
        stop = min(upcoming, end) if upcoming is not None else end
        moment = now + STEP
        while moment < stop:
            assert _keys(ticket, moment, updates) <= seen, f"a step earned at {moment}, before {upcoming}"
            moment += STEP
        if upcoming is None:
            return looks
        assert upcoming > now
        now, looks = upcoming, looks + 1
    return looks


@pytest.mark.parametrize("severity", ["minor", "major"])
def test_no_step_is_earned_before_the_next_look_of_an_unanswered_ticket(severity: str) -> None:
    ticket = _ticket(severity=severity)
    looks = _walk(ticket, RECEIVED.astimezone(UTC), days=30)
    # Reminder, breach and second level of both targets (two may fall at one moment); then nothing.
    assert looks in (5, 6)
    assert next_earned_at(ticket, RULES, RECEIVED + timedelta(days=30), "Asia/Jakarta") is None


def test_each_next_look_earns_a_new_step() -> None:
    ticket = _ticket()
    now = RECEIVED.astimezone(UTC)
    while (upcoming := next_earned_at(ticket, RULES, now, "Asia/Jakarta")) is not None:
        assert _keys(ticket, upcoming, NO_UPDATES) > _keys(ticket, now, NO_UPDATES)
        now = upcoming


def test_an_answered_ticket_is_looked_at_for_each_update_window() -> None:
    replied = datetime(2026, 8, 10, 9, tzinfo=JAKARTA).astimezone(UTC)
    ticket = _ticket(first_responded_at=replied)
    looks = _walk(ticket, replied, days=40, updates=(1, replied))
    assert looks >= 5  # the resolution's steps, then one reminder per update window


def test_closed_and_recap_tickets_are_never_looked_at() -> None:
    at = RECEIVED.astimezone(UTC)
    assert next_earned_at(_ticket(status="closed"), RULES, at, "Asia/Jakarta") is None
    assert next_earned_at(_ticket(origin="branch:biro-jatim"), RULES, at, "Asia/Jakarta") is None
