"""The schema comes from migrations: exactly the models' schema, idempotent, serialised, adoptive.

`test_migrations_give_exactly_the_models_schema` is the guard that fails when a
model changes without a migration; its message says how to write one.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Engine, MetaData, Text, inspect, select, text
from sqlmodel import SQLModel, col

from daemon.config import EX_CONFIG
from daemon.store import db, migrations, queries
from daemon.store.models import Ticket, TicketEvent
from tests.integration.helpers import PROJECT, run_cli, write_config

pytestmark = pytest.mark.integration

DATA = PROJECT / "tests" / "data"
ALL_REVISIONS = [revision.id for revision in migrations.pending_revisions(None)]
"""Every revision, oldest first: what an empty database gets."""

MODELS_WITHOUT_MIGRATION = """\
daemon/models.py and the migrations (daemon/migrations/versions/) disagree on the {backend} schema:
{diff}
A model was changed without a migration. Generate one:

    .venv/bin/python -m daemon.store.migrations revision --autogenerate -m "what changed"

then review the new file in daemon/migrations/versions/ (see docs/development.md) and commit
it together with the model change."""


@contextmanager
def engine_for(url: str) -> Iterator[Engine]:
    engine = db.make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


def schema_diff(engine: Engine, metadata: MetaData = SQLModel.metadata) -> list[Any]:
    """What alembic's autogenerate would still have to do to bring the database to `metadata`."""
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"compare_type": True, "compare_server_default": True, "include_name": migrations.compared},
        )
        return list(compare_metadata(context, metadata))


def version_rows(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())


