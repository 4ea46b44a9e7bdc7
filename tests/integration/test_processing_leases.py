"""Several daemons on one database: tries are leased, copies wait for each other, numbers never wait.

A try on a stored mail is claimed with an owner (`host:pid:token`) and an expiry
(`daemon.store.tickets.claim_waiting`). These tests stand in for "another daemon"
by writing its lease on the row, or by holding its transaction open on a second
connection, and check what this daemon does meanwhile.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text, update
from sqlmodel import col

from daemon import clock
from daemon.app.service import Daemon
from daemon.config import load_config
from daemon.store import db, queries
from daemon.store import tickets as ticket_store
from daemon.store.leases import owner_has_ended, process_owner
from daemon.store.models import InboundMessage, ReferenceCounter
from tests import mailfactory
from tests.clockpin import config_variables
from tests.integration.helpers import inbound, tickets, write_config

pytestmark = pytest.mark.integration

ANOTHER_HOST = "care-02.example.internal:4242:5eedf00d"
"""A daemon on another machine: whether it still runs cannot be seen from here, only its lease."""


@pytest.fixture
def daemon(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Daemon]:
    for name in config_variables():
        monkeypatch.delenv(name)
    maildir = tmp_path / "mail"
    (maildir / "new").mkdir(parents=True)
    config = write_config(
        tmp_path,
        database_url=database_url,
        mailbox_url=f"maildir:{maildir}",
        smtp_url=f"file:{tmp_path / 'out'}",
    )
    with Daemon(load_config(config)) as made:
        yield made


def _store(daemon: Daemon, *raws: bytes, source: str = "maildir:/elsewhere") -> list[int]:
    with db.session(daemon.engine) as session:
        fetched = [queries.Fetched(key=f"k{n}", raw=raw) for n, raw in enumerate(raws)]
        queries.record_fetched(session, source, fetched, received_at=clock.now())
        session.commit()
        rows = session.execute(
            InboundMessage.__table__.select().where(InboundMessage.__table__.c.source == source)
        ).all()
    return [row.id for row in rows]


def _lease(daemon: Daemon, inbound_id: int, owner: str, *, until: timedelta, attempts: int) -> None:
    """What another daemon's claim leaves on the row: its name, the lease's end, the tries."""
    with db.session(daemon.engine) as session:
        session.execute(
            update(InboundMessage)
            .where(col(InboundMessage.id) == inbound_id)
            .values(lease_owner=owner, lease_until=clock.now() + until, attempts=attempts)
        )
        session.commit()


def _row(daemon: Daemon, inbound_id: int) -> InboundMessage:
    return next(row for row in inbound(daemon.config.database_url) if row.id == inbound_id)


def test_other_daemons_live_attempt_is_not_a_crash(daemon: Daemon) -> None:
    # Another daemon is on its third try of this mail right now; counting it would
    # make four, which reads as "stopped the daemon 3 times" and quarantines it.
    (mail,) = _store(daemon, mailfactory.complaint(1, sender="ani@example.net"))
    _lease(daemon, mail, ANOTHER_HOST, until=timedelta(minutes=1), attempts=3)

    outcome = daemon.processor.process_stored()

    row = _row(daemon, mail)
    assert outcome.counts.total() == 0
    assert (row.state, row.attempts, row.lease_owner) == ("stored", 3, ANOTHER_HOST)
    assert tickets(daemon.config.database_url) == []


def test_a_try_whose_lease_ran_out_counts_once_and_the_mail_goes_through(daemon: Daemon) -> None:
    (mail,) = _store(daemon, mailfactory.complaint(1, sender="ani@example.net"))
    _lease(daemon, mail, ANOTHER_HOST, until=timedelta(seconds=-1), attempts=1)

    outcome = daemon.processor.process_stored()

    row = _row(daemon, mail)
    assert outcome["processed"] == 1
    assert (row.state, row.attempts, row.lease_owner, row.lease_until) == ("processed", 2, None, None)
    assert len(tickets(daemon.config.database_url)) == 1


def test_the_lease_of_a_daemon_of_this_host_that_died_is_taken_over_at_once(daemon: Daemon) -> None:
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True
    )
    dead = f"{socket.gethostname()}:{int(ended.stdout)}:0badc0de"
    assert owner_has_ended(dead) and not owner_has_ended(process_owner())
    (mail,) = _store(daemon, mailfactory.complaint(1, sender="ani@example.net"))
    _lease(daemon, mail, dead, until=timedelta(minutes=2), attempts=1)

    assert daemon.processor.process_stored()["processed"] == 1
    assert _row(daemon, mail).attempts == 2


def test_an_earlier_process_with_this_pid_is_not_this_process() -> None:
    # A container restarted: the same host name and pid 1, but not the same process.
    host, pid, _token = process_owner().split(":")
    assert owner_has_ended(f"{host}:{pid}:ffffffff")
    assert not owner_has_ended(f"{host}:{pid}")  # the form of before: cannot tell, waited out


def test_a_reply_waits_while_another_daemon_holds_the_mail_it_answers(daemon: Daemon) -> None:
    # The other daemon's ticket for the complaint is not committed yet: the reply would
    # find no ticket and open a second one (two tickets, two acknowledgements).
    complaint = mailfactory.complaint(1, sender="ani@example.net", message_id="<first.1@example.net>")
    threading_headers = {"In-Reply-To": "<first.1@example.net>", "References": "<first.1@example.net>"}
    reply = mailfactory.complaint(
        2, sender="ani@example.net", subject="Re: pesanan saya", extra_headers=threading_headers
    )
    first, second = _store(daemon, complaint, reply)
    _lease(daemon, first, ANOTHER_HOST, until=timedelta(minutes=1), attempts=1)

    outcome = daemon.processor.process_stored()

    assert outcome["left_for_later"] == 1
    assert (_row(daemon, second).state, _row(daemon, second).attempts) == ("stored", 0)
    assert tickets(daemon.config.database_url) == []
    # That daemon's lease runs out: the complaint is taken over, then the reply joins its ticket.
    _lease(daemon, first, ANOTHER_HOST, until=timedelta(seconds=-1), attempts=1)
    daemon.processor.process_stored()
    assert [_row(daemon, n).state for n in (first, second)] == ["processed", "processed"]
    (ticket,) = tickets(daemon.config.database_url)
    assert {_row(daemon, n).ticket_id for n in (first, second)} == {ticket.id}


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_copy_another_daemon_is_processing_waits_and_then_is_a_duplicate(daemon: Daemon) -> None:
    # SQLite has one writer at a time: there another copy can never be in flight.
    raw = mailfactory.complaint(1, sender="ani@example.net")
    # The same mail fetched from the mailbox and piped to `caredesk ingest`.
    first, second = _store(daemon, raw, source="maildir:/one") + _store(daemon, raw, source="ingest")
    other = db.session(daemon.engine)
    try:
        row = other.get(InboundMessage, first)
        assert row is not None and ticket_store.hold_content(other, row)
        outcome = daemon.processor.process_stored()
        assert outcome["left_for_later"] == 2
        assert [_row(daemon, n).attempts for n in (first, second)] == [0, 0]
    finally:
        other.rollback()
        other.close()
    daemon.processor.process_stored()
    states = sorted(_row(daemon, n).state for n in (first, second))
    assert states == ["duplicate", "processed"]
    assert len(tickets(daemon.config.database_url)) == 1


def test_the_same_mail_stored_by_two_daemons_at_once_is_one_row(daemon: Daemon) -> None:
    raw = mailfactory.complaint(1, sender="ani@example.net")
    fetched = [queries.Fetched(key="1234:7", raw=raw, uidvalidity=1234, uid=7)]
    first = db.session(daemon.engine)
    try:
        source = "imap://care@mail:143/INBOX"
        assert queries.record_fetched(first, source, fetched, received_at=clock.now()) == 1
        inserted: list[int] = []

        def other_daemon() -> None:
            with db.session(daemon.engine) as session:
                inserted.append(queries.record_fetched(session, source, fetched, received_at=clock.now()))
                session.commit()

        racing = threading.Thread(target=other_daemon)
        racing.start()
        racing.join(0.5)  # it waits for our insert to commit (PostgreSQL) or for the write lock
        first.commit()
        racing.join(30)
        assert inserted == [0]
    finally:
        first.close()
    assert len(inbound(daemon.config.database_url)) == 1


def test_ticket_numbers_continue_after_the_old_counter(daemon: Daemon) -> None:
    with db.session(daemon.engine) as session:
        session.add(ReferenceCounter(key="CC-2026", value=41))
        session.commit()
        first = queries.next_reference(session, "CC", 2026)
        second = queries.next_reference(session, "CC", 2026)
        other_year = queries.next_reference(session, "CC", 2027)
        session.commit()
    assert (first, second, other_year) == ("CC-2026-000042", "CC-2026-000043", "CC-2027-000001")


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_ticket_numbers_do_not_wait_for_another_batch_to_commit(daemon: Daemon) -> None:
    batch = db.session(daemon.engine)
    try:
        assert queries.next_reference(batch, "CC", 2026) == "CC-2026-000001"
        # The batch has not committed; another daemon making a ticket must not wait for it.
        with db.session(daemon.engine) as other:
            other.execute(text("SET LOCAL lock_timeout = '2s'"))
            assert queries.next_reference(other, "CC", 2026) == "CC-2026-000002"
            other.commit()
        batch.rollback()
    finally:
        batch.close()
    with db.session(daemon.engine) as session:
        # The number of the batch that rolled back is not handed out again: a gap, never a double.
        assert queries.next_reference(session, "CC", 2026) == "CC-2026-000003"
