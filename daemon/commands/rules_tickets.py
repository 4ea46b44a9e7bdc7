"""`caredesk rules check` against the database: do the rules leave any open ticket with nobody?

A valid rules file is also held to the open tickets of the configured database,
read-only, as the daemon holds it when it loads the file
(`daemon.tickets.retired`): a department the file drops that still owns open
tickets is an error, like any other problem of the file; one retired under
`retired_departments:` is a note saying where its tickets will go.

When the database cannot be asked, the command says so and does not pass:
69 (EX_UNAVAILABLE) when it cannot be reached, 1 when its schema is not this
version's. A database that does not exist yet (a new installation) has no
tickets: nothing to check, and that is said too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session

from daemon.commands import EX_UNAVAILABLE, EX_USAGE_ERROR
from daemon.config import Config
from daemon.route.rules import Problem, Rules
from daemon.store import db
from daemon.tickets.retired import check_open_tickets, moving_lines, stranded_problems


@dataclass
class TicketsVerdict:
    """What the open tickets say of some rules: problems (errors), notes, and the exit code."""

    code: int = 0
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Lines for standard output: where retired departments' tickets go, what was checked."""
    failure: str = ""
    """Why the tickets could not be checked (for standard error); empty when they were."""


def check_against_tickets(config: Config, rules: Rules) -> TicketsVerdict:
    """Hold `rules` to the open tickets of `config`'s database, read-only."""
    where = db.public_database_url(config.database_url)
    try:
        engine = db.open_read_only(config.database_url)
    except db.DatabaseUnavailable as error:
        return TicketsVerdict(EX_UNAVAILABLE, failure=f"{error}: {_UNCHECKED}")
    except db.DatabaseNotReady as error:
        if _no_database_yet(config.database_url):
            return TicketsVerdict(notes=[f"open tickets: none yet (no caredesk database at {where})"])
        return TicketsVerdict(EX_USAGE_ERROR, failure=f"{error}: {_UNCHECKED}")
    try:
        with Session(engine) as session:
            check = check_open_tickets(session, rules)
    finally:
        engine.dispose()
    problems = stranded_problems(rules, check.stranded)
    notes = moving_lines(check.moving)
    if not problems:
        notes.append(f"open tickets: each belongs to a department of these rules (database {where})")
    return TicketsVerdict(EX_USAGE_ERROR if problems else 0, problems, notes)


_UNCHECKED = "the open tickets were not checked against these rules (run `caredesk rules check` again)"


def _no_database_yet(url: str) -> bool:
    """No caredesk schema at all (a missing SQLite file, an empty database): no tickets either."""
    status = db.read_only_status(url)
    return status.current is None and not status.unversioned_tables
