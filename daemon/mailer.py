"""Queueing outgoing mail: render a template, compose the bytes, write the outbox row.

Every mail caredesk sends goes through `Mailer.queue`, inside the caller's
transaction, so the mail exists exactly when the change that caused it exists.
Delivery is the outbox sender's job (`daemon.outbox`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from daemon import store
from daemon.config import Config
from daemon.models import OutboundMessage, Ticket
from daemon.notify import Envelope, Renderer, TemplateFailure, compose, new_message_id

log = logging.getLogger("caredesk.mailer")


class Mailer:
    def __init__(self, config: Config, renderer: Renderer, clock: Callable[[], datetime]) -> None:
        self.config = config
        self.renderer = renderer
        self.clock = clock

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
    ) -> OutboundMessage | None:
        """Queue one mail; None when this (kind, cause, recipient) was queued before.

        A broken template never blocks the change that caused the mail: the row is
        stored as `failed` with the error, and the log says so.
        """
        now = self.clock()
        message_id = new_message_id(kind, self.config.domain)
        values: dict[str, object] = {
            "kind": kind,
            "ticket_id": ticket.id if ticket is not None else None,
            "cause_inbound_id": cause_inbound_id,
            "recipient": recipient,
            "envelope_from": self.config.address,
            "message_id": message_id,
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
                reply_to=self.config.address,
                in_reply_to=in_reply_to,
                references=(in_reply_to,) if in_reply_to else (),
                language=language,
            )
            values["subject"], values["raw"] = rendered.subject, compose(envelope, rendered)
        except (TemplateFailure, ValueError) as error:
            values["state"], values["last_error"] = "failed", str(error)
            log.error("cannot render %s to %s: %s", kind, recipient, error)
        keys = ["kind", "cause_inbound_id", "recipient"]
        if not store.insert_ignore(session, OutboundMessage, values, keys):
            return None
        saved = session.execute(
            select(OutboundMessage).where(col(OutboundMessage.message_id) == message_id)
        ).scalar_one()
        if ticket is not None:
            store.add_event(
                session,
                ticket,
                actor="caredesk",
                action=f"queued-{kind}",
                at=now,
                reason=f"to {recipient}",
                outbound_id=saved.id,
            )
        return saved
