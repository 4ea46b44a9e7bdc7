"""A complaint's thread as people read it: every mail in and out, oldest first.

Each mail is read back from the raw bytes the daemon stored, through the same
parser the daemon used: the text the sender wrote, the quoted history apart
(the page folds it), the HTML part only as the allow-list sanitiser leaves it,
and the raw source one click away. Attachments are listed with the index the
download link uses; they are never shown inline.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from daemon.parse.parser import ParseError, parse
from daemon.parse.sanitize import clean_html
from daemon.store.models import InboundMessage, OutboundMessage, Ticket

log = logging.getLogger("caredesk.web")


@dataclass(frozen=True, slots=True)
class ThreadMail:
    key: str
    """`in-<id>` or `out-<id>`: names the mail in the raw-source link."""
    direction: str
    at: datetime
    sender: str
    recipient: str
    subject: str
    state: str
    text: str
    """What the mail says, without its quoted history."""
    quoted: str
    """The rest of the text: the quoted history and signature the page folds away."""
    html: str
    """The HTML part as the sanitiser leaves it; '' when the mail had none."""


@dataclass(frozen=True, slots=True)
class _Envelope:
    key: str
    direction: str
    at: datetime
    sender: str
    recipient: str
    state: str


def thread(session: Session, ticket: Ticket) -> list[ThreadMail]:
    """Every mail of `ticket`, in and out, in time order."""
    mails: list[ThreadMail] = []
    inbound = select(InboundMessage).where(col(InboundMessage.ticket_id) == ticket.id)
    for row in session.execute(inbound.order_by(col(InboundMessage.id))).scalars():
        envelope = _Envelope(f"in-{row.id}", "in", row.received_at, row.from_address, "", row.state)
        mails.append(_read(envelope, row.raw))
    outbound = select(OutboundMessage).where(col(OutboundMessage.ticket_id) == ticket.id)
    for out in session.execute(outbound.order_by(col(OutboundMessage.id))).scalars():
        envelope = _Envelope(
            f"out-{out.id}", "out", out.created_at, out.envelope_from, out.recipient, out.state
        )
        mails.append(_read(envelope, out.raw))
    return sorted(mails, key=lambda mail: mail.at)


def _read(envelope: _Envelope, raw: bytes) -> ThreadMail:
    e = envelope
    if not raw:
        return ThreadMail(
            e.key, e.direction, e.at, e.sender, e.recipient, "", e.state, "(not rendered)", "", ""
        )
    try:
        mail = parse(raw)
    except ParseError as error:
        log.warning("cannot read mail %s for the web view: %s", e.key, error)
        unreadable = "(unreadable; see the source)"
        return ThreadMail(e.key, e.direction, e.at, e.sender, e.recipient, "", e.state, unreadable, "", "")
    whole = mail.text.strip()
    text = mail.new_text.strip() or whole
    quoted = whole[len(text) :].strip() if whole.startswith(text) else (whole if whole != text else "")
    return ThreadMail(
        e.key,
        e.direction,
        e.at,
        e.sender or mail.from_address,
        e.recipient or ", ".join(mail.to),
        mail.subject,
        e.state,
        text,
        quoted,
        clean_html(mail.html) if mail.html else "",
    )


def raw_source(session: Session, ticket: Ticket, key: str) -> bytes | None:
    """The stored bytes of mail `key` (`in-<id>`/`out-<id>`) if it belongs to `ticket`."""
    direction, _, number = key.partition("-")
    if not number.isdigit():
        return None
    row: InboundMessage | OutboundMessage | None
    if direction == "in":
        row = session.get(InboundMessage, int(number))
    elif direction == "out":
        row = session.get(OutboundMessage, int(number))
    else:
        return None
    if row is None or row.ticket_id != ticket.id:
        return None
    return row.raw
