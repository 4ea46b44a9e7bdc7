"""The SLA ladder reads only the tickets whose next look has come (`ticket.next_sla_step_at`).

Through the real daemon loop on an injected clock (Maildir in, aiosmtpd out),
on SQLite and PostgreSQL: after a run each open ticket holds the moment of its
next step; a ticket whose moment has not come is not read at all; a change to
the ticket, a human reply to its customer and other rules make it due again.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from daemon.app.service import Daemon
from daemon.config import load_config
from daemon.sla.stamping import record_first_response
from daemon.store import db, sla_due
from daemon.store.models import Setting, Ticket
from tests import mailfactory
from tests.clockpin import SteppedClock, wib
from tests.integration.helpers import FREE_CLOCK, TRUST_OUR_MX, maildir_desk, outbound, tickets

pytestmark = pytest.mark.integration

FAR = datetime(2099, 1, 1, tzinfo=UTC)


@pytest.fixture
def setup(
    tmp_path: Path, database_url: str, smtp_sink: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    config, maildir = maildir_desk(
        tmp_path,
        monkeypatch,
        database_url=database_url,
        smtp_url=smtp_sink.url,
        extra=TRUST_OUR_MX + FREE_CLOCK,
    )
    yield {"config": load_config(config), "maildir": maildir, "url": database_url}


def _complaint(setup: Any, n: int) -> None:
    raw = mailfactory.complaint(n, sender=f"pelanggan{n}@example.net", name=f"Pelanggan {n}")
    (setup["maildir"] / "new" / f"{n}.eml").write_bytes(raw)


def _sla_mail(url: str) -> list[str]:
    return [m.kind for m in outbound(url) if m.kind.startswith("sla-")]


def _put_off(daemon: Daemon) -> None:
    """Every ticket's next look moved far away, as if the ladder had worked it out so."""
    with db.session(daemon.engine) as session:
        session.execute(update(Ticket).values(next_sla_step_at=FAR))
        session.commit()


def test_after_a_run_the_ticket_holds_its_next_step_and_is_read_only_then(setup: Any) -> None:
    url = setup["url"]
    clock = SteppedClock(wib(8, 7, 16, 30))  # Friday
    _complaint(setup, 1)
    with Daemon(setup["config"], clock=clock) as daemon:
        daemon.run_once()
        # The first reminder: two working hours before the first response is due (Monday 17:00).
        assert tickets(url)[0].next_sla_step_at == wib(8, 10, 15)
        _put_off(daemon)
        clock.now = wib(8, 11, 18)  # breached and escalated twice by now, but not looked at
        daemon.run_once()
        assert _sla_mail(url) == []
        with db.session(daemon.engine) as session:
            sla_due.mark_changed(session, [tickets(url)[0].id or 0])
            session.commit()
        daemon.run_once()
    assert sorted(_sla_mail(url)) == ["sla-escalation", "sla-escalation"]
    # The resolution's reminder is next: two working hours before the 14th, 17:00.
    assert tickets(url)[0].next_sla_step_at == wib(8, 14, 15)


def test_a_first_response_and_other_rules_make_the_ticket_due_again(setup: Any) -> None:
    url = setup["url"]
    clock = SteppedClock(wib(8, 7, 16, 30))
    _complaint(setup, 2)
    with Daemon(setup["config"], clock=clock) as daemon:
        daemon.run_once()
        _put_off(daemon)
        with db.session(daemon.engine) as session:
            ticket = session.get_one(Ticket, tickets(url)[0].id)
            assert record_first_response(session, ticket, wib(8, 10, 9))
            session.commit()
        assert tickets(url)[0].next_sla_step_at == sla_due.RECHECK
        clock.now = wib(8, 10, 10)
        daemon.run_once()
        # Answered in time: the first-response ladder is over, the resolution's reminder is next.
        assert tickets(url)[0].next_sla_step_at == wib(8, 14, 15)
        _put_off(daemon)
        with db.session(daemon.engine) as session:
            row = session.get_one(Setting, "sla-ladder:rules")
            row.value = "other rules"
            session.add(row)
            session.commit()
        daemon.run_once()
        assert tickets(url)[0].next_sla_step_at == wib(8, 14, 15)


def test_a_ticket_changed_through_the_orm_and_a_resolved_one(setup: Any) -> None:
    url = setup["url"]
    clock = SteppedClock(wib(8, 7, 16, 30))
    _complaint(setup, 3)
    with Daemon(setup["config"], clock=clock) as daemon:
        daemon.run_once()
        _put_off(daemon)
        with db.session(daemon.engine) as session:
            ticket = session.get_one(Ticket, tickets(url)[0].id)
            ticket.severity = "major"
            session.add(ticket)
            session.commit()
        assert tickets(url)[0].next_sla_step_at == sla_due.RECHECK
        with db.session(daemon.engine) as session:
            ticket = session.get_one(Ticket, tickets(url)[0].id)
            ticket.status, ticket.completed_at = "resolved", clock()
            session.add(ticket)
            session.commit()
        daemon.run_once()
    [resolved] = tickets(url)
    assert resolved.next_sla_step_at is None
