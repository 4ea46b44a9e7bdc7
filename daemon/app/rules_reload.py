"""Hot reload of rules.yaml: which rules are in force, and telling the admin when a change is refused.

The daemon calls `RulesHolder.refresh()` before each poll of the mailbox, and the
pipeline asks the holder for the rules once per mail, so a changed file is swapped
in between two mails, never in the middle of one. A change is noticed by its
content (the same SHA-256 the rules version is made of), not by its time stamp,
and validated exactly as `caredesk rules check` does. An invalid file is refused:
its problems go to the log, and once per refused version to the configured
`admin_address` (`AdminAlert`), and the last good rules stay in force.

Once the database is open the holder is also given a `TicketGuard`
(`guard_tickets`): rules that drop a department still owning open tickets are
refused the same way (at start, they stop the daemon), and rules taken into
force move the open tickets of their `retired_departments:` (`adopt`).
"""

from __future__ import annotations

import hashlib
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select
from sqlmodel import col

from daemon.config import Config, ConfigError
from daemon.outbox.enqueue import Mailer, Outgoing
from daemon.route.loader import check_rules
from daemon.route.rules import Problem, Rules, format_problem
from daemon.store import db
from daemon.store.models import OutboundMessage
from daemon.store.vocabulary import OutboundKind

log = logging.getLogger("caredesk.rules")

# A file modified less than this long ago may still be being written (an editor
# saving in place, a slow copy): it is looked at again at the next poll.
SETTLE_SECONDS = 1.0
# A change refused only because open tickets still belong to a department it
# drops is looked at again this often: closing or moving those tickets by hand
# lets it in without another edit of the file.
RECHECK_SECONDS = 60.0
ALERT_KIND = OutboundKind.OPS_ALERT
ALERT_TEMPLATE = "rules_refused.txt"


def content_version(text: str) -> str:
    """The version of rules text: what `daemon.route.rules` stores on `Rules.version`."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


@dataclass(frozen=True)
class Refusal:
    """A changed rules file the running daemon would not use, and why."""

    path: Path
    version: str
    """The refused file's content hash (first 12 hex digits of its SHA-256)."""
    problems: tuple[Problem, ...]
    """Errors and warnings, in file order: what `caredesk rules check` prints."""
    kept_version: str
    """The version of the rules that stay in force."""

    @property
    def messages(self) -> list[str]:
        return [format_problem(problem) for problem in self.problems]

    @property
    def errors(self) -> int:
        return sum(1 for problem in self.problems if problem.severity == "error")


@dataclass(frozen=True)
class _FileState:
    """What the rules file holds right now: text, or why it cannot be read."""

    key: str
    """Identifies this state: the content version, or the read error."""
    text: str | None
    problem: Problem | None
    modified: float | None
    read_error: str = ""


def _read(path: Path) -> _FileState:
    try:
        data = path.read_bytes()
        modified = path.stat().st_mtime
        # Universal newlines, as `Path.read_text` (and so `load_rules`) reads the
        # file: the version is then the same whichever way the file was read.
        text = data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        problem = Problem(str(path), 0, 0, f"cannot read the rules file: {reason}")
        return _FileState(f"unreadable: {reason}", None, problem, None, reason)
    return _FileState(content_version(text), text, None, modified)


class TicketGuard(Protocol):
    """What the holder asks of the open tickets (`daemon.app.retired_departments.OpenTicketGuard`)."""

    def problems(self, rules: Rules) -> list[Problem]:
        """Errors for the departments `rules` drop that still own open tickets."""
        ...

    def adopt(self, rules: Rules) -> None:
        """`rules` are in force: move the open tickets of their retired departments."""
        ...


