"""Where a run sends each earned step: one bucket per kind and recipient, no reminder beside its breach."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from daemon.periodic.plan import SKIPPED_REASON, Bucket, plan_steps, recipient_for, target_of
from daemon.route.rules import Department
from daemon.sla.policy import LadderStep, RecipientRole, StepKind, StepTarget, period_key

DUE = datetime(2026, 8, 10, 10, 0, tzinfo=UTC)
KORAN = Department("koran", "Koran", "koran@x.id", manager="Manajer@X.id", general_manager="gm@x.id")
ROLES: dict[StepKind, RecipientRole] = {"reminder": "department", "breach": "manager", "second-level": "gm"}


def _step(kind: StepKind, target: StepTarget = "first_response", cycle: int = 1) -> LadderStep:
    if target == "update":
        key = "sla/CC-2026-000001/update/1.1"
    else:
        key = period_key("CC-2026-000001", target, kind, cycle)
    return LadderStep(kind, target, DUE, ROLES[kind], key, DUE - timedelta(hours=2))


def test_each_step_goes_to_its_level_in_a_bucket_of_kind_and_recipient() -> None:
    planned = plan_steps([_step("reminder", "resolution"), _step("second-level")], KORAN)
    assert [p.bucket for p in planned] == [
        Bucket("reminder", "koran@x.id"),
        Bucket("second-level", "gm@x.id"),
    ]
    assert all(p.note == "" for p in planned)


def test_the_recipient_is_written_as_the_mailer_writes_it() -> None:
    [breach] = plan_steps([_step("breach")], KORAN)
    assert breach.bucket == Bucket("breach", "manajer@x.id")


def test_a_reminder_beside_its_breach_is_skipped_and_says_why() -> None:
    reminder, breach = plan_steps([_step("reminder"), _step("breach")], KORAN)
    assert reminder.bucket.skipped and reminder.bucket.recipient == ""
    assert reminder.note == SKIPPED_REASON
    assert breach.bucket == Bucket("breach", "manajer@x.id")


def test_only_the_breach_of_the_same_target_and_cycle_skips_a_reminder() -> None:
    steps = [
        _step("breach", "first_response"),
        _step("reminder", "resolution"),
        _step("breach", "resolution", cycle=1),
        _step("reminder", "resolution", cycle=2),
        _step("reminder", "update"),
    ]
    planned = {p.step.period_key: p.bucket.skipped for p in plan_steps(steps, KORAN)}
    assert planned == {
        "sla/CC-2026-000001/first_response/breach": False,
        "sla/CC-2026-000001/resolution/reminder": True,
        "sla/CC-2026-000001/resolution/breach": False,
        "sla/CC-2026-000001/resolution.2/reminder": False,
        "sla/CC-2026-000001/update/1.1": False,
    }
    assert target_of(_step("breach", "resolution", cycle=2)) == "sla/CC-2026-000001/resolution.2"


def test_a_step_with_nobody_to_tell_has_a_bucket_without_recipient() -> None:
    nobody = Department("koran", "Koran", "koran@x.id")
    [breach] = plan_steps([_step("breach")], nobody)
    assert breach.bucket == Bucket("breach", "") and not breach.bucket.skipped
    assert breach.note == recipient_for("manager", nobody)[1]
    no_manager = Department("koran", "Koran", "koran@x.id", general_manager="gm@x.id")
    [sent_up] = plan_steps([_step("breach")], no_manager)
    assert sent_up.bucket == Bucket("breach", "gm@x.id") and "no manager" in sent_up.note


def test_buckets_are_worked_through_in_one_order_skipped_first() -> None:
    buckets = [
        Bucket("second-level", "gm@x.id"),
        Bucket("breach", "b@x.id"),
        Bucket("reminder", "", skipped=True),
        Bucket("breach", "a@x.id"),
        Bucket("reminder", "koran@x.id"),
    ]
    assert sorted(buckets, key=Bucket.sort_key) == [
        Bucket("reminder", "", skipped=True),
        Bucket("reminder", "koran@x.id"),
        Bucket("breach", "a@x.id"),
        Bucket("breach", "b@x.id"),
        Bucket("second-level", "gm@x.id"),
    ]
