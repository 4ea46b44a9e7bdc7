"""Several daemons on one PostgreSQL and one mailbox: each complaint one ticket and one acknowledgement.

Three `caredesk run` processes share a Dovecot mailbox, an SMTP sink and a
PostgreSQL schema. One of them holds the mailbox's poller lock and fetches; all
three claim stored mail in leased chunks, process it and send. Every few seconds
one of them is killed with SIGKILL in the middle of making tickets, and a new one
is started in its place. At the end every complaint is exactly one ticket with one
acknowledgement at the sink, nothing is quarantined, and the invariants of
reliability.md §7 hold.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from contextlib import ExitStack
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import col

from daemon.store import db
from daemon.store.leases import owner_has_ended
from daemon.store.models import InboundMessage
from tests.faults.harness import Corpus, DaemonProcess, check_invariants, fault_config, settled, wait_until
from tests.integration.helpers import inbound, outbound, tickets
from tests.servers import Dovecot, SmtpSink

pytestmark = pytest.mark.integration

MAILS = 600
DAEMONS = 3
KILLS = 3
SEED = 20261202
SETTLE_TIMEOUT = 150.0
FAILOVER_LIMIT = 30.0
TICKET_LINE = "ticket CC-"
BACKLOG = 400
"""Mails in the backlog of the news test: twenty batches of 20."""


def _kill_one_making_tickets(daemons: list[DaemonProcess], rng: random.Random) -> int:
    """SIGKILL the first daemon to log a new ticket (it is mid-batch, not mid-SMTP); its index.

    When no daemon makes a ticket for 20 s (the work is done), a random one is killed.
    """
    seen = [len(daemon.lines) for daemon in daemons]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for index, daemon in enumerate(daemons):
            lines = daemon.lines
            if any(TICKET_LINE in line for line in lines[seen[index] :]):
                daemon.kill()
                return index
            seen[index] = len(lines)
        time.sleep(0.005)
    index = rng.randrange(len(daemons))
    daemons[index].kill()
    return index


def _no_suspects(database_url: str) -> bool:
    """Whether no waiting mail holds a try that was lost (its daemon died) or is a retry of one.

    A fresh chunk in a live daemon's hands counts its try too, but is no suspect.
    """
    engine = db.make_engine(database_url)
    try:
        db.create_schema(engine)  # as the helpers do: the daemons may not have made it yet
        with engine.connect() as connection:
            waiting = select(col(InboundMessage.attempts), col(InboundMessage.lease_owner)).where(
                col(InboundMessage.state).in_(("stored", "retry")), col(InboundMessage.attempts) > 0
            )
            rows = connection.execute(waiting).all()
    finally:
        engine.dispose()
    return not any(tries > 1 or owner is None or owner_has_ended(owner) for tries, owner in rows)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_three_daemons_with_random_sigkills_make_each_ticket_once(
    tmp_path: Path, database_url: str, dovecot: Dovecot, smtp_sink: SmtpSink
) -> None:
    corpus = Corpus()
    dovecot.append_many(corpus.complaint_mails(MAILS))
    config = fault_config(
        tmp_path, database_url=database_url, mailbox_url=dovecot.url, smtp_url=smtp_sink.url, batch_size=50
    )
    rng = random.Random(SEED)
    started = time.monotonic()
    killed_at: list[str] = []
    with ExitStack() as running:
        daemons = [running.enter_context(DaemonProcess(config)) for _ in range(DAEMONS)]
        for _ in range(KILLS):
            time.sleep(rng.uniform(0.5, 3.0))
            # The mails the last kill interrupted are tried again one by one first: a
            # mail in hand at three kills is quarantined by design, so the next kill
            # waits until they are through and lands among fresh mail.
            wait_until(partial(_no_suspects, database_url), 60, "the interrupted mails retried", 0.2)
            victim = _kill_one_making_tickets(daemons, rng)
            killed_at.append(
                f"#{victim} at {time.monotonic() - started:.1f}s, {len(tickets(database_url))} tickets"
            )
            daemons[victim] = running.enter_context(DaemonProcess(config))
        took = wait_until(
            lambda: settled(database_url, dovecot), SETTLE_TIMEOUT, "every mail settled", step=0.5
        )
        pollers = [daemon.count("this daemon now polls") for daemon in daemons]
    wall = time.monotonic() - started

    rows = inbound(database_url)
    held = [(row.id, row.attempts, row.stage, row.error) for row in rows if row.state == "quarantined"]
    assert not held, f"healthy mail quarantined: {held}"
    state = check_invariants(corpus, database_url, dovecot, smtp_sink, final=True)
    made = tickets(database_url)
    acks = {row.message_id: row.ticket_id for row in outbound(database_url) if row.kind == "ack"}
    acks_received = Counter(message_id for message_id, _to in state.sent if message_id in acks)
    assert len(made) == MAILS
    assert len({ticket.reference for ticket in made}) == MAILS
    assert Counter(row.state for row in rows) == Counter({"processed": MAILS})
    assert len(acks_received) == MAILS, f"{MAILS - len(acks_received)} acknowledgements never arrived"
    assert set(acks_received.values()) == {1}, "an acknowledgement arrived twice"
    assert len(set(acks.values())) == MAILS  # one acknowledgement per ticket
    assert sum(pollers) >= 1
    print(
        f"\n{DAEMONS} daemons, {MAILS} mails, {KILLS} SIGKILLs ({'; '.join(killed_at)}): "
        f"settled {took:.1f}s after the last restart, {wall:.1f}s in all; "
        f"max tries on a mail {max(row.attempts for row in rows)}"
    )


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("poll_interval", [1, 60])
def test_two_daemons_one_poller_failover_under_30s(
    tmp_path: Path, database_url: str, dovecot: Dovecot, smtp_sink: SmtpSink, poll_interval: int
) -> None:
    """Also with a poll interval of a minute: the daemon that polls nothing asks for the lock
    after each quiet wait (at most 5 s), since it waits on the news of stored mail, not on
    the mailbox."""
    corpus = Corpus()
    config = fault_config(
        tmp_path,
        database_url=database_url,
        mailbox_url=dovecot.url,
        smtp_url=smtp_sink.url,
        poll_interval=poll_interval,
    )
    with ExitStack() as running:
        first = running.enter_context(DaemonProcess(config))
        first.wait_for("this daemon now polls")
        second = running.enter_context(DaemonProcess(config))
        second.wait_for("another daemon polls")
        dovecot.append_many(corpus.complaint_mails(2))
        wait_until(lambda: len(tickets(database_url)) == 2, 30, "the first two tickets")
        assert second.count(" new of ") == 0, "the daemon without the lock fetched mail"

        first.kill()
        killed = time.monotonic()
        dovecot.append_many(corpus.complaint_mails(2))
        second.wait_for("this daemon now polls", timeout=FAILOVER_LIMIT)
        wait_until(lambda: len(tickets(database_url)) == 4, FAILOVER_LIMIT, "the tickets after the failover")
        took = time.monotonic() - killed
    assert took < FAILOVER_LIMIT
    check_invariants(corpus, database_url, dovecot, None, final=False)
    print(f"\nthe second daemon polled and made the new tickets {took:.1f}s after the first was killed")


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_the_daemon_without_the_lock_takes_its_share_of_a_backlog_at_once(
    tmp_path: Path, database_url: str, dovecot: Dovecot, smtp_sink: SmtpSink
) -> None:
    """With a poll interval of a minute, a second daemon started while the first drains a
    backlog makes a good share of its tickets: the poller's stored batches wake it
    (LISTEN/NOTIFY). Without the news it takes what is stored when it starts (a batch or
    two) and then waits for its next poll, a minute later."""
    corpus = Corpus()
    config = fault_config(
        tmp_path,
        database_url=database_url,
        mailbox_url=dovecot.url,
        smtp_url=smtp_sink.url,
        batch_size=20,
        poll_interval=60,
    )
    with ExitStack() as running:
        first = running.enter_context(DaemonProcess(config))
        first.wait_for("this daemon now polls")
        dovecot.append_many(corpus.complaint_mails(BACKLOG))
        appended = time.monotonic()
        first.wait_for(" new of ")
        second = running.enter_context(DaemonProcess(config))
        took = wait_until(lambda: settled(database_url, dovecot), 50, "the backlog settled", step=0.2)
        shares = [first.count(TICKET_LINE), second.count(TICKET_LINE)]
        assert second.count("another daemon polls") == 1
    assert time.monotonic() - appended < 55  # before the second daemon's own next poll
    assert sum(shares) == BACKLOG
    assert shares[1] > BACKLOG // 4, f"the second daemon made {shares[1]} tickets: it waited for its poll"
    assert second.count(" new of ") == 0, "the daemon without the lock fetched mail"
    check_invariants(corpus, database_url, dovecot, smtp_sink, final=True)
    print(f"\n{BACKLOG} mails settled in {took:.1f}s; tickets made by each daemon: {shares}")
