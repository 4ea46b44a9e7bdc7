"""Telling people about quarantined mail: one digest per poll to the admin, one word to the customer.

After each poll of the mailbox the daemon calls `QuarantineReport`. Every mail
quarantined since the last report (in that poll, by `caredesk ingest` or by a
replay that failed again) is claimed once (`daemon.store.claims`, job
`quarantine-report`, the inbound id as the period), in the same transaction as
the mail it sets off, so a restart or a second daemon never reports it twice:

- the admin (`admin_address`) gets one digest listing each mail with its stage,
  the first line of its error, its sender and subject, and the command that shows
  it; no digest when nothing was quarantined or no admin address is configured;
- the sender, when the mail names one that is no robot and the mail is not
  automated (`daemon.app.quarantined.acknowledgement_refused`), gets one short
  acknowledgement that the mail arrived and a person is looking at it. It is an
  automatic answer (RFC 3834 `auto-replied`), counted against the usual limits,
  and the outbox's unique key (kind, inbound mail, recipient) keeps it to one per
  mail even across replays.

Mail quarantined before the daemon started reporting (older than
`REPORT_WINDOW`) is not reported.
"""

from __future__ import annotations

import logging
import socket
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, String, and_, cast, select
from sqlmodel import Session, col

from daemon.app.quarantined import acknowledgement_refused, first_line, read_mail, sender_and_subject
from daemon.config import Config
from daemon.outbox.enqueue import AUTO_REPLIED, Mailer, Outgoing
from daemon.parse.message import InboundMail
from daemon.store import claims, db
from daemon.store.models import InboundMessage, JobClaim
from daemon.store.queries import LEFT_IN_MAILBOX
from daemon.store.vocabulary import InboundState, OutboundKind, OutboundState
from daemon.tickets.policy import is_backlog

log = logging.getLogger("caredesk.quarantine")

JOB = "quarantine-report"
REPORT_WINDOW = timedelta(days=1)
MAX_LISTED = 50
"""Mails listed one by one in a digest; the rest are counted (`caredesk quarantine list` has them)."""
DIGEST_TEMPLATE = "quarantine_digest.txt"
ACK_TEMPLATE = "quarantine_ack.txt"


@dataclass(frozen=True, slots=True)
class ReportSettings:
    """Who hears about quarantined mail and how the mail names this daemon and tells time."""

    admin_address: str
    """Where the digest goes; empty: no digest (the log still says what was quarantined)."""
    instance: str
    timezone: str
    backlog_hours: int
    """A mail older than this gets no acknowledgement, as for a new complaint."""
    own_addresses: tuple[str, ...]

    @classmethod
    def from_config(cls, config: Config) -> ReportSettings:
        """The settings as caredesk.toml gives them."""
        own = tuple(address for address in (*config.own_addresses, config.admin_address) if address)
        return cls(config.admin_address, config.instance, config.timezone, config.backlog_hours, own)


@dataclass(frozen=True, slots=True)
class Reported:
    """One quarantined mail as the digest lists it."""

    id: int
    stage: str
    error: str
    sender: str
    subject: str
    received: str
    attempts: int
    left_in_mailbox: bool
    acknowledged: bool

    @property
    def command(self) -> str:
        return f"caredesk quarantine show {self.id}"


