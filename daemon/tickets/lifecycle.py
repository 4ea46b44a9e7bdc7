"""The ISO corrective-action lifecycle: what a reply's commands do to a ticket.

This module owns the rules of DOMAIN.md §6–7 as one pure function,
`apply_commands`: given what the rules need to know of a ticket
(`TicketView`), the parsed reply, the sender's role, the known departments and
today's date, it returns an `Outcome` — every field change (old -> new) in the
order the commands asked for them, every refusal with its reason, the internal
notes, the text for the customer, and whether the ticket was resolved, closed
or reopened by this mail. Nothing is read or written here; the pipeline stores
the changes as history and sends the confirmation.

    new -> acknowledged -> assigned -> in-progress -> resolved -> closed
                                          ^              |
                                          +-- #effective no

Rules (docs/departments.md explains them to the staff):

* Commands apply in the order written, each seeing the ticket as the earlier
  ones left it, so `#root-cause`, `#action`, `#status resolved` work in one mail.
* `#root-cause` or `#action` on a new, acknowledged or assigned ticket moves it
  to in-progress.
* Resolving needs a root cause and a corrective action. Closing needs those and
  an effectiveness evaluation of "effective" (`#effective yes`, which closes a
  resolved ticket by itself). Closing a ticket that is not resolved yet passes
  through resolved, so the customer is still told the result.
* `#effective no` on a resolved ticket records "not effective: ..." and sends
  it back to in-progress; nothing is cleared, so the history keeps the old
  analysis while the new one is written over it.
* A closed ticket takes only `#note`, from anyone. Customer care may also move
  it back with `#status` (reopen); that clears the "effective" evaluation (the
  history keeps it) so the ticket can only be closed again after a new one.
* `#category` takes one of the `categories:` of rules.yaml, `#organisation`
  any text; `-` clears either (`daemon.tickets.form_labels`).
* Any other move backwards (resolved -> in-progress) is customer care's alone;
  a department or GM reopens a resolved ticket with `#effective no <why>`.
* A mail that leaves the ticket major after raising its severity, or after
  handing a major ticket to another department, puts it before that
  department's general manager at once (DOMAIN.md §5): `escalation_reason`
  says why, for the escalation mail.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from daemon.route.rules import Categories
from daemon.tickets.commands import (
    Command,
    ParsedReply,
    effective_value,
    severity_value,
    status_value,
    unknown_command_reason,
)
from daemon.tickets.form_labels import Known, category_verdict, label_command, organisation_verdict
from daemon.tickets.target_dates import parse_date

STATUSES = ("new", "acknowledged", "assigned", "in-progress", "resolved", "closed")
ROLES = ("department", "care", "gm")

_RANK = {status: rank for rank, status in enumerate(STATUSES)}
_BEFORE_WORK = frozenset({"new", "acknowledged", "assigned"})


@dataclass(frozen=True)
class TicketView:
    """What the lifecycle rules need to know of a ticket."""

    status: str
    severity: str
    department: str
    root_cause: str | None
    corrective_action: str | None
    action_target: date | None
    preventive_action: str | None
    effectiveness: str | None
    """"effective: <note>" or "not effective: <note>" (or just "effective" / "not effective")."""
    category: str | None = None
    customer_organisation: str = ""


@dataclass(frozen=True)
class Change:
    """One field changed by a command: a history entry's old -> new."""

    field: str
    """A TicketView field: status, root_cause, corrective_action, action_target, preventive_action,
    effectiveness, severity, department, category or customer_organisation."""
    old: str | None
    new: str | None


@dataclass(frozen=True)
class Refusal:
    """A command (or command-like line) that changed nothing, and why."""

    command: str
    reason: str


@dataclass(frozen=True)
class Outcome:
    """What one mail's commands did to a ticket."""

    changes: tuple[Change, ...]
    refusals: tuple[Refusal, ...]
    notes: tuple[str, ...]
    reply_to_customer: str | None
    reassigned_to: str | None
    resolved: bool
    """The ticket became resolved in this mail: the customer is told the result."""
    closed: bool
    """The ticket became closed in this mail: the customer gets the survey."""
    reopened: bool
    """The ticket went back to in-progress (`#effective no`, or customer care's `#status`)."""
    unchanged: tuple[str, ...] = ()
    """Commands that asked for what the ticket already had, e.g. "#status resolved: already resolved"."""


