"""What can be read from a quarantined mail, and whether its sender may be told it arrived.

A quarantined row keeps its raw bytes, but the sender and subject the parse stage
found were rolled back with the rest of the failed attempt, and for a mail that
failed to parse there are none. `sender_and_subject` reads them again from the
header block alone, so `caredesk quarantine list` and the admin digest can name
who sent it; a header block that cannot be parsed still gives the address of its
first From line.

`read_mail` parses as much as is safe for the stage the mail failed in: nothing
for a mail whose bytes break a parse limit (`parse`), the header block only for
one too big to process (`fetch`) or one that kept killing the daemon
(`process`), the whole mail otherwise (it parsed before). `acknowledgement_refused`
decides whether the sender hears that a person is looking at it: never a robot,
a bounce, automated mail, our own mail or a mail that asked for no automatic
answer. Nothing here does I/O.
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Iterable

from daemon.classify.automated import automated_reason, is_bounce
from daemon.classify.robots import looks_automated_sender
from daemon.parse.headers import display_text
from daemon.parse.message import InboundMail
from daemon.parse.parser import parse
from daemon.tickets.policy import acknowledgement_withheld

HEADER_SCAN_BYTES = 256 * 1024
"""How far into the raw bytes the header block (and a fallback From line) is looked for."""
ERROR_LINE_LIMIT = 300

_NOT_READ = frozenset({"parse"})
"""Stages after which the bytes are not parsed again: they break a hard limit."""
_HEADERS_ONLY = frozenset({"fetch", "process"})
"""Stages after which only the header block is parsed: too big, or it killed the daemon."""
_FROM_LINE = re.compile(rb"^from[ \t]*:[ \t]*([^\r\n]*)", re.IGNORECASE | re.MULTILINE)


def header_block(raw: bytes) -> bytes:
    """The header block of `raw`, up to and with the blank line that ends it (at most 256 KB)."""
    head = raw[:HEADER_SCAN_BYTES]
    ends = [index for index in (head.find(b"\n\n"), head.find(b"\n\r\n")) if index >= 0]
    if not ends:
        return head
    end = min(ends)
    return head[: end + (2 if head[end : end + 2] == b"\n\n" else 3)]


def read_mail(raw: bytes, stage: str | None) -> InboundMail | None:
    """The mail as far as it is safe to parse it again after failing in `stage`; None when not."""
    if stage in _NOT_READ:
        return None
    data = header_block(raw) if stage in _HEADERS_ONLY else raw
    try:
        return parse(data)
    except Exception:
        # Reading for a report must never fail the report: the mail is held as it is.
        return None


def sender_and_subject(raw: bytes, from_address: str = "", subject: str = "") -> tuple[str, str]:
    """Who sent `raw` and what it is about: the stored values, else read from its header block."""
    if from_address and subject:
        return from_address, subject
    mail = read_mail(header_block(raw), "fetch")
    if mail is not None:
        return from_address or mail.from_address, subject or mail.subject
    return from_address or _first_from_line(raw), subject


def _first_from_line(raw: bytes) -> str:
    """The address of the first From line, for a header block no parser accepts."""
    match = _FROM_LINE.search(raw[:HEADER_SCAN_BYTES])
    if match is None:
        return ""
    _name, address = email.utils.parseaddr(match.group(1).decode("utf-8", "replace"))
    address = display_text(address).strip().lower()
    return address if "@" in address and " " not in address else ""


def first_line(error: str | None) -> str:
    """The first line of an error, shortened for a listing."""
    line = (error or "").strip().splitlines()[0] if (error or "").strip() else ""
    return line if len(line) <= ERROR_LINE_LIMIT else line[: ERROR_LINE_LIMIT - 1] + "…"


def acknowledgement_refused(mail: InboundMail, own_addresses: Iterable[str], *, backlog: bool) -> str | None:
    """Why the sender of a quarantined `mail` is not told it arrived, or None when they are."""
    if not mail.from_address:
        return "no usable sender address"
    robot = looks_automated_sender(mail.from_address)
    if robot is not None:
        return f"the sender looks automated ({robot})"
    if is_bounce(mail):
        return "a bounce"
    automated = automated_reason(mail, own_addresses)
    if automated is not None:
        return f"automated mail ({automated})"
    return acknowledgement_withheld(mail, backlog=backlog)
