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
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from email.message import Message

from daemon.parse import limits
from daemon.parse.charsets import charset_hints, decode_header_bytes, decode_text, scalar_text

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


def raw_headers(message: Message, hints: Sequence[str] | None = None) -> list[tuple[str, str]]:
    """Every header as (lower-case name, unfolded value), in order, encoded-words left as they are.

    Raw 8-bit header bytes reach us as surrogate escapes. They are decoded
    here (`header_text`), with the charsets of the message's parts as hints
    (`hints`, found from `message` when not given), so no later stage sees
    an unencodable string or a U+FFFD where a reasonable reading exists.
    """
    pairs = []
    for name, value in message.raw_items():
        text = str(value)
        if not text.isascii():
            if hints is None:
                hints = charset_hints(message)
            text = header_text(text, hints)
        pairs.append((scalar_text(str(name)).strip().lower(), _unfold(text)))
    return pairs


def header_text(value: str, hints: Sequence[str] = ()) -> str:
    """A raw header value (8-bit bytes as surrogate escapes) as text, its encoded-words kept.

    8-bit bytes inside a Q encoded-word are written as `=XX`, so the word is
    decoded in its own charset later; the others are decoded as UTF-8, then
    in the `hints`, then as windows-1252 (`daemon.parse.charsets`).
    """
    if value.isascii():
        return value
    try:
        data = value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return scalar_text(value, hints)
    data = _RAW_Q_WORD.sub(_escape_8bit, data)
    return decode_header_bytes(data, hints)


_RAW_Q_WORD = re.compile(rb"=\?[^?\s]+\?[Qq]\?[^?]*[\x80-\xff][^?]*\?=")


def _escape_8bit(match: re.Match[bytes]) -> bytes:
    return re.sub(rb"[\x80-\xff]", lambda byte: b"=%02X" % byte.group()[0], match.group())


def valid_text(value: str) -> str:
    """`value` as valid Unicode: surrogate-escaped bytes decoded, any other lone surrogate replaced."""
    return scalar_text(value)


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

# Spaces inside the encoded text break RFC 2047 but are common; mail clients decode them.
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([QqBb])\?([^?]*)\?=")


def decode_words(value: str, hints: Sequence[str] = ()) -> str:
    """Decode RFC 2047 encoded-words; line breaks they smuggle in become spaces.

    Words are decoded in their declared charset, read as `daemon.parse.charsets`
    reads any label (supersets first; `hints` when the label is unknown).
    """
    if "=?" not in value:
        return scalar_text(value, hints)
    decoded = _decode_rfc2047(value, hints)
    return decoded.replace("\r\n", " ").replace("\r", " ").replace("\n", " ").strip()


def _decode_rfc2047(value: str, hints: Sequence[str]) -> str:
    # Adjacent words of one charset are joined before decoding: mailers do
    # split a multi-byte character, even a base64 quantum, across two words.
    pieces: list[str] = []
    run = _Run(hints)
    position = 0
    for match in _ENCODED_WORD.finditer(value):
        gap = value[position : match.start()]
        charset = match.group(1).split("*", 1)[0].lower()
        position = match.end()
        if gap and not (run.words and gap.isspace()):
            pieces.append(run.flush())
            pieces.append(scalar_text(gap, hints))
        if run.words and charset != run.charset:
            pieces.append(run.flush())
        if not run.add(charset, match.group(2).upper(), match.group(3)):
            pieces.append(run.flush())
            pieces.append(match.group())
    pieces.append(run.flush())
    pieces.append(scalar_text(value[position:], hints))
    return "".join(pieces)


class _Run:
    """Adjacent encoded-words of one charset, decoded together."""

    def __init__(self, hints: Sequence[str]) -> None:
        self.hints = hints
        self.charset = ""
        self.words: list[tuple[str, str]] = []

    def add(self, charset: str, encoding: str, text: str) -> bool:
        """Take one word; False (and nothing taken) when its payload is not Q or base64 text."""
        if encoding == "B" and not _BASE64_TEXT.fullmatch(text):
            return False
        self.charset = charset
        self.words.append((encoding, text))
        return True

    def flush(self) -> str:
        """The text of the words taken so far; the run is empty afterwards."""
        data = _run_bytes(self.words)
        charset, self.words = self.charset, []
        return decode_text(data, charset, self.hints).text if data else ""


_BASE64_TEXT = re.compile(r"[A-Za-z0-9+/=\s]*")


def _run_bytes(words: list[tuple[str, str]]) -> bytes:
    """The payload bytes of a run of words; base64 cut mid-quantum is joined with the next word."""
    chunks: list[bytes] = []
    pending = ""
    for encoding, text in words:
        if encoding == "B":
            pending += "".join(text.split())
            if len(pending) % 4 == 0 or pending.endswith("="):
                chunks.append(_base64_bytes(pending))
                pending = ""
            continue
        chunks.append(_base64_bytes(pending))
        pending = ""
        chunks.append(binascii.a2b_qp(text.encode("utf-8", "surrogateescape"), header=True))
    chunks.append(_base64_bytes(pending))
    return b"".join(chunks)


def _base64_bytes(text: str) -> bytes:
    """The bytes of base64 `text` as far as it goes: inner padding skipped, a lone last character dropped."""
    data = text.replace("=", "")
    data = data[: len(data) - (len(data) % 4 == 1)]
    try:
        return base64.b64decode(data + "=" * (-len(data) % 4))
    except (binascii.Error, ValueError):
        return b""


def decode_bytes(data: bytes, charset: str) -> str:
    """`data` decoded in `charset` as `daemon.parse.charsets` reads it; never raises."""
    return decode_text(data, charset).text


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
    return " ".join(scalar_text(value[: limit * 4]).translate(_DISPLAY_TABLE).split())[:limit]
