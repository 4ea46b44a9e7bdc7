"""Several mailboxes (`[[mailbox]]`) read by one daemon: two real Dovecot servers, one SMTP sink.

`care` is the customer-care mailbox; `recap` stands for a second address (a
branch-recap mailbox) with its own `reply_from` and `default_department`. Mail
in both becomes tickets, each mailbox keeps its own checkpoint, each
acknowledgement comes From the address of the mailbox its complaint came in
through, and what no rule routes goes to each mailbox's default department.
Then the recap server stops: the care mailbox is still polled, the recap one
backs off alone, and `caredesk health` says which one is stale.
"""

from __future__ import annotations

import email
import email.policy
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from daemon import clock
from daemon.app.service import Daemon
from daemon.config import load_config
from daemon.store.models import MailboxCheckpoint
from tests import mailfactory
from tests.clockpin import DEFAULT_INSTANT, config_variables, daemon_environment, pin_clock
from tests.integration.helpers import CARE_ADDRESS, PROJECT, inbound, table, tickets
from tests.servers.dovecot import Dovecot, find_dovecot, free_port

pytestmark = pytest.mark.integration

RECAP_ADDRESS = "rekap@example.co.id"
RECAP_DEPARTMENT = "keuangan"
"""Not rules.yaml's `default` (customer-care): what the recap mailbox's unrouted mail gets."""
PLAIN = "Selamat siang. Saya ingin menanyakan sesuatu, mohon dihubungi kembali. Terima kasih."
"""A mail no rule and no product word of rules.yaml routes: it takes the default route."""


@pytest.fixture(autouse=True)
def _no_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the config file written by the test configures caredesk (the clock pin stays)."""
    for name in config_variables():
        monkeypatch.delenv(name)


@pytest.fixture
def recap_dovecot(dovecot: Dovecot) -> Iterator[Dovecot]:
    """A second Dovecot server, of user `recap`, beside the `dovecot` fixture's `care`."""
    assert find_dovecot() is not None
    server = Dovecot(user="recap", password="recappass")
    try:
        server.start()
        yield server
    finally:
        server.stop()


def site(
    folder: Path,
    database_url: str,
    care: Dovecot,
    recap: Dovecot,
    smtp_url: str,
    *,
    polls: tuple[int, int] = (1, 30),
) -> Path:
    """The two mailboxes' caredesk.toml; `polls`: their `poll_interval`s."""
    (folder / "care-password").write_text("carepass\n")
    (folder / "recap-password").write_text("recappass\n")
    path = folder / "caredesk.toml"
    path.write_text(
        f"""
address = "{CARE_ADDRESS}"
name = "Customer Care Test"
rules = "{PROJECT / "rules.yaml"}"

[[mailbox]]
name = "care"
url = "{care.url}"
password_file = "care-password"
poll_interval = {polls[0]}

[[mailbox]]
name = "recap"
url = "{recap.url}"
password_file = "recap-password"
poll_interval = {polls[1]}
reply_from = "{RECAP_ADDRESS}"
default_department = "{RECAP_DEPARTMENT}"

[smtp]
url = "{smtp_url}"
retry_base_seconds = 1

[database]
url = "{database_url}"

# Counted only when served (`run --once` and `poll_mailbox` never take the port).
[metrics]
listen = "127.0.0.1:{free_port()}"
"""
    )
    return path


