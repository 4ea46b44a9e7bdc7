"""Attachment names from MIME parameters: RFC 2231, RFC 2047 in quotes, raw 8-bit bytes.

This module owns reading the name a sender gave an attachment, the way mail
clients read it: `filename` of Content-Disposition, else `name` of
Content-Type; an RFC 2231 value (`filename*=charset'lang'%XX`, and its
continuations `filename*0*=`, `filename*1=`, ... joined as bytes before they
are decoded, so a character split between two sections is whole) wins over a
plain one; a plain value may hold RFC 2047 encoded-words (Outlook writes them
in quotes) or raw 8-bit bytes, decoded as header bytes are. Parameters are
read from the raw header text, never from the standard library's reading,
which has already replaced the 8-bit bytes. The name is text only: making it
safe to show is `daemon.parse.attachments.display_filename`. Nothing here
does I/O.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Sequence
from email.message import Message

from daemon.parse.charsets import decode_text
from daemon.parse.headers import decode_words, header_text

_SOURCES = (("content-disposition", "filename"), ("content-type", "name"))


def part_filename(part: Message, hints: Sequence[str] = ()) -> str | None:
    """The name the sender gave `part`, decoded; None when it has none, '' when it is empty.

    `hints` are the charsets the mail declares elsewhere, for raw 8-bit names.
    """
    for header, key in _SOURCES:
        value = _raw_header(part, header)
        if value is None:
            continue
        name = parameter_text(parameters(value), key, hints)
        if name is not None:
            return name
    return None


def parameters(value: str) -> list[tuple[str, str]]:
    """The (lower-case name, unquoted value) parameters of a Content-Type or Content-Disposition value."""
    found = []
    for item in _split(value)[1:]:
        name, equals, text = item.partition("=")
        if equals and name.strip():
            found.append((name.strip().lower(), _unquote(text.strip())))
    return found


def parameter_text(params: list[tuple[str, str]], key: str, hints: Sequence[str] = ()) -> str | None:
    """The decoded value of parameter `key` among `params`, RFC 2231 forms first; None when absent."""
    plain: str | None = None
    extended: str | None = None
    sections: dict[int, tuple[bool, str]] = {}
    for name, text in params:
        if name == key:
            plain = text if plain is None else plain
        elif name == key + "*":
            extended = text if extended is None else extended
        elif name.startswith(key + "*"):
            number = name[len(key) + 1 :]
            encoded = number.endswith("*")
            number = number.rstrip("*")
            if number.isdigit():
                sections.setdefault(int(number), (encoded, text))
    if sections:
        return _extended_text([sections[number] for number in sorted(sections)], hints)
    if extended is not None:
        return _extended_text([(True, extended)], hints)
    if plain is not None:
        return decode_words(header_text(plain, hints), hints)
    return None


def _extended_text(sections: list[tuple[bool, str]], hints: Sequence[str]) -> str:
    """RFC 2231 sections as text: the charset of the first section, the bytes of all of them."""
    charset: str | None = None
    chunks: list[bytes] = []
    for index, (encoded, text) in enumerate(sections):
        if encoded and index == 0 and text.count("'") >= 2:
            charset, _language, text = text.split("'", 2)
        raw = text.encode("utf-8", "surrogateescape")
        chunks.append(urllib.parse.unquote_to_bytes(raw) if encoded else raw)
    return decode_text(b"".join(chunks), charset or None, hints).text


def _raw_header(part: Message, header: str) -> str | None:
    """The first `header` of `part` as it was received (8-bit bytes as surrogate escapes), unfolded."""
    for name, value in part.raw_items():
        if str(name).strip().lower() == header:
            return str(value).replace("\r", "").replace("\n", "")
    return None


def _split(value: str) -> list[str]:
    """`value` split at the semicolons outside quoted strings."""
    items: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for character in value:
        if escaped:
            escaped = False
        elif character == "\\" and quoted:
            escaped = True
        elif character == '"':
            quoted = not quoted
        elif character == ";" and not quoted:
            items.append("".join(current))
            current = []
            continue
        current.append(character)
    items.append("".join(current))
    return items


def _unquote(text: str) -> str:
    """A parameter value without its quotes and quoted-pair backslashes."""
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1]
    elif text.startswith('"'):
        # An unterminated quote runs to the end, as the standard library reads it.
        text = text[1:]
    else:
        return text
    out: list[str] = []
    escaped = False
    for character in text:
        if character == "\\" and not escaped:
            escaped = True
            continue
        escaped = False
        out.append(character)
    return "".join(out)
