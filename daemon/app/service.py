"""Wiring: the one module that names concrete adapters and runs the service loop.

`schedule` only decides when each job is due; the loop sleeps on a stop event, so
a signal ends the wait at once. The first SIGTERM/SIGINT lets the current mail
finish and the batch commit; a second one exits immediately.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from types import FrameType
from typing import TYPE_CHECKING

import schedule
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from daemon import clock as daemon_clock
from daemon.app import polling
from daemon.app.clock_guard import ClockGuard, GuardSettings
from daemon.app.monitor import Monitor
from daemon.app.oauth_gate import Grants, RevokedAlert
from daemon.app.preflight import check_templates
from daemon.app.quarantine_alert import QuarantineReport, ReportSettings
from daemon.app.retired_departments import OpenTicketGuard
from daemon.app.rules_reload import AdminAlert, AlertSettings, RulesHolder
from daemon.app.sdnotify import Notifier
from daemon.app.upkeep import CHECKPOINT_EVERY_MINUTES, OPTIMIZE_EVERY_HOURS, Upkeep
from daemon.config import Config, public_url
from daemon.fetch.idle import Waiter, watch
from daemon.fetch.intake import Intake
from daemon.fetch.mailbox import Mailbox
from daemon.fetch.watches import Watches
from daemon.outbox import signing
from daemon.outbox.compose import Renderer
from daemon.outbox.enqueue import Mailer
from daemon.periodic import ladder
from daemon.recap import deadline as recap_deadline
from daemon.route.rules import Rules
from daemon.send.delivery import OutboxSender, RetryPolicy
from daemon.send.transports import make_transport
from daemon.store import db, search_queue
from daemon.store.leases import PollerLock, process_owner
from daemon.store.stored_news import StoredNews
from daemon.tickets.complaints import NewComplaints
from daemon.tickets.conversation import Conversation
from daemon.tickets.desk import Desk
from daemon.tickets.processing import Parts, Processor
from daemon.tickets.staff import StaffReplies
from daemon.tickets.threads import Threads

if TYPE_CHECKING:
    # authlib and requests only when something logs in with OAuth2 (daemon.app.oauth_gate).
    from daemon.oauth.tokens import TokenSource

log = logging.getLogger("caredesk.service")

MAX_BACKOFF = polling.MAX_BACKOFF  # seconds between a mailbox's tries during a long outage

Clock = Callable[[], datetime]


# The daemon's default clock; the name stays for the modules that import it from here.
utc_now: Clock = daemon_clock.now


def make_mailbox_factory(config: Config, tokens: TokenSource | None = None) -> Callable[[], Mailbox]:
    """The first mailbox (`[mailbox] url`); `tokens` log in to IMAP when `auth = "oauth2"`."""
    return polling.mailbox_factory(config.mailbox, tokens)


def make_processor(engine: Engine, rules: Callable[[], Rules], desk: Desk) -> Processor:
    """The processing stage, its parts sharing `desk` (and with it the one mailer)."""
    parts = Parts(
        threads=Threads(desk.config, desk.signing_key),
        conversation=Conversation(desk, StaffReplies(desk)),
        complaints=NewComplaints(desk),
    )
    return Processor(engine, rules, desk, parts)


class Daemon:
    """Everything `caredesk run` does, with the clock and the stop event injected."""

    def __init__(self, config: Config, clock: Clock = utc_now, stop: threading.Event | None = None) -> None:
        self.config = config
        self.clock = clock
        # systemd (Type=notify): READY=1, WATCHDOG=1 from each look at the stop event, STOPPING=1.
        self.notify = Notifier.from_environment()
        self.stop = self.notify.watched(stop or threading.Event())
        # Refuse a broken template before anything is fetched or migrated.
        check_templates(config.templates)
        # So are unusable rules: all configuration is checked before the engine is
        # made, and the engine is reachable before it is migrated. The admin alert
        # for later refused rules needs the database, so it is attached below.
        self.rules = RulesHolder(config.rules, own_addresses=config.own_addresses)
        polling.check_departments(config, self.rules())
        self.engine = db.open_for_writing(config.database_url)
        try:
            # Rules that drop a department still owning open tickets stop the start too.
            self.rules.guard_tickets(OpenTicketGuard(self.engine, clock, config.timezone))
        except BaseException:
            self.engine.dispose()
            raise
        # Closed by default: say so when no sender can change a ticket, or every one
        # can (after the database answered, so an unreachable one stays one line).
        if (untrusted := config.security.startup_warning()) is not None:
            log.warning("%s", untrusted)
        if config.smtp.redirect_to:
            log.warning(
                "[smtp] redirect_to: staging, every outgoing mail goes to %s instead of its recipients",
                config.smtp.redirect_to,
            )
        self.signing_key = signing.load_key(self.engine, config.secret)
        renderer = Renderer(config.templates)
        self.mailer = Mailer(config, renderer, clock, self.signing_key)
        self.rules.on_refused = AdminAlert(
            self.engine, self.mailer, AlertSettings.from_config(config), clock=clock
        )
        # One mailer for everything that queues mail: tickets, recaps, the SLA ladder,
        # reports, the rules alert and the quarantine report all go through `self.mailer`.
        self.quarantine_report = QuarantineReport(
            self.engine, self.mailer, ReportSettings.from_config(config), clock=clock
        )
        # The periodic jobs wait for an admin when the clock jumped (daemon.app.clock_guard).
        self.clock_guard = ClockGuard(
            self.engine, self.mailer, GuardSettings.from_config(config), owner=process_owner()
        )
        # `auth = "oauth2"`: a token source per grant (the first mailbox's is SMTP's too);
        # a refused grant pauses its mailbox (daemon.app.oauth_gate).
        revoked = RevokedAlert(self.engine, self.mailer, config, clock)
        self.grants = Grants(config, self.engine, self.signing_key, clock, revoked)
        self.tokens, self.oauth = self.grants.source(), self.grants.gate()
        desk = Desk(config, clock, self.mailer, self.signing_key, polling.by_identity(config))
        self.processor = make_processor(self.engine, self.rules, desk)
        # Each mailbox its own intake, poller lock and backoff (daemon.app.polling); the first
        # one's are also `self.intake` and `self.poller`. Several daemons on one PostgreSQL:
        # one polls each mailbox, all process and send.
        self.pollers = [PollerLock(self.engine, identity) for identity in desk.mailboxes]
        # Poll records for `caredesk health` and the Prometheus metrics (daemon.app.monitor).
        self.monitor = Monitor(self.engine, config, clock, self.pollers[0].identity)
        self.mailboxes = [
            polling.MailboxTurn(
                settings,
                Intake(
                    self.engine,
                    polling.mailbox_factory(settings, self.grants.source(settings.name)),
                    self.processor,
                    clock,
                    settings,
                ),
                identity,
                polling.loop_interval(config),
            )
            for identity, settings in desk.mailboxes.items()
        ]
        for mailbox, poller in zip(self.mailboxes, self.pollers, strict=True):
            mailbox.intake.turn = self.monitor.watch(poller, mailbox.identity)
            mailbox.intake.between_batches = self._deliver_between_batches
        self.intake, self.poller = self.mailboxes[0].intake, self.pollers[0]
        # Between polls the loop waits on the mailboxes (IMAP IDLE, a Maildir's new/), not the clock
        # alone: each mailbox's watch, in threads of their own when there are several (daemon.fetch.watches).
        self.waiter = Watches(
            len(self.mailboxes),
            self._watch_of,
            self.stop,
            lambda index: self.mailboxes[index].failures > 0,
            step=self.notify.watchdog_interval,
        )
        self.outbox = OutboxSender(
            self.engine,
            lambda: make_transport(config.smtp, self.tokens if config.smtp.auth == "oauth2" else None),
            clock,
            owner=process_owner(),
            retries=RetryPolicy(config.smtp.max_attempts, config.smtp.retry_base_seconds),
        )
        self._sent_while_polling: Counter[str] = Counter()
        """What `_deliver_between_batches` sent during the poll under way; `run_once` adds it in."""
        self.news = (
            StoredNews(self.engine, process_owner(), self.stop, step=self.notify.watchdog_interval)
            if self.engine.dialect.name == "postgresql"
            else None
        )
        """A daemon that polls no mailbox waits on this instead (daemon.store.stored_news)."""
        self._was_helping = False

    def close(self) -> None:
        """Release database connections (the daemon object is not used afterwards)."""
        self.waiter.close()
        if self.news is not None:
            self.news.close()
        self.monitor.close()
        for poller in self.pollers:
            poller.release()
        self.engine.dispose()

    def __enter__(self) -> Daemon:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def poll_mailbox(self) -> Counter[str]:
        """One poll of each mailbox; after a failure a mailbox's next tries back off (its poll
        interval × 2ⁿ, at most 15 min) while the others are polled as usual."""
        self.rules.refresh()
        self._sent_while_polling.clear()
        counts: Counter[str] = Counter()
        for mailbox in self.mailboxes:
            if self.stop.is_set():
                break
            counts.update(self._poll(mailbox))
        return counts

    def _watch_of(self, index: int, stop: threading.Event) -> Waiter:
        """The watch between polls of mailbox `index`, looking at `stop` (daemon.fetch.idle.watch)."""
        if index == 0:
            mailbox, settings = make_mailbox_factory(self.config, self.tokens)(), self.config.mailbox
        else:
            settings = self.mailboxes[index].settings
            mailbox = polling.mailbox_factory(settings, self.grants.source(settings.name))()
        return watch(mailbox, settings, stop, step=self.notify.watchdog_interval)

    def _poll(self, mailbox: polling.MailboxTurn) -> Counter[str]:
        """One poll of `mailbox`, unless its backoff or its own poll interval holds it back."""
        now = self.clock()
        if mailbox.waiting(now):
            return Counter({"mailbox_waiting": 1})
        if not mailbox.due(now):
            return Counter()
        gate = self.grants.gate(mailbox.settings.name)
        if gate is not None and gate.holds():
            return Counter({"mailbox_paused": 1})
        mailbox.started(now)
        refusals = gate.refusals if gate is not None else ()  # none without OAuth2
        poll = self.monitor.poll(mailbox.identity)
        try:
            counts = mailbox.intake.poll(self.stop)
        except refusals as error:
            # No retry mends a refused grant: paused (one ERROR) until `caredesk auth login`.
            poll.failed(error)
            assert gate is not None
            return gate.refused(error)
        except Exception as error:
            poll.failed(error)
            delay = mailbox.failed(now)
            # One error line when the outage starts; quieter lines while it lasts. Say
            # which side failed: a locked or lost database is not a mailbox problem.
            report = log.error if mailbox.failures == 1 else log.warning
            what = (
                "database"
                if isinstance(error, DBAPIError)
                else f"mailbox {mailbox.settings.name} ({public_url(mailbox.settings.url)})"
            )
            first_line = str(error).splitlines()[0] if str(error) else ""
            report(
                "%s unavailable (try %d): %s: %s; next try in %ds",
                what,
                mailbox.failures,
                type(error).__name__,
                first_line,
                delay,
            )
            return Counter({"mailbox_errors": 1})
        mailbox.succeeded()
        poll.succeeded(counts, self.rules().version)
        return counts

    def _deliver_between_batches(self) -> None:
        """Send what one batch of a long poll queued before the next batch is read.

        A backlog of thousands of mails then gets its acknowledgements and escalations
        as it drains, not all after its last batch (issue 17: 5,000 waiting mails took
        over a minute). Not while the mail server is out: it is tried again by the
        deliveries after the poll, as before.
        """
        if not self.outbox.in_outage:
            self._sent_while_polling.update(self.deliver())

    def deliver(self) -> Counter[str]:
        try:
            counts = self.outbox.deliver_due(self.stop)
        except Exception as error:
            log.error("outbox delivery failed: %s: %s", type(error).__name__, error)
            counts = Counter({"outbox_errors": 1})
        self.monitor.delivered(counts, self.outbox.attempts)
        return counts

    def run_once(self) -> Counter[str]:
        """Process what is waiting (mailbox, then outbox) and return the counts.

        What the poll queued (the acknowledgements) goes out before the quarantine
        report and the periodic jobs run, batch by batch while a long poll drains a
        backlog (`_deliver_between_batches`); what those jobs queue goes out after them.
        """
        counts = self.poll_mailbox()
        counts.update(self._sent_while_polling)
        self._sent_while_polling.clear()
        counts.update(self.deliver())
        counts.update(self.report_quarantine())
        counts.update(self.run_periodic())
        counts.update(self.run_recap_deadlines())
        counts.update(self.deliver())
        return counts

    def report_quarantine(self) -> Counter[str]:
        """Once per poll: the admin's digest of newly quarantined mail, and a word to each customer."""
        try:
            return self.quarantine_report()
        except Exception as error:
            log.error("quarantine report failed: %s: %s", type(error).__name__, error)
            return Counter({"quarantine_report_errors": 1})

    def run_recap_deadlines(self) -> Counter[str]:
        """Queue the branch-recap reminders and the missing-branch report that are due, each once."""
        now = self.clock()
        if (held := self._held(now)) is not None:
            return held
        try:
            return recap_deadline.run_recap_deadlines(self.engine, self.rules(), self.mailer, now)
        except Exception as error:
            log.error("recap deadlines failed: %s: %s", type(error).__name__, error)
            return Counter({"recap_deadline_errors": 1})

    def run_periodic(self) -> Counter[str]:
        """The SLA ladder, the monthly report and the reminder before it, at `self.clock()`; and
        the register's search index catching up with tickets other writers added (SQLite).

        Cheap when nothing is due; whatever is due is mailed once however often
        this runs, because each mail claims its (job, period) row first. Nothing
        runs while the clock is held (`_held`).
        """
        now, rules, zone = self.clock(), self.rules(), self.config.timezone
        if (held := self._held(now)) is not None:
            return held
        # The report modules load the xlsx writer: not at start-up, once the jobs run (issue 17: memory).
        from daemon.report import mailing as report_mailing

        steps = ladder.LadderRun(rules, self.mailer, now, timezone=zone, owner=process_owner())
        reports = report_mailing.ReportMail(rules, self.mailer, now, zone, organisation=self.config.name)
        work: tuple[tuple[str, Callable[[], Counter[str]]], ...] = (
            ("sla", lambda: ladder.run_ladder(self.engine, steps)),
            ("monthly_report", lambda: report_mailing.send_monthly_reports(self.engine, reports)),
            ("results_reminder", lambda: report_mailing.remind_results(self.engine, reports)),
            ("search_index", lambda: search_queue.catch_up_now(self.engine)),
        )
        counts: Counter[str] = Counter()
        for name, job in work:
            # One failing job (a broken template, a lost database) must not stop the others.
            try:
                counts.update(job())
            except Exception as error:
                log.error("periodic job %s failed: %s: %s", name, type(error).__name__, error)
                counts[f"{name}_errors"] += 1
        self.monitor.periodic(counts)
        return counts

    def _held(self, now: datetime) -> Counter[str] | None:
        """None when the periodic jobs may run at `now`; else the counts that say why not.

        Held when the clock moved past a `[periodic]` bound since they last ran,
        until `caredesk clock confirm` (daemon.app.clock_guard).
        """
        try:
            if self.clock_guard.allows(now):
                return None
        except Exception as error:
            log.error("clock check failed, periodic jobs wait: %s: %s", type(error).__name__, error)
            return Counter({"clock_check_errors": 1})
        return Counter({"periodic_held": 1})

    def _periodic_and_deliver(self) -> None:
        """The scheduled minute: periodic work, then at once the mail it queued."""
        if self.run_periodic().total():
            self.deliver()

    def run_forever(self) -> None:
        scheduler = schedule.Scheduler()
        scheduler.every(polling.loop_interval(self.config)).seconds.do(self.run_once)
        scheduler.every(10).minutes.do(self.run_recap_deadlines)
        scheduler.every(1).minutes.do(self._periodic_and_deliver)
        # The WAL checkpoint and the planner statistics (daemon.app.upkeep).
        upkeep = Upkeep(self.engine)
        scheduler.every(CHECKPOINT_EVERY_MINUTES).minutes.do(upkeep.checkpoint)
        scheduler.every(OPTIMIZE_EVERY_HOURS).hours.do(upkeep.optimize)
        log.info(
            "caredesk running: mailbox %s, every %ss, database %s",
            ", ".join(public_url(box.url) for box in self.config.every_mailbox),
            polling.loop_interval(self.config),
            _safe_db_url(self.config.database_url),
        )
        self.notify.ready(f"polling {public_url(self.config.mailbox.url)}")
        self.serve_metrics()
        try:
            self.run_once()
            while not self.stop.is_set():
                idle = scheduler.idle_seconds
                seconds = max(0.0, min(idle if idle is not None else 1.0, 5.0))
                if self.news is not None and self._helping():
                    news = self.news.wait(seconds)
                    if self.stop.is_set():
                        break
                    if news:
                        self._take_stored_share()
                    elif self._poller_gone():
                        self.run_once()  # this daemon polls now: at once, not at its next poll
                    scheduler.run_pending()
                    continue
                woke = self.waiter.wait(seconds)
                if self.stop.is_set():
                    break
                if woke:
                    # New mail: fetched, processed and its acknowledgement sent in this one cycle,
                    # even when a woken mailbox's own poll interval is longer than the loop's.
                    for index in woke:
                        self.mailboxes[index].next_at = None
                    self.run_once()
                scheduler.run_pending()
        finally:
            self.waiter.close()
            self.notify.stopping()
        log.info("caredesk stopped")

    def _helping(self) -> bool:
        """Whether this daemon polls no mailbox, another daemon on the PostgreSQL polling them all.

        It then waits on the news of stored mail, not on the mailboxes (whose IDLE
        would wake it before the poller has stored anything); a daemon that polls
        waits on its mailboxes and does not listen.
        """
        if self.news is None:
            return False
        helping = not any(poller.holding for poller in self.pollers)
        if helping != self._was_helping:
            # The other wait's connections are let go (IMAP IDLE, or the LISTEN).
            (self.waiter if helping else self.news).close()
            self._was_helping = helping
        return helping

    def _poller_gone(self) -> bool:
        """Whether a mailbox's poller lock came free (its holder stopped) and this daemon took it.

        Asked after each quiet wait of a daemon that polls nothing (every 5 s at
        most), since it no longer watches the mailbox: the mail that arrives after
        the poller stopped is fetched within seconds, not a poll interval later.
        """
        try:
            return any([poller.held() for poller in self.pollers])
        except DBAPIError as error:
            log.warning("cannot ask whether another daemon still polls: %s", str(error).splitlines()[0])
            return False

    def _take_stored_share(self) -> None:
        """Another daemon stored mail: process this daemon's share of it and send what that queued.

        The mailboxes' next polls are made due, which for a daemon without their
        lock means processing stored mail (`Intake.poll`); the periodic jobs keep to
        their schedule.
        """
        for mailbox in self.mailboxes:
            mailbox.next_at = None
        self.poll_mailbox()
        self.deliver()

    def serve_metrics(self) -> None:
        """Serve the metrics of `[metrics] listen`, if set (`run_forever` does so; `close` stops it)."""
        self.monitor.serve()

    def install_signal_handlers(self) -> Callable[[], None]:
        """Make SIGTERM/SIGINT stop the loop gracefully; returns a function that undoes it."""

        def handle(signum: int, _frame: FrameType | None) -> None:
            if self.stop.is_set():
                log.warning("second signal: exiting now")
                os._exit(1)
            log.info("signal %s: finishing the current mail, then stopping", signal.Signals(signum).name)
            self.notify.stopping()
            self.stop.set()

        previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}

        def restore() -> None:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

        return restore


def _safe_db_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
