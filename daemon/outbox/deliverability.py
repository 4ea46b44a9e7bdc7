"""What a bounce does: tie it to the mail we sent, note it, and spare a dead address.

A bounce is tied to an outgoing mail by the signed return path it was sent to
(VERP) or, failing that, by our own Message-ID in the returned original (or
anywhere else in the bounce), or by a signed return path quoted in its text.
Only a bounce tied that way can mark an address undeliverable, and only a
signature that verifies counts; anything else is only recorded, so a forged
bounce cannot silence a customer. A DSN and a plain-text bounce are read into
the same `DeliveryReport` and applied the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session, col

from daemon.classify.bounces import DeliveryReport, read_report
from daemon.config import Config
from daemon.outbox import signing
from daemon.parse.message import InboundMail
from daemon.store import queries
from daemon.store.models import AddressStatus, InboundMessage, OutboundMessage, Ticket
from daemon.store.vocabulary import Action

log = logging.getLogger("caredesk.bounces")

# Where receiving systems put the address a bounce was delivered to.
_DESTINATION_HEADERS = ("delivered-to", "x-original-to", "envelope-to", "to")


@dataclass(frozen=True)
class BounceSettings:
    """What applying a bounce needs of the daemon: its configuration, return-path key and clock."""

    config: Config
    key: bytes | None
    """The key that signs return paths (VERP); None when mail goes out without them."""
    clock: Callable[[], datetime]


def record_bounce(session: Session, row: InboundMessage, mail: InboundMail, settings: BounceSettings) -> str:
    """Apply a bounce; returns the reason stored on the inbound row."""
    report = read_report(row.raw)
    outbound, how = bounced_mail(session, mail, report, settings)
    if outbound is None:
        log.info("bounce #%s not tied to any mail we sent: recorded only", row.id)
        if report.plain:
            return (
                "bounce: not tied to a mail we sent (plain text without our Message-ID or a signed"
                " return path of ours; recorded only)"
            )
        return "bounce: not tied to a mail we sent (recorded only)"
    now = settings.clock()
    summary = (
        "; ".join(f"{f.recipient} {f.action} {f.status}".strip() for f in report.failures) or "no details"
    )
    outbound.last_error = f"bounced ({how}): {summary}"[:2000]
    if any(f.permanent for f in report.failures):
        outbound.state = "bounced"
    session.add(outbound)
    row.ticket_id = outbound.ticket_id
    ticket = session.get(Ticket, outbound.ticket_id) if outbound.ticket_id is not None else None
    if ticket is not None:
        queries.add_event(
            session,
            ticket,
            queries.History(
                actor=mail.from_address or "mailer-daemon",
                action=Action.BOUNCE,
                at=now,
                reason=f"{outbound.kind} to {outbound.recipient} bounced: {summary}",
                inbound_id=row.id,
                outbound_id=outbound.id,
            ),
        )
    _act_on_failures(session, report, outbound.recipient, now, settings.config.limits.undeliverable_days)
    form = ", plain text" if report.plain else ""
    return f"bounce of outbound #{outbound.id} ({how}{form}): {summary}"


def _act_on_failures(
    session: Session, report: DeliveryReport, recipient: str, now: datetime, days: int
) -> None:
    """Say so when our mail was refused for policy; spare `recipient` for `days` when it is dead."""
    for failure in report.failures:
        if failure.policy_problem:
            log.error(
                "our mail to %s was refused for policy (%s): check SPF/DKIM/DMARC: %s",
                failure.recipient,
                failure.status,
                failure.diagnostic,
            )
        if failure.address_problem and failure.recipient.lower() == recipient.lower():
            _mark_undeliverable(session, recipient, failure.status, now, days)


def bounced_mail(
    session: Session, mail: InboundMail, report: DeliveryReport, settings: BounceSettings
) -> tuple[OutboundMessage | None, str]:
    """The mail of ours the bounce returns, and how it was found; (None, '') when none."""
    destinations = [
        candidate
        for name in _DESTINATION_HEADERS
        for value in mail.header_all(name)
        for candidate in (*value.replace(",", " ").split(), *mail.to)
    ]
    found = _signed(session, destinations, settings)
    if found is not None:
        return found, "signed return path"
    found = _by_message_id(session, report.message_ids or _optional(report.original_message_id))
    if found is not None:
        return found, "our Message-ID in the returned mail"
    found = _signed(session, report.addresses, settings)
    if found is not None:
        return found, "signed return path in the returned mail"
    return None, ""


def _signed(session: Session, candidates: Iterable[str], settings: BounceSettings) -> OutboundMessage | None:
    """The outgoing mail the first verifying signed return path among `candidates` names."""
    if settings.key is None:
        return None
    for candidate in candidates:
        outbound_id = signing.outbound_from_return_path(
            settings.key, settings.config.address, candidate.strip("<>")
        )
        if outbound_id is not None:
            found = session.get(OutboundMessage, outbound_id)
            if found is not None:
                return found
    return None


def _by_message_id(session: Session, message_ids: Sequence[str]) -> OutboundMessage | None:
    """The outgoing mail with the first of `message_ids` that is one of ours."""
    if not message_ids:
        return None
    rows = session.execute(
        select(OutboundMessage).where(col(OutboundMessage.message_id).in_(list(message_ids)))
    ).scalars()
    by_id = {row.message_id: row for row in rows}
    return next((by_id[value] for value in message_ids if value in by_id), None)


def _optional(value: str | None) -> tuple[str, ...]:
    return (value,) if value else ()


def _mark_undeliverable(session: Session, address: str, status: str, now: datetime, days: int) -> None:
    until = now + timedelta(days=days)
    existing = session.get(AddressStatus, address)
    reason = f"permanent failure {status}"
    if existing is None:
        session.add(AddressStatus(address=address, undeliverable_until=until, reason=reason, updated_at=now))
    else:
        existing.undeliverable_until, existing.reason, existing.updated_at = until, reason, now
        session.add(existing)
    log.warning("%s marked undeliverable until %s (%s)", address, f"{until:%Y-%m-%d}", status)
