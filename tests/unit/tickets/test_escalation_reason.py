"""When a staff mail puts a ticket before its general manager (issue 12.3, DOMAIN.md §5), and why."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from daemon.tickets.commands import parse_reply
from daemon.tickets.form_labels import Known
from daemon.tickets.lifecycle import TicketView, apply_commands, escalation_reason

TODAY = date(2026, 7, 21)
DEPARTMENTS = ("customer-care", "koran", "teknik")
SENDER = "bambang.sirkulasi@example.co.id (department member)"
MINOR = TicketView(
    status="assigned",
    severity="minor",
    department="koran",
    root_cause=None,
    corrective_action=None,
    action_target=None,
    preventive_action=None,
    effectiveness=None,
)
MAJOR = replace(MINOR, severity="major")


def reason(text: str, view: TicketView = MINOR) -> str | None:
    outcome = apply_commands(
        view, parse_reply(text), role="department", known=Known(DEPARTMENTS), today=TODAY
    )
    return escalation_reason(view, outcome, sender=SENDER)


def test_made_major_names_who_and_how() -> None:
    assert reason("#severity major") == (
        "made major by bambang.sirkulasi@example.co.id (department member) with #severity (minor -> major)"
    )
    assert reason("#tingkat mayor") == reason("#severity major")


def test_made_major_and_handed_on_in_one_mail_says_both() -> None:
    assert reason("#severity major\n#dept teknik") == (
        f"made major by {SENDER} with #severity (minor -> major), and handed from koran to teknik"
    )


def test_a_major_complaint_handed_to_another_department() -> None:
    assert (
        reason("#dept teknik", MAJOR)
        == f"a major complaint handed from koran to teknik by {SENDER} with #department"
    )


@pytest.mark.parametrize(
    ("text", "view"),
    [
        ("#dept teknik", MINOR),  # a minor complaint stays with its department's people
        ("#severity major", MAJOR),  # already major: nothing new for the GM
        ("#severity major\n#severity minor", MINOR),  # major for a moment only
        ("#severity minor", MAJOR),
        ("#note pelanggan VIP", MAJOR),
        ("#dept koran", MAJOR),  # already with koran: nothing moved
        ("#dept keuangn", MAJOR),  # refused: unknown department
    ],
)
def test_no_reason_to_tell_the_gm(text: str, view: TicketView) -> None:
    assert reason(text, view) is None
