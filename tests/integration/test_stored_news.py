"""News of stored mail between daemons on one PostgreSQL (LISTEN/NOTIFY, `daemon.store.stored_news`).

A listener wakes when another process of its schema commits stored mail; not for
its own announcements, another schema's, or a transaction rolled back. On SQLite
nothing is announced and a wait is a sleep.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import Engine, event

from daemon.store import db
from daemon.store.stored_news import StoredNews, announce
from tests.conftest import PG_ADMIN_DSN

pytestmark = pytest.mark.integration

postgresql_only = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    made = db.make_engine(database_url)
    try:
        yield made
    finally:
        made.dispose()


def _store(engine: Engine, owner: str, *, commit: bool = True) -> None:
    """A transaction that announces stored mail as `owner`, committed or rolled back."""
    with db.session(engine) as session:
        announce(session, owner)
        if commit:
            session.commit()
        else:
            session.rollback()


@postgresql_only
def test_a_listener_wakes_for_another_daemons_batch_only(engine: Engine) -> None:
    stop = threading.Event()
    news = StoredNews(engine, "host:1:aaaa", stop)
    try:
        # Listening begins: what was stored before is unknown, so the first wait says look.
        began = time.monotonic()
        assert news.wait(5.0) is True
        assert time.monotonic() - began < 1.0
        assert news.wait(0.3) is False  # nothing since

        _store(engine, "host:1:aaaa")  # its own batch
        _store(engine, "host:2:bbbb", commit=False)  # rolled back: never stored
        assert news.wait(0.5) is False

        _store(engine, "host:2:bbbb")
        _store(engine, "host:2:bbbb")  # a burst wakes it once
        # The server forwards each transaction's news on its own: let the second arrive
        # too, as it has when a daemon looks a while after a burst (news still on its way
        # would wake it once more, which is meant).
        time.sleep(0.5)
        began = time.monotonic()
        assert news.wait(5.0) is True
        assert time.monotonic() - began < 1.0
        assert news.wait(0.3) is False
    finally:
        news.close()


@postgresql_only
def test_another_schema_on_the_same_database_is_not_news(engine: Engine) -> None:
    schema = f"t_{secrets.token_hex(8)}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    url = engine.url.render_as_string(hide_password=False)
    other = db.make_engine(url.split("?", 1)[0] + f"?options=-csearch_path%3D{schema}")
    news = StoredNews(engine, "host:1:aaaa", threading.Event())
    try:
        assert news.wait(1.0) is True
        _store(other, "host:2:bbbb")
        assert news.wait(0.5) is False
    finally:
        news.close()
        other.dispose()
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


@postgresql_only
def test_a_lost_connection_is_a_sleep_then_listening_again(engine: Engine) -> None:
    stop = threading.Event()
    news = StoredNews(engine, "host:1:aaaa", stop)
    try:
        assert news.wait(1.0) is True
        connection = news._connection
        assert connection is not None
        pid = connection.connection.dbapi_connection.info.backend_pid  # type: ignore[union-attr]
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        began = time.monotonic()
        assert news.wait(0.5) is False  # the loss, slept out
        assert 0.4 <= time.monotonic() - began < 3.0
        assert news.wait(1.0) is True  # listening again, from a new connection
        _store(engine, "host:2:bbbb")
        assert news.wait(5.0) is True
    finally:
        news.close()


class CountingStop(threading.Event):
    """A stop event that counts the looks at it (under systemd each is a watchdog ping)."""

    def __init__(self) -> None:
        super().__init__()
        self.looks = 0

    def is_set(self) -> bool:
        self.looks += 1
        return super().is_set()


@postgresql_only
def test_a_quiet_wait_looks_at_the_stop_event_each_step_and_ends_when_it_is_set(engine: Engine) -> None:
    stop = CountingStop()
    news = StoredNews(engine, "host:1:aaaa", stop, step=0.2)
    try:
        assert news.wait(1.0) is True  # listening began
        stop.looks = 0
        assert news.wait(1.0) is False
        assert stop.looks >= 4, "the watchdog would go unfed during a quiet wait"
        threading.Timer(0.3, stop.set).start()
        began = time.monotonic()
        assert news.wait(30.0) is False
        assert time.monotonic() - began < 2.0
    finally:
        news.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sqlite_announces_nothing(engine: Engine) -> None:
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    _store(engine, "host:2:bbbb")
    assert statements == []