class RulesHolder:
    """The rules in force. A changed file is swapped in between two mails, only if valid.

    `on_refused` hears about each refused file version once (retried at the next
    refresh if it raises); `wall_clock` is injected so tests can control settling.
    """

    def __init__(
        self,
        path: Path,
        *,
        on_refused: Callable[[Refusal], None] | None = None,
        settle_seconds: float = SETTLE_SECONDS,
        wall_clock: Callable[[], float] = time.time,
        own_addresses: tuple[str, ...] = (),
    ) -> None:
        self.path = path
        self.own_addresses = own_addresses
        """The mailboxes caredesk reads: rules naming one as a recipient are refused."""
        self.on_refused = on_refused
        self.settle_seconds = settle_seconds
        self.wall_clock = wall_clock
        state = _read(path)
        if state.text is None:
            raise ConfigError(f"{path}: cannot read rules: {state.read_error}")
        rules, problems = check_rules(state.text, str(path), own_addresses)
        if rules is None:
            details = "\n".join(format_problem(p) for p in problems)
            raise ConfigError(f"{path}: rules are invalid:\n{details}")
        self.current: Rules = rules
        for problem in problems:
            log.warning("rules version %s: %s", rules.version, format_problem(problem))
        log.info("rules %s: version %s, %d rules", path, rules.version, len(rules.rules))
        self._seen = state.key
        """The file state last acted on; an unchanged file costs one read and a hash."""
        self._waiting: tuple[str, float] | None = None
        self._unsent: Refusal | None = None
        self.tickets: TicketGuard | None = None
        """Holds rules to the open tickets once the database is open (`guard_tickets`)."""
        self._adopting: Rules | None = None
        """Rules in force whose retired departments' tickets are still to move (retried if it failed)."""
        self._recheck: tuple[str, float] | None = None
        """The file state refused for its open tickets only, and when they were last looked at."""

    def __call__(self) -> Rules:
        return self.current

    def guard_tickets(self, guard: TicketGuard) -> None:
        """Hold the rules in force, then every change, to the open tickets.

        ConfigError when the rules in force drop a department that still owns open
        tickets: as for any invalid rules at start, the daemon does not start.
        """
        stranded = guard.problems(self.current)
        if stranded:
            details = "\n".join(format_problem(p) for p in stranded)
            raise ConfigError(f"{self.path}: rules are invalid:\n{details}")
        self.tickets, self._adopting = guard, self.current
        self._adopt()

    def refresh(self) -> bool:
        """Look at the file; True when new rules were swapped in."""
        self._send_alert()
        self._adopt()
        state = _read(self.path)
        if not self._worth_reading(state):
            return False
        if state.text is None:
            self._seen = state.key
            self._refuse(state.key, (state.problem,) if state.problem else ())
            return False
        rules, problems = check_rules(state.text, str(self.path), self.own_addresses)
        if rules is None:
            self._seen = state.key
            self._refuse(state.key, tuple(problems))
            return False
        return self._take(state.key, rules, problems)

    def _worth_reading(self, state: _FileState) -> bool:
        """A changed file once it has settled; a file refused for its open tickets, once a minute."""
        if state.key != self._seen:
            return self._settled(state)
        recheck = self._recheck
        return (
            recheck is not None
            and recheck[0] == state.key
            and self.wall_clock() - recheck[1] >= RECHECK_SECONDS
        )

    def _take(self, key: str, rules: Rules, problems: list[Problem]) -> bool:
        """Valid rules: swapped in, unless a department they drop still owns open tickets."""
        stranded = self._stranded(rules)
        if stranded is None:
            return False
        rechecked = self._recheck is not None and self._recheck[0] == key
        self._seen, self._recheck = key, None
        if stranded:
            self._recheck = (key, self.wall_clock())
            if not rechecked:  # a look again that finds the same says nothing new
                self._refuse(key, tuple(sorted([*problems, *stranded], key=lambda p: (p.line, p.column))))
            return False
        swapped = self._swap(rules, problems)
        if swapped:
            self._adopting = rules
            self._adopt()
        return swapped

    def _stranded(self, rules: Rules) -> list[Problem] | None:
        """The open tickets `rules` would strand; None when the database cannot say (asked again later)."""
        if self.tickets is None or rules.version == self.current.version:
            return []
        try:
            return self.tickets.problems(rules)
        except Exception as error:
            log.warning(
                "cannot check rules version %s against the open tickets: %s: %s; "
                "trying again at the next poll",
                rules.version,
                type(error).__name__,
                error,
            )
            return None

    def _adopt(self) -> None:
        rules, self._adopting = self._adopting, None
        if rules is None or self.tickets is None or rules is not self.current:
            return
        try:
            self.tickets.adopt(rules)
        except Exception as error:
            log.error(
                "cannot move the open tickets of the retired departments of rules version %s: %s: %s; "
                "trying again at the next poll",
                rules.version,
                type(error).__name__,
                error,
            )
            self._adopting = rules

    def _settled(self, state: _FileState) -> bool:
        now = self.wall_clock()
        if state.modified is not None:
            # A time stamp in the future (a skewed clock) must not block reloads forever.
            return not 0 <= now - state.modified < self.settle_seconds
        # No time stamp to go by for a file that cannot be read (an editor may
        # have moved it aside while saving): it must stay unreadable a while.
        if self._waiting is None or self._waiting[0] != state.key:
            self._waiting = (state.key, now)
        return now - self._waiting[1] >= self.settle_seconds

    def _swap(self, rules: Rules, problems: list[Problem]) -> bool:
        self._unsent = None
        for problem in problems:
            log.warning("rules version %s: %s", rules.version, format_problem(problem))
        if rules.version == self.current.version:
            log.info("rules file %s is valid again: version %s stays in force", self.path, rules.version)
            return False
        log.info(
            "rules reloaded from %s: version %s -> %s (%d rules)",
            self.path,
            self.current.version,
            rules.version,
            len(rules.rules),
        )
        self.current = rules
        return True

    def _refuse(self, version: str, problems: tuple[Problem, ...]) -> None:
        refusal = Refusal(self.path, version, problems, self.current.version)
        for message in refusal.messages:
            log.error("rules change refused: %s", message)
        log.error(
            "rules change refused: %s version %s has %d error(s); version %s stays in force",
            self.path,
            version,
            refusal.errors,
            refusal.kept_version,
        )
        self._unsent = refusal
        self._send_alert()

    def _send_alert(self) -> None:
        refusal, self._unsent = self._unsent, None
        if refusal is None or self.on_refused is None:
            return
        try:
            self.on_refused(refusal)
        except Exception as error:
            # The refusal stands either way; only telling the admin is retried.
            log.error(
                "cannot tell the admin about refused rules version %s: %s: %s; trying again at the next poll",
                refusal.version,
                type(error).__name__,
                error,
            )
            self._unsent = refusal


