"""The daemon's side of departments gone from rules.yaml: rules held to the open tickets.

`OpenTicketGuard` is what `RulesHolder` asks before it takes rules into force
(`problems`: a department the rules no longer list still owns open tickets) and
after (`adopt`: the open tickets of each retired department move to its new one).
Each runs in its own transaction on the daemon's engine; the decisions are
`daemon.tickets.retired`'s.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine

from daemon.route.rules import Problem, Rules
from daemon.store import db
from daemon.tickets.retired import MoveRun, check_open_tickets, move_retired, stranded_problems

log = logging.getLogger("caredesk.rules")


class OpenTicketGuard:
    """Holds rules to the open tickets in the daemon's database."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime], timezone: str) -> None:
        self.engine = engine
        self.clock = clock
        self.timezone = timezone

    def problems(self, rules: Rules) -> list[Problem]:
        """An error for each department gone from `rules` (and not retired) that owns open tickets."""
        with db.session(self.engine) as session:
            check = check_open_tickets(session, rules)
        return stranded_problems(rules, check.stranded)

    def adopt(self, rules: Rules) -> None:
        """`rules` are in force: move the open tickets of their retired departments, and say so."""
        if not rules.retired.moves:
            return
        with db.session(self.engine) as session:
            moved = move_retired(session, rules, MoveRun(self.clock(), self.timezone))
            session.commit()
        for entry in moved:
            log.warning(
                "rules version %s: department %s is retired: %d open ticket(s) moved to %s: %s",
                rules.version,
                entry.retired,
                len(entry.references),
                entry.department,
                _listed(entry.references),
            )


def _listed(references: tuple[str, ...], shown: int = 10) -> str:
    more = len(references) - shown
    return ", ".join(references[:shown]) + (f" and {more} more" if more > 0 else "")
