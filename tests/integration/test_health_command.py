"""`caredesk health --json`, run as a process against databases in each state.

Exit 0 healthy, 1 degraded, 2 down. The daemon (pinned clock, a real Maildir,
a real SMTP server or the file outbox, SQLite and PostgreSQL) makes each state;
`caredesk health` then reads it from another process, as a monitoring check
would. "Unreachable" is port 1 on loopback, where nothing listens.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from daemon import clock
from daemon.app.rules_reload import content_version
from daemon.app.service import Daemon
from daemon.config import load_config
from daemon.store import db, migrations
from tests import mailfactory
from tests.clockpin import DEFAULT_INSTANT, config_variables, daemon_environment, pin_clock
from tests.integration.helpers import PROJECT, write_config
from tests.servers.smtp import SmtpSink

pytestmark = pytest.mark.integration

T = DEFAULT_INSTANT
UNREACHABLE = "postgresql+psycopg://caredesk:pw@127.0.0.1:1/test?connect_timeout=5"


@pytest.fixture(autouse=True)
def _no_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the config file written by each test configures caredesk (the clock pin stays)."""
    for name in config_variables():
        monkeypatch.delenv(name)


def site(folder: Path, database_url: str, smtp_url: str | None = None) -> Path:
    return write_config(
        folder,
        database_url=database_url,
        mailbox_url=f"maildir:{folder / 'mail'}",
        smtp_url=smtp_url or f"file:{folder / 'outbox'}",
    )


def drop(folder: Path, name: str, raw: bytes) -> None:
    new = folder / "mail" / "new"
    new.mkdir(parents=True, exist_ok=True)
    (new / name).write_bytes(raw)


def poll(config: Path, monkeypatch: pytest.MonkeyPatch, at: datetime) -> Counter[str]:
    """One `run --once` of the daemon with its clock pinned at `at`."""
    pin_clock(monkeypatch, at)
    with Daemon(load_config(config), clock=clock.now) as daemon:
        return daemon.run_once()


