"""A broken acknowledgement template, end to end on aiosmtpd and both databases.

The complaint still becomes a ticket and its department is told; the
acknowledgement is a failed outbox row, the history says so (never
"acknowledged"), `caredesk outbox list` shows it, and after the template is
fixed `caredesk outbox retry --failed` sends it with the Message-ID stored
from the start. A second retry has nothing to do; an unknown id exits 1.
"""

from __future__ import annotations

import getpass
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from daemon import clock
from daemon.app.service import Daemon
from daemon.config import load_config
from tests import mailfactory
from tests.integration.helpers import PROJECT, outbound, run_cli, write_config

pytestmark = pytest.mark.integration

CUSTOMER = "budi.santoso@example.net"
# A misspelt variable passes the start-up check (which gives every variable a
# stand-in) and fails on the first real mail; a template broken while the daemon
# runs fails there too (a broken one at start-up stops the daemon). One removed
# from the site's folder is the shipped one (test_a_site_template_removed_...).
BREAKAGES = ("unknown variable", "syntax error while running")
SYNTAX_ERROR = "{% block subject %}[{{ ticket.reference }] {% endblock %}{% block body %}x{% endblock %}"


def _json(capsys: Any, *args: str) -> Any:
    capsys.readouterr()
    assert run_cli(*args) == 0
    return json.loads(capsys.readouterr().out)


def _process_with_broken_template(breakage: str, config: str, acknowledgement: Path) -> None:
    if breakage == "unknown variable":
        good = acknowledgement.read_text()
        acknowledgement.write_text(good.replace("{{ ticket.reference }}", "{{ ticket_reference }}", 1))
        assert run_cli("--config", config, "run", "--once") == 0
        return
    with Daemon(load_config(config)) as daemon:
        acknowledgement.write_text(SYNTAX_ERROR)
        daemon.run_once()


def _site_with_a_complaint(folder: Path, database_url: str, smtp_sink: Any) -> tuple[str, Path]:
    """A config with its own copy of the templates, and one complaint in its Maildir."""
    templates = folder / "templates"
    shutil.copytree(PROJECT / "templates", templates)
    maildir = folder / "mail"
    (maildir / "new").mkdir(parents=True)
    config = write_config(
        folder,
        database_url=database_url,
        mailbox_url=f"maildir:{maildir}",
        smtp_url=smtp_sink.url,
        extra=f'templates = "{templates}"',
    )
    dropped = maildir / "new" / "1.eml"
    dropped.write_bytes(mailfactory.complaint(1, sender=CUSTOMER))
    # Arrived now on the (pinned) clock: not backlog, so it is acknowledged.
    arrived = clock.now().timestamp()
    os.utime(dropped, (arrived, arrived))
    return str(config), templates