class QuarantineReport:
    """Reports the mail quarantined since the last call, each mail once: see the module docstring."""

    def __init__(
        self, engine: Engine, mailer: Mailer, settings: ReportSettings, *, clock: Callable[[], datetime]
    ) -> None:
        self.engine = engine
        self.mailer = mailer
        self.settings = settings
        self.zone = ZoneInfo(settings.timezone)
        self.clock = clock

    def __call__(self) -> Counter[str]:
        """Claim what is unreported, acknowledge its senders, mail the digest; the counts of each."""
        now = self.clock()
        counts: Counter[str] = Counter()
        with db.session(self.engine) as session:
            rows = unreported(session, now - REPORT_WINDOW)
            won = [row for row in rows if claims.claim(session, JOB, str(row.id), now=now)]
            if not won:
                return counts
            reported = [self._report_one(session, row, now) for row in won]
            counts["quarantine_reported"] += len(reported)
            acknowledged = sum(item.acknowledged for item in reported)
            if acknowledged:
                counts["quarantine_acks"] += acknowledged
            if self.settings.admin_address:
                self._digest(session, reported)
                counts["quarantine_digests"] += 1
            session.commit()
        admin = self.settings.admin_address
        log.info(
            "reported %d quarantined mail(s): %s; digest %s",
            len(reported),
            ", ".join(f"#{item.id}" for item in reported),
            f"to {admin}" if admin else "not sent (no admin_address)",
        )
        return counts

    def _report_one(self, session: Session, row: InboundMessage, now: datetime) -> Reported:
        assert row.id is not None
        mail = read_mail(row.raw, row.stage)
        sender, subject = sender_and_subject(row.raw, row.from_address, row.subject)
        arrived = row.arrived_at or row.received_at
        return Reported(
            id=row.id,
            stage=row.stage or "-",
            error=first_line(row.error or row.reason),
            sender=sender,
            subject=subject,
            received=self._local(arrived),
            attempts=row.attempts,
            left_in_mailbox=row.disposition == LEFT_IN_MAILBOX,
            acknowledged=mail is not None and self._acknowledge(session, row, mail, now),
        )

    def _acknowledge(self, session: Session, row: InboundMessage, mail: InboundMail, now: datetime) -> bool:
        """Tell the sender the mail arrived and a person looks at it; True when that mail is on its way."""
        backlog = is_backlog(row.arrived_at, now, self.settings.backlog_hours)
        refused = acknowledgement_refused(mail, self.settings.own_addresses, backlog=backlog)
        if refused is not None:
            log.info("quarantined inbound #%s: no acknowledgement: %s", row.id, refused)
            return False
        queued = self.mailer.queue(
            session,
            Outgoing(
                kind=OutboundKind.QUARANTINE_ACK,
                recipient=mail.from_address,
                template=ACK_TEMPLATE,
                context={
                    "org": {"name": self.mailer.config.name, "address": self.mailer.config.address},
                    "subject": mail.subject,
                    "received": self._local(row.arrived_at or row.received_at),
                    "language": mail.language,
                },
                auto_submitted=AUTO_REPLIED,
                cause_inbound_id=row.id,
                in_reply_to=mail.message_id if not mail.message_id_synthetic else None,
                language=mail.language,
            ),
        )
        return queued is not None and queued.state == OutboundState.PENDING

    def _digest(self, session: Session, reported: Sequence[Reported]) -> None:
        self.mailer.queue(
            session,
            Outgoing(
                kind=OutboundKind.QUARANTINE_DIGEST,
                recipient=self.settings.admin_address,
                template=DIGEST_TEMPLATE,
                context={
                    "instance": self.settings.instance,
                    "host": socket.gethostname(),
                    "count": len(reported),
                    "items": list(reported[:MAX_LISTED]),
                    "more": max(0, len(reported) - MAX_LISTED),
                    "acknowledged": sum(item.acknowledged for item in reported),
                },
            ),
        )

    def _local(self, when: datetime | None) -> str:
        return when.astimezone(self.zone).strftime("%d-%m-%Y %H:%M %Z") if when is not None else "-"


def unreported(session: Session, since: datetime) -> list[InboundMessage]:
    """Quarantined mail held since `since` that no report has claimed yet, oldest first."""
    claim = and_(
        col(JobClaim.job) == JOB,
        col(JobClaim.period) == cast(col(InboundMessage.id), String),
    )
    statement = (
        select(InboundMessage)
        .outerjoin(JobClaim, claim)
        .where(
            col(InboundMessage.state) == InboundState.QUARANTINED,
            col(InboundMessage.processed_at) >= since,
            col(JobClaim.job).is_(None),
        )
        .order_by(col(InboundMessage.id))
    )
    return list(session.execute(statement).scalars())
