"""The first parser backend: mail-parser, adapted to `Extracted`.

This module owns reading mail-parser's result: its address lists and Date,
its choice of text, HTML and attachment parts, its defect categories, and its
attachments, which arrive as base64 or text payloads and pass through the
`AttachmentBudget` before they are decoded. mail-parser raises on some real
bounces; the caller then tries `daemon.parse.stdlib_backend`.

mail-parser decodes text with the declared charset or UTF-8 with
replacement, attachment names through a UTF-8 view of the raw header, and
keeps raw 8-bit bytes of display names as surrogates. So the texts, names and
display names it found are read again here from the same MIME parts, the way
the standard library backend reads them (`daemon.parse.body.part_text`,
`daemon.parse.filenames`, `daemon.parse.headers`); which parts it found is
taken from it. When its parts cannot be matched one to one (it recovers parts
from a broken epilogue), its own texts and names are kept, made valid text.
Nothing here does I/O.
"""

from __future__ import annotations

import email.utils
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

import mailparser

from daemon.parse.attachments import (
    AttachmentBudget,
    attachment,
    decode_base64,
    display_filename,
)
from daemon.parse.bigparts import SetAside
from daemon.parse.body import part_text
from daemon.parse.charsets import charset_hints, scalar_text
from daemon.parse.extracted import Extracted
from daemon.parse.filenames import part_filename
from daemon.parse.headers import as_utc, decode_words, first_value, raw_headers
from daemon.parse.message import Attachment


def with_mailparser(raw: bytes, aside: SetAside | None = None) -> Extracted:
    """What mail-parser finds in `raw`; raises whatever mail-parser raises.

    `aside` has the attachment bodies set aside from `raw` (`daemon.parse.bigparts`).
    """
    aside = aside or SetAside(raw, raw)
    parsed = mailparser.parse_from_bytes(raw)
    message = parsed.message
    hints = charset_hints(message)
    layout = read_layout(message, hints)
    budget = AttachmentBudget()
    attachments = []
    for item, name in zip(parsed.attachments, _attachment_names(parsed.attachments, layout), strict=True):
        shown = display_filename(name)
        if budget.admit(shown, aside.estimated_size(item.get("payload") or "", bool(item.get("binary")))):
            attachments.append(_attachment(item, name, budget, aside))
    plain, html, notes = _texts(parsed, layout)
    headers = raw_headers(message, hints)
    return Extracted(
        message=message,
        senders=_named(parsed.from_, first_value(headers, "from"), hints),
        to=list(parsed.to or []),
        cc=list(parsed.cc or []),
        reply_to=_named(parsed.reply_to, first_value(headers, "reply-to"), hints),
        date=as_utc(parsed.date),
        plain=plain,
        html=html,
        attachments=attachments,
        defects=tuple(sorted(parsed.defects_categories)) + notes + budget.defects(),
        parser="mail-parser",
    )


@dataclass(slots=True)
class Layout:
    """The parts mail-parser takes as text, HTML and attachments, in its order, read our way."""

    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    notes: dict[str, None] = field(default_factory=dict)
    attachment_names: list[str | None] = field(default_factory=list)
    """The name of each attachment part, None when mail-parser has to make one up."""


def read_layout(message: Message, hints: tuple[str, ...]) -> Layout:
    """The parts of `message` as mail-parser 4.8 sorts them (`MailParser.parse`), decoded our way."""
    layout = Layout()
    inside: set[int] = set()
    for part in message.walk():
        disposition = part.get_content_disposition()
        name = part_filename(part, hints)
        if part.is_multipart():
            # A disposition or a name on a container applies to all of it (RFC 2183 section 2.9).
            blocks_inline = disposition not in (None, "inline") or (disposition != "inline" and bool(name))
            if id(part) in inside or blocks_inline:
                inside.update(id(child) for child in part.get_payload())
            if disposition != "attachment":
                continue
        subtype = part.get_content_subtype()
        is_attachment = bool(name) or disposition == "attachment" or subtype == "rtf"
        is_attachment = is_attachment or (bool(part.get("content-id")) and subtype not in ("html", "plain"))
        if is_attachment:
            layout.attachment_names.append(name or None)
        inline_body = (
            id(part) not in inside
            and not part.is_multipart()
            and disposition == "inline"
            and part.get_content_type() in ("text/plain", "text/html")
        )
        if (not is_attachment or inline_body) and subtype in ("plain", "html"):
            text = part_text(part, hints)
            if text.text:
                (layout.plain if subtype == "plain" else layout.html).append(text.text)
                if text.note:
                    layout.notes[text.note] = None
    return layout


def _texts(parsed: Any, layout: Layout) -> tuple[list[str], list[str], tuple[str, ...]]:
    """The text and HTML parts: ours when they match mail-parser's one to one, else its own."""
    if len(layout.plain) == len(parsed.text_plain) and len(layout.html) == len(parsed.text_html):
        return layout.plain, layout.html, tuple(layout.notes)
    plain = [scalar_text(text) for text in parsed.text_plain]
    return plain, [scalar_text(text) for text in parsed.text_html], ()


def _attachment_names(items: list[dict[str, Any]], layout: Layout) -> list[str]:
    """The name of each of mail-parser's attachments: ours when the parts match, else its own."""
    theirs = [scalar_text(str(item.get("filename") or "")) for item in items]
    if len(layout.attachment_names) != len(items):
        return theirs
    pairs = zip(layout.attachment_names, theirs, strict=True)
    return [ours if ours is not None else name for ours, name in pairs]


def _named(
    pairs: Sequence[tuple[str, str]] | None, value: str | None, hints: Sequence[str]
) -> list[tuple[str, str]]:
    """mail-parser's (name, address) pairs with the display names read from the header our way."""
    ours: dict[str, str] = {}
    if value:
        try:
            found = email.utils.getaddresses([value])
        except (TypeError, ValueError, IndexError):
            found = []
        for name, address in found:
            ours.setdefault(address.strip().lower(), decode_words(name, hints))
    return [
        (ours.get((address or "").strip().lower()) or scalar_text(name or "", hints), address)
        for name, address in pairs or []
    ]


def _attachment(item: dict[str, Any], name: str, budget: AttachmentBudget, aside: SetAside) -> Attachment:
    payload_text = item.get("payload") or ""
    if item.get("binary"):
        payload, intact = aside.decoded(payload_text) or decode_base64(payload_text)
        if not intact:
            budget.damaged(display_filename(name))
    else:
        payload = payload_text.encode("utf-8", "replace")
    return attachment(name, item.get("mail_content_type") or "", payload)