def customer_reply_reopens(view: TicketView) -> bool:
    """Whether a customer's reply sends the ticket back to in-progress: only a resolved one.

    A closed ticket is not reopened: the customer's answer to the survey, or a
    new problem, is handled as such (DOMAIN.md §7).
    """
    return view.status == "resolved"


def escalation_reason(before: TicketView, outcome: Outcome, *, sender: str) -> str | None:
    """Why the general manager must hear of the ticket now, after this mail; None when nothing calls for it.

    `before` is the ticket as it was before the mail, `sender` who sent it (as
    the reason should name them). A mail that raised the severity to major, or
    handed a major ticket to another department, calls for it, provided the
    ticket is still major once the mail's commands are done. Whether that
    department's GM had it already is for the caller to know.
    """
    severity = before.severity
    moves: list[Change] = []
    raised: Change | None = None
    for change in outcome.changes:
        if change.field == "severity":
            severity = change.new or severity
            raised = change if change.new == "major" else None
        elif change.field == "department":
            moves.append(change)
    if severity != "major" or (raised is None and not moves):
        return None
    handed = f"handed from {moves[0].old or '-'} to {moves[-1].new or '-'}" if moves else ""
    if raised is not None:
        made = f"made major by {sender} with #severity ({raised.old or '-'} -> major)"
        return f"{made}, and {handed}" if handed else made
    return f"a major complaint {handed} by {sender} with #department"


@dataclass
class _Mail:
    """The ticket as the commands so far left it, and what they did."""

    view: TicketView
    role: str
    departments: dict[str, str]
    categories: Categories
    today: date
    reply_text: str
    changes: list[Change] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    reply_to_customer: str | None = None
    reassigned_to: str | None = None
    resolved: bool = False
    closed: bool = False
    reopened: bool = False

    def set(self, name: str, value: str | date | None) -> None:
        old = getattr(self.view, name)
        if old == value:
            return
        self.changes.append(Change(name, _text(old), _text(value)))
        # The field name comes from this module's handlers, never from the mail.
        fields: dict[str, Any] = {name: value}
        self.view = replace(self.view, **fields)

    def refuse(self, command: Command, reason: str) -> None:
        self.refusals.append(Refusal(command.raw, reason))

    def outcome(self) -> Outcome:
        return Outcome(
            changes=tuple(self.changes),
            refusals=tuple(self.refusals),
            notes=tuple(self.notes),
            reply_to_customer=self.reply_to_customer,
            reassigned_to=self.reassigned_to,
            resolved=self.resolved,
            closed=self.closed,
            reopened=self.reopened,
            unchanged=tuple(self.unchanged),
        )


def _text(value: str | date | None) -> str | None:
    return value.isoformat() if isinstance(value, date) else value


def apply_commands(
    view: TicketView,
    parsed: ParsedReply,
    *,
    role: str,
    known: Known,
    today: date,
) -> Outcome:
    """Apply a reply's commands to `view` in order; refuse what the lifecycle does not allow.

    `role` is 'department' (a member of the owning department), 'care'
    (customer-care staff) or 'gm'; `known` holds the department ids and
    categories the commands may name. Unknown command-like lines and commands
    written in the wrong place come back as refusals, so the confirmation
    mail can list everything that was not done.
    """
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    mail = _Mail(
        view=view,
        role=role,
        departments={department.casefold(): department for department in known.departments},
        categories=known.categories,
        today=today,
        reply_text=parsed.reply_text,
    )
    for _line, item in sorted(_in_line_order(parsed), key=lambda pair: pair[0]):
        if isinstance(item, Command):
            _apply(mail, item)
        else:
            mail.refusals.append(item)
    return mail.outcome()


def _in_line_order(parsed: ParsedReply) -> Iterable[tuple[int, Command | Refusal]]:
    for command in parsed.commands:
        yield command.line, command
    for line, raw in parsed.unknown:
        yield line, Refusal(raw, unknown_command_reason(raw))
    for line, raw in parsed.misplaced:
        yield line, Refusal(raw, "not applied: commands go at the top of the reply, above any other text")


