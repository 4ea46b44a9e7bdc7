"""The mailboxes the daemon polls: for each one its intake, its poller lock and its backoff.

`caredesk run` reads every mailbox of the configuration (`[[mailbox]]`, or the
one `[mailbox]`) in turn, in one loop, all stored into one database and
processed by the one processor. Each has its own `MailboxTurn`: the intake that
fetches from it (and keeps its checkpoint under its identity), the lock that
lets one daemon of several poll it, and its own backoff after a failure, so
that a server that is down holds back only its own mailbox. The service loop
(`daemon.app.service`) asks each turn whether it is due and records each poll
with `daemon.app.monitor` under the mailbox's identity.

A mailbox whose `poll_interval` is longer than the shortest one of the
configuration (the loop's) is polled only when that much time has passed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from daemon.config import Config, ConfigError, MailboxConfig
from daemon.fetch.imap import ImapMailbox
from daemon.fetch.intake import Intake
from daemon.fetch.mailbox import Mailbox
from daemon.fetch.maildir import MaildirMailbox
from daemon.route.rules import Rules

if TYPE_CHECKING:
    # authlib and requests only when a mailbox logs in with OAuth2 (issue 17: memory).
    from daemon.oauth.tokens import TokenSource

log = logging.getLogger("caredesk.service")

MAX_BACKOFF = 15 * 60
"""Seconds between a failing mailbox's tries during a long outage."""


def mailbox_factory(settings: MailboxConfig, tokens: TokenSource | None = None) -> Callable[[], Mailbox]:
    """The mailbox `settings.url` names; `tokens` log in to IMAP when `auth = "oauth2"`."""
    if settings.scheme == "maildir":
        path = settings.maildir_path
        return lambda: MaildirMailbox(path)
    imap_tokens = tokens if settings.auth == "oauth2" else None
    return lambda: ImapMailbox(settings, imap_tokens)


def by_identity(config: Config) -> dict[str, MailboxConfig]:
    """Each mailbox's settings by its identity: the `source` of the mail stored from it."""
    return {mailbox_factory(settings)().identity: settings for settings in config.every_mailbox}


def check_departments(config: Config, rules: Rules) -> None:
    """Refuse a mailbox whose `default_department` is not a department of rules.yaml."""
    for settings in config.every_mailbox:
        wanted = settings.default_department
        if wanted and wanted not in rules.departments:
            known = ", ".join(sorted(rules.departments))
            label = "mailbox" if len(config.every_mailbox) == 1 else f"mailbox[{settings.name}]"
            raise ConfigError(
                f"{config.source}: {label}.default_department {wanted!r} is not a department of "
                f"{rules.source} (its departments: {known})"
            )


@dataclass
class MailboxTurn:
    """One mailbox of the loop: its settings, its intake, and how its last tries went."""

    settings: MailboxConfig
    intake: Intake
    identity: str
    """The mailbox's stable name, the source of its stored mail and the key of its poll records."""
    loop_interval: int
    """The loop's poll interval (the shortest of all mailboxes'), in seconds."""
    failures: int = 0
    retry_at: datetime | None = None
    next_at: datetime | None = None
    """When a mailbox with a longer `poll_interval` than the loop's is next due; None = now."""

    def waiting(self, now: datetime) -> bool:
        """True while its backoff after a failure holds it back."""
        return self.retry_at is not None and now < self.retry_at

    def due(self, now: datetime) -> bool:
        """Whether its own `poll_interval` has passed since its last poll (always, at the loop's)."""
        return self.next_at is None or now >= self.next_at

    def started(self, now: datetime) -> None:
        """A poll starts at `now`: the next is due a `poll_interval` later (if longer than the loop's)."""
        interval = self.settings.poll_interval
        self.next_at = now + timedelta(seconds=interval) if interval > self.loop_interval else None

    def failed(self, now: datetime) -> int:
        """A poll failed at `now`: the seconds until the next try (poll interval × 2ⁿ, at most 15 min)."""
        self.failures += 1
        delay = min(self.settings.poll_interval * 2 ** (self.failures - 1), MAX_BACKOFF)
        self.retry_at = now + timedelta(seconds=delay)
        return delay

    def succeeded(self) -> None:
        if self.failures:
            log.info("mailbox reachable again after %d failed tries (%s)", self.failures, self.settings.name)
        self.failures, self.retry_at = 0, None


def loop_interval(config: Config) -> int:
    """The loop's poll interval: the shortest `poll_interval` of the mailboxes, in seconds."""
    return min(settings.poll_interval for settings in config.every_mailbox)
