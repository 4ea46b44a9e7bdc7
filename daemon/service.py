"""Wiring: the one module that names concrete adapters and runs the service loop.

`schedule` only decides when each job is due; the loop sleeps on a stop event, so
a signal ends the wait at once. The first SIGTERM/SIGINT lets the current mail
finish and the batch commit; a second one exits immediately.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from types import FrameType

import schedule

from daemon import db
from daemon.config import Config
from daemon.intake import Intake
from daemon.mailer import Mailer
from daemon.notify import Renderer
from daemon.outbox import OutboxSender
from daemon.pipeline import Processor
from daemon.rules_reload import AdminAlert, RulesHolder
from daemon.sources import Mailbox
from daemon.sources.imap import ImapMailbox
from daemon.sources.maildir import MaildirMailbox
from daemon.transport import make_transport

log = logging.getLogger("caredesk.service")

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def make_mailbox_factory(config: Config) -> Callable[[], Mailbox]:
    if config.mailbox.scheme == "maildir":
        path = config.mailbox.maildir_path
        return lambda: MaildirMailbox(path)
    settings = config.mailbox
    return lambda: ImapMailbox(settings)


class Daemon:
    """Everything `caredesk run` does, with the clock and the stop event injected."""

    def __init__(self, config: Config, clock: Clock = utc_now, stop: threading.Event | None = None) -> None:
        self.config = config
        self.clock = clock
        self.stop = stop or threading.Event()
        self.engine = db.make_engine(config.database_url)
        db.create_schema(self.engine)
        renderer = Renderer(config.templates)
        alert = AdminAlert(
            self.engine,
            Mailer(config, renderer, clock),
            config.admin_address,
            instance=config.instance,
            timezone=config.timezone,
            clock=clock,
        )
        self.rules = RulesHolder(config.rules, on_refused=alert)
        self.processor = Processor(self.engine, config, self.rules, renderer, clock)
        self.intake = Intake(
            self.engine,
            make_mailbox_factory(config),
            self.processor,
            clock,
            batch_size=config.mailbox.batch_size,
            processed_folder=config.mailbox.processed_folder,
            quarantine_folder=config.mailbox.quarantine_folder,
        )
        owner = f"{socket.gethostname()}:{os.getpid()}"
        self.outbox = OutboxSender(
            self.engine,
            lambda: make_transport(config.smtp),
            clock,
            owner=owner,
            max_attempts=config.smtp.max_attempts,
            retry_base_seconds=config.smtp.retry_base_seconds,
        )

    def close(self) -> None:
        """Release database connections (the daemon object is not used afterwards)."""
        self.engine.dispose()

    def __enter__(self) -> Daemon:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def poll_mailbox(self) -> Counter[str]:
        self.rules.refresh()
        try:
            return self.intake.poll(self.stop)
        except Exception as error:
            log.error(
                "mailbox %s unavailable: %s: %s",
                self.config.mailbox.url,
                type(error).__name__,
                error,
            )
            return Counter({"mailbox_errors": 1})

    def deliver(self) -> Counter[str]:
        try:
            return self.outbox.deliver_due(self.stop)
        except Exception as error:
            log.error("outbox delivery failed: %s: %s", type(error).__name__, error)
            return Counter({"outbox_errors": 1})

    def run_once(self) -> Counter[str]:
        """Process what is waiting (mailbox, then outbox) and return the counts."""
        counts = self.poll_mailbox()
        counts.update(self.deliver())
        return counts

    def run_forever(self) -> None:
        scheduler = schedule.Scheduler()
        scheduler.every(self.config.mailbox.poll_interval).seconds.do(self.run_once)
        log.info(
            "caredesk running: mailbox %s, every %ss, database %s",
            self.config.mailbox.url,
            self.config.mailbox.poll_interval,
            _safe_db_url(self.config.database_url),
        )
        self.run_once()
        while not self.stop.is_set():
            idle = scheduler.idle_seconds
            self.stop.wait(timeout=max(0.0, min(idle if idle is not None else 1.0, 5.0)))
            if not self.stop.is_set():
                scheduler.run_pending()
        log.info("caredesk stopped")

    def install_signal_handlers(self) -> Callable[[], None]:
        """Make SIGTERM/SIGINT stop the loop gracefully; returns a function that undoes it."""

        def handle(signum: int, _frame: FrameType | None) -> None:
            if self.stop.is_set():
                log.warning("second signal: exiting now")
                os._exit(1)
            log.info("signal %s: finishing the current mail, then stopping", signal.Signals(signum).name)
            self.stop.set()

        previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}

        def restore() -> None:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

        return restore


def _safe_db_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
