"""The delivery marks' commits, and only they, skip waiting for the disk on PostgreSQL.

The sender commits once a mail (its `sending` mark with the outcome of the mail
before); on PostgreSQL those commits are made with `synchronous_commit` off, set
once for the round on the round's own connection. Every other commit of the
daemon (the claim, a stored ticket) must wait for the disk, so the setting may
never reach the pool: the connection is reset when the round ends, also when it
ends in an exception. Each commit here is checked for the setting it ran under.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, event, text

from daemon import clock
from daemon.config import SmtpConfig
from daemon.send.delivery import OutboxSender, RetryPolicy
from daemon.send.transports import SmtpTransport
from daemon.store import db
from daemon.store.models import OutboundMessage
from tests.integration.helpers import CARE_ADDRESS, outbound
from tests.servers import SmtpSink

# On PostgreSQL only: SQLite has no per-transaction setting that could leak.
pytestmark = [pytest.mark.integration, pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)]

RECIPIENTS = ("first@example.net", "second@example.net", "third@example.net")


def _queue(engine: Engine) -> None:
    with db.session(engine) as session:
        for n, recipient in enumerate(RECIPIENTS):
            session.add(
                OutboundMessage(
                    kind="ack",
                    recipient=recipient,
                    envelope_from=CARE_ADDRESS,
                    message_id=f"<marks-{n}@example.co.id>",
                    raw=f"From: {CARE_ADDRESS}\r\nTo: {recipient}\r\nSubject: {n}\r\n\r\nhello\r\n".encode(),
                    next_attempt_at=clock.now() - timedelta(minutes=1),
                )
            )
        session.commit()


_OF_THE_MARKS = ("UPDATE OUTBOUND_MESSAGE SET STATE", "SET SYNCHRONOUS_COMMIT")


class _Commits:
    """Each commit on `engine`: whether its transaction wrote a delivery mark, and its setting."""

    def __init__(self, engine: Engine) -> None:
        self.seen: list[tuple[bool, str]] = []
        self.marked_on: dict[int, Any] = {}
        """The driver connections the marks were committed on, by id."""
        self._marking: set[int] = set()
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", self._commit)

    def _statement(self, connection: Connection, _cursor: Any, statement: str, *_: Any) -> None:
        # The marks, and the setting made for them on their connection.
        if (
            statement.lstrip()
            .upper()
            .startswith(("UPDATE OUTBOUND_MESSAGE SET STATE", "SET SYNCHRONOUS_COMMIT"))
        ):
            dbapi = connection.connection.dbapi_connection
            self._marking.add(id(dbapi))
            self.marked_on[id(dbapi)] = dbapi

    def _commit(self, connection: Connection) -> None:
        dbapi = connection.connection.dbapi_connection
        marking = id(dbapi) in self._marking
        self._marking.discard(id(dbapi))
        self.seen.append((marking, _shown(dbapi, in_transaction=True)))

    def settings_left(self) -> set[str]:
        """The setting each connection the marks used has now, back in the pool (or closed)."""
        return {"closed" if dbapi.closed else _shown(dbapi) for dbapi in self.marked_on.values()}


def _shown(dbapi: Any, *, in_transaction: bool = False) -> str:
    with dbapi.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        row = cursor.fetchone()
    if not in_transaction:
        dbapi.rollback()  # SHOW began a transaction on a pooled connection: end it
    return str(row[0]) if row else "?"


def _setting(engine: Engine) -> str:
    with engine.connect() as connection:
        return str(connection.execute(text("SHOW synchronous_commit")).scalar_one())


def _sender(engine: Engine, transport: Any) -> OutboxSender:
    return OutboxSender(engine, transport, clock.now, owner="test:1", retries=RetryPolicy(3, 60))


def _smtp(sink: SmtpSink) -> SmtpTransport:
    return SmtpTransport(
        SmtpConfig(url=sink.url, username="", password="", timeout=10, max_attempts=3, retry_base_seconds=60)
    )


def test_only_the_marks_commit_without_waiting(engine: Engine, smtp_sink: SmtpSink) -> None:
    assert _setting(engine) == "on"  # the server's default, which the daemon's other commits use
    _queue(engine)
    commits = _Commits(engine)

    counts = _sender(engine, lambda: _smtp(smtp_sink)).deliver_due()

    assert counts == {"sent": len(RECIPIENTS)}
    marks = [setting for marking, setting in commits.seen if marking]
    others = [setting for marking, setting in commits.seen if not marking]
    # The setting's own commit, one a mail (each with its mark), and one for the last outcome.
    assert marks == ["off"] * (1 + len(RECIPIENTS) + 1)
    assert others and set(others) == {"on"}  # the claim and the stale-lease check
    assert commits.settings_left() == {"on"}
    assert {row.state for row in outbound(engine.url.render_as_string(hide_password=False))} == {"sent"}


class _Stopped(BaseException):
    """Not a delivery outcome: what a signal or an interpreter shutdown would raise mid-round."""


class _StopsAtSecond:
    def __init__(self, inner: SmtpTransport) -> None:
        self.inner = inner
        self.tried = 0

    def __enter__(self) -> _StopsAtSecond:
        self.inner.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.inner.__exit__(*exc_info)

    def send(self, envelope_from: str, recipients: list[str], raw: bytes, name: str) -> None:
        self.tried += 1
        if self.tried == 2:
            raise _Stopped
        self.inner.send(envelope_from, recipients, raw, name)


def test_a_round_ended_by_an_exception_gives_the_connection_back_reset(
    engine: Engine, smtp_sink: SmtpSink
) -> None:
    _queue(engine)
    commits = _Commits(engine)

    with pytest.raises(_Stopped):
        _sender(engine, lambda: _StopsAtSecond(_smtp(smtp_sink))).deliver_due()

    assert commits.marked_on
    assert commits.settings_left() == {"on"}
    states = sorted(row.state for row in outbound(engine.url.render_as_string(hide_password=False)))
    # The first went out; the second was marked before its try (a crash's trace); the third waits.
    assert states == ["pending", "sending", "sent"]