def table_names(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def make_pre_migration_database(engine: Engine) -> None:
    """The tables exactly as `SQLModel.metadata.create_all` made them before migrations existed."""
    script = (DATA / f"pre_migration_schema.{engine.dialect.name}.sql").read_text()
    sql = "\n".join(line for line in script.splitlines() if not line.startswith("--"))
    with engine.begin() as connection:
        for statement in sql.split(";"):
            if statement.strip():
                connection.exec_driver_sql(statement)


# ---------------------------------------------------------------------------
# The schema.
# ---------------------------------------------------------------------------


def test_migrations_give_exactly_the_models_schema(database_url: str) -> None:
    with engine_for(database_url) as engine:
        result = db.upgrade(engine)
        assert result.before is None
        assert result.after == migrations.head()
        diff = schema_diff(engine)
        backend = engine.dialect.name
    assert diff == [], MODELS_WITHOUT_MIGRATION.format(
        backend=backend, diff="\n".join(f"    {change}" for change in diff)
    )


def test_the_schema_guard_notices_a_model_changed_without_a_migration(database_url: str) -> None:
    changed = MetaData()
    for table in SQLModel.metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["ticket"].append_column(Column("guard_probe", Text, nullable=True))
    with engine_for(database_url) as engine:
        db.upgrade(engine)
        diff = schema_diff(engine, changed)
    assert [(change[0], change[2], change[3].name) for change in diff] == [
        ("add_column", "ticket", "guard_probe")
    ]


def test_there_is_one_line_of_revisions() -> None:
    heads = migrations.scripts().get_heads()
    assert len(heads) == 1, (
        f"the migrations have {len(heads)} heads ({', '.join(heads)}): two revisions follow the same one. "
        "Renumber yours and set its down_revision to the other head."
    )


def test_revisions_never_import_the_models() -> None:
    # A revision must create the schema of its day even after the models moved on.
    for path in (PROJECT / "daemon" / "migrations" / "versions").glob("[0-9]*.py"):
        assert not re.search(r"^\s*(from|import) (daemon|sqlmodel)\b", path.read_text(), re.M), path.name


def test_the_migration_helper_finds_nothing_to_generate() -> None:
    checked = subprocess.run(
        [sys.executable, "-m", "daemon.store.migrations", "check"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert checked.returncode == 0, checked.stderr
    assert "No new upgrade operations detected" in checked.stdout


def test_new_revisions_are_numbered_after_the_last() -> None:
    following = len(list(migrations.scripts().walk_revisions())) + 1
    assert migrations.next_revision_id("Add ticket channel!") == f"{following:04d}_add_ticket_channel"
    long_id = migrations.next_revision_id("record who escalated a ticket and when exactly")
    assert len(long_id) <= migrations.MAX_REVISION_ID
    assert long_id.startswith(f"{following:04d}_record_who_escalated")


# ---------------------------------------------------------------------------
# Upgrading.
# ---------------------------------------------------------------------------


def test_upgrading_twice_is_a_no_op(database_url: str) -> None:
    with engine_for(database_url) as engine:
        first = db.upgrade(engine)
        tables = table_names(engine)
        second = db.upgrade(engine)
        assert [revision.id for revision in first.applied] == ALL_REVISIONS
        assert (second.before, second.after, second.applied, second.stamped) == (
            migrations.head(),
            migrations.head(),
            (),
            False,
        )
        assert table_names(engine) == tables
        assert version_rows(engine) == [migrations.head()]


def test_several_daemons_upgrading_at_once_make_one_schema(database_url: str) -> None:
    starters = 4
    barrier = threading.Barrier(starters)
    results: list[db.Upgrade] = []
    errors: list[BaseException] = []

    def start_daemon() -> None:
        with engine_for(database_url) as engine:
            barrier.wait(timeout=30)
            try:
                results.append(db.upgrade(engine))
            except BaseException as error:
                errors.append(error)

    threads = [threading.Thread(target=start_daemon) for _ in range(starters)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(results) == starters
    # Exactly one of them migrated; the others waited for it and found the schema done.
    assert sorted(len(result.applied) for result in results) == [0, 0, 0, len(ALL_REVISIONS)]
    with engine_for(database_url) as engine:
        assert version_rows(engine) == [migrations.head()]
        assert schema_diff(engine) == []


def test_a_database_made_before_migrations_is_stamped_at_the_baseline(database_url: str) -> None:
    with engine_for(database_url) as engine:
        make_pre_migration_database(engine)
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO setting (key, value) VALUES ('signing-key', 'kept')"))
        result = db.upgrade(engine)
        assert result.stamped
        assert result.before is None
        assert result.after == migrations.head()
        assert migrations.BASELINE not in [revision.id for revision in result.applied]
        assert version_rows(engine) == [migrations.head()]
        assert schema_diff(engine) == []
        with engine.connect() as connection:
            assert connection.execute(text("SELECT value FROM setting")).scalars().all() == ["kept"]


def test_a_database_made_before_migrations_that_differs_is_refused(database_url: str) -> None:
    with engine_for(database_url) as engine:
        make_pre_migration_database(engine)
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE recap_attachment"))
            connection.execute(text("ALTER TABLE ticket ADD COLUMN local_note TEXT"))
        with pytest.raises(db.SchemaError) as refused:
            db.upgrade(engine)
        message = str(refused.value)
        assert "table recap_attachment is missing" in message
        assert "column ticket.local_note is not in the baseline" in message
        assert "Back the database up" in message
        assert "caredesk db upgrade" in message
        # Refused means untouched: no history was written.
        assert "alembic_version" not in table_names(engine)


def test_a_database_from_a_newer_caredesk_is_refused(database_url: str) -> None:
    with engine_for(database_url) as engine:
        db.upgrade(engine)
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = '0999_from_the_future'"))
        with pytest.raises(db.SchemaError, match=r"'0999_from_the_future'.*newer caredesk"):
            db.upgrade(engine)


# ---------------------------------------------------------------------------
# `caredesk db status` and `caredesk db upgrade`.
# ---------------------------------------------------------------------------


def config_for(tmp_path: Path, database_url: str) -> str:
    path = write_config(
        tmp_path,
        database_url=database_url,
        mailbox_url=f"maildir:{tmp_path / 'mail'}",
        smtp_url=f"file:{tmp_path / 'outbox'}",
    )
    return str(path)


def test_db_status_and_upgrade_report_the_revisions(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_for(tmp_path, database_url)
    head = migrations.head()

    assert run_cli("--config", config, "db", "status") == 0
    status = capsys.readouterr().out
    assert "current:  none (empty database)" in status
    assert f"head:     {head}" in status
    assert f"pending:  {len(ALL_REVISIONS)}" in status
    assert f"  {migrations.BASELINE}  " in status

    assert run_cli("--config", config, "db", "upgrade") == 0
    upgraded = capsys.readouterr().out
    assert "before:   none (empty database)" in upgraded
    assert f"applied:  {migrations.BASELINE}" in upgraded
    assert f"after:    {head} (head)" in upgraded

    assert run_cli("--config", config, "db", "upgrade") == 0
    again = capsys.readouterr().out
    assert f"before:   {head}" in again
    assert "applied" not in again
    assert f"after:    {head} (head, nothing to do)" in again

    assert run_cli("--config", config, "db", "status", "--json") == 0
    reported = json.loads(capsys.readouterr().out)
    assert (reported["current"], reported["head"], reported["pending"]) == (head, head, [])
    assert reported["unversioned_tables"] is False


def test_db_status_and_upgrade_on_a_database_made_before_migrations(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_for(tmp_path, database_url)
    with engine_for(database_url) as engine:
        make_pre_migration_database(engine)

    assert run_cli("--config", config, "db", "status", "--json") == 0
    reported = json.loads(capsys.readouterr().out)
    assert reported["current"] is None
    assert reported["unversioned_tables"] is True
    assert migrations.BASELINE not in [pending["revision"] for pending in reported["pending"]]

    assert run_cli("--config", config, "db", "upgrade") == 0
    upgraded = capsys.readouterr().out
    assert f"stamped:  {migrations.BASELINE}" in upgraded
    assert f"after:    {migrations.head()} (head" in upgraded


def test_db_upgrade_refusing_a_database_says_why_and_exits_78(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_for(tmp_path, database_url)
    with engine_for(database_url) as engine:
        make_pre_migration_database(engine)
        with engine.begin() as connection:
            connection.execute(text("ALTER TABLE ticket DROP COLUMN watchers"))

    assert run_cli("--config", config, "db", "upgrade") == EX_CONFIG
    error = capsys.readouterr().err
    assert "column ticket.watchers is missing" in error
    assert "no migration history" in error


# ---------------------------------------------------------------------------
# 0004_structured_facts: facts that were text become data.
# ---------------------------------------------------------------------------

BEFORE_STRUCTURED_FACTS = "0003_outbound_template_context"


def _fetched_before_0004(connection: Any, key: str, reason: str) -> None:
    """An inbound_message row as caredesk wrote it at revision 0003 (no `headers_only` yet)."""
    connection.execute(
        text(
            "INSERT INTO inbound_message (source, source_key, raw, raw_sha256, size, from_address, subject, "
            "state, reason, notes, attempts, disposition, received_at) VALUES ('maildir:/m', :key, :raw, "
            "'0', 1, 'a@example.net', 's', 'stored', :reason, '', 0, 'pending', '2026-07-01 00:00:00+00:00')"
        ),
        {"key": key, "raw": b"Subject: s\r\n\r\n", "reason": reason},
    )


def test_0004_marks_the_mails_fetched_as_headers_only_from_their_reason(database_url: str) -> None:
    with engine_for(database_url) as engine:
        with engine.begin() as connection:
            command.upgrade(migrations.alembic_config(connection), BEFORE_STRUCTURED_FACTS)
            _fetched_before_0004(connection, "big", "oversize: 31457280 bytes; only the headers were fetched")
            _fetched_before_0004(connection, "plain", "")
            _fetched_before_0004(connection, "mentions", "parse failed: the word oversize: appears later")
        result = db.upgrade(engine)
        # Later revisions (if any) follow it; 0004 is the one this test is about.
        assert [revision.id for revision in result.applied][:1] == ["0004_structured_facts"]
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT source_key, headers_only FROM inbound_message ORDER BY source_key")
            ).all()
    assert [(key, bool(flag)) for key, flag in rows] == [("big", True), ("mentions", False), ("plain", False)]


def test_ticket_event_data_round_trips_json_and_none_stays_sql_null(database_url: str) -> None:
    decision = {
        "department": "keuangan",
        "escalate": True,
        "major_reason": None,
        "hits": [{"rule": "billing", "description": "Tagihan", "matched": ['word "tagihan"', "ganda ✓"]}],
        "decided_by": {"department": "billing"},
        "rules_version": "06846907aba9",
    }
    at = datetime(2026, 7, 21, 3, 0, tzinfo=UTC)
    with engine_for(database_url) as engine:
        db.upgrade(engine)
        with db.session(engine) as session:
            ticket = Ticket(
                reference="CC-2026-000001",
                department="keuangan",
                customer_email="a@example.net",
                received_at=at,
            )
            session.add(ticket)
            session.flush()
            queries.add_event(session, ticket, queries.History("caredesk", "routed", at, data=decision))
            queries.add_event(session, ticket, queries.History("caredesk", "note", at, reason="no data"))
            session.commit()
        with db.session(engine) as session:
            events = session.execute(select(TicketEvent).order_by(col(TicketEvent.id))).scalars().all()
            assert [event.data for event in events] == [decision, None]
            nulls = session.execute(text("SELECT count(*) FROM ticket_event WHERE data IS NULL")).scalar_one()
    assert nulls == 1
