"""Prometheus metrics of `caredesk run`, served over HTTP when `[metrics] listen` is set.

Two kinds, for two reasons:

* **What this process did** is counted as it happens, from the counts the poll,
  the outbox sender and the periodic jobs already return (`observe_*`): mails
  fetched, their outcomes, delivery attempts, SLA steps, errors, and the poll
  duration. They start from zero at each start, as Prometheus counters do;
  `rate()` and `increase()` read them across restarts.
* **How things stand** is read from the database at each scrape
  (`DatabaseCollector`): backlogs, the oldest waiting mail, quarantine, tickets
  by status, open tickets past their service levels, outgoing mail by kind and
  state, the last successful poll. These are the same for every daemon on one
  database and survive restarts, so they are gauges computed when asked, never
  counted. The queries go through a read-only engine of their own (on SQLite
  without the write lock the daemon takes), a handful of GROUP BYs over
  indexed columns.

`prometheus_client`'s own HTTP server serves them on a daemon thread, in the
collector registry of this one `Metrics` (not the library's global one), so
tests can run several daemons in one process.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from threading import Thread
from wsgiref.simple_server import WSGIServer

import prometheus_client
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from daemon.store import heartbeat, monitoring

log = logging.getLogger("caredesk.metrics")

INBOUND_OUTCOMES = ("processed", "ignored", "duplicate", "retry", "quarantined")
"""The end states of a processed mail, as the poll counts them."""
SLA_STEPS = {"sla_reminders": "reminder", "sla_escalations": "escalation"}
POLL_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
"""Seconds: an empty poll takes milliseconds, a full batch of big mails minutes."""

Clock = Callable[[], datetime]


class Metrics:
    """The counters and the histogram of one daemon, and (once served) the database gauges."""

    def __init__(self) -> None:
        # No `*_created` series beside each counter: the process start says the same.
        prometheus_client.disable_created_metrics()
        self.registry = CollectorRegistry()
        registry = self.registry
        self.fetched = prometheus_client.Counter(
            "caredesk_mails_fetched",
            "Mails fetched from the mailbox and stored",
            ["folder"],
            registry=registry,
        )
        self.processed = prometheus_client.Counter(
            "caredesk_mails_processed",
            "Stored mails processed, by what became of them (processed: a ticket or an update; "
            "ignored: automated mail and bounces; quarantined: held for a person)",
            ["outcome"],
            registry=registry,
        )
        self.delivery = prometheus_client.Counter(
            "caredesk_outgoing_attempts",
            "Delivery attempts of outgoing mail, by kind and outcome (sent, retry, failed, uncertain)",
            ["kind", "outcome"],
            registry=registry,
        )
        self.sla_steps = prometheus_client.Counter(
            "caredesk_sla_steps",
            "SLA reminders and escalations (breaches) queued",
            ["step"],
            registry=registry,
        )
        self.errors = prometheus_client.Counter(
            "caredesk_errors", "Failures of a whole step of the loop, by step", ["step"], registry=registry
        )
        self.poll_duration = prometheus_client.Histogram(
            "caredesk_poll_duration_seconds",
            "How long one poll of the mailbox took (fetching, storing and processing)",
            buckets=POLL_BUCKETS,
            registry=registry,
        )
        self.mailbox_polls = prometheus_client.Counter(
            "caredesk_mailbox_polls",
            "Polls of each mailbox (by identity, as in caredesk_mailbox_last_success_timestamp_seconds), "
            "by outcome (succeeded, failed)",
            ["mailbox", "outcome"],
            registry=registry,
        )
        self.mailbox_fetched = prometheus_client.Counter(
            "caredesk_mailbox_fetched_mails",
            "Mails fetched and stored, by the mailbox they came from (its intake and Sent folders)",
            ["mailbox"],
            registry=registry,
        )
        for outcome in INBOUND_OUTCOMES:
            self.processed.labels(outcome)
        for folder in ("intake", "sent"):
            self.fetched.labels(folder)

    def observe_poll(self, counts: Counter[str], seconds: float, mailbox: str = "") -> None:
        """One poll's counts (`Intake.poll`, or the daemon's `mailbox_errors`) and its duration.

        `mailbox` (the identity of the mailbox polled) labels the per-mailbox series; '' = none.
        """
        self.poll_duration.observe(seconds)
        if mailbox:
            outcome = "failed" if counts["mailbox_errors"] else "succeeded"
            self.mailbox_polls.labels(mailbox, outcome).inc()
            self._add(self.mailbox_fetched.labels(mailbox), counts["fetched"] + counts["fetched_sent"])
        self._add(self.fetched.labels("intake"), counts["fetched"])
        self._add(self.fetched.labels("sent"), counts["fetched_sent"])
        for outcome in INBOUND_OUTCOMES:
            self._add(self.processed.labels(outcome), counts[outcome])
        self._errors(counts)

    def observe_delivery(self, counts: Counter[str], attempts: Counter[tuple[str, str]]) -> None:
        """A delivery round's counts, and its attempts by (kind, outcome)."""
        for (kind, outcome), value in attempts.items():
            self._add(self.delivery.labels(kind, outcome), value)
        self._errors(counts)

    def observe_periodic(self, counts: Counter[str]) -> None:
        for key, step in SLA_STEPS.items():
            self._add(self.sla_steps.labels(step), counts[key])
        self._errors(counts)

    def _errors(self, counts: Counter[str]) -> None:
        for key, value in counts.items():
            if key.endswith("_errors"):
                self._add(self.errors.labels(key.removesuffix("_errors")), value)

    @staticmethod
    def _add(counter: prometheus_client.Counter, value: int) -> None:
        if value > 0:
            counter.inc(value)


