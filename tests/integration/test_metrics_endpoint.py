"""`[metrics] listen`: the daemon's Prometheus endpoint, scraped over HTTP on loopback.

A pinned-clock daemon polls a real Maildir into SQLite or PostgreSQL; the test
scrapes `/metrics` with urllib and reads it with prometheus_client's own parser,
so the counters (what this daemon did) and the gauges (read from the database
at the scrape) are checked as Prometheus would see them.
"""

from __future__ import annotations

import logging
import socket
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from daemon import clock
from daemon.app.service import Daemon
from daemon.config import load_config
from daemon.store.models import OutboundMessage
from tests import mailfactory
from tests.clockpin import DEFAULT_INSTANT, config_variables, pin_clock
from tests.integration.helpers import CARE_ADDRESS, outbound, write_config
from tests.servers.smtp import SmtpSink

pytestmark = pytest.mark.integration

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture(autouse=True)
def _no_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in config_variables():
        monkeypatch.delenv(name)


@pytest.fixture
def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def daemon(tmp_path: Path, database_url: str, free_port: int) -> Iterator[Daemon]:
    path = write_config(
        tmp_path,
        database_url=database_url,
        mailbox_url=f"maildir:{tmp_path / 'mail'}",
        smtp_url=f"file:{tmp_path / 'outbox'}",
        extra=f'[metrics]\nlisten = "127.0.0.1:{free_port}"\n',
    )
    new = tmp_path / "mail" / "new"
    new.mkdir(parents=True)
    (new / "1.eml").write_bytes(mailfactory.complaint(1))
    (new / "2.eml").write_bytes(mailfactory.complaint(2, sender="sari@example.org", name="Sari"))
    (new / "3.eml").write_bytes(mailfactory.out_of_office(CARE_ADDRESS, sender="rudi@example.com"))
    with Daemon(load_config(path), clock=clock.now) as running:
        yield running


def scrape(port: int) -> Samples:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        assert response.status == 200
        text = response.read().decode("utf-8")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of `name`'s samples whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, have), v in samples.items() if n == name and wanted <= set(have))


def test_a_poll_is_counted_and_the_database_read_at_each_scrape(
    daemon: Daemon, database_url: str, free_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    daemon.serve_metrics()
    before = scrape(free_port)
    assert value(before, "caredesk_mails_processed_total", outcome="processed") == 0
    assert value(before, "caredesk_database_up") == 1

    counts = daemon.run_once()
    assert (counts["fetched"], counts["processed"], counts["ignored"]) == (3, 2, 1)
    samples = scrape(free_port)
    assert value(samples, "caredesk_mails_fetched_total", folder="intake") == 3
    assert value(samples, "caredesk_mails_processed_total", outcome="processed") == 2
    assert value(samples, "caredesk_mails_processed_total", outcome="ignored") == 1
    assert value(samples, "caredesk_mails_processed_total", outcome="quarantined") == 0
    sent = [row for row in outbound(database_url) if row.state == "sent"]
    assert len(sent) >= 4 and total(samples, "caredesk_outgoing_attempts_total", outcome="sent") == len(sent)
    assert value(samples, "caredesk_outgoing_attempts_total", kind="ack", outcome="sent") == 2
    assert value(samples, "caredesk_outgoing_attempts_total", kind="notice", outcome="sent") == _sent(
        sent, "notice"
    )
    assert total(samples, "caredesk_outgoing_attempts_total", outcome="failed") == 0
    assert value(samples, "caredesk_poll_duration_seconds_count") == 1
    # The gauges come from the database: the same for every daemon on it.
    assert value(samples, "caredesk_inbound_mails", state="processed") == 2
    assert value(samples, "caredesk_inbound_mails", state="ignored") == 1
    assert value(samples, "caredesk_outgoing_mails", state="sent") == len(sent)
    assert total(samples, "caredesk_outgoing_unsent_mails") == 0
    assert sum(v for (name, _), v in samples.items() if name == "caredesk_tickets") == 2
    assert value(samples, "caredesk_outbox_backlog") == 0
    assert value(samples, "caredesk_quarantined_mails") == 0
    assert value(samples, "caredesk_sla_overdue_tickets", target="first_response") == 0
    polled = value(samples, "caredesk_mailbox_last_success_timestamp_seconds", mailbox=daemon.poller.identity)
    assert abs(polled - clock.now().timestamp()) < 30

    # Two days on (within the clock guard's 72 hours), nobody answered: the first response is
    # breached (due within one working day), the resolution not yet, and the SLA ladder escalates.
    pin_clock(monkeypatch, DEFAULT_INSTANT + timedelta(days=2))
    later = daemon.run_once()
    samples = scrape(free_port)
    assert value(samples, "caredesk_sla_overdue_tickets", target="first_response") == 2
    assert value(samples, "caredesk_sla_overdue_tickets", target="resolution") == 0
    assert later["sla_escalations"] > 0
    assert value(samples, "caredesk_sla_steps_total", step="escalation") == later["sla_escalations"]
    assert value(samples, "caredesk_poll_duration_seconds_count") == 2

    daemon.close()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", free_port), timeout=2).close()


def test_run_once_serves_nothing(daemon: Daemon, free_port: int) -> None:
    """`run --once` and `ingest` never take the port: only `caredesk run` serves (`run_forever`)."""
    assert daemon.run_once()["processed"] == 2
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", free_port), timeout=2).close()


def test_a_port_already_taken_leaves_the_daemon_running_without_metrics(
    daemon: Daemon, free_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", free_port))
        other.listen()
        with caplog.at_level(logging.ERROR, logger="caredesk.monitor"):
            daemon.serve_metrics()
        assert daemon.monitor.server is None
        errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
        assert errors == [
            f"metrics: cannot listen on 127.0.0.1:{free_port}: Address already in use; "
            "running without metrics"
        ]
        assert daemon.run_once()["processed"] == 2


def _sent(rows: list[OutboundMessage], kind: str) -> int:
    return sum(1 for row in rows if row.kind == kind)


def test_mail_refused_for_good_is_counted_by_kind(
    tmp_path: Path, database_url: str, free_port: int, smtp_sink: SmtpSink
) -> None:
    path = write_config(
        tmp_path,
        database_url=database_url,
        mailbox_url=f"maildir:{tmp_path / 'mail'}",
        smtp_url=smtp_sink.url,
        extra=f'[metrics]\nlisten = "127.0.0.1:{free_port}"\n',
    )
    (tmp_path / "mail" / "new").mkdir(parents=True)
    (tmp_path / "mail" / "new" / "1.eml").write_bytes(mailfactory.complaint(1))
    smtp_sink.fail_next(1, code=550, message="5.1.1 mailbox unknown")
    with Daemon(load_config(path), clock=clock.now) as daemon:
        daemon.serve_metrics()
        assert daemon.run_once()["failed"] == 1
        samples = scrape(free_port)
    [failed] = [row for row in outbound(database_url) if row.state == "failed"]
    assert value(samples, "caredesk_outgoing_attempts_total", kind=failed.kind, outcome="failed") == 1
    assert value(samples, "caredesk_outgoing_unsent_mails", kind=failed.kind, state="failed") == 1
    assert total(samples, "caredesk_outgoing_attempts_total", outcome="sent") == 1
