"""The corrective-action lifecycle (DOMAIN.md §6–7): what each command does, and what is refused."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from daemon.tickets.commands import parse_reply
from daemon.tickets.form_labels import Known
from daemon.tickets.lifecycle import (
    STATUSES,
    Change,
    Outcome,
    Refusal,
    TicketView,
    apply_commands,
    customer_reply_reopens,
)
from daemon.tickets.target_dates import parse_date

TODAY = date(2026, 11, 20)
DEPARTMENTS = ("customer-care", "teknik", "keuangan", "distribusi")
NEW = TicketView(
    status="assigned",
    severity="minor",
    department="teknik",
    root_cause=None,
    corrective_action=None,
    action_target=None,
    preventive_action=None,
    effectiveness=None,
)
ANALYSED = replace(
    NEW,
    status="in-progress",
    root_cause="Roller aus",
    corrective_action="Roller diganti",
    action_target=date(2026, 11, 30),
)
PLANNED = replace(NEW, action_target=date(2026, 11, 30))
"""Only the target date of the action is recorded."""
RESOLVED = replace(ANALYSED, status="resolved")
CLOSED = replace(RESOLVED, status="closed", effectiveness="effective: tidak ada keluhan lagi")


def run(text: str, view: TicketView = NEW, role: str = "department") -> Outcome:
    return apply_commands(view, parse_reply(text), role=role, known=Known(DEPARTMENTS), today=TODAY)


def reasons(outcome: Outcome) -> list[str]:
    return [refusal.reason for refusal in outcome.refusals]


def after(view: TicketView, outcome: Outcome) -> TicketView:
    """The ticket as the pipeline would store it after `outcome`."""
    for change in outcome.changes:
        fields: dict[str, Any] = {change.field: change.new}
        if change.field == "action_target" and change.new:
            fields[change.field] = date.fromisoformat(change.new)
        view = replace(view, **fields)
    return view


# ---------------------------------------------------------------------------
# The whole cycle
# ---------------------------------------------------------------------------


def test_a_department_takes_a_ticket_from_root_cause_to_closed() -> None:
    view = NEW
    first = run("#root-cause Roller aus\n#action Roller diganti\n#target 5 Desember 2026", view)
    assert first.refusals == ()
    view = after(view, first)
    assert (view.status, view.action_target) == ("in-progress", date(2026, 12, 5))

    resolving = run("#status resolved", view)
    assert resolving.resolved and not resolving.closed
    view = after(view, resolving)
    assert view.status == "resolved"

    closing = run("#effective yes tidak ada keluhan lagi selama 30 hari", view)
    assert closing.changes == (
        Change("effectiveness", None, "effective: tidak ada keluhan lagi selama 30 hari"),
        Change("status", "resolved", "closed"),
    )
    assert closing.closed and not closing.resolved and not closing.reopened


def test_commands_in_one_mail_apply_in_the_order_written() -> None:
    outcome = run("#root-cause Plat cetak rusak\n#action Dicetak ulang\n#target 30-11-2026\n#status resolved")
    assert outcome.changes == (
        Change("root_cause", None, "Plat cetak rusak"),
        Change("status", "assigned", "in-progress"),
        Change("corrective_action", None, "Dicetak ulang"),
        Change("action_target", None, "2026-11-30"),
        Change("status", "in-progress", "resolved"),
    )
    assert outcome.resolved
    assert outcome.refusals == ()


def test_resolving_before_recording_the_analysis_is_refused_even_in_the_same_mail() -> None:
    outcome = run("#status resolved\n#root-cause Plat cetak rusak\n#action Dicetak ulang", PLANNED)
    assert outcome.refusals == (
        Refusal("#status resolved", "cannot resolve: root cause and corrective action are missing"),
    )
    assert [change.field for change in outcome.changes] == ["root_cause", "status", "corrective_action"]
    assert not outcome.resolved


@pytest.mark.parametrize("status", ["new", "acknowledged", "assigned"])
@pytest.mark.parametrize(
    ("command", "field"), [("#root-cause", "root_cause"), ("#action", "corrective_action")]
)
def test_recording_the_analysis_starts_the_work(status: str, command: str, field: str) -> None:
    outcome = run(f"{command} something", replace(NEW, status=status))
    assert outcome.changes == (Change(field, None, "something"), Change("status", status, "in-progress"))


def test_preventive_action_is_recorded_without_moving_the_ticket() -> None:
    outcome = run("#pencegahan Servis mesin tiap bulan")
    assert outcome.changes == (Change("preventive_action", None, "Servis mesin tiap bulan"),)


def test_a_resolved_ticket_keeps_its_status_when_the_analysis_is_corrected() -> None:
    outcome = run("#root-cause Roller aus dan tinta encer", RESOLVED)
    assert outcome.changes == (Change("root_cause", "Roller aus", "Roller aus dan tinta encer"),)


@pytest.mark.parametrize(
    ("view", "reason"),
    [
        (PLANNED, "cannot resolve: root cause and corrective action are missing"),
        (replace(PLANNED, root_cause="x"), "cannot resolve: corrective action is missing"),
        (replace(PLANNED, corrective_action="y"), "cannot resolve: root cause is missing"),
    ],
)
def test_resolving_says_exactly_what_is_missing(view: TicketView, reason: str) -> None:
    outcome = run("#status selesai", view)
    assert reasons(outcome) == [reason]
    assert outcome.changes == ()


@pytest.mark.parametrize(
    ("view", "reason"),
    [
        (PLANNED, "cannot close: root cause, corrective action and an effectiveness evaluation are missing"),
        (
            replace(PLANNED, root_cause="x"),
            "cannot close: corrective action and an effectiveness evaluation are missing",
        ),
        (RESOLVED, "cannot close: an effectiveness evaluation is missing"),
        (
            replace(ANALYSED, effectiveness="not effective: terlambat lagi"),
            "cannot close: an effectiveness evaluation is missing",
        ),
    ],
)
def test_closing_says_exactly_what_is_missing(view: TicketView, reason: str) -> None:
    outcome = run("#status closed", view)
    assert reasons(outcome) == [reason]
    assert outcome.changes == ()
    assert not outcome.closed


def test_status_closed_closes_when_an_effective_evaluation_is_recorded() -> None:
    outcome = run("#status ditutup", replace(RESOLVED, effectiveness="effective: ok"))
    assert outcome.changes == (Change("status", "resolved", "closed"),)
    assert outcome.closed


def test_effective_yes_before_the_action_is_recorded_is_refused() -> None:
    outcome = run("#efektif ya", PLANNED)
    assert reasons(outcome) == ["cannot close: root cause and corrective action are missing"]
    assert outcome.changes == ()


def test_closing_an_unresolved_ticket_passes_through_resolved_so_the_customer_hears_the_result() -> None:
    outcome = run("#effective yes diverifikasi di lapangan", ANALYSED)
    assert outcome.changes == (
        Change("status", "in-progress", "resolved"),
        Change("effectiveness", None, "effective: diverifikasi di lapangan"),
        Change("status", "resolved", "closed"),
    )
    assert outcome.resolved and outcome.closed


# ---------------------------------------------------------------------------
# #effective no: a new analysis
# ---------------------------------------------------------------------------


def test_effective_no_sends_a_resolved_ticket_back_to_in_progress_keeping_the_analysis() -> None:
    outcome = run("#efektif tidak koran terlambat lagi 2 kali", RESOLVED)
    assert outcome.changes == (
        Change("effectiveness", None, "not effective: koran terlambat lagi 2 kali"),
        Change("status", "resolved", "in-progress"),
    )
    assert outcome.reopened and not outcome.closed
    view = after(RESOLVED, outcome)
    assert (view.root_cause, view.corrective_action) == ("Roller aus", "Roller diganti")


def test_after_effective_no_the_new_analysis_can_be_resolved_and_closed_again() -> None:
    view = after(RESOLVED, run("#effective no masih luntur", RESOLVED))
    again = run("#root-cause Tinta salah jenis\n#action Ganti pemasok tinta\n#status resolved", view)
    assert again.resolved and again.refusals == ()
    view = after(view, again)
    closing = run("#effective yes", view)
    assert closing.closed
    assert after(view, closing).effectiveness == "effective"


def test_effective_no_without_a_note_is_recorded_plainly() -> None:
    assert run("#effective no", RESOLVED).changes[0] == Change("effectiveness", None, "not effective")


@pytest.mark.parametrize("view", [NEW, ANALYSED])
def test_effective_no_needs_a_resolved_ticket(view: TicketView) -> None:
    outcome = run("#effective no belum", view)
    assert reasons(outcome) == [
        f"only a resolved ticket can be evaluated as not effective; this one is {view.status}"
    ]
    assert not outcome.reopened


@pytest.mark.parametrize("text", ["#effective", "#effective maybe later", "#efektif: mungkin"])
def test_effective_needs_yes_or_no(text: str) -> None:
    assert reasons(run(text, RESOLVED)) == [
        "write '#effective yes <note>' or '#effective no <note>' (ya / tidak)"
    ]


def test_a_customer_reply_reopens_only_a_resolved_ticket() -> None:
    assert [customer_reply_reopens(replace(NEW, status=status)) for status in STATUSES] == [
        False,
        False,
        False,
        False,
        True,
        False,
    ]


# ---------------------------------------------------------------------------
# Closed tickets and moving backwards
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "#status in-progress",
        "#root-cause x",
        "#action y",
        "#target 2026-12-30",
        "#preventive z",
        "#effective no lagi",
        "#severity major",
        "#department keuangan",
        "#reply\nHalo",
    ],
)
@pytest.mark.parametrize("role", ["department", "gm"])
def test_a_closed_ticket_takes_only_notes(text: str, role: str) -> None:
    outcome = run(text, CLOSED, role)
    assert len(outcome.refusals) == 1
    assert outcome.refusals[0].reason.startswith("ticket is closed: only #note is accepted")
    assert outcome.changes == ()
    assert outcome.reply_to_customer is None


def test_a_note_on_a_closed_ticket_is_recorded() -> None:
    outcome = run("#catatan pelanggan menelepon, sudah puas", CLOSED)
    assert outcome.notes == ("pelanggan menelepon, sudah puas",)
    assert outcome.refusals == ()


def test_customer_care_reopens_a_closed_ticket_and_must_evaluate_again() -> None:
    outcome = run("#status in-progress\n#root-cause Ternyata masalah distribusi", CLOSED, role="care")
    assert outcome.changes == (
        Change("effectiveness", "effective: tidak ada keluhan lagi", None),
        Change("status", "closed", "in-progress"),
        Change("root_cause", "Roller aus", "Ternyata masalah distribusi"),
    )
    assert outcome.reopened
    reopened = after(CLOSED, outcome)
    assert reasons(run("#status resolved\n#status closed", reopened, role="care")) == [
        "cannot close: an effectiveness evaluation is missing"
    ]


def test_customer_care_may_not_change_a_closed_ticket_without_reopening_it() -> None:
    assert reasons(run("#action lain", CLOSED, role="care"))[0].startswith("ticket is closed")


@pytest.mark.parametrize("role", ["department", "gm"])
def test_only_customer_care_moves_a_ticket_backwards(role: str) -> None:
    outcome = run("#status in-progress", RESOLVED, role)
    assert reasons(outcome) == [
        "cannot move a resolved ticket back to in-progress; to reopen it, send '#effective no <why>'"
    ]
    care = run("#status proses", RESOLVED, role="care")
    assert care.changes == (Change("status", "resolved", "in-progress"),)
    assert care.reopened


def test_asking_for_the_status_the_ticket_has_changes_nothing_and_says_so() -> None:
    outcome = run("#status in-progress", ANALYSED)
    assert outcome.changes == () and outcome.refusals == ()
    assert outcome.unchanged == ("#status in-progress: the ticket is already in-progress",)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("#status", "missing status: use in-progress, resolved or closed (proses, selesai, ditutup)"),
        (
            "#status done",
            "unknown status 'done': use in-progress, resolved or closed (proses, selesai, ditutup)",
        ),
        (
            "#status new",
            "unknown status 'new': use in-progress, resolved or closed (proses, selesai, ditutup)",
        ),
    ],
)
def test_a_status_must_be_one_staff_can_set(text: str, reason: str) -> None:
    assert reasons(run(text)) == [reason]


# ---------------------------------------------------------------------------
# Target dates
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written",
    [
        "2026-12-05",
        "05-12-2026",
        "5-12-2026",
        "5/12/2026",
        "05/12/2026",
        "5.12.2026",
        "5 Desember 2026",
        "5 desember 2026",
        "5 Des 2026",
        "5 December 2026",
        "5 Dec. 2026",
        "December 5, 2026",
        "5 Desember 2026.",
    ],
)
def test_a_target_date_is_read_in_every_accepted_shape(written: str) -> None:
    outcome = run(f"#target {written}")
    assert outcome.changes == (Change("action_target", None, "2026-12-05"),)


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("17 Agustus 2027", date(2027, 8, 17)),
        ("1 Mei 2027", date(2027, 5, 1)),
        ("1 May 2027", date(2027, 5, 1)),
        ("3 Pebruari 2027", date(2027, 2, 3)),
        ("10 Okt 2027", date(2027, 10, 10)),
        ("10 Nopember 2027", date(2027, 11, 10)),
        ("12/5/2027", date(2027, 5, 12)),
        ("29/2/2028", date(2028, 2, 29)),
    ],
)
def test_indonesian_month_names_and_day_first_numbers(written: str, expected: date) -> None:
    assert parse_date(written) == expected


@pytest.mark.parametrize(
    "written",
    [
        "",
        "besok",
        "5/12/26",
        "31/02/2027",
        "12/25/2027",
        "5 Foo 2027",
        "2027-13-01",
        "5-12/2027",
        "5 Desember",
    ],
)
def test_a_bad_date_is_refused(written: str) -> None:
    assert parse_date(written) is None
    outcome = run(f"#tenggat {written}")
    assert outcome.changes == ()
    assert reasons(outcome)[0].startswith(f"bad date '{written}': write it like 2026-12-05")


def test_a_target_in_the_past_is_refused_but_today_is_fine() -> None:
    assert reasons(run("#target 19-11-2026")) == ["target date 2026-11-19 is in the past"]
    assert run("#target 20-11-2026").changes == (Change("action_target", None, "2026-11-20"),)


def test_a_new_target_replaces_the_old_one_in_the_history() -> None:
    view = replace(ANALYSED, action_target=date(2026, 12, 5))
    assert run("#target 2027-01-10", view).changes == (Change("action_target", "2026-12-05", "2027-01-10"),)
    assert run("#target 2026-12-05", view).changes == ()


# ---------------------------------------------------------------------------
# Severity, department, notes, the reply
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "new"), [("#severity major", "major"), ("#tingkat mayor", "major")])
def test_severity_can_be_raised(text: str, new: str) -> None:
    assert run(text).changes == (Change("severity", "minor", new),)


def test_severity_can_be_lowered_and_must_be_major_or_minor() -> None:
    assert run("#keparahan minor", replace(NEW, severity="major")).changes == (
        Change("severity", "major", "minor"),
    )
    assert reasons(run("#severity sedang")) == [
        "unknown severity 'sedang': use major or minor (mayor / minor)"
    ]
    assert run("#severity minor").unchanged == ("#severity minor: the ticket is already minor",)


def test_reassigning_to_a_known_department_notifies_it() -> None:
    outcome = run("#dept KEUANGAN")
    assert outcome.changes == (Change("department", "teknik", "keuangan"),)
    assert outcome.reassigned_to == "keuangan"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("#department keuangn", "unknown department 'keuangn'; did you mean 'keuangan'?"),
        ("#departemen gudang", "unknown department 'gudang'"),
        ("#department", "missing department id"),
    ],
)
def test_reassigning_needs_a_known_department(text: str, reason: str) -> None:
    outcome = run(text)
    assert reasons(outcome) == [reason]
    assert outcome.reassigned_to is None


def test_reassigning_to_the_owning_department_changes_nothing() -> None:
    outcome = run("#department teknik")
    assert outcome.reassigned_to is None and outcome.changes == ()
    assert outcome.unchanged == ("#department teknik: the ticket is already with teknik",)


def test_notes_are_collected_and_an_empty_one_is_refused() -> None:
    outcome = run("#note satu\n#catatan dua\n#note")
    assert outcome.notes == ("satu", "dua")
    assert reasons(outcome) == ["missing text after #note"]


@pytest.mark.parametrize("command", ["#root-cause", "#action", "#preventive"])
def test_text_commands_need_text(command: str) -> None:
    assert reasons(run(command)) == [f"missing text after #{command.lstrip('#')}"]


def test_the_reply_text_is_for_the_customer() -> None:
    outcome = run("#status resolved\n#reply\nKoran dikirim ulang.\n--\nAni", ANALYSED)
    assert outcome.reply_to_customer == "Koran dikirim ulang."
    assert outcome.resolved


def test_a_reply_without_text_is_refused() -> None:
    outcome = run("#note cek\n#reply\n\n-- \nAni")
    assert outcome.reply_to_customer is None
    assert reasons(outcome) == ["#reply has no text below it: nothing was sent to the customer"]


def test_without_reply_nothing_goes_to_the_customer() -> None:
    assert run("#note cek gudang\nDetail di bawah.").reply_to_customer is None


# ---------------------------------------------------------------------------
# Nothing is silently ignored
# ---------------------------------------------------------------------------


def test_unknown_and_misplaced_lines_are_refused_in_line_order() -> None:
    outcome = run("#status proses\n#stauts resolved\n#note ok\nTeks biasa.\n#status resolved", NEW)
    assert outcome.refusals == (
        Refusal("#stauts resolved", "unknown command '#stauts'; did you mean '#status'?"),
        Refusal("#status resolved", "not applied: commands go at the top of the reply, above any other text"),
    )
    assert outcome.changes == (Change("status", "assigned", "in-progress"),)


def test_an_unknown_command_far_from_any_known_one_has_no_suggestion() -> None:
    assert reasons(run("#xyzzy")) == ["unknown command '#xyzzy'"]


@pytest.mark.parametrize("role", ["department", "care", "gm"])
def test_every_role_may_use_every_command(role: str) -> None:
    text = (
        "#root-cause a\n#action b\n#target 2026-12-01\n#preventive c\n#severity major\n"
        "#status resolved\n#effective yes d\n#note e"
    )
    outcome = run(text, NEW, role)
    assert outcome.refusals == ()
    assert outcome.closed


def test_an_unknown_role_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown role 'customer'"):
        run("#note x", role="customer")


# ---------------------------------------------------------------------------
# The worked example in docs/departments.md is what the code does
# ---------------------------------------------------------------------------


def _example_blocks() -> list[str]:
    text = (Path(__file__).resolve().parents[3] / "docs" / "departments.md").read_text(encoding="utf-8")
    section = text[text.index("## Worked example") :]
    return re.findall(r"```\n(.*?)```", section, re.DOTALL)


def test_the_documented_worked_example_gives_the_documented_confirmation() -> None:
    first_mail, confirmation, resolving, effective, not_effective, one_mail = _example_blocks()[:6]
    view = replace(NEW, department="distribusi")
    outcome = run(first_mail, view)
    listed = [line.strip() for line in confirmation.splitlines() if line.strip().startswith("- ")]
    assert [f"- {c.field}: {c.old or '-'} -> {c.new or '-'}" for c in outcome.changes] == listed
    assert outcome.reply_to_customer is not None
    assert "Ani" not in outcome.reply_to_customer and "2214" not in outcome.reply_to_customer
    view = after(view, outcome)

    resolved = run(resolving, view)
    assert resolved.resolved
    view = after(view, resolved)
    assert run(not_effective, view).reopened
    closing = run(effective, view)
    assert closing.closed
    assert after(view, closing).effectiveness == "effective: tidak ada keluhan lagi selama 30 hari"
    assert run(one_mail, NEW).resolved
    assert reasons(run("#status closed", view)) == ["cannot close: an effectiveness evaluation is missing"]
