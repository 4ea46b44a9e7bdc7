"""An unreachable mailbox is retried with backoff and logged as one outage, not a flood."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from daemon.app.service import Daemon
from daemon.config import load_config
from tests.clockpin import config_variables
from tests.integration.helpers import write_config


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port that refuses connections for the whole test.

    The socket stays bound but never listens: a connection gets "refused", and
    no other server (another xdist worker's Dovecot) can take the port meanwhile.
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        yield int(probe.getsockname()[1])


def test_unreachable_mailbox_backs_off_and_recovers(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    dovecot: object,
    closed_port: int,
) -> None:
    for name in config_variables():
        monkeypatch.delenv(name)
    port = closed_port
    config = load_config(
        write_config(
            tmp_path,
            database_url=f"sqlite:///{tmp_path / 'c.db'}",
            mailbox_url=f"imap://care@127.0.0.1:{port}/INBOX",
            smtp_url=f"file:{tmp_path / 'out'}",
            poll_interval=10,
        )
    )
    now = [datetime(2026, 11, 23, 2, 0, tzinfo=UTC)]
    caplog.set_level(logging.INFO, logger="caredesk.service")
    with Daemon(config, clock=lambda: now[0]) as daemon:
        tries = []
        for _second in range(0, 80, 5):
            tries.append(daemon.poll_mailbox().get("mailbox_errors", 0))
            now[0] += timedelta(seconds=5)
        # Tries at 0, 10, 30 and 70 s: the waits double from the poll interval.
        assert [i * 5 for i, tried in enumerate(tries) if tried] == [0, 10, 30, 70]
        errors = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert len(errors) == 1 and "unavailable" in errors[0].getMessage()

        # The server comes back (the real Dovecot fixture stands in for it).
        daemon.intake.mailbox_factory = _factory_for(daemon, dovecot)
        now[0] += timedelta(minutes=5)
        assert "mailbox_errors" not in daemon.poll_mailbox()
    assert any("reachable again after 4 failed tries" in r.getMessage() for r in caplog.records)


def _factory_for(daemon: Daemon, dovecot: object) -> object:
    from dataclasses import replace

    from daemon.fetch.imap import ImapMailbox

    settings = replace(daemon.config.mailbox, url=dovecot.url, password="carepass")  # type: ignore[attr-defined]
    return lambda: ImapMailbox(settings)
