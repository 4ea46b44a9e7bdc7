"""The attachments of a mail as the parser found them, kept on its inbound row, and listed from there.

When the daemon parses a stored mail it writes the name, type, size and SHA-256
of each attachment on the row (`inbound_message.attachment_list`, a JSON list
of objects in the mail's order; `index_text`). `tickets show`, the web view and
the archive form list a ticket's attachments from that text (`listed_attachments`),
so they neither read the raw mails nor load the mail parser. A row without the
text (stored before revision 0010, or a text this reading refuses) is parsed
again from its raw bytes (`daemon.tickets.mail_attachments`), so the listing is
the same either way. The same file (name and SHA-256) sent twice is listed
once, from the mail that brought it first.

Writing the files out (`tickets attachments`, the web download) needs their
bytes, and parses the mails: `daemon.tickets.mail_attachments.ticket_attachments`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from daemon.parse.message import Attachment

log = logging.getLogger("caredesk.attachments")


class AttachmentFacts(Protocol):
    """What the list keeps of an attachment (`daemon.parse.message.Attachment` has it)."""

    @property
    def filename(self) -> str: ...
    @property
    def content_type(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def sha256(self) -> str: ...


F = TypeVar("F", bound=AttachmentFacts)


@dataclass(frozen=True)
class Listed:
    """One attachment as the list keeps it: no payload."""

    filename: str
    content_type: str
    size: int
    sha256: str


@dataclass(frozen=True)
class ListedAttachment:
    """One attachment of a ticket's mail, with the mail it came in."""

    attachment: Listed
    inbound_id: int
    sender: str
    received_at: datetime

    def as_dict(self) -> dict[str, object]:
        """What `tickets show --json` gives for it."""
        return {
            "filename": self.attachment.filename,
            "content_type": self.attachment.content_type,
            "size": self.attachment.size,
            "sha256": self.attachment.sha256,
            "inbound_id": self.inbound_id,
            "from": self.sender,
            "received_at": self.received_at.isoformat(),
        }


def index_text(attachments: Sequence[AttachmentFacts]) -> str:
    """The text kept on the inbound row for these attachments, in their order."""
    return json.dumps(
        [
            {
                "filename": item.filename,
                "content_type": item.content_type,
                "size": item.size,
                "sha256": item.sha256,
            }
            for item in attachments
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )


def read_index(text: str | None) -> tuple[Listed, ...] | None:
    """The attachments in a row's text; None when there is none or it is not the shape `index_text` writes."""
    if text is None:
        return None
    try:
        entries = json.loads(text)
    except ValueError:
        return None
    if not isinstance(entries, list):
        return None
    found: list[Listed] = []
    for entry in entries:
        if not isinstance(entry, dict):
            return None
        name, kind, size, digest = (entry.get(key) for key in ("filename", "content_type", "size", "sha256"))
        if not (isinstance(name, str) and isinstance(kind, str) and isinstance(digest, str)):
            return None
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            return None
        found.append(Listed(name, kind, size, digest))
    return tuple(found)


def listed_attachments(rows: Iterable[Any], reference: str) -> tuple[ListedAttachment, ...]:
    """The attachments of these processed mails, in order.

    Each row has `id`, `from_address`, `received_at` and `attachment_list`; `raw`
    is read only from a row whose list is missing or unreadable.
    """

    def entries(row: Any) -> Sequence[Listed]:
        kept = read_index(row.attachment_list)
        return kept if kept is not None else _parsed_again(row, reference)

    return tuple(
        ListedAttachment(entry, int(row.id or 0), row.from_address, row.received_at)
        for row, entry in first_of_each_file(rows, entries)
    )


def first_of_each_file(
    rows: Iterable[Any], files_of: Callable[[Any], Sequence[F]]
) -> Iterator[tuple[Any, F]]:
    """(row, file) for the files of each row in order; a file (name and SHA-256) seen before is left out."""
    seen: set[tuple[str, str]] = set()
    for row in rows:
        for item in files_of(row):
            key = (item.filename, item.sha256)
            if key not in seen:
                seen.add(key)
                yield row, item


def ticket_listing(session: Any, ticket: Any) -> tuple[ListedAttachment, ...]:
    """`listed_attachments` of the mails processed onto `ticket`, read through the ORM session.

    The raw mail is loaded only for a row without its list.
    """
    return listed_attachments(processed_mails(session, ticket.id, raw=False), ticket.reference)


def processed_mails(session: Any, ticket_id: int | None, *, raw: bool) -> list[Any]:
    """The inbound rows processed onto the ticket, oldest first; without `raw`, it is loaded when read."""
    from sqlalchemy import select
    from sqlalchemy.orm import defer
    from sqlmodel import col

    from daemon.store.models import InboundMessage
    from daemon.store.vocabulary import InboundState

    statement = select(InboundMessage).where(
        col(InboundMessage.ticket_id) == ticket_id,
        col(InboundMessage.state) == InboundState.PROCESSED,
        col(InboundMessage.headers_only).is_(False),
    )
    if not raw:
        statement = statement.options(defer(InboundMessage.raw))  # type: ignore[arg-type]
    return list(session.execute(statement.order_by(col(InboundMessage.id))).scalars())


def parsed_again(row: Any, reference: str) -> tuple[Attachment, ...]:
    """The attachments of a stored mail (`id`, `raw`) with their payloads, parsed again from its bytes."""
    # Here, not at the top: only a row without its list (or a file written out) loads the mail parser.
    from daemon.parse.parser import ParseError, parse

    try:
        return parse(row.raw).attachments
    except ParseError as error:  # it was parsed once; a changed parser could refuse it now
        log.warning("inbound #%s of %s cannot be parsed again: %s", row.id, reference, error)
        return ()


def _parsed_again(row: Any, reference: str) -> tuple[Listed, ...]:
    return tuple(
        Listed(item.filename, item.content_type, item.size, item.sha256)
        for item in parsed_again(row, reference)
    )