def _apply(mail: _Mail, command: Command) -> None:
    if mail.view.status == "closed" and not _allowed_on_closed(mail.role, command.name):
        hint = " (customer care can reopen it)" if command.name == "status" else ""
        mail.refuse(command, f"ticket is closed: only #note is accepted{hint}")
        return
    _HANDLERS[command.name](mail, command)


def _allowed_on_closed(role: str, name: str) -> bool:
    return name == "note" or (role == "care" and name == "status")


# ---------------------------------------------------------------------------
# Status moves
# ---------------------------------------------------------------------------


def _status(mail: _Mail, command: Command) -> None:
    wanted = status_value(command.argument)
    if wanted is None:
        what = f"unknown status '{command.argument}'" if command.argument else "missing status"
        mail.refuse(command, f"{what}: use in-progress, resolved or closed (proses, selesai, ditutup)")
        return
    current = mail.view.status
    if wanted == current:
        mail.unchanged.append(f"{command.raw}: the ticket is already {current}")
    elif _RANK[wanted] < _RANK[current]:
        _move_back(mail, command, wanted)
    elif wanted == "in-progress":
        mail.set("status", "in-progress")
    elif wanted == "resolved":
        _resolve(mail, command)
    else:
        _close(mail, command, evaluation=None)


def _move_back(mail: _Mail, command: Command, wanted: str) -> None:
    current = mail.view.status
    if mail.role != "care":
        hint = "; to reopen it, send '#effective no <why>'" if current == "resolved" else ""
        mail.refuse(command, f"cannot move a {current} ticket back to {wanted}{hint}")
        return
    if current == "closed" and _is_effective(mail.view.effectiveness):
        # The evaluation was of the action now being reopened: closing again
        # must rest on a new one. The old one stays in the history.
        mail.set("effectiveness", None)
    mail.set("status", wanted)
    mail.reopened = mail.reopened or wanted == "in-progress"


TARGET_MISSING = "the target date of the corrective action"


def _missing(view: TicketView, *, evaluation: bool) -> list[str]:
    missing = [
        name
        for name, value in (("root cause", view.root_cause), ("corrective action", view.corrective_action))
        if not value
    ]
    # DOMAIN.md §6: the action plan has a target date. A ticket resolved before that
    # was asked for is closed without one; it is not sent back for it.
    if view.action_target is None and view.status != "resolved":
        missing.append(TARGET_MISSING)
    if evaluation and not _is_effective(view.effectiveness):
        missing.append("an effectiveness evaluation")
    return missing


def _what_to_add(missing: list[str]) -> str:
    """How to add the target date, when it is what is missing; the other commands name themselves."""
    if TARGET_MISSING not in missing:
        return ""
    return "; add a line '#target <date>' (e.g. #target 31-12-2026) above it"


def _listed(words: list[str]) -> str:
    if len(words) == 1:
        return f"{words[0]} is"
    return f"{', '.join(words[:-1])} and {words[-1]} are"


def _resolve(mail: _Mail, command: Command) -> None:
    missing = _missing(mail.view, evaluation=False)
    if missing:
        mail.refuse(command, f"cannot resolve: {_listed(missing)} missing{_what_to_add(missing)}")
        return
    mail.set("status", "resolved")
    mail.resolved = True


def _close(mail: _Mail, command: Command, evaluation: str | None) -> None:
    """Close the ticket; `evaluation` is the one `#effective yes` brings, if that is the command."""
    missing = _missing(mail.view, evaluation=evaluation is None)
    if missing:
        mail.refuse(command, f"cannot close: {_listed(missing)} missing{_what_to_add(missing)}")
        return
    if mail.view.status != "resolved":
        # Closing passes through resolved so the customer still hears the result.
        mail.set("status", "resolved")
        mail.resolved = True
    if evaluation is not None:
        mail.set("effectiveness", evaluation)
    mail.set("status", "closed")
    mail.closed = True


def _is_effective(evaluation: str | None) -> bool:
    return bool(evaluation) and _evaluation_word(evaluation or "") == "effective"


