"""Big base64 attachments set aside before the MIME parsers run, and decoded straight from the raw bytes.

A MIME parser turns the whole mail into text first (the standard library's
feedparser, under mail-parser and under the fallback backend alike): its lines,
the joined payload strings and then the decoded file, next to the raw bytes.
A 24 MB mail took 350 MB and ten seconds that way. So before parsing, the body
of each big attachment part is replaced by a short marker, the parsers see a
small mail, and the attachment's bytes are decoded from the raw mail when the
backend reaches the marker (`SetAside.decoded`), one part at a time.

Only a body that is certainly inert is set aside: a leaf part whose own
header says base64, not text, and an attachment (a file name or
`Content-Disposition: attachment`), and whose body is nothing but base64
characters and line breaks up to the next `--` line or the end. Such a body
cannot hold a boundary, so the marker changes nothing of the mail's structure
for any parser; anything else is parsed as it is. Nothing here does I/O.
"""

from __future__ import annotations

import base64
import binascii
import email.policy
import re
import secrets
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser

from daemon.parse import limits
from daemon.parse.attachments import decode_base64, estimated_size

_BLANK_LINE = re.compile(rb"\r?\n\r?\n")
_BASE64_RUN = re.compile(rb"[A-Za-z0-9+/=\r\n]*")
_HEADER_LOOKBACK = 64 * 1024
_HEADERS = BytesHeaderParser(policy=email.policy.compat32)


@dataclass(frozen=True, slots=True)
class _Body:
    start: int
    end: int
    size: int
    """Decoded bytes, at most."""


@dataclass(frozen=True, slots=True)
class SetAside:
    """The mail with its big attachment bodies replaced by markers, and the way back to them."""

    raw: bytes
    """What the parsers get."""
    source: bytes
    bodies: dict[str, _Body] = field(default_factory=dict)
    """By the marker's base64 text."""

    def estimated_size(self, encoded: str, is_base64: bool) -> int:
        """The decoded size of a payload: the real part's for a marker (`attachments.estimated_size`)."""
        body = self.bodies.get(encoded.strip()) if is_base64 else None
        return body.size if body is not None else estimated_size(encoded, is_base64)

    def decoded(self, encoded: str) -> tuple[bytes, bool] | None:
        """The real bytes behind a marker's base64 text and whether they were intact; None for any other."""
        body = self.bodies.get(encoded.strip())
        if body is None:
            return None
        # Decoded from a view of the raw mail: no copy of the encoded text is made.
        view = memoryview(self.source)[body.start : body.end]
        try:
            return binascii.a2b_base64(view), True
        except binascii.Error:
            return decode_base64(view.tobytes().decode("ascii"))


def set_aside(raw: bytes) -> SetAside:
    """`raw` with every big, inert attachment body replaced by a marker (see the module docstring)."""
    if len(raw) < limits.SET_ASIDE_BYTES:
        return SetAside(raw, raw)
    nonce = secrets.token_hex(8)
    pieces: list[bytes] = []
    bodies: dict[str, _Body] = {}
    kept_until = 0
    for blank in _BLANK_LINE.finditer(raw):
        start = blank.end()
        if start < kept_until:
            continue
        end = _BASE64_RUN.match(raw, start).end()  # type: ignore[union-attr]
        if end - start < limits.SET_ASIDE_BYTES or not _ends_the_part(raw, end):
            continue
        while end > start and raw[end - 1] in b"\r\n":
            end -= 1
        if not _inert_attachment(raw, blank.start()):
            continue
        marker = base64.b64encode(f"caredesk set aside {nonce} {len(bodies)}".encode()).decode("ascii")
        bodies[marker] = _Body(start, end, _data_length(raw, start, end) * 3 // 4)
        pieces += [raw[kept_until:start], marker.encode("ascii")]
        kept_until = end
    if not bodies:
        return SetAside(raw, raw)
    pieces.append(raw[kept_until:])
    return SetAside(b"".join(pieces), raw, bodies)


def _data_length(raw: bytes, start: int, end: int) -> int:
    """Base64 characters between `start` and `end`, line breaks left out."""
    return end - start - raw.count(b"\n", start, end) - raw.count(b"\r", start, end)


def _ends_the_part(raw: bytes, end: int) -> bool:
    """The run stops at a `--` line (a boundary) or at the end of the mail, nowhere else."""
    return end == len(raw) or (raw.startswith(b"--", end) and raw[end - 1 : end] in (b"\n", b"\r"))


def _inert_attachment(raw: bytes, header_end: int) -> bool:
    """Whether the header block ending at `header_end` is a base64 attachment that is not text."""
    floor = max(0, header_end - _HEADER_LOOKBACK)
    boundary = max(raw.rfind(b"\n--", floor, header_end), -1)
    if boundary < 0 and floor > 0:
        return False  # a header block longer than any part's: leave it to the parsers
    line_end = raw.find(b"\n", boundary + 1, header_end) if boundary >= 0 else -1
    block = raw[line_end + 1 if boundary >= 0 else 0 : header_end]
    if (boundary >= 0 and line_end < 0) or _BLANK_LINE.search(block):
        return False  # the blank line ends a body, not this part's header block
    headers = _HEADERS.parsebytes(block)
    if (headers.get("content-transfer-encoding") or "").strip().lower() != "base64":
        return False
    if headers.get_content_maintype() in ("text", "multipart", "message"):
        return False
    return headers.get_filename() is not None or headers.get_content_disposition() == "attachment"
