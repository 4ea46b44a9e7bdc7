"""Hard limits on a raw message's structure, checked before any MIME parser runs.

This module owns the limits of the parse stage whose breach means the mail is
hostile or broken beyond use (reliability.md §6.1): the raw size, the number of
header fields and of `Received` hops, MIME nesting depth, the number of MIME
parts, and the length of the parts' parameter fields (Content-Type and
Content-Disposition), which the parsers split into parameters in a time that
grows faster than their length. It reads the raw bytes with a few regular
expressions and the standard library's header parser on each part's header
block; bodies are never decoded and no message tree is built. A bomb (5,000
nested multiparts, 20,000 sibling parts, 10,000 headers) is refused in
milliseconds instead of being turned into objects by mail-parser first.

Boundaries and header blocks are found the way the standard library's
feedparser finds them with the compat32 policy (lines end in CR LF, LF or a
bare CR; a header block ends at a blank line or at the first line that is not
a header), because mail-parser and the fallback parser both parse with it: the
count here is never lower than what they build (tests/hostile checks this
with hypothesis). The default policy is not used: its header parser needs
seconds for one Content-Type field with a few thousand parameters.
Nothing here does I/O.
"""

from __future__ import annotations

import email.policy
import re
from dataclasses import dataclass
from email.parser import BytesHeaderParser

MESSAGE_LIMIT = 100 * 1024 * 1024
"""Raw bytes. Above what the attachment limits can let through (50 MB decoded is ~68 MB base64)."""
HEADER_COUNT_LIMIT = 1_000
RECEIVED_LIMIT = 100
"""RFC 5321 §6.3: a mail that went through 100 relays is looping."""
MIME_DEPTH_LIMIT = 20
"""How deep a part may sit below the message (the message itself is at depth 0)."""
MIME_PART_LIMIT = 200
"""Every entity a parser would build: the message, containers and leaves."""
PARAMETER_FIELD_LIMIT = 8 * 1024
"""Bytes of a part's Content-Type or Content-Disposition field: a 255-character
file name in any script needs under 3 KB; 200 parts of 16 KB took mail-parser 6 s."""


class LimitExceeded(Exception):
    """The message breaks a hard limit; the text says which one."""


@dataclass(frozen=True)
class Shape:
    """What the scan measured: an upper bound on what a parser will build."""

    parts: int
    depth: int


def check_structure(raw: bytes) -> Shape:
    """`check_headers` and then `check_parts` on the same bytes."""
    check_headers(raw)
    return check_parts(raw)


def check_headers(raw: bytes) -> None:
    """Raise `LimitExceeded` when `raw` is too big or its own header has too many fields."""
    if len(raw) > MESSAGE_LIMIT:
        raise LimitExceeded(f"message of {len(raw):,} bytes is over the {MESSAGE_LIMIT:,} byte limit")
    text = _lines(raw)
    _check_header_counts(text[: _header_end(text, 0, len(text))])


def check_parts(raw: bytes) -> Shape:
    """The MIME shape of `raw`; raises `LimitExceeded` on a MIME bomb or an outsized part field.

    Give it the bytes the parser will get: the scan reads each part's
    Content-Type just as the parser will, so the count is only an upper bound
    for those very bytes.
    """
    text = _lines(raw)
    counter = _PartCounter()
    counter.entity(text, 0, len(text), depth=0, default_type="text/plain")
    return Shape(parts=counter.parts, depth=counter.deepest)


def _lines(raw: bytes) -> bytes:
    # The feedparser ends a line at CR LF, LF or a lone CR; the scan reads LF only.
    return raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


# Lines the feedparser takes as header lines: "From " (the mbox separator), a
# field name and colon, or a continuation. The header block ends at the first
# line that is none of these (a blank line included).
_HEADER_LINES = re.compile(rb"(?:(?:From |[\x21-\x39\x3b-\x7e]*:|[ \t])[^\n]*(?:\n|\Z))*")
_FIELD_START = re.compile(rb"^[^ \t\n]", re.MULTILINE)
_RECEIVED = re.compile(rb"^received[ \t]*:", re.MULTILINE | re.IGNORECASE)
_BLANK_LINE = re.compile(rb"^\n", re.MULTILINE)
_PARAMETER_FIELD = re.compile(
    rb"^content-(?:type|disposition)[ \t]*:[^\n]*(?:\n[ \t][^\n]*)*", re.MULTILINE | re.IGNORECASE
)
_HEADER_PARSER = BytesHeaderParser(policy=email.policy.compat32)


def _check_header_counts(header: bytes) -> None:
    if _count(_FIELD_START, header, HEADER_COUNT_LIMIT) > HEADER_COUNT_LIMIT:
        raise LimitExceeded(f"more than {HEADER_COUNT_LIMIT:,} header fields")
    if _count(_RECEIVED, header, RECEIVED_LIMIT) > RECEIVED_LIMIT:
        raise LimitExceeded(f"more than {RECEIVED_LIMIT} Received headers: the mail is looping")


def _count(pattern: re.Pattern[bytes], data: bytes, ceiling: int, start: int = 0, end: int = -1) -> int:
    """How often `pattern` occurs, counting no further than `ceiling` + 1."""
    found = 0
    for found, _ in enumerate(pattern.finditer(data, start, len(data) if end < 0 else end), 1):
        if found > ceiling:
            break
    return found


