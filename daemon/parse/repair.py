"""Repairing a damaged header block before any parser reads it, as mail clients do.

The standard library's feed parser, which both parser backends use, ends the
header block at the first line that is not a header field. Real mail breaks
that in a few recurring ways, and each hides the fields after it in the body,
the sender among them:

* a stray line before the headers: a UTF-8 byte order mark, a blank line, an
  escaped mbox separator (`>From ...`), or a line a tool wrote on top (Outlook's
  "Microsoft Mail Internet Headers Version 2.0");
* inside the block, a line without a colon: a field that lost its colon (a bare
  `X-MS-Has-Attach`), or a long value folded without the leading whitespace a
  continuation line needs (seen from Exchange and from gateways that rewrap);
* obsolete syntax (RFC 5322 §4.5): whitespace between the field name and the
  colon, `From  : ...`, which the parser drops as a misplaced mbox line or takes
  as the end of the block.

`repair_header_block` returns the bytes with these mended, what it did (for the
mail's defects), and which fields it brought back and how (so the sender's
origin can be recorded). It only acts when what follows the broken line is
plainly more of the header block: a known field name after it before the blank
line, and no second copy of a field that occurs once (a forwarded header block
quoted at the top of a body must not become headers). A mail it does not
recognise as damaged is returned unchanged. Only the first
`limits.HEADER_BLOCK_LIMIT` bytes are read, once. Nothing here does I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from daemon.parse import limits

MAX_STRAY_LINES = 3
"""Lines before the headers that may be dropped; more than that is a body without headers."""
MAX_REPAIRS = 20
"""Broken lines mended in one header block; past that the rest is left as the parser reads it."""

STRAY_LINE = "a stray line before the headers"
BYTE_ORDER_MARK = "a byte order mark before the headers"
HIDDEN_BY_BROKEN_LINE = "hidden by a broken header line before it"
OBSOLETE_COLON = "whitespace before its colon"

_BOM = b"\xef\xbb\xbf"
# The feed parser's test for a header line (email.feedparser.headerRE), split by kind.
_FIELD = re.compile(rb"([\x21-\x39\x3b-\x7e]*):")
_OBSOLETE_FIELD = re.compile(rb"([\x21-\x39\x3b-\x7e]+)[ \t]+:")
_BARE_NAME = re.compile(rb"[\x21-\x39\x3b-\x7e]+[ \t]*(?:\r\n|\n|\r)?")

# Fields whose presence after a broken line shows the header block goes on.
_KNOWN_FIELDS = frozenset(
    {
        "from",
        "sender",
        "reply-to",
        "to",
        "cc",
        "subject",
        "date",
        "message-id",
        "in-reply-to",
        "references",
        "return-path",
        "received",
        "delivered-to",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
        "content-language",
        "thread-topic",
        "thread-index",
        "importance",
        "user-agent",
        "authentication-results",
        "dkim-signature",
    }
)
# Fields that start a header block: what a message's first fields are.
_BLOCK_STARTS = frozenset({"from", "to", "subject", "date", "message-id", "received", "return-path"})
_ONCE_ONLY = frozenset({"from", "sender", "reply-to", "to", "cc", "subject", "date", "message-id"})


@dataclass(frozen=True)
class Repaired:
    """The header block as repaired: the bytes, the notes for defects, the fields brought back."""

    raw: bytes
    notes: tuple[str, ...] = ()
    recovered: tuple[tuple[str, str], ...] = ()
    """(lower-case field name, how it was recovered), the first time each name was."""

    def how_recovered(self, name: str) -> str | None:
        """How the first field `name` was brought back, or None when it needed no repair."""
        return next((how for key, how in self.recovered if key == name), None)


@dataclass
class _Line:
    """One line of the head: its bytes with the line end, and what it is."""

    data: bytes
    kind: str
    """'field', 'obsolete', 'continuation', 'blank', 'mbox', 'other', or 'unread' past the block."""
    name: str = ""


def repair_header_block(raw: bytes) -> Repaired:
    """`raw` with a damaged header block mended; unchanged when it is not damaged."""
    head_end = _head_end(raw)
    repair = _Repair(_lines(raw[:head_end]))
    repair.run()
    if not repair.notes:
        return Repaired(raw)
    return Repaired(
        b"".join(line.data for line in repair.kept) + raw[head_end:],
        tuple(repair.notes),
        tuple(repair.recovered.items()),
    )


def _head_end(raw: bytes) -> int:
    """Where the part of `raw` the repair reads ends: at a line end within the limit."""
    if len(raw) <= limits.HEADER_BLOCK_LIMIT:
        return len(raw)
    cut = max(raw.rfind(b"\n", 0, limits.HEADER_BLOCK_LIMIT), raw.rfind(b"\r", 0, limits.HEADER_BLOCK_LIMIT))
    return cut + 1 if cut >= 0 else 0


def _lines(head: bytes) -> list[_Line]:
    """The lines of `head`, read up to the first blank line after the possible stray lines.

    The header block cannot end later than that line; what follows is kept as it is, unread.
    """
    lines: list[_Line] = []
    read = 0
    for index, data in enumerate(head.splitlines(keepends=True)):
        line = _classify(data)
        lines.append(line)
        read += len(data)
        if line.kind == "blank" and index >= MAX_STRAY_LINES:
            # The rest as one piece: a line object per line of the body cost more than the repair.
            if read < len(head):
                lines.append(_Line(head[read:], "unread"))
            break
    return lines


def _classify(data: bytes) -> _Line:
    content = data.rstrip(b"\r\n")
    if not content:
        return _Line(data, "blank")
    if content[:1] in (b" ", b"\t"):
        return _Line(data, "continuation")
    if content.startswith(b"From "):
        obsolete = _OBSOLETE_FIELD.match(content)
        if obsolete:
            return _Line(data, "obsolete", "from")
        return _Line(data, "mbox")
    found = _FIELD.match(content)
    if found:
        return _Line(data, "field", _name(found.group(1)))
    obsolete = _OBSOLETE_FIELD.match(content)
    if obsolete:
        return _Line(data, "obsolete", _name(obsolete.group(1)))
    return _Line(data, "other")


def _name(data: bytes) -> str:
    return data.decode("ascii", "replace").lower()


class _Repair:
    """One pass over the head's lines, keeping, mending or dropping each."""

    def __init__(self, lines: list[_Line]) -> None:
        self.lines = lines
        self.kept: list[_Line] = []
        self.notes: dict[str, None] = {}
        self.recovered: dict[str, str] = {}
        self.repairs = 0

    def run(self) -> None:
        """Mend the head: the lines before the header block, then the block itself."""
        start, how = self._block_start()
        if start is None:
            self.kept = self.lines
            return
        # The block ends at its first blank line, or where the read part ends.
        blanks = (index for index in range(start, len(self.lines)) if self.lines[index].kind == "blank")
        end = next(blanks, len(self.lines))
        seen: set[str] = set()
        for index in range(start, end):
            line = self.lines[index]
            if line.kind == "other":
                if not self._block_goes_on(index + 1, end, seen):
                    # The parser's reading stands: the body starts here.
                    self.kept.extend(self.lines[index:])
                    return
                how = HIDDEN_BY_BROKEN_LINE
                mended = self._mend_broken(line)
                if mended is not None:
                    self.kept.append(mended)
                continue
            if line.kind == "obsolete":
                line = self._mend_obsolete(line)
                self.recovered.setdefault(line.name, how or OBSOLETE_COLON)
            elif line.kind == "field" and how is not None:
                self.recovered.setdefault(line.name, how)
            seen.add(line.name)
            self.kept.append(line)
        self.kept.extend(self.lines[end:])

    def _block_start(self) -> tuple[int | None, str | None]:
        """Where the header block starts after the stray lines dropped, and why fields there were hidden.

        None when there is no header block to mend: the mail is a body without headers.
        """
        lines = self.lines
        how: str | None = None
        if lines and lines[0].data.startswith(_BOM):
            lines[0] = _classify(lines[0].data[len(_BOM) :])
            self.notes["byte order mark before the headers removed"] = None
            how = BYTE_ORDER_MARK
        stray = 0
        while stray < min(len(lines), MAX_STRAY_LINES) and lines[stray].kind in ("blank", "mbox", "other"):
            stray += 1
        if stray == 0 or (stray == 1 and lines[0].kind == "mbox"):
            # The first line is a field, or an mbox separator the parser reads as one.
            return (0 if lines else None), how
        if not self._starts_a_block(stray):
            return (0 if how else None), how
        self.notes["stray line before the headers dropped"] = None
        return stray, STRAY_LINE

    def _starts_a_block(self, start: int) -> bool:
        """Whether the lines from `start` to the first blank line are a message's header fields."""
        if start >= len(self.lines) or self.lines[start].kind not in ("field", "obsolete"):
            return False
        for line in self.lines[start:]:
            if line.kind in ("field", "obsolete") and line.name in _BLOCK_STARTS:
                return True
            if line.kind not in ("field", "obsolete", "continuation"):
                return False
        return False

    def _block_goes_on(self, start: int, end: int, seen: set[str]) -> bool:
        """Whether a known field follows before the block's end, with no second copy of a once-only one."""
        if self.repairs >= MAX_REPAIRS:
            return False
        known = False
        for line in self.lines[start:end]:
            if line.kind not in ("field", "obsolete"):
                continue
            if line.name in _ONCE_ONLY and line.name in seen:
                return False
            known = known or line.name in _KNOWN_FIELDS or line.name.startswith("x-")
        return known

    def _mend_obsolete(self, line: _Line) -> _Line:
        self.notes["whitespace before a header's colon removed"] = None
        self.repairs += 1
        found = _OBSOLETE_FIELD.match(line.data)
        data = found.group(1) + b":" + line.data[found.end() :] if found else line.data
        return _Line(data, "field", line.name)

    def _mend_broken(self, line: _Line) -> _Line | None:
        """A bare field name is dropped; any other broken line joins the field before it."""
        self.repairs += 1
        if _BARE_NAME.fullmatch(line.data) or not self.kept:
            self.notes["header line without a colon dropped"] = None
            return None
        self.notes["badly folded header line joined to the field before"] = None
        return _Line(b" " + line.data, "continuation")