def health(
    config: Path, monkeypatch: pytest.MonkeyPatch, at: datetime, *, as_json: bool = True
) -> tuple[int, Any]:
    """`caredesk health [--json]` as a process whose clock reads `at`; the exit code and the report."""
    pin_clock(monkeypatch, at)
    args = [sys.executable, "-m", "daemon", "health", "--config", str(config)]
    result = subprocess.run(
        [*args, "--json"] if as_json else args,
        env=daemon_environment() | {"CAREDESK_LOG_LEVEL": "WARNING"},
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stderr == ""
    return result.returncode, json.loads(result.stdout) if as_json else result.stdout


def test_healthy_after_a_poll(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    config = site(tmp_path, database_url)
    drop(tmp_path, "1.eml", mailfactory.complaint(1))
    assert poll(config, monkeypatch, T)["processed"] == 1

    code, report = health(config, monkeypatch, T + timedelta(seconds=30))
    assert code == 0, report["problems"]
    assert report["status"] == "healthy" and report["problems"] == []
    mailbox = report["mailbox"]["mailboxes"]
    assert [(m["mailbox"], m["configured"]) for m in mailbox] == [(f"maildir:{tmp_path / 'mail'}", True)]
    recorded = datetime.fromisoformat(mailbox[0]["last_success"])
    assert timedelta(0) <= recorded - T < timedelta(seconds=30)
    # The pinned clocks tick: the poll was recorded as long after T as the poll took (over a
    # second on a loaded machine), and `health` read its clock after its own start-up.
    since = (T + timedelta(seconds=30) - recorded).total_seconds()
    assert since - 1 <= mailbox[0]["last_success_age_seconds"] < since + 60
    # The file outbox took the acknowledgement and the notice: nothing waits, nothing failed.
    assert report["outbox"] | {"status": "healthy"} == report["outbox"]
    assert (report["outbox"]["backlog"], report["outbox"]["failed"], report["outbox"]["uncertain"]) == (
        0,
        0,
        0,
    )
    assert report["quarantine"]["count"] == 0
    head = migrations.head()
    assert report["database"]["schema"] == {"current": head, "head": head, "pending": 0}
    version = content_version((PROJECT / "rules.yaml").read_text())
    assert (report["rules"]["in_force"], report["rules"]["file"]) == (version, version)
    assert report["token_expiry"]["status"] == "not applicable"
    assert report["token_expiry"]["applicable"] is False

    code, text = health(config, monkeypatch, T + timedelta(seconds=30), as_json=False)
    assert code == 0 and text.splitlines()[0] == "caredesk: healthy"
    assert any(line.split()[:2] == ["token_expiry", "n/a"] for line in text.splitlines())


def test_a_poll_longer_ago_than_five_intervals_is_degraded(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = site(tmp_path, database_url)
    poll(config, monkeypatch, T)
    code, report = health(config, monkeypatch, T + timedelta(minutes=10))
    assert code == 1
    assert report["status"] == "degraded" and report["mailbox"]["status"] == "degraded"
    assert [problem.split(":")[0] for problem in report["problems"]] == ["mailbox"]
    assert report["thresholds"]["poll_degraded_seconds"] == 300


def test_mail_the_smtp_server_refused_for_good_is_degraded(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch, smtp_sink: SmtpSink
) -> None:
    config = site(tmp_path, database_url, smtp_url=smtp_sink.url)
    drop(tmp_path, "1.eml", mailfactory.complaint(1))
    smtp_sink.fail_next(1, code=550, message="5.1.1 mailbox unknown")
    counts = poll(config, monkeypatch, T)
    assert (counts["failed"], counts["sent"]) == (1, 1)

    code, report = health(config, monkeypatch, T + timedelta(seconds=30))
    assert code == 1
    assert report["outbox"]["status"] == "degraded"
    assert (report["outbox"]["failed"], report["outbox"]["failed_recent"]) == (1, 1)
    assert report["mailbox"]["status"] == "healthy"
    assert "caredesk outbox retry" in report["outbox"]["summary"]


def test_outgoing_mail_stuck_behind_an_smtp_outage_is_degraded(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch, smtp_sink: SmtpSink
) -> None:
    config = site(tmp_path, database_url, smtp_url=smtp_sink.url)
    smtp_sink.stop()  # the port refuses connections from now on
    drop(tmp_path, "1.eml", mailfactory.complaint(1))
    poll(config, monkeypatch, T)
    code, report = health(config, monkeypatch, T + timedelta(minutes=1))
    assert code == 0 and report["outbox"]["backlog"] == 2  # waiting, not late yet

    poll(config, monkeypatch, T + timedelta(minutes=20))  # the mailbox is polled, SMTP still down
    code, report = health(config, monkeypatch, T + timedelta(minutes=20, seconds=30))
    assert code == 1
    assert report["mailbox"]["status"] == "healthy"
    outbox = report["outbox"]
    assert (outbox["status"], outbox["backlog"]) == ("degraded", 2)
    assert outbox["oldest_pending_age_seconds"] >= 20 * 60
    assert datetime.fromisoformat(outbox["oldest_pending"]) - T < timedelta(seconds=30)


def test_quarantined_mail_is_degraded(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = site(tmp_path, database_url)
    raw = mailfactory.complaint(1).replace(b"From: Budi Santoso <budi.santoso@example.net>\r\n", b"")
    assert b"\r\nFrom:" not in raw
    drop(tmp_path, "1.eml", raw)
    assert poll(config, monkeypatch, T)["quarantined"] == 1

    code, report = health(config, monkeypatch, T + timedelta(seconds=30))
    assert code == 1
    quarantine = report["quarantine"]
    assert (quarantine["status"], quarantine["count"], quarantine["recent"]) == ("degraded", 1, 1)
    assert "caredesk quarantine list" in quarantine["summary"]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_only_the_daemon_that_polls_the_mailbox_records_a_poll(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two daemons on one PostgreSQL: the one without the poller lock never reads the mailbox."""
    config = site(tmp_path, database_url)
    pin_clock(monkeypatch, T)
    with Daemon(load_config(config), clock=clock.now) as poller:
        poller.run_once()  # takes the poller lock and keeps it
        pin_clock(monkeypatch, T + timedelta(minutes=10))
        with Daemon(load_config(config), clock=clock.now) as other:
            drop(tmp_path, "1.eml", mailfactory.complaint(1))
            assert "fetched" not in other.run_once()  # another daemon polls: it only processes
        code, report = health(config, monkeypatch, T + timedelta(minutes=10, seconds=30))
        assert code == 1 and report["mailbox"]["status"] == "degraded"
        assert report["mailbox"]["mailboxes"][0]["last_success_age_seconds"] >= 10 * 60
        assert poller.run_once()["fetched"] == 1
        code, report = health(config, monkeypatch, T + timedelta(minutes=10, seconds=40))
        assert code == 0 and report["mailbox"]["mailboxes"][0]["last_success_age_seconds"] < 60


def test_a_mailbox_that_cannot_be_reached_is_down_with_its_error(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as closed:  # bound, never listening: connections are refused
        closed.bind(("127.0.0.1", 0))
        port = int(closed.getsockname()[1])
        config = write_config(
            tmp_path,
            database_url=database_url,
            mailbox_url=f"imap://care@127.0.0.1:{port}/INBOX",
            smtp_url=f"file:{tmp_path / 'outbox'}",
        )
        assert poll(config, monkeypatch, T)["mailbox_errors"] == 1
        code, report = health(config, monkeypatch, T + timedelta(seconds=30))
    assert code == 2
    [mailbox] = report["mailbox"]["mailboxes"]
    assert mailbox["mailbox"] == f"imap://care@127.0.0.1:{port}/INBOX"
    assert (mailbox["last_success"], mailbox["configured"]) == (None, True)
    assert datetime.fromisoformat(mailbox["last_failure"]) - T < timedelta(seconds=30)
    assert "Connection refused" in mailbox["last_error"]
    assert "never polled successfully; the last poll failed" in report["mailbox"]["summary"]


def test_a_database_never_polled_is_down(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = site(tmp_path, database_url)
    engine = db.make_engine(database_url)
    try:
        db.upgrade(engine)
    finally:
        engine.dispose()
    code, report = health(config, monkeypatch, T)
    assert code == 2
    assert report["status"] == "down" and report["database"]["status"] == "healthy"
    assert report["mailbox"]["status"] == "down"
    assert "never polled successfully" in report["mailbox"]["summary"]


def test_a_poll_longer_ago_than_thirty_intervals_is_down(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = site(tmp_path, database_url)
    poll(config, monkeypatch, T)
    code, report = health(config, monkeypatch, T + timedelta(hours=2))
    assert code == 2 and report["mailbox"]["status"] == "down"
    assert "last successful poll 2 h ago" in report["mailbox"]["summary"]


def test_an_unreachable_postgresql_is_down(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = site(tmp_path, UNREACHABLE)
    code, report = health(config, monkeypatch, T)
    assert code == 2
    database = report["database"]
    assert (report["status"], database["status"], database["reachable"]) == ("down", "down", False)
    assert "caredesk:***@127.0.0.1:1" in database["error"] and "connection refused" in database["error"]
    assert "pw@" not in json.dumps(report)
    # Without a database only what needs none is reported.
    assert [key for key in report if key not in ("status", "checked_at", "problems", "thresholds")] == [
        "database",
        "rules",
        "token_expiry",
        "delivery",
    ]


def test_a_missing_sqlite_file_is_down_and_not_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "var" / "caredesk.db"
    config = site(tmp_path, f"sqlite:///{missing}")
    code, report = health(config, monkeypatch, T)
    assert code == 2 and report["database"]["reachable"] is False
    assert "does not exist" in report["database"]["error"]
    assert not missing.exists()
