"""IMAP faults: Dovecot restarted mid-run, a connection cut in the middle of a big FETCH, a
server that stops answering, and a UIDVALIDITY change with mail already seen.

The daemon runs as `caredesk run` (polling every second) and must log the
mailbox as unavailable, keep running, reconnect and finish every mail once;
nothing may leave INBOX before its row is committed (reliability.md §1.3, §7).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.faults.harness import (
    Corpus,
    DaemonProcess,
    check_invariants,
    fault_config,
    id_of,
    imap_url,
    recover,
    run_once,
    settled,
    states,
    wait_until,
)
from tests.faults.proxy import TcpProxy
from tests.integration.helpers import inbound, tickets
from tests.servers import Dovecot, SmtpSink

pytestmark = pytest.mark.integration

UNAVAILABLE = "unavailable"
BACK = "mailbox reachable again"


def _database(folder: Path) -> str:
    return f"sqlite:///{folder}/caredesk.db"


def test_dovecot_restarted_mid_run_is_logged_and_every_mail_finishes_once(
    tmp_path: Path, dovecot: Dovecot, smtp_sink: SmtpSink
) -> None:
    database = _database(tmp_path)
    corpus = Corpus()
    dovecot.append_many(corpus.complaint_mails(200), direct=True)
    config = fault_config(
        tmp_path, database_url=database, mailbox_url=dovecot.url, smtp_url=smtp_sink.url, batch_size=20
    )

    with DaemonProcess(config) as daemon:
        daemon.wait_for("stored 20 new", 2)
        dovecot.restart()
        daemon.wait_for(UNAVAILABLE)
        daemon.wait_for(BACK)
        wait_until(lambda: settled(database, dovecot), 120, "all 200 mails finished")
        assert daemon.process.poll() is None, "the daemon stopped"
        assert daemon.terminate() == 0

    check_invariants(corpus, database, dovecot, smtp_sink, final=True)
    assert daemon.count("ERROR") == 1, daemon.output


def test_imap_connection_cut_in_the_middle_of_a_big_fetch(
    tmp_path: Path, dovecot: Dovecot, imap_proxy: TcpProxy, smtp_sink: SmtpSink
) -> None:
    """40 mails with a 200 KB photo each are fetched in one FETCH (~11 MB); the
    proxy cuts the connection after 2 MB and refuses new ones until the test
    has looked: nothing of the batch is stored, nothing left INBOX."""
    database = _database(tmp_path)
    corpus = Corpus()
    dovecot.append_many(corpus.complaint_mails(40, attachment_bytes=200_000), direct=True)

    def cut() -> None:
        imap_proxy.refuse()
        imap_proxy.cut()

    was_cut = imap_proxy.when_server_sent(2_000_000, cut)
    config = fault_config(
        tmp_path, database_url=database, mailbox_url=imap_url(imap_proxy, dovecot), smtp_url=smtp_sink.url
    )

    with DaemonProcess(config) as daemon:
        line = daemon.wait_for(UNAVAILABLE)
        assert was_cut.is_set()
        assert inbound(database) == []
        assert dovecot.count("INBOX") == 40
        imap_proxy.accept()
        daemon.wait_for(BACK)
        wait_until(lambda: settled(database, dovecot), 60, "all 40 mails finished")
        assert daemon.terminate() == 0

    assert "abort" in line or "EOF" in line or "reset" in line, line
    check_invariants(corpus, database, dovecot, smtp_sink, final=True)
    assert daemon.count("stored 40 new of 40") == 1, daemon.output


def test_imap_server_that_stops_answering_mid_fetch_times_out_and_is_retried(
    tmp_path: Path, dovecot: Dovecot, imap_proxy: TcpProxy, smtp_sink: SmtpSink
) -> None:
    """The server's answer to the body FETCH never comes (``[mailbox] timeout = 2``)."""
    database = _database(tmp_path)
    corpus = Corpus()
    dovecot.append_many(corpus.complaint_mails(10))
    stalled_at: list[float] = []

    def hang() -> None:
        stalled_at.append(time.monotonic())
        imap_proxy.stall("down")

    imap_proxy.when_client_sends(b"BODY.PEEK[]", hang)
    config = fault_config(
        tmp_path,
        database_url=database,
        mailbox_url=imap_url(imap_proxy, dovecot),
        smtp_url=smtp_sink.url,
        mailbox="timeout = 2",
    )

    with DaemonProcess(config) as daemon:
        daemon.wait_for(UNAVAILABLE)
        noticed_after = time.monotonic() - stalled_at[0]
        assert inbound(database) == []
        imap_proxy.resume()
        daemon.wait_for(BACK)
        wait_until(lambda: settled(database, dovecot), 60, "all 10 mails finished")
        assert daemon.terminate() == 0

    check_invariants(corpus, database, dovecot, smtp_sink, final=True)
    assert 1.5 < noticed_after < 6, f"the hang was noticed after {noticed_after:.1f}s"


def test_uidvalidity_change_rescans_without_duplicate_tickets(
    tmp_path: Path, dovecot: Dovecot, imap_proxy: TcpProxy, smtp_sink: SmtpSink
) -> None:
    """Mail already processed (moved back into INBOX by a person) and mail stored
    but not yet moved are all in INBOX when the UIDVALIDITY changes: every one is
    read again, recognised as seen, marked `duplicate` and moved; no new ticket,
    no second acknowledgement."""
    database = _database(tmp_path)
    corpus = Corpus()
    config = fault_config(
        tmp_path, database_url=database, mailbox_url=imap_url(imap_proxy, dovecot), smtp_url=smtp_sink.url
    )
    dovecot.append_many(corpus.complaint_mails(10, prefix="a"))
    run_once(config)
    assert dovecot.count("Processed") == 10

    # Five more are stored and processed, but the MOVE never reaches the server.
    dovecot.append_many(corpus.complaint_mails(5, prefix="b"))
    imap_proxy.when_client_sends(b"UID MOVE", imap_proxy.cut)
    run_once(config)
    assert dovecot.count("INBOX") == 5
    assert states(inbound(database)) == {"processed": 15}
    # A person drags four handled complaints back into INBOX.
    with dovecot.connection() as client:
        client.select_folder("Processed")
        client.move(sorted(client.search("ALL"))[:4], "INBOX")
    before = dovecot.uidvalidity()
    dovecot.reset_uidvalidity()
    assert dovecot.uidvalidity() != before

    outputs = recover(config, database, dovecot)

    state = check_invariants(corpus, database, dovecot, smtp_sink, final=True, allow_duplicates=True)
    assert len(tickets(database)) == 15
    seen_again = sorted(str(id_of(row.raw)) for row in state.rows if row.state == "duplicate")
    assert seen_again == sorted(["a0", "a1", "a2", "a3", "b10", "b11", "b12", "b13", "b14"])
    assert "UIDVALIDITY" in "".join(outputs)
    assert len(smtp_sink.messages) == 30
