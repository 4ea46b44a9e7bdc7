"""Immutable values that cross stage boundaries: the parsed inbound mail.

The parse stage turns raw bytes into an `InboundMail`; classify, route and store
only ever read it. Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Attachment:
    """One attachment, decoded. `filename` is display metadata only, never a path."""

    filename: str
    content_type: str
    size: int
    sha256: str
    payload: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class Contact:
    """The customer's contact person (PIC) details found in the mail.

    Phones are normalised to international form (`+62...`), emails to lower case.
    """

    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.phones and not self.emails


@dataclass(frozen=True, slots=True)
class InboundMail:
    """Everything later stages need to know about one received message."""

    message_id: str
    """Normalised `<id@host>`; synthetic and deterministic when the mail had none."""
    message_id_synthetic: bool
    from_address: str
    """Lower-case addr-spec of the sender (`daemon.parse.sender`); '' when there is none.

    The (first) From mailbox, recovered from a malformed From when need be, else
    the Sender, Reply-To or Return-Path address: `sender_source` says which.
    """
    from_name: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    reply_to: tuple[str, ...]
    return_path: str | None
    """None when the header is absent, '' for the null reverse path `<>`."""
    subject: str
    """Display subject: control and bidi characters removed, never contains CR/LF."""
    date: datetime | None
    """The Date header as an aware datetime, None when missing or unparseable."""
    text: str
    """Plain text body (HTML converted to text when there is no plain part)."""
    new_text: str
    """The text a reply adds, without quoted history and signature separators."""
    content_type: str
    """Top-level content type, lower case, e.g. `multipart/report`."""
    headers: tuple[tuple[str, str], ...]
    """All headers in order as (lower-case name, decoded value)."""
    attachments: tuple[Attachment, ...] = ()
    in_reply_to: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    language: str = "id"
    """'id' (Indonesian) or 'en' (English)."""
    contact: Contact = Contact()
    body_sha256: str = ""
    defects: tuple[str, ...] = ()
    parser: str = "mail-parser"
    """Which parser produced this value: 'mail-parser' or the 'email' fallback."""
    html: str = ""
    """The HTML body sanitised with an allow-list (`daemon.parse.sanitize`), '' when there is none."""
    sender_source: str = "from"
    """Where `from_address` came from: 'from' for a plain From, 'from (recovered: <what was mended>)',
    or the fallback field 'sender', 'reply-to' or 'return-path'; '' when there is no sender."""

    def header(self, name: str) -> str | None:
        """The first value of header `name` (case-insensitive), or None."""
        wanted = name.lower()
        for key, value in self.headers:
            if key == wanted:
                return value
        return None

    def header_all(self, name: str) -> tuple[str, ...]:
        """Every value of header `name` (case-insensitive), in order."""
        wanted = name.lower()
        return tuple(value for key, value in self.headers if key == wanted)

    @property
    def from_domain(self) -> str:
        return self.from_address.rpartition("@")[2]

    @property
    def recipients(self) -> tuple[str, ...]:
        return self.to + self.cc
