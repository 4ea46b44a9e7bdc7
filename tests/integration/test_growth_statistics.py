"""The hot tables are analyzed as the register grows (`store.statistics.GrowthWatch`), on PostgreSQL.

A register that was empty at its last ANALYZE is analyzed after `floor` processed
mails, and then each time the mails processed since reach the rows the mail table
had at the last one: plans made for an empty register do not outlive its growth.
SQLite is left alone; a failing ANALYZE is said once and never tried again from there.
"""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import Engine, text

from daemon.store import db
from daemon.store.models import InboundMessage
from daemon.store.statistics import TABLES, GrowthWatch

pytestmark = pytest.mark.integration

postgresql_only = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _analyzed(engine: Engine) -> dict[str, int]:
    """How often each hot table of this schema was analyzed by hand (not by autovacuum)."""
    with engine.connect() as connection:
        found = connection.execute(
            text(
                "SELECT relname, analyze_count FROM pg_stat_user_tables "
                "WHERE schemaname = current_schema() AND relname = ANY(:names)"
            ),
            {"names": list(TABLES)},
        ).all()
    return {name: int(count) for name, count in found}


def _add_mails(engine: Engine, count: int, first: int) -> None:
    with db.session(engine) as session:
        for n in range(first, first + count):
            mail = InboundMessage(source="INBOX", source_key=f"k{n}", raw=b"x", raw_sha256=f"h{n}", size=1)
            session.add(mail)
        session.commit()


@postgresql_only
def test_the_tables_are_analyzed_as_the_processed_mail_doubles_them(engine: Engine) -> None:
    before = _analyzed(engine)
    assert set(before) == set(TABLES)
    watch = GrowthWatch(engine, floor=3)

    assert watch.processed(2) is False  # empty at the last ANALYZE (the migrations'): 3 first
    assert _analyzed(engine) == before
    _add_mails(engine, 4, first=1)
    assert watch.processed(1) is True
    once = _analyzed(engine)
    assert once == {name: count + 1 for name, count in before.items()}

    # The mail table now has 4 rows: the next time after 4 more mails, not 3.
    assert watch.processed(3) is False
    assert watch.processed(1) is True
    assert _analyzed(engine) == {name: count + 1 for name, count in once.items()}


@postgresql_only
def test_a_large_register_is_not_analyzed_again_soon(engine: Engine) -> None:
    _add_mails(engine, 40, first=1)
    with engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE inbound_message")
        connection.commit()
    before = _analyzed(engine)
    watch = GrowthWatch(engine, floor=3)

    assert watch.processed(39) is False  # 40 rows at the last ANALYZE: due after 40 mails
    assert watch.processed(1) is True
    assert _analyzed(engine)["ticket"] == before["ticket"] + 1


@postgresql_only
def test_a_failing_analyze_is_said_once_and_not_tried_again(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    with engine.connect() as connection:
        connection.exec_driver_sql("ALTER TABLE ticket_event RENAME TO ticket_event_gone")
        connection.commit()
    watch = GrowthWatch(engine, floor=1)

    with caplog.at_level(logging.WARNING, logger="caredesk.store"):
        assert watch.processed(1) is False
        assert watch.processed(5) is False
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "planner statistics not refreshed" in warnings[0]
    assert "ticket_event" in warnings[0]


@sqlite_only
def test_sqlite_is_left_alone(engine: Engine) -> None:
    watch = GrowthWatch(engine, floor=1)
    assert watch.processed(10) is False
    assert watch.enabled is False
