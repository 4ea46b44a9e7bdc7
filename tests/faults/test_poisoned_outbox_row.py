"""One outbox row that cannot go out never holds up the rows behind it (issue 16, point 4).

A customer writing from `josé@example.com` needs SMTPUTF8 (RFC 6531) for the
acknowledgement: it goes out with it when the server offers it, and fails alone,
with a reason a person can act on, when the server does not. A row whose
delivery raises anything at all (here a recipient with a line break, which
smtplib refuses with a ValueError) is settled with the error and the next row
is sent in the same run; no row is left `sending`. A round that the database
broke off (a write refused) is taken back by the sender's next round at once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import OperationalError
from sqlmodel import col

from daemon import clock
from daemon.config import SmtpConfig
from daemon.send.delivery import OutboxSender, RetryPolicy
from daemon.send.transports import SmtpTransport
from daemon.store import db
from daemon.store.models import OutboundMessage
from tests.faults.harness import Corpus, fault_config, run_once, states
from tests.integration.helpers import CARE_ADDRESS, outbound
from tests.servers import Dovecot, SmtpSink

pytestmark = pytest.mark.integration

JOSE = "josé@example.com"


def _database(folder: Path) -> str:
    return f"sqlite:///{folder}/caredesk.db"


@pytest.fixture
def utf8_sink() -> Iterator[SmtpSink]:
    with SmtpSink(smtputf8=True) as sink:
        yield sink


def _from_jose(corpus: Corpus, test_id: str) -> bytes:
    """A complaint sent from a UTF-8 address, its From header in raw UTF-8 as an SMTPUTF8 client writes it."""
    raw = corpus.complaint(test_id, "jose@example.com")
    return raw.replace(b"jose@example.com", JOSE.encode())


def _acks(database: str) -> dict[str, OutboundMessage]:
    return {row.recipient: row for row in outbound(database) if row.kind == "ack"}


def test_non_ascii_recipient_is_sent_with_smtputf8(
    tmp_path: Path, dovecot: Dovecot, utf8_sink: SmtpSink
) -> None:
    database = _database(tmp_path)
    corpus = Corpus()
    dovecot.append(_from_jose(corpus, "c0"))
    config = fault_config(tmp_path, database_url=database, mailbox_url=dovecot.url, smtp_url=utf8_sink.url)

    run_once(config)

    assert states(outbound(database)) == {"sent": 2}
    [to_jose] = [received for received in utf8_sink.messages if JOSE in received.rcpt_tos]
    assert "SMTPUTF8" in to_jose.mail_options
    # The department notice has only ASCII addresses: no extension asked for.
    [notice] = [received for received in utf8_sink.messages if JOSE not in received.rcpt_tos]
    assert "SMTPUTF8" not in notice.mail_options


def test_non_ascii_recipient_without_smtputf8_fails_alone(
    tmp_path: Path, dovecot: Dovecot, smtp_sink: SmtpSink
) -> None:
    database = _database(tmp_path)
    corpus = Corpus()
    dovecot.append(_from_jose(corpus, "c0"))
    dovecot.append(corpus.complaint("c1", "siti@example.net"))
    config = fault_config(tmp_path, database_url=database, mailbox_url=dovecot.url, smtp_url=smtp_sink.url)

    output = run_once(config)

    acks = _acks(database)
    assert acks[JOSE].state == "failed"
    assert acks[JOSE].last_error == "recipient address needs SMTPUTF8, which 127.0.0.1 does not offer"
    assert acks[JOSE].attempts == 1
    # Everything else went out in the same run: the other customer's
    # acknowledgement and both department notices.
    rows = outbound(database)
    assert states(rows) == {"sent": 3, "failed": 1}
    assert len(smtp_sink.messages) == 3
    assert all(JOSE not in received.rcpt_tos for received in smtp_sink.messages)
    assert "needs SMTPUTF8" in output


class _BreaksOn:
    """The real SMTP transport, except that sending to one address raises a bug's exception.

    Stands for anything a row may raise that no one foresaw: the contract is that
    it costs that row a try and nothing else.
    """

    def __init__(self, inner: SmtpTransport, poisoned: str) -> None:
        self.inner = inner
        self.poisoned = poisoned

    def __enter__(self) -> _BreaksOn:
        self.inner.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.inner.__exit__(*exc_info)

    def send(self, envelope_from: str, recipients: list[str], raw: bytes, name: str) -> None:
        if self.poisoned in recipients:
            raise KeyError("a bug in the send path")
        self.inner.send(envelope_from, recipients, raw, name)


def _queued(engine: Engine, recipients: list[str]) -> list[int]:
    with db.session(engine) as session:
        rows = [
            OutboundMessage(
                kind="ack",
                recipient=recipient,
                envelope_from=CARE_ADDRESS,
                message_id=f"<poison-{n}@example.co.id>",
                raw=f"From: {CARE_ADDRESS}\r\nTo: {recipient}\r\nSubject: {n}\r\n\r\nhello\r\n".encode(),
                next_attempt_at=clock.now() - timedelta(minutes=1),
            )
            for n, recipient in enumerate(recipients)
        ]
        session.add_all(rows)
        session.commit()
        return [row.id for row in rows if row.id is not None]


def test_row_that_raises_never_blocks_the_rows_behind_it(database_url: str, smtp_sink: SmtpSink) -> None:
    engine = db.open_for_writing(database_url)
    try:
        recipients = ["first@example.net", "poisoned@example.net", "third@example.net", "fourth@example.net"]
        ids = _queued(engine, recipients)
        settings = SmtpConfig(
            url=smtp_sink.url, username="", password="", timeout=10, max_attempts=3, retry_base_seconds=60
        )
        sender = OutboxSender(
            engine,
            lambda: _BreaksOn(SmtpTransport(settings), "poisoned@example.net"),
            clock.now,
            owner="test:1",
            retries=RetryPolicy(3, 60),
        )

        counts = sender.deliver_due()

        with db.session(engine) as session:
            found = session.execute(select(OutboundMessage).where(col(OutboundMessage.id).in_(ids)))
            rows = {row.recipient: row for row in found.scalars()}
    finally:
        engine.dispose()
    poisoned = rows.pop("poisoned@example.net")
    assert (poisoned.state, poisoned.attempts, poisoned.lease_owner) == ("retry", 1, None)
    assert poisoned.last_error == "KeyError: 'a bug in the send path'"
    assert poisoned.next_attempt_at > clock.now()
    assert {recipient: row.state for recipient, row in rows.items()} == dict.fromkeys(rows, "sent")
    assert sorted(r for received in smtp_sink.messages for r in received.rcpt_tos) == sorted(rows)
    assert counts == {"sent": 3, "retry": 1}


class _LocksAfterFirst:
    """The real SMTP transport; once the first mail is sent, another connection locks the database."""

    def __init__(self, inner: SmtpTransport, path: Path) -> None:
        self.inner = inner
        self.lock = sqlite3.connect(path, isolation_level=None)
        self.sent = 0

    def __enter__(self) -> _LocksAfterFirst:
        self.inner.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.inner.__exit__(*exc_info)

    def send(self, envelope_from: str, recipients: list[str], raw: bytes, name: str) -> None:
        self.inner.send(envelope_from, recipients, raw, name)
        self.sent += 1
        if self.sent == 1:
            self.lock.execute("BEGIN EXCLUSIVE")


def test_a_round_the_database_broke_off_is_taken_back(tmp_path: Path, smtp_sink: SmtpSink) -> None:
    """Not 10 minutes later, when the round's leases run out: the rows still due go out at once,
    and the one whose record was lost is settled as an interrupted delivery (not sent twice)."""
    path = tmp_path / "caredesk.db"
    engine = db.open_for_writing(f"sqlite:///{path}?timeout=0.2")
    locking = None
    try:
        recipients = ["first@example.net", "second@example.net", "third@example.net"]
        ids = _queued(engine, recipients)
        settings = SmtpConfig(
            url=smtp_sink.url, username="", password="", timeout=10, max_attempts=3, retry_base_seconds=60
        )

        def transport() -> _LocksAfterFirst:
            nonlocal locking
            locking = locking or _LocksAfterFirst(SmtpTransport(settings), path)
            return locking

        sender = OutboxSender(engine, transport, clock.now, owner="test:1", retries=RetryPolicy(3, 60))
        with pytest.raises(OperationalError, match="database is locked"):
            sender.deliver_due()
        assert locking is not None
        locking.lock.execute("ROLLBACK")
        assert len(smtp_sink.messages) == 1

        counts = sender.deliver_due()

        with db.session(engine) as session:
            found = session.execute(select(OutboundMessage).where(col(OutboundMessage.id).in_(ids)))
            rows = {row.recipient: row for row in found.scalars()}
    finally:
        if locking is not None:
            locking.lock.close()
        engine.dispose()
    assert counts == {"sent": 2}
    assert {recipient: row.state for recipient, row in rows.items()} == {
        "first@example.net": "uncertain",  # an acknowledgement that may have gone out is not sent again
        "second@example.net": "sent",
        "third@example.net": "sent",
    }
    assert all(row.lease_owner is None for row in rows.values())
    assert sorted(r for received in smtp_sink.messages for r in received.rcpt_tos) == sorted(recipients)
