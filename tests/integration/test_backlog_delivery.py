"""A backlog is answered while it drains, on a real SMTP server and both databases (issue 17).

Five complaints wait in the Maildir and the daemon reads two a batch. The first
acknowledgements reach the SMTP server while three complaints are still to be
processed, not after the last batch; the next batch is stored before they go, so
another daemon on the database has mail to process meanwhile. Every mail still
goes out exactly once. While the mail
server is down the daemon does not knock on it between batches: one try during
the poll, then the deliveries after it, as before.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

import pytest

from daemon import clock
from daemon.app.service import Daemon
from daemon.config import load_config
from daemon.store.vocabulary import OutboundState
from tests import mailfactory
from tests.integration.helpers import inbound, maildir_desk, outbound, tickets
from tests.servers import SmtpSink

pytestmark = pytest.mark.integration

BACKLOG = 5
BATCH = 2


def _customer(n: int) -> str:
    return f"pelanggan{n}@example.net"


def _backlog(folder: Path, monkeypatch: Any, database_url: str, smtp_url: str) -> Path:
    """A desk reading `BATCH` mails a batch from a Maildir holding `BACKLOG` complaints."""
    config, maildir = maildir_desk(folder, monkeypatch, database_url=database_url, smtp_url=smtp_url)
    config.write_text(config.read_text().replace("batch_size = 50", f"batch_size = {BATCH}"))
    arrived = clock.now().timestamp()
    for n in range(BACKLOG):
        dropped = maildir / "new" / f"{n}.eml"
        dropped.write_bytes(mailfactory.complaint(n, sender=_customer(n)))
        os.utime(dropped, (arrived + n, arrived + n))
    return config


def test_acknowledgements_go_out_while_the_backlog_drains(
    tmp_path: Path, monkeypatch: Any, database_url: str, smtp_sink: SmtpSink
) -> None:
    config = _backlog(tmp_path, monkeypatch, database_url, smtp_sink.url)
    customers = {_customer(n) for n in range(BACKLOG)}
    when_acknowledged: list[tuple[int, int]] = []

    def count_stored(received: Any) -> None:
        # On the server's thread, before the daemon hears 250: the mails stored and the
        # tickets made by then.
        if received.rcpt_tos[0] in customers:
            when_acknowledged.append((len(inbound(database_url)), len(tickets(database_url))))

    smtp_sink.on_message = count_stored
    with Daemon(load_config(config)) as daemon:
        counts = daemon.run_once()

    # Batch by batch: the first two answered with two tickets made (and the next two mails
    # stored already), the next two with four, the last once the poll is over.
    assert when_acknowledged == [(4, 2), (4, 2), (5, 4), (5, 4), (5, 5)]
    rows = outbound(database_url)
    assert {row.state for row in rows} == {OutboundState.SENT}
    assert counts["sent"] == len(rows) == len(smtp_sink.messages)
    message_ids = [received.message["Message-ID"] for received in smtp_sink.messages]
    assert len(set(message_ids)) == len(message_ids), "a mail went out twice"
    assert sorted(row.recipient for row in rows if row.recipient in customers) == sorted(customers)
    assert len(tickets(database_url)) == BACKLOG


def test_a_mail_server_that_is_down_is_tried_once_during_the_poll(
    tmp_path: Path, monkeypatch: Any, database_url: str
) -> None:
    # A loopback port nobody listens on: every connection is refused at once.
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    config = _backlog(tmp_path, monkeypatch, database_url, f"smtp://127.0.0.1:{port}")
    with Daemon(load_config(config)) as daemon:
        counts = daemon.run_once()
        tries = sum(daemon.outbox.attempts.values())

    # Two full batches, so two pauses after them: only the first tries the server. Then
    # the delivery after the poll and the one after the periodic jobs, one try each.
    assert tries == 3
    assert counts["processed"] == BACKLOG
    rows = outbound(database_url)
    # The probed mail stays due (retry), the rest were handed back untried (pending).
    assert rows and {row.state for row in rows} == {OutboundState.RETRY, OutboundState.PENDING}
    assert {row.attempts for row in rows} == {0}, "an unreachable server costs a mail no try"
