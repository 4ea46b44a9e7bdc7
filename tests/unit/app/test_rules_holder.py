"""Hot reload of rules.yaml: valid changes swap in, invalid ones are refused once, the admin is told."""

from __future__ import annotations

import email
import email.policy
import logging
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from daemon.app.rules_reload import AdminAlert, AlertSettings, Refusal, RulesHolder, content_version
from daemon.app.service import Daemon
from daemon.config import ConfigError, load_config
from daemon.outbox.compose import Renderer
from daemon.outbox.enqueue import Mailer
from daemon.route.rules import Problem
from daemon.store import db
from daemon.store.models import OutboundMessage

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)

RULES_A = """\
departments:
  - {id: customer-care, name: Customer Care, email: cc@example.co.id}
  - {id: keuangan, name: Keuangan, email: keuangan@example.co.id}
default: {department: customer-care}
rules:
  - name: billing
    description: Invoices go to finance
    when: {subject_or_body: {words: [tagihan]}}
    then: {department: keuangan}
"""
RULES_B = (
    RULES_A
    + """\
  - name: kulkas
    description: Refrigerators go to finance too
    when: {subject_or_body: {words: [kulkas]}}
    then: {department: keuangan}
"""
)
# Line 12, column 29 is where the bad regex starts: what `rules check` names.
RULES_BAD = (
    RULES_A
    + """\
  - name: invoice-number
    description: Invoice numbers
    when: {subject: {regex: 'INV-(\\d+'}}
    then: {department: keuangan}
"""
)