@pytest.mark.parametrize("breakage", BREAKAGES)
def test_a_failed_acknowledgement_is_recorded_listed_and_sent_by_retry(
    breakage: str, tmp_path: Path, database_url: str, smtp_sink: Any, capsys: Any
) -> None:
    config, templates = _site_with_a_complaint(tmp_path, database_url, smtp_sink)
    acknowledgement = templates / "acknowledgement.txt"

    _process_with_broken_template(breakage, config, acknowledgement)

    [ack] = [row for row in outbound(database_url) if row.kind == "ack"]
    assert (ack.state, ack.raw, ack.template) == ("failed", b"", "acknowledgement.txt")
    assert "acknowledgement.txt" in (ack.last_error or "")
    assert [row.state for row in outbound(database_url) if row.kind == "notice"] == ["sent"]
    smtp_sink.wait_for(1)
    assert all(CUSTOMER not in received.rcpt_tos for received in smtp_sink.messages)

    [listed_ticket] = _json(capsys, "--config", config, "tickets", "list", "--json")
    reference = listed_ticket["reference"]
    shown = _json(capsys, "--config", config, "tickets", "show", reference, "--json")
    actions = [event["action"] for event in shown["history"]]
    assert "failed-ack" in actions
    assert "acknowledged" not in actions and "queued-ack" not in actions
    failed = next(event for event in shown["history"] if event["action"] == "failed-ack")
    assert failed["reason"].startswith(f"to {CUSTOMER}: not rendered: template acknowledgement.txt")
    steps = [(event["old"], event["new"]) for event in shown["history"] if event["field"] == "status"]
    assert steps == [(None, "new"), ("new", "assigned")]

    [listed] = _json(capsys, "--config", config, "outbox", "list", "--state", "failed", "--json")
    assert (listed["id"], listed["kind"], listed["recipient"], listed["ticket"]) == (
        ack.id,
        "ack",
        CUSTOMER,
        reference,
    )
    assert listed["rendered"] is False and "acknowledgement.txt" in listed["last_error"]
    capsys.readouterr()
    assert run_cli("--config", config, "outbox", "list") == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:4] == ["ID", "STATE", "KIND", "RECIPIENT"]
    assert any(line.split()[:3] == [str(ack.id), "failed", "ack"] and reference in line for line in table)

    if breakage == "unknown variable":
        # Still broken: says so, exits 1, the row stays failed and nothing is sent.
        capsys.readouterr()
        assert run_cli("--config", config, "outbox", "retry", str(ack.id)) == 1
        assert "still cannot be rendered, stays failed" in capsys.readouterr().out
        assert [row.state for row in outbound(database_url) if row.kind == "ack"] == ["failed"]
        assert len(smtp_sink.messages) == 1

    shutil.copy(PROJECT / "templates" / "acknowledgement.txt", acknowledgement)
    capsys.readouterr()
    assert run_cli("--config", config, "outbox", "retry", "--failed") == 0
    printed = capsys.readouterr().out
    assert f"#{ack.id} ack to {CUSTOMER} ({reference}): rendered again with the current templates" in printed
    assert "now sent" in printed

    [received] = [r for r in smtp_sink.wait_for(2) if CUSTOMER in r.rcpt_tos]
    assert received.message["Message-ID"] == ack.message_id
    assert f"[{reference}]" in received.message["Subject"]
    assert received.message["Auto-Submitted"] == "auto-replied"
    [sent] = [row for row in outbound(database_url) if row.kind == "ack"]
    assert (sent.state, sent.message_id, sent.render_context) == ("sent", ack.message_id, None)
    shown = _json(capsys, "--config", config, "tickets", "show", reference, "--json")
    retried = [event for event in shown["history"] if event["action"] == "retried-ack"]
    assert [event["actor"] for event in retried] == [getpass.getuser()] * (
        2 if breakage == "unknown variable" else 1
    )
    assert retried[-1]["reason"].startswith("rendered again with the current templates; earlier: ")

    capsys.readouterr()
    assert run_cli("--config", config, "outbox", "retry", "--failed") == 0
    assert capsys.readouterr().out.strip() == "no failed outgoing mail"
    assert len(smtp_sink.messages) == 2

    assert run_cli("--config", config, "outbox", "retry", "99999") == 1
    assert "#99999: no such outgoing mail" in capsys.readouterr().out


def test_a_site_template_removed_while_running_is_the_shipped_one(
    tmp_path: Path, database_url: str, smtp_sink: Any
) -> None:
    # The customer still hears from us: the shipped text, not a failed acknowledgement.
    config, templates = _site_with_a_complaint(tmp_path, database_url, smtp_sink)

    with Daemon(load_config(config)) as daemon:
        (templates / "acknowledgement.txt").unlink()
        daemon.run_once()

    [ack] = [row for row in outbound(database_url) if row.kind == "ack"]
    assert ack.state == "sent"
    [received] = [r for r in smtp_sink.wait_for(2) if CUSTOMER in r.rcpt_tos]
    assert "Keluhan Anda telah kami catat" in received.message.get_body().get_content()
