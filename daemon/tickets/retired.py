"""Departments gone from rules.yaml that still own open tickets: refused, or retired to another.

A ticket belongs to its department until it is closed: the customer's follow-ups
are forwarded there, the SLA ladder reminds it, the monthly report counts it.
Rules that no longer list a department with open tickets would leave those
tickets with nobody, so wherever rules are loaded against the database (the
daemon at start and at each reload, `caredesk rules check`) they are refused
(`check_open_tickets`, `stranded_problems`): each such department is named with
how many open tickets it has, a few references, and the two ways out.

One way out is the other: `retired_departments: {old: new}` in the file. When the
daemon takes such rules into force it moves the open tickets of `old` to `new`
(`move_retired`), each with a `changed` history entry saying from which retired
department and why, and its open due dates stamped again for the new
department, as a reassignment by staff does. Closed tickets keep the department
that handled them. Moving is an UPDATE of the tickets still in `old`, so it
happens once: later loads, or another daemon loading the same rules, find none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from daemon.route.rules import Problem, Rules
from daemon.sla.stamping import Retarget, restamp_due_dates
from daemon.store import queries
from daemon.store import tickets as ticket_store
from daemon.store.departments import OpenTickets, move_open_tickets, open_tickets_outside
from daemon.store.vocabulary import Action

ACTOR = "caredesk"


@dataclass(frozen=True, slots=True)
class TicketCheck:
    """The departments not in some rules that own open tickets: those left stranded, those retired."""

    stranded: tuple[OpenTickets, ...]
    """Gone from `departments:` and not under `retired_departments:`: the rules are refused."""
    moving: tuple[tuple[OpenTickets, str], ...]
    """Under `retired_departments:`, with the department their open tickets move to."""


def check_open_tickets(session: Session, rules: Rules) -> TicketCheck:
    """What the open tickets in the database say of `rules`: one grouped query when all is well."""
    found = open_tickets_outside(session, rules.departments)
    moves = rules.retired.moves
    return TicketCheck(
        stranded=tuple(entry for entry in found if entry.department not in moves),
        moving=tuple((entry, moves[entry.department]) for entry in found if entry.department in moves),
    )


def stranded_problems(rules: Rules, stranded: Sequence[OpenTickets]) -> list[Problem]:
    """One error per stranded department, pointing at `departments:` of the rules file."""
    problems = []
    for entry in stranded:
        example = f"retired_departments: {{{entry.department}: {rules.default_department}}}"
        message = (
            f"department '{entry.department}' is not in departments, but {_count(entry.count)} still "
            f"{_verb(entry.count, 'belong')} to it ({_references(entry)}): their follow-ups, SLA reminders "
            f"and reports "
            f"would reach nobody; list the department again, or name the department to move them to "
            f"under retired_departments (for example `{example}`)"
        )
        problems.append(Problem(rules.source, rules.retired.departments_line, 1, message))
    return problems


def moving_lines(moving: Sequence[tuple[OpenTickets, str]]) -> list[str]:
    """What loading the rules will move, one line per retired department (for `rules check`)."""
    return [
        f"retired department '{entry.department}': {_count(entry.count)} ({_references(entry)}) "
        f"{_verb(entry.count, 'move')} to '{new}' when the daemon loads these rules"
        for entry, new in moving
    ]


@dataclass(frozen=True, slots=True)
class Moved:
    """The open tickets of one retired department, moved."""

    retired: str
    department: str
    references: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MoveRun:
    """When, and in which time zone, the rules now in force move the retired departments' tickets."""

    at: datetime
    timezone: str


def move_retired(session: Session, rules: Rules, run: MoveRun) -> list[Moved]:
    """Move the open tickets of each retired department of `rules` to its new one (the caller commits)."""
    done = []
    for old, new in rules.retired.moves.items():
        tickets = move_open_tickets(session, old, new)
        reason = (
            f"department '{old}' is retired in rules version {rules.version} "
            f"(retired_departments: {old}: {new}): its open tickets go to '{new}'"
        )
        retarget = Retarget(
            rules=rules,
            at=run.at,
            reason=f"department {old} -> {new} (retired in rules version {rules.version})",
            timezone=run.timezone,
        )
        for ticket in tickets:
            queries.add_event(
                session,
                ticket,
                queries.History(
                    actor=ACTOR,
                    action=Action.CHANGED,
                    at=run.at,
                    field_name="department",
                    old_value=old,
                    new_value=new,
                    reason=reason,
                    data={"retired_department": old, "rules_version": rules.version},
                ),
            )
            restamp_due_dates(session, ticket, retarget)
            ticket_store.mark_updated(session, ticket, run.at)
        if tickets:
            done.append(Moved(old, new, tuple(ticket.reference for ticket in tickets)))
    return done


def _count(number: int) -> str:
    return f"{number} open ticket{'s' if number != 1 else ''}"


def _verb(number: int, verb: str) -> str:
    return f"{verb}s" if number == 1 else verb


def _references(entry: OpenTickets) -> str:
    more = entry.count - len(entry.references)
    return ", ".join(entry.references) + (f" and {more} more" if more > 0 else "")
