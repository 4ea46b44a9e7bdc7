"""SIGKILL at six points of a 500-mail run, then restarts until done: nothing lost, nothing doubled.

Each test appends 500 mails (495 complaints, 5 out-of-office replies that must
never be answered), starts `caredesk run` as a process and kills it
with SIGKILL (no handler, no flush, no rollback but the database's own) at one
point, chosen by an event: a log line, or for the move to Processed the proxy
seeing the `UID MOVE` command go to Dovecot. Right after the kill the invariants
that must hold at every moment are checked; then `run --once` is restarted until
nothing is left and the full set is checked (reliability.md §1.3 and §7).

The six points run on SQLite; one of them runs on PostgreSQL as well.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.faults.harness import (
    Corpus,
    DaemonProcess,
    check_invariants,
    fault_config,
    imap_url,
    recover,
    settled,
)
from tests.faults.proxy import TcpProxy
from tests.servers import Dovecot, SmtpSink

pytestmark = pytest.mark.integration

MAILS = 500
AUTOMATED = 5
BATCH = 50
SEED = 20261121


@dataclass(frozen=True)
class KillPoint:
    """Wait for this moment in a running daemon, then SIGKILL it."""

    name: str
    wait: Callable[[DaemonProcess, TcpProxy], None]


def _on_line(text: str, count: int = 1) -> Callable[[DaemonProcess, TcpProxy], None]:
    def wait(daemon: DaemonProcess, _proxy: TcpProxy) -> None:
        daemon.wait_for(text, count)

    return wait


def _during_second_move(daemon: DaemonProcess, proxy: TcpProxy) -> None:
    """Kill the daemon the moment its second `UID MOVE` reaches the proxy.

    The kill happens on the proxy thread before the command is passed on, and
    the command is then passed on: Dovecot moves the batch, the daemon never
    hears the answer and never records it - the hardest case for the next run.
    """
    killed = threading.Event()

    def kill() -> None:
        os.kill(daemon.pid, signal.SIGKILL)
        killed.set()

    # Triggers fire once: the first MOVE arms the one that kills.
    proxy.when_client_sends(b"UID MOVE", lambda: proxy.when_client_sends(b"UID MOVE", kill))
    deadline = time.monotonic() + 90
    while not killed.wait(0.2):
        assert daemon.process.poll() is None, f"caredesk exited early:\n{daemon.output[-4000:]}"
        assert time.monotonic() < deadline, f"no second UID MOVE within 90 s:\n{daemon.output[-4000:]}"


def _at_random_line(daemon: DaemonProcess, _proxy: TcpProxy) -> None:
    """A moment chosen by a seeded RNG: the n-th log line, plus up to 20 ms.

    A full run logs ~1,510 lines (10 batches, 495 tickets, 990 sent mails);
    the jitter lets the kill land inside a statement, not only between lines.
    """
    rng = random.Random(SEED)
    line = rng.randint(1, 1500)
    daemon.wait_for("", line)
    time.sleep(rng.uniform(0, 0.02))


POINTS = {
    point.name: point
    for point in (
        KillPoint("a-at-start", _on_line("", 1)),
        KillPoint("b-after-batch-stored", _on_line(f"stored {BATCH} new", 3)),
        KillPoint("c-mid-processing", _on_line("ticket CC-", 125)),
        KillPoint("d-during-move", _during_second_move),
        KillPoint("e-during-delivery", _on_line("sent ack", 100)),
        KillPoint("f-random", _at_random_line),
    )
}


def _mixed_batch(corpus: Corpus) -> list[bytes]:
    """MAILS mails: complaints, with an out-of-office reply (never to be answered) every 100."""
    mails = corpus.complaint_mails(MAILS - AUTOMATED)
    for n in range(AUTOMATED):
        mails.insert(n * 100, corpus.out_of_office(f"away{n}", f"away{n}@example.net"))
    return mails


def crash_and_recover(
    point: KillPoint, folder: Path, database_url: str, dovecot: Dovecot, proxy: TcpProxy, sink: SmtpSink
) -> None:
    corpus = Corpus()
    dovecot.append_many(_mixed_batch(corpus), direct=True)
    config = fault_config(
        folder,
        database_url=database_url,
        mailbox_url=imap_url(proxy, dovecot),
        smtp_url=sink.url,
        batch_size=BATCH,
    )
    started = time.monotonic()
    with DaemonProcess(config) as daemon:
        point.wait(daemon, proxy)
        daemon.kill()
    killed_at = time.monotonic() - started
    at_kill = check_invariants(corpus, database_url, dovecot, sink, final=False)
    assert not settled(database_url, dovecot), "the kill came after the work was done"
    checked_at = time.monotonic() - started

    runs = recover(config, database_url, dovecot)
    recovered_at = time.monotonic() - started

    check_invariants(corpus, database_url, dovecot, sink, final=True)
    print(
        f"\n{point.name}: killed at {killed_at:.1f}s with {at_kill.tickets} tickets, "
        f"INBOX {len(at_kill.folders['INBOX'])}, {len(at_kill.sent)} mails sent; checked at "
        f"{checked_at:.1f}s; recovered in {len(runs)} run(s) at {recovered_at:.1f}s; "
        f"done at {time.monotonic() - started:.1f}s"
    )


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("point", sorted(POINTS))
def test_sigkill_then_restart_loses_and_doubles_nothing(
    point: str,
    tmp_path: Path,
    database_url: str,
    dovecot: Dovecot,
    imap_proxy: TcpProxy,
    smtp_sink: SmtpSink,
) -> None:
    crash_and_recover(POINTS[point], tmp_path, database_url, dovecot, imap_proxy, smtp_sink)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_sigkill_mid_processing_on_postgresql_loses_and_doubles_nothing(
    tmp_path: Path, database_url: str, dovecot: Dovecot, imap_proxy: TcpProxy, smtp_sink: SmtpSink
) -> None:
    crash_and_recover(POINTS["c-mid-processing"], tmp_path, database_url, dovecot, imap_proxy, smtp_sink)
