"""A ladder run's values: the calendar it counts on and the steps it says a ticket has earned."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from daemon.config import load_config
from daemon.outbox.compose import Renderer
from daemon.outbox.enqueue import Mailer
from daemon.periodic.ladder import NO_UPDATES, LadderRun, earned_steps
from daemon.route.loader import load_rules
from daemon.sla.stamping import calendar_for, stamp_due_dates
from daemon.store.models import Ticket
from tests.integration.helpers import PROJECT

RULES = load_rules(PROJECT / "rules.yaml")
JAKARTA = ZoneInfo("Asia/Jakarta")
RECEIVED = datetime(2026, 8, 7, 16, 30, tzinfo=JAKARTA)
LATER = datetime(2026, 8, 20, 9, 0, tzinfo=JAKARTA)


@pytest.fixture
def mailer(tmp_path: Path) -> Mailer:
    path = tmp_path / "caredesk.toml"
    path.write_text(f'rules = "{PROJECT / "rules.yaml"}"\n', encoding="utf-8")
    config = load_config(path, environ={})
    return Mailer(config, Renderer(config.templates), lambda: LATER)


def _run(mailer: Mailer, now: datetime) -> LadderRun:
    return LadderRun(RULES, mailer, now, timezone="Asia/Jakarta", owner="host:1")


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


def test_a_run_counts_on_the_calendar_of_its_rules_and_zone(mailer: Mailer) -> None:
    run = _run(mailer, LATER)
    assert run.calendar is calendar_for(RULES, "Asia/Jakarta")
    assert run.calendar is run.calendar


def test_a_run_earns_the_steps_of_its_moment(mailer: Mailer) -> None:
    ticket = _ticket()
    run = _run(mailer, LATER)
    steps = run.earned(ticket, NO_UPDATES)
    assert steps == earned_steps(ticket, RULES, LATER, "Asia/Jakarta", NO_UPDATES)
    assert {(step.target, step.kind) for step in steps} >= {
        ("first_response", "breach"),
        ("resolution", "breach"),
    }
    assert _run(mailer, RECEIVED).earned(ticket, NO_UPDATES) == []


def test_a_run_leaves_recap_and_resolved_tickets_alone(mailer: Mailer) -> None:
    run = _run(mailer, LATER)
    assert run.earned(_ticket(origin="branch:biro-jatim"), NO_UPDATES) == []
    assert run.earned(_ticket(status="resolved"), NO_UPDATES) == []
