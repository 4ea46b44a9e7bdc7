"""What the daemon tells the outside about itself: poll records for `caredesk health`, and metrics.

The composition root (`daemon.app.service`) hands every poll, delivery round
and periodic run's counts to its one `Monitor`. A poll that reached the mailbox
is recorded in the database (`daemon.store.heartbeat`), where `caredesk health`
reads it from another process; a daemon that only processed stored mail because
another one holds the poller lock records nothing, so the record always says
when the mailbox itself was last read. A failure to record is logged and
otherwise ignored: the mail comes first.

`serve()` starts the Prometheus endpoint of `[metrics] listen` (`caredesk run`
only: `run --once` and `ingest` never take the port). A port that cannot be had
(another daemon of the same configuration on this host holds it) is logged as
an error and the daemon runs on without metrics. Without `[metrics] listen`
nothing is counted and `prometheus_client` is never imported (2 MB of every
daemon's memory, for counters nobody could read).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from daemon.config import Config
from daemon.config.metrics import is_loopback
from daemon.fetch.intake import PollTurn
from daemon.sla.stamping import CLOSED_STATUSES
from daemon.store import db, heartbeat

if TYPE_CHECKING:
    from daemon.app.metrics import Server

log = logging.getLogger("caredesk.monitor")


class Observer(Protocol):
    """What the monitor hands its counts to: `daemon.app.metrics.Metrics`, or nothing."""

    def observe_poll(self, counts: Counter[str], seconds: float, mailbox: str = "") -> None: ...

    def observe_delivery(self, counts: Counter[str], attempts: Counter[tuple[str, str]]) -> None: ...

    def observe_periodic(self, counts: Counter[str]) -> None: ...


class Unserved:
    """The metrics of a daemon without `[metrics] listen`: nobody can read them, so none are kept."""

    def observe_poll(self, counts: Counter[str], seconds: float, mailbox: str = "") -> None:
        pass

    def observe_delivery(self, counts: Counter[str], attempts: Counter[tuple[str, str]]) -> None:
        pass

    def observe_periodic(self, counts: Counter[str]) -> None:
        pass


def observer_for(config: Config) -> Observer:
    """Prometheus counters when `[metrics] listen` is set, else `Unserved`."""
    if not config.metrics.listen:
        return Unserved()
    from daemon.app.metrics import Metrics

    return Metrics()


class _WatchedTurn:
    """A `PollTurn` that remembers whether this daemon had the turn in the current poll."""

    def __init__(self, turn: PollTurn) -> None:
        self.turn = turn
        self.polled = False

    def held(self) -> bool:
        self.polled = self.turn.held()
        return self.polled


class Poll:
    """One poll of `mailbox` in progress: `succeeded` or `failed` records it and observes its duration."""

    def __init__(self, monitor: Monitor, mailbox: str) -> None:
        self.monitor = monitor
        self.mailbox = mailbox
        self.turn = monitor.turn_of(mailbox)
        self.started = time.monotonic()
        self.turn.polled = False

    def succeeded(self, counts: Counter[str], rules_version: str) -> None:
        self.monitor.metrics.observe_poll(counts, time.monotonic() - self.started, self.mailbox)
        if self.turn.polled:
            self.monitor.record(
                lambda session, mailbox, at: heartbeat.record_success(session, mailbox, at, rules_version),
                self.mailbox,
            )

    def failed(self, error: BaseException) -> None:
        counts = Counter({"mailbox_errors": 1})
        self.monitor.metrics.observe_poll(counts, time.monotonic() - self.started, self.mailbox)
        if self.turn.polled:
            reason = f"{type(error).__name__}: {error}"
            self.monitor.record(
                lambda session, mailbox, at: heartbeat.record_failure(session, mailbox, at, reason),
                self.mailbox,
            )


Recording = Callable[..., None]


class Monitor:
    def __init__(self, engine: Engine, config: Config, clock: Callable[[], datetime], mailbox: str) -> None:
        self.engine = engine
        self.config = config
        self.clock = clock
        self.mailbox = mailbox
        """The first mailbox's identity: the one `watch`, `poll` and `record` mean when given none."""
        self.metrics = observer_for(config)
        self.turns: dict[str, _WatchedTurn] = {}
        self.server: Server | None = None
        self._attempts_seen: Counter[tuple[str, str]] = Counter()

    def watch(self, turn: PollTurn, mailbox: str | None = None) -> PollTurn:
        """The poller's turn on `mailbox`, watched: hand the result to its intake in its place."""
        watched = _WatchedTurn(turn)
        self.turns[mailbox or self.mailbox] = watched
        return watched

    def turn_of(self, mailbox: str) -> _WatchedTurn:
        """The watched turn of `mailbox` (always held when none was watched: one daemon per database)."""
        return self.turns.setdefault(mailbox, _WatchedTurn(_Always()))

    def poll(self, mailbox: str | None = None) -> Poll:
        """One poll of `mailbox` (by identity; the first mailbox when None) starts."""
        return Poll(self, mailbox or self.mailbox)

    def delivered(self, counts: Counter[str], attempts: Counter[tuple[str, str]]) -> None:
        """A delivery round: its counts, and the sender's attempts by (kind, outcome) since start."""
        self.metrics.observe_delivery(counts, attempts - self._attempts_seen)
        self._attempts_seen = attempts.copy()

    def periodic(self, counts: Counter[str]) -> None:
        self.metrics.observe_periodic(counts)

    def record(self, write: Recording, mailbox: str | None = None) -> None:
        try:
            with db.session(self.engine) as session:
                write(session, mailbox or self.mailbox, self.clock())
                session.commit()
        except SQLAlchemyError as error:
            log.warning("could not record the poll for caredesk health: %s", str(error).splitlines()[0])

    def serve(self) -> Server | None:
        """Serve the metrics when `[metrics] listen` is set; the server, or None."""
        settings = self.config.metrics
        if not settings.listen or self.server is not None:
            return self.server
        from daemon.app.metrics import DatabaseCollector, Metrics, serve

        assert isinstance(self.metrics, Metrics)  # made so by `[metrics] listen`
        engine = db.read_only_engine(self.config.database_url)
        collector = DatabaseCollector(engine, self.clock, CLOSED_STATUSES)
        try:
            self.server = serve(self.metrics, (settings.host, settings.port), collector)
        except OSError as error:
            engine.dispose()
            log.error(
                "metrics: cannot listen on %s: %s; running without metrics", settings.listen, error.strerror
            )
            return None
        if not is_loopback(settings):
            log.warning(
                "metrics: served on %s without authentication: let only your Prometheus reach it",
                settings.listen,
            )
        log.info("metrics: serving http://%s/metrics", settings.listen)
        return self.server

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


class _Always:
    def held(self) -> bool:
        return True
