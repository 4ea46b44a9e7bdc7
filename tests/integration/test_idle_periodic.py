"""The periodic jobs of an idle poll read index ranges, not whole tables, and not ORM rows.

The results reminder asks the database which departments not reminded yet have
a resolved ticket of last month lacking a result (blank counts: spaces, line
breaks); only for those does it read the tickets to list them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, event

from daemon.config import load_config
from daemon.outbox.compose import Renderer
from daemon.outbox.enqueue import Mailer
from daemon.report import mailing
from daemon.route.loader import load_rules
from daemon.store import db
from tests.integration.helpers import PROJECT, outbound
from tests.integration.seeding import seeded, ticket

pytestmark = pytest.mark.integration

RULES = load_rules(PROJECT / "rules.yaml")
JAKARTA = ZoneInfo("Asia/Jakarta")
NOW = datetime(2026, 11, 2, 9, tzinfo=JAKARTA).astimezone(UTC)
OCTOBER = datetime(2026, 10, 15, 10, tzinfo=JAKARTA).astimezone(UTC)


@pytest.fixture
def job(tmp_path: Path) -> mailing.ReportMail:
    path = tmp_path / "caredesk.toml"
    path.write_text(f'rules = "{PROJECT / "rules.yaml"}"\n', encoding="utf-8")
    config = load_config(path, environ={})
    mailer = Mailer(config, Renderer(config.templates), lambda: NOW)
    return mailing.ReportMail(RULES, mailer, NOW, "Asia/Jakarta", organisation="Harian Test")


def _resolved(number: int, department: str, **results: str) -> Any:
    values = {"root_cause": "", "corrective_action": "", "effectiveness": "", **results}
    return ticket(
        number,
        department=department,
        status="resolved",
        completed_at=OCTOBER + timedelta(minutes=number),
        **values,
    )


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    done = {"root_cause": "Salah cetak", "corrective_action": "Cetak ulang", "effectiveness": "Efektif"}
    with seeded(database_url) as session:
        session.add(_resolved(1, "koran"))  # nothing recorded
        session.add(_resolved(2, "teknik", **{**done, "effectiveness": " \n\t"}))  # blank is missing
        session.add(_resolved(3, "redaksi", **done))  # all recorded: not asked
    engine = db.make_engine(database_url)
    yield engine
    engine.dispose()


def test_the_results_reminder_asks_the_database_and_reads_tickets_only_to_list_them(
    engine: Engine, job: mailing.ReportMail, database_url: str
) -> None:
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        statements.append(statement)

    assert mailing.remind_results(engine, job)["results_reminders"] == 2
    reminded = sorted(m.recipient for m in outbound(database_url) if m.kind == mailing.REMINDER_KIND)
    assert reminded == sorted(RULES.department(d).email for d in ("koran", "teknik"))
    event.listen(engine, "before_cursor_execute", seen)
    try:
        assert mailing.remind_results(engine, job) == {}
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    # Idle: no ticket is loaded (no statement reads a ticket's text), the claims say who was asked.
    assert statements
    assert not [s for s in statements if "ticket.description" in s]
