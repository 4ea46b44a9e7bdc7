"""`caredesk health` with several mailboxes: each judged by its own last poll, the worst one counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from daemon.app.health import Configured, Facts, RulesFacts, Schema, Status, Thresholds, evaluate
from daemon.store.heartbeat import PollRecord
from daemon.store.monitoring import Held, InboundSummary, OutboxSummary

NOW = datetime(2026, 7, 21, 3, 0, tzinfo=UTC)
CARE = "imaps://care@imap.example.co.id:993/INBOX"
RECAP = "imaps://rekap@imap.example.co.id:993/INBOX"
THRESHOLDS = Thresholds.for_poll_interval(60)


def facts(*polls: PollRecord) -> Facts:
    return Facts(
        now=NOW,
        database="sqlite:///caredesk.db",
        mailbox=CARE,
        schema=Schema("0007", "0007", 0),
        polls=polls,
        outbox=OutboxSummary(Held(), Held(), Held()),
        inbound=InboundSummary(Held(), Held(), Held()),
        rules=RulesFacts("rules.yaml", "abc"),
        mailboxes=(Configured("care", CARE), Configured("recap", RECAP)),
    )


def polled(mailbox: str, ago: timedelta, error: str = "") -> PollRecord:
    failed = NOW - timedelta(seconds=10) if error else None
    return PollRecord(mailbox, succeeded_at=NOW - ago, failed_at=failed, error=error)


def mailbox_section(report_facts: Facts) -> tuple[Status, str, list[dict[str, object]]]:
    section = next(s for s in evaluate(report_facts, THRESHOLDS).sections if s.name == "mailbox")
    return section.status, section.summary, section.fields["mailboxes"]


def test_both_fresh_is_healthy_and_each_is_named() -> None:
    status, summary, listed = mailbox_section(
        facts(polled(CARE, timedelta(seconds=30)), polled(RECAP, timedelta(seconds=40)))
    )
    assert status is Status.HEALTHY
    assert (
        summary == f"care {CARE}: last successful poll 30 s ago; recap {RECAP}: last successful poll 40 s ago"
    )
    assert [(m["name"], m["configured"], m["last_success_age_seconds"]) for m in listed] == [
        ("care", True, 30),
        ("recap", True, 40),
    ]


def test_one_stale_mailbox_makes_the_section_degraded() -> None:
    status, summary, _ = mailbox_section(
        facts(
            polled(CARE, timedelta(seconds=30)), polled(RECAP, timedelta(minutes=7), "ConnectionRefusedError")
        )
    )
    assert status is Status.DEGRADED
    assert "recap" in summary and "the last poll failed" in summary and "ConnectionRefusedError" in summary


def test_a_mailbox_never_polled_is_down_and_listed() -> None:
    status, summary, listed = mailbox_section(facts(polled(CARE, timedelta(seconds=30))))
    assert status is Status.DOWN
    assert f"recap {RECAP}: never polled successfully" in summary
    assert {m["name"]: m["last_success"] for m in listed} == {
        "recap": None,
        "care": (NOW - timedelta(seconds=30)).isoformat(),
    }


def test_a_mailbox_no_longer_configured_is_listed_without_a_name_and_not_judged() -> None:
    gone = "imaps://old@imap.example.co.id:993/INBOX"
    status, _, listed = mailbox_section(
        facts(
            polled(CARE, timedelta(seconds=30)),
            polled(RECAP, timedelta(seconds=30)),
            polled(gone, timedelta(days=3)),
        )
    )
    assert status is Status.HEALTHY
    assert {m["mailbox"]: (m["name"], m["configured"]) for m in listed}[gone] == (None, False)