def health(config: Path) -> tuple[int, Any]:
    """`caredesk health --json` as a process, on the pinned clock: the exit code and the report."""
    result = subprocess.run(
        [sys.executable, "-m", "daemon", "health", "--config", str(config), "--json"],
        env=daemon_environment() | {"CAREDESK_LOG_LEVEL": "WARNING"},
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stderr == ""
    return result.returncode, json.loads(result.stdout)


def acknowledgements(smtp_sink: Any) -> dict[str, tuple[str, str]]:
    """Each acknowledgement's recipient -> its From and Reply-To addresses."""
    found = {}
    for received in smtp_sink.messages:
        message = email.message_from_bytes(received.data, policy=email.policy.default)
        if message["Auto-Submitted"] == "auto-replied":
            sender, reply_to = (message[name].addresses[0].addr_spec for name in ("From", "Reply-To"))
            found[received.rcpt_tos[0].lower()] = (sender, reply_to)
    return found


def test_two_mailboxes_are_ticketed_apart_and_one_down_leaves_the_other_polled(
    tmp_path: Path,
    database_url: str,
    dovecot: Dovecot,
    recap_dovecot: Dovecot,
    smtp_sink: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config_path = site(tmp_path, database_url, dovecot, recap_dovecot, smtp_sink.url)
    config = load_config(config_path)
    dovecot.append(mailfactory.complaint(1, sender="ani@example.net", subject="Pertanyaan", body=PLAIN))
    recap_dovecot.append(
        mailfactory.complaint(
            2, sender="bayu@example.net", subject="Pertanyaan", body=PLAIN, to=RECAP_ADDRESS
        )
    )

    pin_clock(monkeypatch, DEFAULT_INSTANT)
    with Daemon(config, clock=clock.now) as daemon:
        first = daemon.run_once()
    assert first["processed"] == 2 and first["mailbox_errors"] == 0

    # Both mails are tickets; what no rule routed went to each mailbox's default.
    by_customer = {ticket.customer_email: ticket for ticket in tickets(database_url)}
    assert by_customer["ani@example.net"].department == "customer-care"
    assert by_customer["bayu@example.net"].department == RECAP_DEPARTMENT
    sources = {row.from_address: row.source for row in inbound(database_url)}
    assert sources == {
        "ani@example.net": f"imap://care@127.0.0.1:{dovecot.port}/INBOX",
        "bayu@example.net": f"imap://recap@127.0.0.1:{recap_dovecot.port}/INBOX",
    }
    # Each mailbox has its own checkpoint, by its identity, and each mail left its own INBOX.
    checkpoints = {row.source: row.last_uid for row in table(database_url, MailboxCheckpoint)}
    assert checkpoints == {source: 1 for source in sources.values()}
    assert (dovecot.count("Processed"), recap_dovecot.count("Processed")) == (1, 1)
    # The acknowledgements come From the address of the mailbox the complaint came in through.
    smtp_sink.wait_for(4)
    assert acknowledgements(smtp_sink) == {
        "ani@example.net": (CARE_ADDRESS, CARE_ADDRESS),
        "bayu@example.net": (RECAP_ADDRESS, RECAP_ADDRESS),
    }

    code, report = health(config_path)
    assert code == 0, report["problems"]
    assert [m["name"] for m in report["mailbox"]["mailboxes"]] == ["care", "recap"]

    # The recap server goes away; six minutes later the care mailbox is polled all the same.
    recap_dovecot.stop(remove_state=False)
    dovecot.append(mailfactory.complaint(3, sender="citra@example.net", subject="Pertanyaan", body=PLAIN))
    later = DEFAULT_INSTANT + timedelta(minutes=6)
    pin_clock(monkeypatch, later)
    with Daemon(config, clock=clock.now) as daemon:
        second = daemon.run_once()
        # The recap mailbox backs off alone (30 s: its own poll_interval): the next poll leaves
        # it waiting, and reads the care one.
        third = daemon.poll_mailbox()
        # The metrics count each mailbox's polls apart, labelled with its identity.
        registry = daemon.monitor.metrics.registry
        polls = {
            (name, outcome): registry.get_sample_value(
                "caredesk_mailbox_polls_total", {"mailbox": sources[customer], "outcome": outcome}
            )
            for name, customer in (("care", "ani@example.net"), ("recap", "bayu@example.net"))
            for outcome in ("succeeded", "failed")
        }
        fetched = registry.get_sample_value(
            "caredesk_mailbox_fetched_mails_total", {"mailbox": sources["ani@example.net"]}
        )
    assert second["mailbox_errors"] == 1 and second["processed"] == 1
    assert third["mailbox_waiting"] == 1 and "mailbox_errors" not in third
    assert polls == {
        ("care", "succeeded"): 2,
        ("care", "failed"): None,
        ("recap", "succeeded"): None,
        ("recap", "failed"): 1,
    }
    assert fetched == 1
    assert {t.customer_email for t in tickets(database_url)} == {
        "ani@example.net",
        "bayu@example.net",
        "citra@example.net",
    }
    checkpoints = {row.source: row.last_uid for row in table(database_url, MailboxCheckpoint)}
    assert checkpoints == {sources["ani@example.net"]: 2, sources["bayu@example.net"]: 1}

    code, report = health(config_path)
    assert code == 1 and report["status"] == "degraded"
    assert report["mailbox"]["status"] == "degraded"
    listed = {m["name"]: m for m in report["mailbox"]["mailboxes"]}
    assert listed["care"]["last_success_age_seconds"] < 60
    assert listed["recap"]["last_success_age_seconds"] > 5 * 60  # the degraded threshold
    assert listed["recap"]["last_error"] and listed["care"]["last_error"] is None
    assert report["mailbox"]["summary"].startswith("care ")