@dataclass(frozen=True, slots=True)
class AlertSettings:
    """Who is told about refused rules, and how the alert names this daemon and tells its time."""

    admin_address: str
    """Where alerts go; empty: the refusal is reported in the log only."""
    instance: str
    timezone: str
    """The zone the alert's "refused at" time is written in."""

    @classmethod
    def from_config(cls, config: Config) -> AlertSettings:
        """The settings as caredesk.toml gives them."""
        return cls(config.admin_address, config.instance, config.timezone)


class AdminAlert:
    """Mails a rules refusal to `admin_address` through the outbox, in its own transaction.

    Several daemons may share one database and one rules file: an alert already
    queued for the same refused version is not queued again.
    """

    def __init__(
        self, engine: Engine, mailer: Mailer, settings: AlertSettings, *, clock: Callable[[], datetime]
    ) -> None:
        self.engine = engine
        self.mailer = mailer
        self.admin_address = settings.admin_address
        self.instance = settings.instance
        self.zone = ZoneInfo(settings.timezone)
        self.clock = clock

    def __call__(self, refusal: Refusal) -> None:
        if not self.admin_address:
            log.warning("no admin_address configured: the refused rules are reported in this log only")
            return
        with db.session(self.engine) as session:
            earlier = session.execute(
                select(col(OutboundMessage.id)).where(
                    col(OutboundMessage.kind) == ALERT_KIND,
                    col(OutboundMessage.recipient) == self.admin_address,
                    col(OutboundMessage.subject).contains(f"({refusal.version})"),
                )
            ).first()
            if earlier is not None:
                log.info("refused rules version %s was already reported to the admin", refusal.version)
                return
            self.mailer.queue(
                session,
                Outgoing(
                    kind=ALERT_KIND,
                    recipient=self.admin_address,
                    template=ALERT_TEMPLATE,
                    context=self.context(refusal),
                ),
            )
            session.commit()
        log.info("refused rules version %s reported to %s", refusal.version, self.admin_address)

    def context(self, refusal: Refusal) -> dict[str, object]:
        return {
            "path": str(refusal.path),
            "version": refusal.version,
            "kept_version": refusal.kept_version,
            "problems": refusal.messages,
            "errors": refusal.errors,
            "instance": self.instance,
            "host": socket.gethostname(),
            "refused_at": self.clock().astimezone(self.zone).strftime("%d-%m-%Y %H:%M:%S %Z"),
        }
