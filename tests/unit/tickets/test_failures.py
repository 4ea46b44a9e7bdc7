"""A failing mail names the stage it failed in, and is retried twice with backoff before a person looks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.exc import OperationalError, PendingRollbackError

from daemon.tickets.failures import MAX_ATTEMPTS, StageFailed, retry_delay, stage, stopped_the_daemon


def test_an_error_in_a_stage_carries_the_stage_and_the_original_error() -> None:
    boom = RuntimeError("routing exploded")
    with pytest.raises(StageFailed) as caught, stage("route"):
        raise boom
    assert caught.value.stage == "route"
    assert caught.value.error is boom
    assert caught.value.__cause__ is boom


def test_the_innermost_stage_names_the_failure() -> None:
    with pytest.raises(StageFailed) as caught, stage("conversation"), stage("notify"):
        raise ValueError("bad template context")
    assert caught.value.stage == "notify"


def test_a_database_error_passes_through_every_stage_as_it_is() -> None:
    locked = OperationalError("UPDATE ticket", {}, Exception("database is locked"))
    with pytest.raises(OperationalError), stage("store"):
        raise locked


def test_a_transaction_a_database_error_rolled_back_is_not_the_mails_fault() -> None:
    # After a failed flush (e.g. `database is locked`) the session refuses more work until
    # rolled back: that aborts the batch, it is no reason to hold the mail for 2 minutes.
    with pytest.raises(PendingRollbackError), stage("store"):
        raise PendingRollbackError("This Session's transaction has been rolled back")


def test_a_stage_that_succeeds_changes_nothing() -> None:
    with stage("parse"):
        value = 1 + 1
    assert value == 2


def test_the_first_two_failures_wait_two_then_fifteen_minutes() -> None:
    assert retry_delay(1, final=False) == timedelta(minutes=2)
    assert retry_delay(2, final=False) == timedelta(minutes=15)


def test_the_third_failure_holds_the_mail_for_a_person() -> None:
    assert retry_delay(MAX_ATTEMPTS, final=False) is None
    assert retry_delay(MAX_ATTEMPTS + 1, final=False) is None


def test_a_final_failure_is_held_at_once() -> None:
    assert retry_delay(1, final=True) is None


def test_only_more_tries_than_allowed_mean_the_mail_kept_killing_the_daemon() -> None:
    assert not stopped_the_daemon(MAX_ATTEMPTS)
    assert stopped_the_daemon(MAX_ATTEMPTS + 1)
