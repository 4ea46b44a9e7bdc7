"""A rule regex that backtracks for ever neither passes `rules check` nor hangs the daemon."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from daemon.cli import main
from tests import mailfactory
from tests.integration.helpers import PROJECT, inbound, tickets, write_config
from tests.integration.test_daemon_process import _start, _wait, _wait_for_output

pytestmark = pytest.mark.integration

NESTED = r"^(\d+)+$"
# Not a nested repeat, so the check lets it through, yet exponential on a
# line of digits that does not end as it expects: the run-time limit's case.
OVERLAPPING = r"(?:\d|\d\d)+$"


def _rules_with(pattern: str, folder: Path) -> tuple[Path, int]:
    """The shipped rules.yaml with one more rule matching `pattern`; and the line it is on."""
    shipped = (PROJECT / "rules.yaml").read_text(encoding="utf-8")
    rule = (
        "  - name: order-number-only\n"
        "    description: A subject that is only an order number\n"
        "    when:\n"
        f"      subject: {{regex: '{pattern}'}}\n"
        "    then:\n"
        "      tags: [order-number]\n"
    )
    path = folder / "rules.yaml"
    path.write_text(shipped.rstrip("\n") + "\n\n" + rule, encoding="utf-8")
    line = len(shipped.rstrip("\n").splitlines()) + 1 + 4
    return path, line


def test_rules_check_refuses_nested_quantifier_with_line(tmp_path: Path, capsys: Any) -> None:
    path, line = _rules_with(NESTED, tmp_path)
    assert main(["rules", "check", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"{path}:{line}:" in out, out
    assert "nested quantifier" in out and NESTED in out, out
    assert "error" in out


def test_rule_running_out_of_time_is_a_routing_error_not_a_hang(
    tmp_path: Path, database_url: str, smtp_sink: Any
) -> None:
    rules, _ = _rules_with(OVERLAPPING, tmp_path)
    assert main(["rules", "check", str(rules)]) == 0
    maildir = tmp_path / "mail"
    (maildir / "new").mkdir(parents=True)
    hostile = mailfactory.complaint(0, sender="hostile@example.net", subject="4" * 64 + "!")
    ordinary = mailfactory.complaint(1, sender="ordinary@example.net")
    (maildir / "new" / "1.hostile.eml").write_bytes(hostile)
    (maildir / "new" / "2.ordinary.eml").write_bytes(ordinary)
    config = write_config(
        tmp_path,
        database_url=database_url,
        mailbox_url=f"maildir:{maildir}",
        smtp_url=smtp_sink.url,
        rules=rules,
    )
    process = _start(config)
    try:
        _wait(lambda: _states(database_url) == ["processed", "quarantined"], 90, "both mails recorded")
        [held] = [row for row in inbound(database_url) if row.state == "quarantined"]
        assert b"hostile@example.net" in held.raw and held.stage == "route"
        assert held.error is not None and "ran out of time" in held.error and OVERLAPPING in held.error
        assert [t.customer_email for t in tickets(database_url)] == ["ordinary@example.net"]
        process.send_signal(signal.SIGTERM)
        # Stopped, work finished and logged, within 5 s; the interpreter's own
        # teardown afterwards is not caredesk's and takes what the machine gives it.
        _wait_for_output(process, "caredesk stopped", 5)
        try:
            code = process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            raise AssertionError("caredesk said it stopped but did not exit") from None
        assert code == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()  # closes the pipe


def _states(database_url: str) -> list[str]:
    return sorted(row.state for row in inbound(database_url))
