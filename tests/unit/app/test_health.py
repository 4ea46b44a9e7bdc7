"""`caredesk health`'s judgement (daemon.app.health.evaluate), from facts given by hand."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from daemon.app.health import Facts, RulesFacts, Schema, Status, Thresholds, evaluate
from daemon.store.heartbeat import PollRecord
from daemon.store.monitoring import Held, InboundSummary, OutboxSummary

NOW = datetime(2026, 7, 21, 3, 0, tzinfo=UTC)
MAILBOX = "imaps://care@imap.example.co.id:993/INBOX"
THRESHOLDS = Thresholds.for_poll_interval(60)


def facts(**changes: object) -> Facts:
    """A healthy installation: polled 30 s ago, nothing waiting, the rules file in force."""
    base = Facts(
        now=NOW,
        database="postgresql+psycopg://caredesk@127.0.0.1:5432/caredesk",
        mailbox=MAILBOX,
        schema=Schema("0007", "0007", 0),
        polls=(PollRecord(MAILBOX, succeeded_at=NOW - timedelta(seconds=30), rules_version="abc"),),
        outbox=OutboxSummary(Held(), Held(), Held()),
        inbound=InboundSummary(Held(), Held(), Held()),
        rules=RulesFacts("/etc/caredesk/rules.yaml", "abc"),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def sections(report_facts: Facts) -> dict[str, Status]:
    return {section.name: section.status for section in evaluate(report_facts, THRESHOLDS).sections}


def test_a_fresh_poll_and_nothing_waiting_is_healthy() -> None:
    report = evaluate(facts(), THRESHOLDS)
    assert report.status is Status.HEALTHY and report.problems == []
    document = report.as_dict()
    assert document["token_expiry"] == {
        "status": "not applicable",
        "summary": document["token_expiry"]["summary"],
        "applicable": False,
    }
    assert document["rules"]["in_force"] == document["rules"]["file"] == "abc"


def test_thresholds_follow_the_poll_interval_with_floors() -> None:
    assert Thresholds.for_poll_interval(60).poll_degraded == timedelta(minutes=5)
    assert Thresholds.for_poll_interval(60).poll_down == timedelta(minutes=30)
    assert Thresholds.for_poll_interval(600).poll_degraded == timedelta(minutes=50)
    assert Thresholds.for_poll_interval(600).poll_down == timedelta(hours=5)


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        (timedelta(minutes=4), Status.HEALTHY),
        (timedelta(minutes=6), Status.DEGRADED),
        (timedelta(minutes=31), Status.DOWN),
    ],
)
def test_the_age_of_the_last_successful_poll(age: timedelta, expected: Status) -> None:
    polled = PollRecord(MAILBOX, succeeded_at=NOW - age, rules_version="abc")
    assert sections(facts(polls=(polled,)))["mailbox"] is expected


def test_a_mailbox_never_polled_is_down_and_other_mailboxes_do_not_count() -> None:
    elsewhere = PollRecord("maildir:/old/mail", succeeded_at=NOW - timedelta(days=90))
    report = evaluate(facts(polls=(elsewhere,)), THRESHOLDS)
    assert report.status is Status.DOWN
    mailbox = report.as_dict()["mailbox"]
    assert "never polled successfully" in mailbox["summary"]
    assert [(m["mailbox"], m["configured"]) for m in mailbox["mailboxes"]] == [
        (MAILBOX, True),
        ("maildir:/old/mail", False),
    ]


def test_a_failing_mailbox_says_its_last_error() -> None:
    failing = PollRecord(
        MAILBOX,
        succeeded_at=NOW - timedelta(minutes=10),
        failed_at=NOW - timedelta(minutes=1),
        error="ConnectionRefusedError: [Errno 111] Connection refused",
    )
    section = next(s for s in evaluate(facts(polls=(failing,)), THRESHOLDS).sections if s.name == "mailbox")
    assert section.status is Status.DEGRADED
    assert "Connection refused" in section.summary
    assert section.fields["mailboxes"][0]["last_error"].startswith("ConnectionRefusedError")


def test_outgoing_mail_waiting_too_long_is_degraded() -> None:
    waiting = OutboxSummary(Held(2, NOW - timedelta(minutes=16)), Held(), Held())
    report = evaluate(facts(outbox=waiting), THRESHOLDS)
    assert report.status is Status.DEGRADED
    assert report.as_dict()["outbox"]["oldest_pending_age_seconds"] == 16 * 60
    fresh = OutboxSummary(Held(2, NOW - timedelta(minutes=14)), Held(), Held())
    assert evaluate(facts(outbox=fresh), THRESHOLDS).status is Status.HEALTHY


def test_failed_and_uncertain_mail_degrades_only_while_recent() -> None:
    recent = OutboxSummary(Held(), Held(3, NOW - timedelta(days=30), recent=1), Held())
    assert sections(facts(outbox=recent))["outbox"] is Status.DEGRADED
    uncertain = OutboxSummary(Held(), Held(), Held(1, NOW - timedelta(hours=1), recent=1))
    assert sections(facts(outbox=uncertain))["outbox"] is Status.DEGRADED
    old = OutboxSummary(Held(), Held(3, NOW - timedelta(days=30), recent=0), Held())
    report = evaluate(facts(outbox=old), THRESHOLDS)
    assert report.status is Status.HEALTHY and report.as_dict()["outbox"]["failed"] == 3


def test_quarantined_mail_degrades_only_while_recent() -> None:
    held = InboundSummary(Held(), Held(), Held(2, NOW - timedelta(days=1), recent=2))
    assert sections(facts(inbound=held))["quarantine"] is Status.DEGRADED
    old = InboundSummary(Held(), Held(), Held(2, NOW - timedelta(days=40), recent=0))
    assert sections(facts(inbound=old))["quarantine"] is Status.HEALTHY


def test_stored_mail_not_processed_for_long_is_degraded() -> None:
    stuck = InboundSummary(Held(5, NOW - timedelta(minutes=20)), Held(), Held())
    assert sections(facts(inbound=stuck))["inbound"] is Status.DEGRADED


def test_an_unreadable_database_is_down_and_reports_only_what_it_can() -> None:
    report = evaluate(
        facts(schema=None, polls=(), outbox=None, inbound=None, broken="unreachable", reachable=False),
        THRESHOLDS,
    )
    assert report.status is Status.DOWN
    assert [s.name for s in report.sections] == ["database", "rules", "token_expiry", "delivery"]
    assert report.as_dict()["database"]["reachable"] is False


def test_a_schema_behind_this_caredesk_is_degraded() -> None:
    assert sections(facts(schema=Schema("0006", "0007", 1)))["database"] is Status.DEGRADED


def test_refused_rules_are_degraded_and_a_changed_file_is_only_noted() -> None:
    refused = RulesFacts("/etc/caredesk/rules.yaml", "def", ("rules.yaml:3:1: error: unknown key",))
    report = evaluate(facts(rules=refused), THRESHOLDS)
    assert report.status is Status.DEGRADED
    assert "the daemon keeps version abc" in report.as_dict()["rules"]["summary"]
    changed = RulesFacts("/etc/caredesk/rules.yaml", "def")
    report = evaluate(facts(rules=changed), THRESHOLDS)
    assert report.status is Status.HEALTHY
    assert report.as_dict()["rules"]["in_force"] == "abc"
    assert report.as_dict()["rules"]["file"] == "def"


def test_a_staging_redirect_is_named_and_healthy() -> None:
    report = evaluate(facts(redirect_to="qa@example.co.id"), THRESHOLDS)
    delivery = report.as_dict()["delivery"]
    assert report.status is Status.HEALTHY
    assert delivery["redirect_to"] == "qa@example.co.id"
    assert "staging: every outgoing mail goes to qa@example.co.id" in delivery["summary"]
    assert evaluate(facts(), THRESHOLDS).as_dict()["delivery"]["redirect_to"] is None
