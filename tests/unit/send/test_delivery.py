"""The sender's pure decisions: how long a deferred mail waits, and what an interrupted one becomes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from daemon.send.delivery import MAX_BACKOFF, RetryPolicy, retry_delay, settle_interrupted
from daemon.store.models import OutboundMessage

NOW = datetime(2026, 8, 7, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("attempts", [0, 1, 2, 3, 7, 20])
def test_a_retry_policy_waits_as_the_backoff_says(attempts: int) -> None:
    policy = RetryPolicy(max_attempts=5, base_seconds=60)
    assert policy.delay(attempts) == retry_delay(attempts, 60)


def test_the_backoff_doubles_from_the_base_and_stops_at_an_hour() -> None:
    policy = RetryPolicy(max_attempts=5, base_seconds=60)
    assert [policy.delay(n) for n in (1, 2, 3)] == [
        timedelta(minutes=1),
        timedelta(minutes=2),
        timedelta(minutes=4),
    ]
    assert policy.delay(30) == MAX_BACKOFF


def _sending(kind: str) -> OutboundMessage:
    return OutboundMessage(
        id=7,
        kind=kind,
        recipient="budi@example.net",
        state="sending",
        lease_owner="host:123",
        lease_until=NOW,
    )


def test_an_interrupted_escalation_is_due_again_at_once() -> None:
    row = _sending("escalation")
    settle_interrupted(row, NOW)
    assert (row.state, row.next_attempt_at) == ("retry", NOW)
    assert row.last_error == "the sending process stopped during delivery"
    assert row.lease_owner is None and row.lease_until is None


def test_an_interrupted_acknowledgement_is_uncertain_and_not_resent() -> None:
    row = _sending("ack")
    settle_interrupted(row, NOW)
    assert row.state == "uncertain"
    assert row.next_attempt_at != NOW
    assert row.lease_owner is None and row.lease_until is None
