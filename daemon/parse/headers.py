"""Header text: capping the raw header block, reading fields, decoding them for display.

This module owns everything between a header's bytes and the string a later
stage reads: the raw header block is capped before any parser sees it (the
standard library's RFC 2047 decoder is quadratic in a header's length), the
fields of a parsed message are read in order with 8-bit bytes made valid
text, RFC 2047 encoded-words are decoded without trusting their charsets, and
text a sender controls (subjects, names, file names) is made safe to show on
one line. Dates are read as aware UTC datetimes. Nothing here does I/O.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from email.message import Message

from daemon.parse import limits

# --- the raw header block -------------------------------------------------------


def limit_headers(raw: bytes) -> tuple[bytes, tuple[str, ...]]:
    """`raw` with each header field capped at 16 KB and the header block at 256 KB.

    The standard library's RFC 2047 decoder, which mail-parser calls on every
    header, is quadratic in the header's length: a 600 KB subject costs
    seconds. Capping first keeps one hostile mail from stalling the loop; the
    source keeps the untouched original. Returns the notes to add to defects.
    """
    ends = [index for index in (raw.find(b"\n\n"), raw.find(b"\n\r\n")) if index >= 0]
    end = min(ends) + 1 if ends else len(raw)
    if end <= limits.HEADER_FIELD_LIMIT:
        return raw, ()
    kept: list[bytes] = []
    notes: dict[str, None] = {}
    total = 0
    for field in _fields(raw[:end]):
        if len(field) > limits.HEADER_FIELD_LIMIT:
            field = _cap_field(field)
            notes["header field truncated"] = None
        if total + len(field) > limits.HEADER_BLOCK_LIMIT:
            notes["header block truncated"] = None
            break
        kept.append(field)
        total += len(field)
    return b"".join(kept) + raw[end:], tuple(notes)


def _fields(header: bytes) -> list[bytes]:
    """The fields of a raw header block, each with its continuation lines and line ends."""
    fields: list[bytes] = []
    for line in header.splitlines(keepends=True):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += line
        else:
            fields.append(line)
    return fields


def _cap_field(field: bytes) -> bytes:
    """The head and the tail of an overlong header field, cut between words.

    Keeping both ends matters for References: the first ID is the thread's
    root and the last ones are the nearest ancestors.
    """
    half = limits.HEADER_FIELD_LIMIT // 2
    head_words = field[:half].rsplit(None, 1)
    tail_words = field[-half:].split(None, 1)
    head = head_words[0] if head_words else b""
    tail = tail_words[-1] if tail_words else b""
    ending = field[len(field.rstrip(b"\r\n")) :]
    return head + b"\r\n " + tail.rstrip(b"\r\n") + ending


# --- fields of a parsed message -------------------------------------------------


def raw_headers(message: Message) -> list[tuple[str, str]]:
    """Every header as (lower-case name, unfolded raw value), in order.

    Raw 8-bit header bytes reach us as surrogate escapes; they are decoded as
    UTF-8 with replacement so no later stage sees an unencodable string.
    """
    pairs = []
    for name, value in message.raw_items():
        pairs.append((valid_text(str(name)).strip().lower(), _unfold(valid_text(str(value)))))
    return pairs


def valid_text(value: str) -> str:
    """`value` with surrogate-escaped bytes decoded as UTF-8, so it can always be encoded."""
    if value.isascii():
        return value
    try:
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return value.encode("utf-8", "replace").decode("utf-8")


def _unfold(value: str) -> str:
    return value.replace("\r", "").replace("\n", "").strip()


def first_value(pairs: Iterable[tuple[str, str]], name: str) -> str | None:
    """The value of the first (name, value) pair named `name`, or None."""
    for key, value in pairs:
        if key == name:
            return value
    return None


def header_date(value: str | None) -> datetime | None:
    """A Date header value as an aware UTC datetime; None when missing or unreadable."""
    if not value:
        return None
    try:
        return as_utc(email.utils.parsedate_to_datetime(value))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def as_utc(value: object) -> datetime | None:
    """An aware UTC datetime; a date without a zone is taken as UTC."""
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


# --- RFC 2047 encoded-words -----------------------------------------------------

_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([QqBb])\?([^?\s]*)\?=")


def decode_words(value: str) -> str:
    """Decode RFC 2047 encoded-words; line breaks they smuggle in become spaces."""
    if "=?" not in value:
        return value
    decoded = _decode_rfc2047(value)
    return decoded.replace("\r\n", " ").replace("\r", " ").replace("\n", " ").strip()


def _decode_rfc2047(value: str) -> str:
    # Adjacent words of one charset are joined before decoding: mailers do
    # split a multi-byte character across two encoded-words.
    pieces: list[str] = []
    run: list[bytes] = []
    run_charset = ""
    position = 0
    for match in _ENCODED_WORD.finditer(value):
        gap = value[position : match.start()]
        data = _encoded_word_bytes(match.group(2), match.group(3))
        charset = match.group(1).split("*", 1)[0].lower()
        position = match.end()
        if gap and not (run and gap.isspace()):
            pieces.append(decode_bytes(b"".join(run), run_charset))
            run = []
            pieces.append(gap)
        if data is None:
            pieces.append(decode_bytes(b"".join(run), run_charset))
            run = []
            pieces.append(match.group())
            continue
        if run and charset != run_charset:
            pieces.append(decode_bytes(b"".join(run), run_charset))
            run = []
        run.append(data)
        run_charset = charset
    pieces.append(decode_bytes(b"".join(run), run_charset))
    pieces.append(value[position:])
    return "".join(pieces)


def _encoded_word_bytes(encoding: str, text: str) -> bytes | None:
    if encoding in "Qq":
        return binascii.a2b_qp(text.encode("utf-8", "replace"), header=True)
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None


def decode_bytes(data: bytes, charset: str) -> str:
    """`data` decoded in `charset`, falling back to UTF-8; never raises, replaces what is invalid."""
    if not data:
        return ""
    try:
        return data.decode(charset or "utf-8", "replace")
    except (LookupError, UnicodeError, ValueError):
        # Unknown names raise LookupError, names with a NUL ValueError.
        return data.decode("utf-8", "replace")


# --- display text ---------------------------------------------------------------


def _display_table() -> dict[int, str | None]:
    removed = [
        *range(0x00, 0x20),
        *range(0x7F, 0xA0),
        0x00AD,  # soft hyphen
        0x061C,  # Arabic letter mark
        0x180E,  # Mongolian vowel separator
        *range(0x200B, 0x2010),  # zero-width space/joiners, LRM, RLM
        *range(0x202A, 0x202F),  # bidi embeddings and overrides
        *range(0x2060, 0x2070),  # word joiner, invisible operators, bidi isolates
        0xFEFF,  # zero-width no-break space
    ]
    table: dict[int, str | None] = dict.fromkeys(removed)
    # Characters that break a line become a space, so words stay apart.
    for line_break in (0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x1F, 0x85, 0x2028, 0x2029):
        table[line_break] = " "
    return table


_DISPLAY_TABLE = _display_table()


def display_text(value: str, limit: int = limits.HEADER_TEXT_LIMIT) -> str:
    """`value` made safe to show on one line: no control, bidi or zero-width characters.

    Whitespace is collapsed and the result capped at `limit` characters. Used
    for subjects, display names and attachment names, which senders control.
    """
    # Cap the input first so a 100 KB subject costs no more than a long one.
    return " ".join(valid_text(value[: limit * 4]).translate(_DISPLAY_TABLE).split())[:limit]
