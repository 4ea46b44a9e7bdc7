"""Byte-level MIME builders for the corpus generator (`make_corpus.py`).

The corpus imitates what real software sends, quirks included, so nothing here
goes through `email.generator`: that would fix the very mistakes the corpus is
about (raw 8-bit headers, mislabelled charsets, encoded-words with spaces).
Every header and body is written as bytes, and every boundary, date and
identifier comes from the caller's seeded `random.Random`, so the output is the
same on every run. Standard library only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import quopri
import random
import string
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

CARE = "care@example.co.id"
CARE_NAME = "Layanan Pelanggan Harian Nusantara"
OUR_MX = "mx.example.co.id"
WIB = timezone(timedelta(hours=7))
FIRST_DAY = datetime(2026, 7, 13, 6, 0, tzinfo=WIB)

Header = tuple[str, str | bytes]


@dataclass
class Entity:
    """One MIME entity: its header lines (already folded) and its encoded body."""

    headers: list[bytes] = field(default_factory=list)
    body: bytes = b""

    def bytes(self) -> bytes:
        return b"\n".join(self.headers) + b"\n\n" + self.body


def _b(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("ascii")


def header_lines(headers: list[Header]) -> list[bytes]:
    """`Name: value` lines; a name of '' writes the value as a line of its own (a stray line)."""
    return [(_b(value) if not name else _b(name) + b": " + _b(value)) for name, value in headers]


def message(headers: list[Header], entity: Entity, *, crlf: bool = False, lead: bytes = b"") -> bytes:
    """A whole mail: `lead` (a stray first line, if any), the top headers, then the entity."""
    raw = lead + b"\n".join(header_lines(headers) + entity.headers) + b"\n\n" + entity.body
    if not raw.endswith(b"\n"):
        raw += b"\n"
    return raw.replace(b"\n", b"\r\n") if crlf else raw


# --- encoded-words (RFC 2047) -------------------------------------------------

_Q_SAFE = set((string.ascii_letters + string.digits + "!*+-/").encode())


def _q_bytes(data: bytes) -> str:
    return "".join(chr(byte) if byte in _Q_SAFE else "_" if byte == 0x20 else f"={byte:02X}" for byte in data)


def _chunks(text: str, charset: str, limit: int) -> list[bytes]:
    """`text` encoded, cut on character boundaries into pieces of at most `limit` bytes."""
    pieces: list[bytes] = []
    current = b""
    for char in text:
        encoded = char.encode(charset)
        if current and len(current) + len(encoded) > limit:
            pieces.append(current)
            current = b""
        current += encoded
    if current:
        pieces.append(current)
    return pieces


def b_words(text: str, charset: str = "utf-8", *, label: str | None = None, fold: str = "\n ") -> str:
    """`text` as base64 encoded-words of whole characters, folded like Outlook and Gmail do."""
    name = label or charset
    words = [f"=?{name}?B?{base64.b64encode(piece).decode()}?=" for piece in _chunks(text, charset, 36)]
    return fold.join(words)


def q_words(text: str, charset: str = "utf-8", *, label: str | None = None, fold: str = "\n ") -> str:
    """`text` as quoted-printable encoded-words of whole characters."""
    name = label or charset
    words = [f"=?{name}?Q?{_q_bytes(piece)}?=" for piece in _chunks(text, charset, 20)]
    return fold.join(words)


def b_words_split(text: str, charset: str, cut: int, *, label: str | None = None) -> str:
    """Two base64 encoded-words cut after byte `cut`, which may fall inside a character.

    Some webmail and phone clients cut by bytes, not characters; mail clients join
    the bytes of adjacent encoded-words of one charset before decoding them.
    """
    data = text.encode(charset)
    name = label or charset
    first, second = data[:cut], data[cut:]
    return (
        f"=?{name}?B?{base64.b64encode(first).decode()}?=\n =?{name}?B?{base64.b64encode(second).decode()}?="
    )


def q_words_split(text: str, charset: str, cut: int) -> str:
    """Two Q encoded-words cut after byte `cut` (possibly inside a character)."""
    data = text.encode(charset)
    return f"=?{charset}?Q?{_q_bytes(data[:cut])}?=\n =?{charset}?Q?{_q_bytes(data[cut:])}?="


def mailbox(name: str, address: str, charset: str = "utf-8", *, style: str = "b") -> str:
    """`Name <address>`, the name quoted when it needs it or encoded when it is not ASCII."""
    if not name:
        return f"<{address}>" if style == "angle" else address
    if name.isascii():
        needs_quotes = any(char in name for char in ',.;:()"@[]')
        shown = f'"{name}"' if needs_quotes or style == "quoted" else name
        return f"{shown} <{address}>"
    encoded = b_words(name, charset) if style == "b" else q_words(name, charset)
    return f"{encoded} <{address}>"


# --- bodies ------------------------------------------------------------------


def qp(text: str, charset: str = "utf-8") -> bytes:
    return quopri.encodestring(text.encode(charset))


def b64(data: bytes) -> bytes:
    return base64.encodebytes(data)


def text_part(
    text: str,
    charset: str = "utf-8",
    *,
    cte: str = "quoted-printable",
    subtype: str = "plain",
    params: str = "",
    label: str | None = None,
) -> Entity:
    """A text entity; `label` is the charset named in the header when it differs from the one used."""
    shown = label if label is not None else charset
    ctype = f"text/{subtype}" + (f"; charset={shown}" if shown else "") + params
    data = text.encode(charset)
    if cte == "quoted-printable":
        body = quopri.encodestring(data)
    elif cte == "base64":
        body = b64(data)
    else:
        body = data
    headers = [f"Content-Type: {ctype}".encode()]
    if cte:
        headers.append(f"Content-Transfer-Encoding: {cte}".encode())
    return Entity(headers, body)


def multipart(
    subtype: str, boundary: str, parts: list[Entity], *, preamble: str = "", params: str = ""
) -> Entity:
    """A multipart entity with the given boundary (each client has its own style of boundary)."""
    chunks = [preamble.encode() + b"\n"] if preamble else []
    for part in parts:
        chunks.append(b"--" + boundary.encode() + b"\n" + part.bytes().rstrip(b"\n") + b"\n")
    body = b"\n".join(chunks) + b"\n--" + boundary.encode() + b"--\n"
    header = f'Content-Type: multipart/{subtype}; boundary="{boundary}"{params}'.encode()
    return Entity([header], body)


def attachment(disposition: str | bytes, content_type: str, data: bytes) -> Entity:
    """An attachment; `disposition` is everything after `attachment;` (filename parameters)."""
    headers = [
        f"Content-Type: {content_type}".encode(),
        b"Content-Disposition: attachment;" + _b(disposition),
        b"Content-Transfer-Encoding: base64",
    ]
    return Entity(headers, b64(data))


def rfc822(inner: bytes, *, ctype: str = "message/rfc822", extra: list[bytes] | None = None) -> Entity:
    return Entity([f"Content-Type: {ctype}".encode(), *(extra or [])], inner.rstrip(b"\n") + b"\n")


def fake_jpeg(rng: random.Random, size: int = 600) -> bytes:
    """Bytes that start like a JPEG; the corpus never looks inside."""
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + rng.randbytes(size) + b"\xff\xd9"


def fake_pdf(rng: random.Random, title: str) -> bytes:
    return b"%PDF-1.4\n% " + title.encode("utf-8") + b"\n" + rng.randbytes(400).hex().encode() + b"\n%%EOF\n"


# --- identifiers, dates and trace headers --------------------------------------


def hexid(rng: random.Random, length: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(length))


def alnum(rng: random.Random, length: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(rng.choice(alphabet) for _ in range(length))


def moment(rng: random.Random, n: int) -> datetime:
    """A weekday moment in the week of 13-17 July 2026, Jakarta time, spread by `n`."""
    day = n % 5
    minutes = (n * 37 + rng.randrange(0, 30)) % (10 * 60)
    return FIRST_DAY + timedelta(days=day, minutes=minutes, seconds=rng.randrange(60))


def date_header(when: datetime, offset_hours: int = 7) -> str:
    return format_datetime(when.astimezone(timezone(timedelta(hours=offset_hours))))


def received(rng: random.Random, source: str, ip: str, when: datetime, *, to: str = CARE) -> str:
    """The Received line our Postfix MX adds, with a queue id like Postfix's."""
    queue_id = alnum(rng, 12, "BCDFGHJKLMNPQRSTVWXYZ0123456789")
    return (
        f"from {source} ({source} [{ip}])\n\tby {OUR_MX} (Postfix) with ESMTPS id {queue_id}\n"
        f"\tfor <{to}>; {date_header(when + timedelta(seconds=3))}"
    )


def doc_ip(rng: random.Random) -> str:
    """An address from the documentation ranges (RFC 5737)."""
    return f"{rng.choice(['192.0.2', '198.51.100', '203.0.113'])}.{rng.randrange(2, 250)}"


def verp_address(secret: str, outbound_id: int, address: str = CARE) -> str:
    """Our signed return path for one outgoing mail, as `daemon.outbox.signing` makes it."""
    digest = hmac.new(secret.encode(), f"verp|{outbound_id}".encode(), hashlib.sha256).digest()
    signature = base64.b32encode(digest).decode("ascii").lower()[:10]
    local, _, domain = address.partition("@")
    return f"{local}+b.{outbound_id}.{signature}@{domain}"
