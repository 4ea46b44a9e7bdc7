"""The attachments of a ticket's mails, read back from the raw bytes the daemon stored.

A ticket's mails are the inbound rows processed onto it: the customer's first
mail, the customer's follow-ups and the staff replies. Each row keeps the whole
raw mail, so its attachments are parsed again from it (`daemon.parse.parser`),
exactly as the daemon saw them; nothing else is stored. Duplicates, ignored
robots' mail and rows kept with their headers only hold no attachment of the
ticket. The same file (name and SHA-256) sent twice is listed once, from the
mail that brought it first.

`tickets attachments` and the web download write them out, so they need their
bytes. Listing them (`tickets show`, the web view, the archive form) reads the
list the daemon kept on each row instead (`daemon.tickets.attachment_index`),
which comes back here only for a mail stored before that list existed.
`attachments_of_mails` does the work on rows of any kind (the ORM's, or the plain
rows `daemon.store.rawread` reads), so the database libraries are imported only
by `ticket_attachments`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from daemon.parse.message import Attachment
from daemon.tickets.attachment_index import (
    Listed,
    ListedAttachment,
    first_of_each_file,
    parsed_again,
    processed_mails,
)

if TYPE_CHECKING:
    from sqlmodel import Session

    from daemon.store.models import Ticket


@dataclass(frozen=True)
class TicketAttachment:
    """One attachment of a ticket's mail, with the mail it came in."""

    attachment: Attachment
    inbound_id: int
    sender: str
    received_at: datetime

    def listed(self) -> ListedAttachment:
        """The same attachment as the list gives it (`daemon.tickets.attachment_index`), without its bytes."""
        facts = self.attachment
        return ListedAttachment(
            Listed(facts.filename, facts.content_type, facts.size, facts.sha256),
            self.inbound_id,
            self.sender,
            self.received_at,
        )

    def as_dict(self) -> dict[str, object]:
        """What `tickets show --json` gives for it (no payload)."""
        return self.listed().as_dict()


def ticket_attachments(session: Session, ticket: Ticket) -> tuple[TicketAttachment, ...]:
    """Every attachment of the mails processed onto `ticket`, oldest mail first."""
    return attachments_of_mails(processed_mails(session, ticket.id, raw=True), ticket.reference)


def attachments_of_mails(rows: Iterable[Any], reference: str) -> tuple[TicketAttachment, ...]:
    """The attachments of these stored mails (`id`, `raw`, `from_address`, `received_at`), in order.

    The same file (name and SHA-256) twice is listed once, from the first mail.
    """
    return tuple(
        TicketAttachment(attachment, int(row.id or 0), row.from_address, row.received_at)
        for row, attachment in first_of_each_file(rows, lambda row: parsed_again(row, reference))
    )
