"""What a parser backend hands to the assembly of `InboundMail`.

This module owns the contract between the two MIME backends
(`daemon.parse.mailparser_backend`, `daemon.parse.stdlib_backend`) and
`daemon.parse.parser`: the parsed message for its headers, the address lists,
the body parts as text, the attachments already admitted and decoded, and the
defects the backend noticed. Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.message import Message

from daemon.parse.message import Attachment


@dataclass(frozen=True, slots=True)
class Extracted:
    """What a parser backend found; the rest of `InboundMail` is derived from it."""

    message: Message
    senders: list[tuple[str, str]]
    to: list[tuple[str, str]]
    cc: list[tuple[str, str]]
    reply_to: list[tuple[str, str]]
    date: datetime | None
    """The backend's reading of the Date header; None leaves it to the stdlib."""
    plain: list[str]
    html: list[str]
    attachments: list[Attachment]
    defects: tuple[str, ...]
    parser: str