class Clock:
    """A wall clock the test moves; files count as settled once it is past their mtime."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _write(path: Path, text: str, clock: Clock, *, age: float = 60.0) -> None:
    path.write_text(text, encoding="utf-8")
    # Stamp the file in the past and move the clock on, so settling is decided
    # by the test, not by how fast the disk is.
    stamp = clock.now + 1000.0
    os.utime(path, (stamp, stamp))
    clock.now = stamp + age


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES_A, encoding="utf-8")
    return path


def test_a_valid_change_is_swapped_in_at_the_next_refresh(rules_file: Path) -> None:
    clock = Clock()
    holder = RulesHolder(rules_file, wall_clock=clock)
    assert holder().version == content_version(RULES_A)
    assert holder.refresh() is False
    _write(rules_file, RULES_B, clock)
    assert holder.refresh() is True
    assert holder().version == content_version(RULES_B)
    assert [rule.name for rule in holder().rules] == ["billing", "kulkas"]


def test_an_invalid_change_is_refused_once_and_the_old_rules_stay(
    rules_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    refusals: list[Refusal] = []
    holder = RulesHolder(rules_file, on_refused=refusals.append, wall_clock=clock)
    _write(rules_file, RULES_BAD, clock)
    with caplog.at_level(logging.ERROR, logger="caredesk.rules"):
        assert holder.refresh() is False
    assert holder().version == content_version(RULES_A)
    assert len(refusals) == 1
    refusal = refusals[0]
    assert refusal.version == content_version(RULES_BAD)
    assert refusal.kept_version == content_version(RULES_A)
    expected = f"{rules_file}:12:29: error: rule invoice-number: bad regex 'INV-(\\d+'"
    assert any(message.startswith(expected) for message in refusal.messages), refusal.messages
    logged = [record.getMessage() for record in caplog.records]
    assert any(line.startswith(f"rules change refused: {expected}") for line in logged), logged
    # The same bad version again, even re-saved with a new time stamp: no new refusal.
    _write(rules_file, RULES_BAD, clock)
    assert holder.refresh() is False
    assert holder.refresh() is False
    assert len(refusals) == 1


def test_the_same_messages_as_rules_check(rules_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from daemon.cli import main

    clock = Clock()
    refusals: list[Refusal] = []
    holder = RulesHolder(rules_file, on_refused=refusals.append, wall_clock=clock)
    _write(rules_file, RULES_BAD, clock)
    holder.refresh()
    assert main(["rules", "check", str(rules_file)]) == 1
    assert capsys.readouterr().out.splitlines() == refusals[0].messages


def test_a_fix_after_a_refusal_is_taken_and_a_relapse_is_reported_again(rules_file: Path) -> None:
    clock = Clock()
    refusals: list[Refusal] = []
    holder = RulesHolder(rules_file, on_refused=refusals.append, wall_clock=clock)
    _write(rules_file, RULES_BAD, clock)
    holder.refresh()
    _write(rules_file, RULES_B, clock)
    assert holder.refresh() is True
    _write(rules_file, RULES_BAD, clock)
    holder.refresh()
    assert [refusal.kept_version for refusal in refusals] == [
        content_version(RULES_A),
        content_version(RULES_B),
    ]
    assert holder().version == content_version(RULES_B)


def test_a_file_still_being_written_waits_for_the_next_poll(rules_file: Path) -> None:
    clock = Clock()
    holder = RulesHolder(rules_file, wall_clock=clock, settle_seconds=1.0)
    _write(rules_file, RULES_B, clock, age=0.2)
    assert holder.refresh() is False
    assert holder().version == content_version(RULES_A)
    clock.now += 1.0
    assert holder.refresh() is True
    assert holder().version == content_version(RULES_B)


def test_a_missing_file_is_refused_after_it_stays_missing(rules_file: Path) -> None:
    clock = Clock()
    refusals: list[Refusal] = []
    holder = RulesHolder(rules_file, on_refused=refusals.append, wall_clock=clock, settle_seconds=1.0)
    rules_file.unlink()
    # An editor may move the file aside for a moment while saving.
    assert holder.refresh() is False
    assert refusals == []
    clock.now += 2.0
    holder.refresh()
    assert len(refusals) == 1
    assert "cannot read the rules file" in refusals[0].messages[0]
    assert holder().version == content_version(RULES_A)


def test_telling_the_admin_is_retried_until_it_works(rules_file: Path) -> None:
    clock = Clock()
    attempts: list[str] = []

    def flaky(refusal: Refusal) -> None:
        attempts.append(refusal.version)
        if len(attempts) < 2:
            raise OSError("database is away")

    holder = RulesHolder(rules_file, on_refused=flaky, wall_clock=clock)
    _write(rules_file, RULES_BAD, clock)
    holder.refresh()
    holder.refresh()
    holder.refresh()
    assert attempts == [content_version(RULES_BAD)] * 2


def test_invalid_rules_at_start_are_a_configuration_error(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES_BAD, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"rules.yaml:12:29: error: rule invoice-number: bad regex"):
        RulesHolder(path)
    with pytest.raises(ConfigError, match="cannot read rules"):
        RulesHolder(tmp_path / "missing.yaml")


def _config(tmp_path: Path, rules: Path, admin: str) -> Path:
    path = tmp_path / "caredesk.toml"
    path.write_text(
        f'rules = "{rules}"\nadmin_address = "{admin}"\n'
        '[mailbox]\nurl = "maildir:mail"\n[smtp]\nurl = "file:outbox"\n'
        '[database]\nurl = "sqlite:///caredesk.db"\n'
    )
    return path


def _alerts(database_url: str) -> list[OutboundMessage]:
    engine = db.make_engine(database_url)
    try:
        with db.session(engine) as session:
            statement = select(OutboundMessage).where(OutboundMessage.kind == "ops-alert")
            return list(session.execute(statement).scalars())
    finally:
        engine.dispose()


def test_admin_alert_is_queued_once_per_refused_version(tmp_path: Path, rules_file: Path) -> None:
    config = load_config(_config(tmp_path, rules_file, "ops@example.co.id"), environ={})
    engine = db.make_engine(config.database_url)
    db.create_schema(engine)
    mailer = Mailer(config, Renderer(config.templates), lambda: NOW)
    settings = AlertSettings(config.admin_address, instance="caredesk-test", timezone="Asia/Jakarta")
    alert = AdminAlert(engine, mailer, settings, clock=lambda: NOW)
    problem = Problem(str(rules_file), 12, 29, "bad regex 'INV-(\\d+': missing )", "invoice-number")
    refusal = Refusal(rules_file, "0123456789ab", (problem,), "ba9876543210")
    try:
        alert(refusal)
        # A second daemon on the same database refusing the same file: no second mail.
        alert(refusal)
    finally:
        engine.dispose()
    [row] = _alerts(config.database_url)
    assert row.recipient == "ops@example.co.id"
    assert "(0123456789ab)" in row.subject
    message = email.message_from_bytes(row.raw, policy=email.policy.default)
    body = message.get_body().get_content()  # type: ignore[union-attr]
    assert f"{rules_file}:12:29: error: rule invoice-number: bad regex" in body
    assert "ba9876543210" in body and "09:00:00 WIB" in body
    assert message["Auto-Submitted"] == "auto-generated"


def test_no_admin_address_means_the_log_only(tmp_path: Path, rules_file: Path) -> None:
    config = load_config(_config(tmp_path, rules_file, ""), environ={})
    engine = db.make_engine(config.database_url)
    db.create_schema(engine)
    mailer = Mailer(config, Renderer(config.templates), lambda: NOW)
    alert = AdminAlert(engine, mailer, AlertSettings("", instance="t", timezone="UTC"), clock=lambda: NOW)
    try:
        alert(Refusal(rules_file, "0123456789ab", (), "ba9876543210"))
    finally:
        engine.dispose()
    assert _alerts(config.database_url) == []


def test_the_daemon_mails_the_admin_about_a_refused_change_and_keeps_routing(
    tmp_path: Path, rules_file: Path
) -> None:
    config = load_config(_config(tmp_path, rules_file, "ops@example.co.id"), environ={})
    # The daemon's default clock: daemon.clock.now, pinned for the tests.
    with Daemon(config) as daemon:
        daemon.rules.settle_seconds = 0.0
        rules_file.write_text(RULES_BAD, encoding="utf-8")
        daemon.run_once()
        daemon.run_once()
        assert daemon.rules().version == content_version(RULES_A)
    sent = [email.message_from_bytes(p.read_bytes()) for p in (tmp_path / "outbox").glob("*.eml")]
    assert [message["To"] for message in sent] == ["ops@example.co.id"]
    assert "rules change refused" in sent[0]["Subject"]