class DatabaseCollector(Collector):
    """The gauges read from the database at each scrape (see the module docstring)."""

    def __init__(self, engine: Engine, clock: Clock, closed_statuses: tuple[str, ...]) -> None:
        self.engine = engine
        self.clock = clock
        self.closed_statuses = closed_statuses

    def describe(self) -> list[GaugeMetricFamily]:
        # Not asked at registration: the registry would otherwise query the database right away.
        return []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily("caredesk_database_up", "1 when the last scrape could read the database")
        try:
            families = list(self._read())
        except SQLAlchemyError as error:
            log.warning("metrics: cannot read the database: %s", str(error).splitlines()[0])
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _read(self) -> Iterator[GaugeMetricFamily]:
        now = self.clock()
        with Session(self.engine) as session:
            inbound = monitoring.inbound_by_state(session)
            outbound = monitoring.outbound_by_state(session)
            unsent = monitoring.unsent_by_kind_and_state(session)
            tickets = monitoring.tickets_by_status(session)
            overdue = monitoring.overdue_open_tickets(session, now, self.closed_statuses)
            outbox = monitoring.outbox_summary(session, now)
            waiting = monitoring.inbound_summary(session, now)
            polls = heartbeat.poll_records(session)
        yield _labelled(
            "caredesk_inbound_mails", "Incoming mails in the database, by state", ["state"], inbound
        )
        yield _labelled(
            "caredesk_outgoing_mails", "Outgoing mails in the database, by state", ["state"], outbound
        )
        yield _labelled(
            "caredesk_outgoing_unsent_mails",
            "Outgoing mails not sent (yet): waiting, failed or uncertain, by kind and state",
            ["kind", "state"],
            unsent,
        )
        yield _labelled("caredesk_tickets", "Tickets by status", ["status"], tickets)
        sla = GaugeMetricFamily(
            "caredesk_sla_overdue_tickets", "Open tickets past a service-level target", labels=["target"]
        )
        sla.add_metric(["first_response"], overdue.first_response)
        sla.add_metric(["resolution"], overdue.resolution)
        yield sla
        yield _single("caredesk_outbox_backlog", "Outgoing mails waiting to go out", outbox.waiting.count)
        yield _single(
            "caredesk_outbox_oldest_pending_age_seconds",
            "How long the oldest outgoing mail still waiting has waited (0: none waits)",
            _age(now, outbox.waiting.oldest),
        )
        yield _single("caredesk_inbound_backlog", "Stored mails not processed yet", waiting.stored.count)
        yield _single(
            "caredesk_inbound_oldest_waiting_age_seconds",
            "How long the oldest stored mail not processed yet has waited (0: none waits)",
            _age(now, waiting.stored.oldest),
        )
        yield _single(
            "caredesk_quarantined_mails", "Mails held in quarantine for a person", waiting.quarantined.count
        )
        last = GaugeMetricFamily(
            "caredesk_mailbox_last_success_timestamp_seconds",
            "When each mailbox was last polled successfully (Unix time)",
            labels=["mailbox"],
        )
        for record in polls:
            if record.succeeded_at is not None:
                last.add_metric([record.mailbox], record.succeeded_at.timestamp())
        yield last


Values = Mapping[str, int] | Mapping[tuple[str, str], int]


def _labelled(name: str, documentation: str, labels: list[str], values: Values) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=labels)
    for key, value in sorted(values.items()):
        family.add_metric([key] if isinstance(key, str) else list(key), value)
    return family


def _single(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def _age(now: datetime, oldest: datetime | None) -> float:
    return 0.0 if oldest is None else max(0.0, (now - oldest).total_seconds())


class Server:
    """The HTTP endpoint: `prometheus_client`'s WSGI server on its own daemon thread."""

    def __init__(self, server: WSGIServer, thread: Thread, engine: Engine) -> None:
        self.server, self.thread, self.engine = server, thread, engine

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
        self.engine.dispose()


def serve(metrics: Metrics, where: tuple[str, int], collector: DatabaseCollector) -> Server:
    """Start serving `metrics` and `collector` on (host, port); OSError when the port cannot be had."""
    metrics.registry.register(collector)
    try:
        server, thread = prometheus_client.start_http_server(
            where[1], addr=where[0], registry=metrics.registry
        )
    except BaseException:
        metrics.registry.unregister(collector)
        raise
    return Server(server, thread, collector.engine)
