"""Queueing outgoing mail: render a template, compose the bytes, write the outbox row.

Every mail caredesk sends goes through `Mailer.queue`, inside the caller's
transaction, so the mail exists exactly when the change that caused it exists.
Delivery is the outbox sender's job (`daemon.outbox`).

Automatic answers to incoming mail (acknowledgements, confirmations: RFC 3834
"auto-replied") are limited per recipient and per ticket, never go to our own
addresses nor to an address that bounced, and the row of a mail we chose not to
send is kept as `suppressed` with the reason: nothing is dropped silently.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import case, func, select, update
from sqlmodel import Session, col

from daemon import jobs, signing, store
from daemon.config import Config
from daemon.models import AddressStatus, OutboundMessage, Ticket
from daemon.notify import Attachment, Envelope, Renderer, TemplateFailure, compose, new_message_id

log = logging.getLogger("caredesk.mailer")

AUTO_REPLIED = "auto-replied"
LIMIT_NOTICE_KIND = "auto-limit"


class Mailer:
    def __init__(
        self,
        config: Config,
        renderer: Renderer,
        clock: Callable[[], datetime],
        signing_key: bytes | None = None,
    ) -> None:
        self.config = config
        self.renderer = renderer
        self.clock = clock
        self.signing_key = signing_key
        self.own_addresses = frozenset({config.address, config.admin_address} - {""})

    def queue(
        self,
        session: Session,
        *,
        kind: str,
        recipient: str,
        template: str,
        context: Mapping[str, object],
        auto_submitted: str = "auto-generated",
        ticket: Ticket | None = None,
        cause_inbound_id: int | None = None,
        in_reply_to: str | None = None,
        language: str = "id",
        attachments: Sequence[Attachment] = (),
    ) -> int | None:
        """Queue one mail and give its outbox id; None when this (kind, cause, recipient) was queued before.

        `attachments` are (filename, MIME type, bytes), e.g. a report's spreadsheet.

        A broken template never blocks the change that caused the mail: the row is
        stored as `failed` with the error, and the log says so.
        """
        now = self.clock()
        recipient = recipient.strip().lower()
        automatic = auto_submitted == AUTO_REPLIED and kind != LIMIT_NOTICE_KIND
        message_id = new_message_id(kind, self.config.domain)
        values: dict[str, object] = {
            "kind": kind,
            "ticket_id": ticket.id if ticket is not None else None,
            "cause_inbound_id": cause_inbound_id,
            "recipient": recipient,
            "envelope_from": self.config.address,
            "message_id": message_id,
            "automatic": automatic,
            "subject": "",
            "raw": b"",
            "state": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        try:
            rendered = self.renderer.render(template, context)
            envelope = Envelope(
                from_name=self.config.name,
                from_address=self.config.address,
                to=recipient,
                message_id=message_id,
                date=now,
                auto_submitted=auto_submitted,
                loop_marker=self.config.instance,
                reply_to=self.reply_address(ticket),
                in_reply_to=in_reply_to,
                references=(in_reply_to,) if in_reply_to else (),
                language=language,
            )
            values["subject"], values["raw"] = rendered.subject, compose(envelope, rendered, attachments)
        except (TemplateFailure, ValueError) as error:
            values["state"], values["last_error"] = "failed", str(error)
            log.error("cannot render %s to %s: %s", kind, recipient, error)
        held = self._why_not_send(session, recipient, ticket, now) if automatic else None
        if held is not None and values["state"] == "pending":
            values["state"], values["last_error"] = "suppressed", held
        keys = ["kind", "cause_inbound_id", "recipient"]
        outbound_id = store.insert_ignore_returning(session, OutboundMessage, values, keys)
        if outbound_id is None:
            return None
        if self.config.smtp.verp and self.signing_key is not None:
            # The return path names this very row, so a bounce can be tied to it
            # without trusting anything inside the bounce.
            return_path = signing.return_path(self.signing_key, self.config.address, outbound_id)
            session.execute(
                update(OutboundMessage)
                .where(col(OutboundMessage.id) == outbound_id)
                .values(envelope_from=return_path)
            )
        suppressed = values["state"] == "suppressed"
        if ticket is not None:
            action = f"suppressed-{kind}" if suppressed else f"queued-{kind}"
            reason = f"to {recipient}" + (f": {held}" if suppressed else "")
            store.add_event(
                session,
                ticket,
                actor="caredesk",
                action=action,
                at=now,
                reason=reason,
                outbound_id=outbound_id,
            )
        if held is not None:
            log.warning("not sending %s to %s: %s", kind, recipient, held)
            self._limit_notice(session, recipient, held, now)
        return int(outbound_id)

    def reply_address(self, ticket: Ticket | None) -> str:
        """Where replies about `ticket` should go: its signed address when the mailbox allows."""
        if ticket is None or self.signing_key is None or not self.config.mailbox.plus_addressing:
            return self.config.address
        return signing.reply_address(self.signing_key, self.config.address, ticket.reference)

    def _why_not_send(
        self, session: Session, recipient: str, ticket: Ticket | None, now: datetime
    ) -> str | None:
        """The reason an automatic answer to `recipient` must not go out now, or None."""
        if without_tag(recipient) in self.own_addresses:
            return "our own address: never answered automatically"
        status = session.get(AddressStatus, recipient)
        if status is not None and status.undeliverable_until > now:
            until = f"{status.undeliverable_until:%Y-%m-%d}"
            return f"address bounced ({status.reason}); no automatic mail until {until}"
        # The limits hold per recipient over all tickets; since a ticket's mails to a
        # recipient are among all mails to that recipient, the same numbers per ticket
        # can never be the stricter check, so one query answers both.
        last_hour, last_day = self._automatic_counts(session, recipient, now)
        limits = self.config.limits
        if last_hour >= limits.auto_per_hour:
            return f"limit reached: {last_hour} automatic mails to this address in the last hour"
        if last_day >= limits.auto_per_day:
            return f"limit reached: {last_day} automatic mails to this address in the last day"
        return None

    @staticmethod
    def _automatic_counts(session: Session, recipient: str, now: datetime) -> tuple[int, int]:
        """Automatic mails to `recipient` in the last hour and in the last day."""
        created = col(OutboundMessage.created_at)
        in_last_hour = case((created >= now - timedelta(hours=1), 1), else_=0)
        statement = select(func.count(), func.coalesce(func.sum(in_last_hour), 0)).where(
            col(OutboundMessage.recipient) == recipient,
            col(OutboundMessage.automatic).is_(True),
            col(OutboundMessage.state) != "suppressed",
            created >= now - timedelta(days=1),
        )
        last_day, last_hour = session.execute(statement).one()
        return int(last_hour), int(last_day)

    def _limit_notice(self, session: Session, recipient: str, reason: str, now: datetime) -> None:
        """Tell a held-back recipient once a day why they hear nothing more automatically."""
        if not reason.startswith("limit reached"):
            return
        if not jobs.claim(session, LIMIT_NOTICE_KIND, f"{recipient}/{now:%Y-%m-%d}", now=now):
            return
        self.queue(
            session,
            kind=LIMIT_NOTICE_KIND,
            recipient=recipient,
            template="auto_limit.txt",
            context={"org": {"name": self.config.name, "address": self.config.address}},
            auto_submitted=AUTO_REPLIED,
            cause_inbound_id=None,
        )


def without_tag(address: str) -> str:
    """`care+b.12.x@d` -> `care@d`: plus-addressed variants are the same mailbox."""
    local, _, domain = address.partition("@")
    return f"{local.split('+', 1)[0]}@{domain}"
