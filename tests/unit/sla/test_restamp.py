"""Due dates stamped again when a ticket's targets change after it was made (issue 12.3)."""

from __future__ import annotations

import dataclasses

from daemon.sla.calendar import WorkCalendar, WorkingTime
from daemon.sla.policy import SlaPolicy, Stamp, TargetKey, due_dates, restamped
from tests.clockpin import wib

CALENDAR = WorkCalendar("Asia/Jakarta")
POLICY = SlaPolicy()  # minor: resolution in 5 working days; major (built in): 2
MAJOR = TargetKey("major", "koran").targets(POLICY)


RECEIVED = wib(7, 21, 10)  # Tuesday


def _minor_stamp(**fields: object) -> Stamp:
    """The stamp of a minor complaint received on Tuesday 10:00, with `fields` changed."""
    dates = due_dates(RECEIVED, TargetKey("minor", "koran"), POLICY, CALENDAR)
    stamp = Stamp(RECEIVED, dates.first_response_due, dates.resolution_due)
    return dataclasses.replace(stamp, **fields)  # type: ignore[arg-type]


def test_a_complaint_made_major_is_due_on_the_major_targets_counted_from_receipt() -> None:
    stamp = _minor_stamp()
    assert stamp.resolution_due == wib(7, 28, 17)
    fresh = restamped(stamp, MAJOR, CALENDAR)
    assert fresh.resolution_due == wib(7, 23, 17)  # two working days after receipt
    assert fresh.first_response_due == stamp.first_response_due == wib(7, 22, 17)


def test_a_met_first_response_keeps_the_due_date_it_was_met_against() -> None:
    urgent = MAJOR.apply({"first_response": WorkingTime(4, "h")}, "class urgent")
    answered = _minor_stamp(first_responded_at=wib(7, 21, 15))
    assert restamped(answered, urgent, CALENDAR).first_response_due == wib(7, 22, 17)
    waiting = _minor_stamp()
    assert restamped(waiting, urgent, CALENDAR).first_response_due == wib(7, 21, 14)


def test_a_resolved_ticket_keeps_its_resolution_due_date() -> None:
    resolved = _minor_stamp(resolved=True)
    assert restamped(resolved, MAJOR, CALENDAR).resolution_due == wib(7, 28, 17)


def test_a_target_that_is_not_measured_stays_unmeasured() -> None:
    recap = _minor_stamp(first_response_due=None)
    assert restamped(recap, MAJOR, CALENDAR).first_response_due is None
    unstamped = _minor_stamp(first_response_due=None, resolution_due=None)
    assert restamped(unstamped, MAJOR, CALENDAR) == unstamped


def test_a_reopened_ticket_counts_its_new_cycle_from_the_reopening() -> None:
    reopened = _minor_stamp(cycle_started_at=wib(7, 27, 9), resolution_due=wib(8, 3, 17))
    assert restamped(reopened, MAJOR, CALENDAR).resolution_due == wib(7, 29, 17)


def test_targets_that_did_not_change_give_the_same_dates() -> None:
    stamp = _minor_stamp()
    assert restamped(stamp, TargetKey("minor", "koran").targets(POLICY), CALENDAR) == stamp
