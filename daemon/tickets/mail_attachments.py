"""The attachments of a ticket's mails, read back from the raw bytes the daemon stored.

A ticket's mails are the inbound rows processed onto it: the customer's first
mail, the customer's follow-ups and the staff replies. Each row keeps the whole
raw mail, so its attachments are parsed again from it (`daemon.parse.parser`),
exactly as the daemon saw them; nothing else is stored. Duplicates, ignored
robots' mail and rows kept with their headers only hold no attachment of the
ticket. The same file (name and SHA-256) sent twice is listed once, from the
mail that brought it first.

`tickets show` and the archive form list them; `tickets attachments` writes
them out. `attachments_of_mails` does the work on rows of any kind (the ORM's,
or the plain rows `tickets show` reads with `daemon.store.rawread`), so the
database libraries are imported only by `ticket_attachments`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from daemon.parse.message import Attachment
from daemon.parse.parser import ParseError, parse

if TYPE_CHECKING:
    from sqlmodel import Session

    from daemon.store.models import Ticket

log = logging.getLogger("caredesk.attachments")


@dataclass(frozen=True)
class TicketAttachment:
    """One attachment of a ticket's mail, with the mail it came in."""

    attachment: Attachment
    inbound_id: int
    sender: str
    received_at: datetime

    def as_dict(self) -> dict[str, object]:
        """What `tickets show --json` gives for it (no payload)."""
        return {
            "filename": self.attachment.filename,
            "content_type": self.attachment.content_type,
            "size": self.attachment.size,
            "sha256": self.attachment.sha256,
            "inbound_id": self.inbound_id,
            "from": self.sender,
            "received_at": self.received_at.isoformat(),
        }


def ticket_attachments(session: Session, ticket: Ticket) -> tuple[TicketAttachment, ...]:
    """Every attachment of the mails processed onto `ticket`, oldest mail first."""
    from sqlalchemy import select
    from sqlmodel import col

    from daemon.store.models import InboundMessage
    from daemon.store.vocabulary import InboundState

    rows = session.execute(
        select(InboundMessage)
        .where(
            col(InboundMessage.ticket_id) == ticket.id,
            col(InboundMessage.state) == InboundState.PROCESSED,
            col(InboundMessage.headers_only).is_(False),
        )
        .order_by(col(InboundMessage.id))
    ).scalars()
    return attachments_of_mails(rows, ticket.reference)


def attachments_of_mails(rows: Iterable[Any], reference: str) -> tuple[TicketAttachment, ...]:
    """The attachments of these stored mails (`id`, `raw`, `from_address`, `received_at`), in order.

    The same file (name and SHA-256) twice is listed once, from the first mail.
    """
    found: list[TicketAttachment] = []
    seen: set[tuple[str, str]] = set()
    for row in rows:
        try:
            mail = parse(row.raw)
        except ParseError as error:  # it was parsed once; a changed parser could refuse it now
            log.warning("inbound #%s of %s cannot be parsed again: %s", row.id, reference, error)
            continue
        for attachment in mail.attachments:
            key = (attachment.filename, attachment.sha256)
            if key in seen:
                continue
            seen.add(key)
            found.append(TicketAttachment(attachment, int(row.id or 0), row.from_address, row.received_at))
    return tuple(found)
