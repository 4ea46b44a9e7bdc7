"""Holding the periodic jobs when the clock jumps, until an administrator confirms it.

Before the periodic jobs run (the SLA ladder, the monthly report and its
reminder, the branch-recap deadlines), the daemon asks `ClockGuard.allows(now)`.
The decision is `daemon.periodic.clock_check.judge`, against the last-seen time
the database keeps (`daemon.store.clock_state`):

- allowed: the last-seen time moves to `now` and the jobs run;
- a jump: a hold is placed, once for all daemons on the database. The process
  that places it records it (`operation_event`, `clock-held`) and queues one
  mail to `admin_address` in the same transaction. Each process says so once at
  ERROR, not at every run; the jobs do not run, mail intake and tickets go on;
- held: nothing runs until `caredesk clock confirm` lifts the hold, taking the
  clock's reading then as the new last-seen time.
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import Session

from daemon.config import Config
from daemon.outbox.enqueue import Mailer, Outgoing
from daemon.periodic.clock_check import Bounds, Jump, duration, judge, seen
from daemon.store import clock_state, db, operations
from daemon.store.clock_state import Hold
from daemon.store.models import OperationEvent
from daemon.store.vocabulary import Operation, OutboundKind

log = logging.getLogger("caredesk.clock")

ALERT_TEMPLATE = "clock_jump.txt"
SUBJECT = "clock"
"""The `operation_event.subject` of the clock's holds and confirmations."""
CONFIRM_COMMAND = 'caredesk clock confirm --reason "..."'


@dataclass(frozen=True, slots=True)
class GuardSettings:
    """The clock's bounds, and who is told about a hold and how the mail tells the time."""

    bounds: Bounds
    admin_address: str
    """Where the alert goes; empty: the hold is reported in the log only."""
    instance: str
    timezone: str

    @classmethod
    def from_config(cls, config: Config) -> GuardSettings:
        bounds = Bounds.from_config(config.periodic)
        return cls(bounds, config.admin_address, config.instance, config.timezone)


class ClockGuard:
    """Says whether the periodic jobs may run now; places and reports a hold when the clock jumped."""

    def __init__(self, engine: Engine, mailer: Mailer, settings: GuardSettings, *, owner: str) -> None:
        self.engine = engine
        self.mailer = mailer
        self.settings = settings
        self.owner = owner
        self._announced: Hold | None = None
        """The hold this process has logged: each hold is one ERROR line per process."""

    def allows(self, now: datetime) -> bool:
        """True when the periodic jobs may run at `now` (the last-seen time then moves to `now`)."""
        with db.session(self.engine) as session:
            held = clock_state.hold(session)
            if held is None:
                last = clock_state.last_seen(session)
                jump = judge(last, now, self.settings.bounds)
                if jump is None:
                    clock_state.set_last_seen(session, seen(last, now))
                    session.commit()
                    self._resumed()
                    return True
                held = self._place(session, jump)
                session.commit()
        self._announce(held)
        return False

    def _place(self, session: Session, jump: Jump) -> Hold:
        """Hold the jobs for `jump`, or find the hold another daemon placed first."""
        held = Hold(last_seen=jump.last_seen, clock=jump.now, reason=jump.describe(), owner=self.owner)
        if not clock_state.place_hold(session, held):
            found = clock_state.hold(session)
            return found or held
        operations.record(
            session,
            OperationEvent(
                at=jump.now,
                action=Operation.CLOCK_HELD,
                subject=SUBJECT,
                actor=self.owner,
                reason=held.reason,
                data={
                    "last_seen": jump.last_seen.isoformat(),
                    "clock": jump.now.isoformat(),
                    "step_seconds": jump.step.total_seconds(),
                    "bound_seconds": jump.bound.total_seconds(),
                    "setting": jump.setting,
                },
            ),
        )
        self._alert(session, jump)
        return held

    def _alert(self, session: Session, jump: Jump) -> None:
        settings = self.settings
        if not settings.admin_address:
            log.warning("no admin_address configured: the held periodic jobs are reported in this log only")
            return
        zone = ZoneInfo(settings.timezone)
        self.mailer.queue(
            session,
            Outgoing(
                kind=OutboundKind.OPS_ALERT,
                recipient=settings.admin_address,
                template=ALERT_TEMPLATE,
                context={
                    "instance": settings.instance,
                    "host": socket.gethostname(),
                    "forward": jump.forward,
                    "step": duration(jump.step),
                    "bound": jump.limit,
                    "setting": jump.setting,
                    "last_seen": f"{jump.last_seen.astimezone(zone):%d-%m-%Y %H:%M:%S %Z}",
                    "clock": f"{jump.now.astimezone(zone):%d-%m-%Y %H:%M:%S %Z}",
                },
            ),
        )

    def _announce(self, held: Hold) -> None:
        if held == self._announced:
            return
        self._announced = held
        log.error(
            "periodic jobs held (SLA ladder, monthly report, results reminder, recap deadlines): %s; "
            "noticed by %s; mail intake and tickets go on. If the clock is wrong, fix it; "
            "if it is right, run: %s",
            held.reason,
            held.owner or "another daemon",
            CONFIRM_COMMAND,
        )

    def _resumed(self) -> None:
        if self._announced is not None:
            log.info("periodic jobs run again: the clock was confirmed")
            self._announced = None