def _header_end(data: bytes, start: int, end: int) -> int:
    match = _HEADER_LINES.match(data, start, end)
    return match.end() if match else start


def _check_parameter_fields(data: bytes, start: int, end: int) -> None:
    for match in _PARAMETER_FIELD.finditer(data, start, end):
        if match.end() - match.start() > PARAMETER_FIELD_LIMIT:
            name = match.group().split(b":", 1)[0].decode("ascii", "replace").strip()
            raise LimitExceeded(f"a MIME part's {name} field is over {PARAMETER_FIELD_LIMIT:,} bytes")


@dataclass(frozen=True)
class _ContentType:
    """A part's content type and multipart boundary, as the parsers read its header block."""

    kind: str
    boundary: str | None

    @property
    def child_type(self) -> str:
        """The content type a child part of this multipart has when its header names none."""
        return "message/rfc822" if self.kind == "multipart/digest" else "text/plain"


def _reading(header: bytes, default_type: str) -> _ContentType:
    """The content type and boundary of a header block, as the parsers read them."""
    headers = _HEADER_PARSER.parsebytes(header)
    headers.set_default_type(default_type)
    return _ContentType(headers.get_content_type(), headers.get_boundary())


class _PartCounter:
    """Walks the MIME tree over byte offsets, counting entities and watching the depth."""

    def __init__(self) -> None:
        self.parts = 0
        self.deepest = 0

    def entity(self, data: bytes, start: int, end: int, *, depth: int, default_type: str) -> None:
        """One message or body part: `data[start:end]`, header block first."""
        self._add(1, depth)
        header_end = _header_end(data, start, end)
        if depth:
            # The message's own fields were capped by the parse stage already.
            _check_parameter_fields(data, start, header_end)
        body = header_end + 1 if data[header_end : header_end + 1] == b"\n" else header_end
        self._contents(data, body, end, _reading(data[start:header_end], default_type), depth)

    def _add(self, parts: int, depth: int) -> None:
        self.parts += parts
        self.deepest = max(self.deepest, depth)
        if self.parts > MIME_PART_LIMIT:
            raise LimitExceeded(f"more than {MIME_PART_LIMIT} MIME parts")
        if depth > MIME_DEPTH_LIMIT:
            raise LimitExceeded(f"MIME parts nested deeper than {MIME_DEPTH_LIMIT} levels")

    def _contents(self, data: bytes, start: int, end: int, content: _ContentType, depth: int) -> None:
        """The body `data[start:end]` of an entity at `depth` whose header reads as `content`."""
        if content.kind.startswith("multipart/"):
            self._multipart(data, start, end, content, depth)
        elif content.kind == "message/delivery-status":
            self._delivery_status(data, start, end, depth)
        elif content.kind.startswith("message/"):
            self.entity(data, start, end, depth=depth + 1, default_type="text/plain")

    def _multipart(self, data: bytes, start: int, end: int, content: _ContentType, depth: int) -> None:
        """The parts of a multipart body; one without a boundary has none."""
        if not content.boundary:
            return
        child_type = content.child_type
        try:
            separator = content.boundary.encode("ascii", "surrogateescape")
        except UnicodeEncodeError:
            return  # a non-ASCII boundary never matches a line: the parser finds no parts
        # A delimiter is a whole line. Searching for the newline before it, rather
        # than anchoring with ^, lets the regex engine skip ahead: ten times faster
        # over a large attachment. Every body starts just after a newline.
        delimiter = re.compile(rb"\n--" + re.escape(separator) + rb"(--)?[ \t]*$", re.MULTILINE)
        part_start: int | None = None
        for match in delimiter.finditer(data, max(start - 1, 0), end):
            # Consecutive delimiter lines make no empty part, as in the feedparser.
            if part_start is not None and match.start() + 1 > part_start:
                self.entity(data, part_start, match.start() + 1, depth=depth + 1, default_type=child_type)
            if match.group(1):
                if depth == 0:
                    self._epilogue(data, match.end(), end, separator)
                return
            part_start = match.end() + 1
        if part_start is not None:
            # No closing delimiter: the parser takes the rest, even nothing, as the last part.
            self.entity(data, min(part_start, end), end, depth=depth + 1, default_type=child_type)

    def _delivery_status(self, data: bytes, start: int, end: int, depth: int) -> None:
        # The feedparser parses each block between blank lines as a message of its
        # own, which may itself be a multipart; every blank line may start one.
        block_start = start
        for match in _BLANK_LINE.finditer(data, start, end):
            self.entity(data, block_start, match.start(), depth=depth + 1, default_type="text/plain")
            block_start = match.end()
        self.entity(data, min(block_start, end), end, depth=depth + 1, default_type="text/plain")

    def _epilogue(self, data: bytes, start: int, end: int, separator: bytes) -> None:
        # mail-parser parses the text between the first boundary and the first
        # closing boundary of a damaged message's epilogue as one more message
        # (its EPILOGUE_DEFECTS recovery); it counts like an attached message.
        first = data.find(b"--" + separator, start, end)
        if first < 0:
            return
        begin = first + len(separator) + 2
        last = data.find(b"--" + separator + b"--", begin, end)
        if last < 0:
            return
        recovered = data[begin:last].strip()
        self.entity(recovered, 0, len(recovered), depth=1, default_type="text/plain")
