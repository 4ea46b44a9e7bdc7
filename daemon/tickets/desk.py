"""What every part of the ticket stage shares, and the mail about a ticket they hand each other.

`Desk` is built once, by the composition root (`daemon.app.service`): the
configuration, the clock, the one `Mailer` every part queues its mail with,
the signing key (signed reply addresses), and the mailboxes by the source name
of their mail (each mailbox's `reply_from` and `default_department`). `FollowUp` is a mail about an
existing ticket, with the inbound row it came in on and the rules in force.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from zoneinfo import ZoneInfo

from daemon.config import Config, MailboxConfig
from daemon.outbox.compose import ticket_fields
from daemon.outbox.enqueue import Mailer
from daemon.parse.message import InboundMail
from daemon.route.rules import Rules
from daemon.store.models import InboundMessage, Ticket

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Desk:
    """The configuration, the clock, the one mailer and the signing key of the ticket stage."""

    config: Config
    clock: Clock
    mailer: Mailer
    signing_key: bytes | None = None
    mailboxes: Mapping[str, MailboxConfig] = field(default_factory=dict)
    """Each mailbox's settings by its identity, the `source` of the mail stored from it."""

    def mailbox_of(self, source: str) -> MailboxConfig | None:
        """The mailbox a mail from `source` came in through; None for `caredesk ingest` and the like."""
        return self.mailboxes.get(source)

    def reply_from(self, source: str) -> str:
        """The From of the acknowledgement of a mail from `source`: its mailbox's `reply_from`, or ''."""
        mailbox = self.mailbox_of(source)
        return mailbox.reply_from if mailbox is not None else ""

    def default_department(self, source: str) -> str | None:
        """Where routing sends a mail from `source` when no rule chooses; None = rules.yaml's default."""
        mailbox = self.mailbox_of(source)
        return (mailbox.default_department or None) if mailbox is not None else None

    @cached_property
    def zone(self) -> ZoneInfo:
        """The organisation's time zone: dates in mail and "today" for the lifecycle."""
        return ZoneInfo(self.config.timezone)

    @property
    def org(self) -> dict[str, str]:
        """The organisation as templates name it, with where staff read the reply commands."""
        return {"name": self.config.name, "address": self.config.address, "help_url": self.config.help_url}

    def mail_context(self, ticket: Ticket) -> dict[str, object]:
        """What every mail about `ticket` renders from: the organisation, the language, the ticket."""
        return {"org": self.org, "language": ticket.language, "ticket": ticket_fields(ticket, self.zone)}


@dataclass(frozen=True)
class FollowUp:
    """A mail about an existing ticket: the row it came in on, the parsed mail, the ticket, the rules."""

    row: InboundMessage
    mail: InboundMail
    ticket: Ticket
    rules: Rules
