"""Fixtures shared by every test tier: real servers on loopback and a fresh database.

Owns the lifecycle of the test servers (``dovecot``, ``smtp_sink``) and of the
per-test database (``database_url``).  Each fixture starts from nothing and
tears down what it made, also when the test fails.

Every test runs on the pinned clock of `tests.clockpin` (``_pinned_clock``):
Tuesday 21 July 2026, 10:00 WIB, unless the test pins another instant, so
no test depends on today's date.

A missing prerequisite (Dovecot binary, reachable PostgreSQL) skips the test
with the reason on a developer machine, and fails it under ``CI=true``: CI
must never go green by skipping the integration tests.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import psycopg
import pytest
from psycopg import sql

from tests.clockpin import DEFAULT_INSTANT, pin_clock
from tests.servers import Dovecot, SmtpSink, find_dovecot, reap_orphans
from tests.servers import postgres as private_postgres

# The PostgreSQL that scripts/bootstrap expects: trust auth on loopback.
PG_HOST = "127.0.0.1"
PG_PORT = 5432
PG_DATABASE = "test"
PG_USER = "postgres"
PG_ADMIN_DSN = f"host={PG_HOST} port={PG_PORT} dbname={PG_DATABASE} user={PG_USER}"


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    """Accept (and ignore) the xdist options of pyproject's addopts when pytest-xdist is off.

    ``-p no:xdist`` (debugging in one process, e.g. with pdb) would otherwise
    stop at "unrecognized arguments". ``-n 0`` keeps xdist but runs in-process too.
    """
    if pluginmanager.has_plugin("xdist"):
        return
    for option in ("--numprocesses", "--maxschedchunk"):
        parser.addoption(option, default=None, help="pytest-xdist's; ignored with -p no:xdist")


# The files with the longest tests (a minute or more each). They are collected
# first, so the xdist workers start them early and fill the rest of the run with
# short tests around them, instead of one worker ending the run with a long one.
SLOW_FIRST = (
    "tests/faults/",
    "tests/integration/test_wheel_install.py",
    "tests/integration/test_daemon_process.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A stable sort: within each part the order stays pytest's (module fixtures stay together).
    items.sort(key=lambda item: not item.nodeid.startswith(SLOW_FIRST))


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def _unavailable(reason: str) -> NoReturn:
    """Skip, or under CI=true fail, a test whose prerequisite is missing."""
    if _in_ci():
        pytest.fail(f"{reason} (CI=true: integration tests must run, not skip)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _pinned_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pin the clock (this process and the daemons it starts) to an ordinary working day.

    The real date would make mail counts depend on the day the suite runs:
    the shipped rules.yaml sends branch-recap reminders on days 1-5.
    """
    pin_clock(monkeypatch, DEFAULT_INSTANT)


@pytest.fixture(scope="session")
def _dovecot_orphans_reaped() -> None:
    """Once per session: end Dovecots left behind by a test run that was killed."""
    reap_orphans()


@pytest.fixture
def dovecot(_dovecot_orphans_reaped: None) -> Iterator[Dovecot]:
    """A fresh Dovecot IMAP server with an empty INBOX for user ``care``.

    Function scope keeps tests isolated; start plus stop take about 0.1 s.
    """
    if find_dovecot() is None:
        _unavailable("dovecot not found: install dovecot-imapd: sudo apt-get install dovecot-imapd")
    server = Dovecot()
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """A recording SMTP server on 127.0.0.1 (no AUTH; build an SmtpSink for that)."""
    sink = SmtpSink()
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()


@pytest.fixture(scope="session")
def _postgres_unreachable() -> str | None:
    """Why PostgreSQL cannot be used, or None; probed once per session."""
    try:
        with psycopg.connect(PG_ADMIN_DSN, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as error:
        return (
            f"PostgreSQL not reachable at {PG_USER}@{PG_HOST}:{PG_PORT}/{PG_DATABASE} ({str(error).strip()})"
        )
    return None


@pytest.fixture(scope="session")
def _postgres_orphans_reaped() -> None:
    """Once per session: stop private PostgreSQL clusters left behind by a killed test run."""
    private_postgres.reap_orphans()


@pytest.fixture
def private_postgresql(_postgres_orphans_reaped: None) -> Iterator[private_postgres.PostgresServer]:
    """A PostgreSQL cluster of this test's own, on a free port, for a test that restarts the server.

    Restarting the shared one would cut every other test's connections (other
    xdist workers, other runs). initdb plus start take one to a few seconds.
    """
    if private_postgres.find_postgres_bin() is None:
        _unavailable("PostgreSQL server binaries not found: sudo apt-get install postgresql")
    server = private_postgres.PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, _postgres_unreachable: str | None
) -> Iterator[str]:
    """A SQLAlchemy URL for an empty database; the test runs once per backend.

    PostgreSQL gets a fresh schema ``t_<hex>`` selected through search_path
    in the URL, dropped with everything in it after the test.
    """
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/caredesk.db"
        return
    if _postgres_unreachable is not None:
        _unavailable(_postgres_unreachable)
    schema = f"t_{secrets.token_hex(8)}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield (
            f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/{PG_DATABASE}"
            f"?options=-csearch_path%3D{schema}"
        )
    finally:
        _drop_schema(schema)


def _drop_schema(schema: str) -> None:
    """DROP SCHEMA ... CASCADE, even when the test left a transaction open.

    An idle connection the test forgot does not block the drop, but one left
    inside a transaction holds locks on the schema's tables and would make
    DROP wait forever; after a lock timeout those backends are terminated.
    """
    drop = sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=5) as conn:
        conn.execute("SET lock_timeout = '5s'")
        try:
            conn.execute(drop)
        except psycopg.errors.LockNotAvailable:
            conn.execute(
                """
                SELECT pg_terminate_backend(l.pid)
                FROM pg_locks l
                JOIN pg_class c ON c.oid = l.relation
                JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = %s AND l.pid <> pg_backend_pid()
                """,
                (schema,),
            )
            conn.execute(drop)