def _evaluation_word(evaluation: str) -> str:
    return evaluation.partition(":")[0].strip().casefold()


def _effective(mail: _Mail, command: Command) -> None:
    word, note = [*command.argument.split(None, 1), "", ""][:2]
    verdict = effective_value(word) if word else None
    if verdict is None:
        mail.refuse(command, "write '#effective yes <note>' or '#effective no <note>' (ya / tidak)")
        return
    note = note.strip()
    if verdict == "yes":
        _close(mail, command, evaluation=f"effective: {note}" if note else "effective")
        return
    if mail.view.status != "resolved":
        mail.refuse(
            command,
            f"only a resolved ticket can be evaluated as not effective; this one is {mail.view.status}",
        )
        return
    mail.set("effectiveness", f"not effective: {note}" if note else "not effective")
    mail.set("status", "in-progress")
    mail.reopened = True


# ---------------------------------------------------------------------------
# The complaint form's fields
# ---------------------------------------------------------------------------


def _text_field(name: str, *, starts_work: bool) -> Callable[[_Mail, Command], None]:
    def handle(mail: _Mail, command: Command) -> None:
        text = command.argument.strip()
        if not text:
            mail.refuse(command, f"missing text after #{command.name}")
            return
        if getattr(mail.view, name) == text:
            mail.unchanged.append(f"{command.raw}: already recorded")
            return
        mail.set(name, text)
        if starts_work and mail.view.status in _BEFORE_WORK:
            mail.set("status", "in-progress")

    return handle


def _target(mail: _Mail, command: Command) -> None:
    target = parse_date(command.argument)
    if target is None:
        mail.refuse(
            command,
            f"bad date '{command.argument}': "
            "write it like 2026-12-05, 05-12-2026, 5/12/2026 or 5 Desember 2026",
        )
    elif target < mail.today:
        mail.refuse(command, f"target date {target.isoformat()} is in the past")
    elif target == mail.view.action_target:
        mail.unchanged.append(f"{command.raw}: already the target date")
    else:
        mail.set("action_target", target)


def _severity(mail: _Mail, command: Command) -> None:
    severity = severity_value(command.argument)
    if severity is None:
        what = f"unknown severity '{command.argument}'" if command.argument else "missing severity"
        mail.refuse(command, f"{what}: use major or minor (mayor / minor)")
    elif severity == mail.view.severity:
        mail.unchanged.append(f"{command.raw}: the ticket is already {severity}")
    else:
        mail.set("severity", severity)


def _department(mail: _Mail, command: Command) -> None:
    wanted = command.argument.strip()
    department = mail.departments.get(wanted.casefold())
    if department is None:
        if not wanted:
            mail.refuse(command, "missing department id")
            return
        close = difflib.get_close_matches(wanted.casefold(), list(mail.departments), n=1, cutoff=0.7)
        hint = f"; did you mean '{mail.departments[close[0]]}'?" if close else ""
        mail.refuse(command, f"unknown department '{wanted}'{hint}")
    elif department == mail.view.department:
        mail.unchanged.append(f"{command.raw}: the ticket is already with {department}")
    else:
        mail.set("department", department)
        mail.reassigned_to = department


def _note(mail: _Mail, command: Command) -> None:
    text = command.argument.strip()
    if text:
        mail.notes.append(text)
    else:
        mail.refuse(command, "missing text after #note")


def _reply(mail: _Mail, command: Command) -> None:
    if mail.reply_text:
        mail.reply_to_customer = mail.reply_text
    else:
        mail.refuse(command, "#reply has no text below it: nothing was sent to the customer")


_HANDLERS: dict[str, Callable[[_Mail, Command], None]] = {
    "status": _status,
    "root-cause": _text_field("root_cause", starts_work=True),
    "action": _text_field("corrective_action", starts_work=True),
    "target": _target,
    "preventive": _text_field("preventive_action", starts_work=False),
    "effective": _effective,
    "severity": _severity,
    "department": _department,
    "category": label_command("category", category_verdict),
    "organisation": label_command("customer_organisation", organisation_verdict),
    "note": _note,
    "reply": _reply,
}
