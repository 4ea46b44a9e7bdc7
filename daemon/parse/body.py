"""The body of a mail: which parts make its text, what a reply adds, the sanitised HTML.

This module owns choosing and capping the body a later stage reads. The plain
text parts are the text; when there are none, the HTML parts are converted.
Text over `TEXT_LIMIT` is cut with a notice at its end, so an agent sees that
the raw mail holds more. Quoted history is stripped for `new_text` except in
forwards, whose content is new to us even when it looks like a quote. HTML is
sanitised with an allow-list and capped at `HTML_DISPLAY_LIMIT`. Nothing here
does I/O.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from email.message import Message

from daemon.parse import limits
from daemon.parse.charsets import charset_note, decode_text, scalar_text
from daemon.parse.htmltext import html_to_text
from daemon.parse.quoting import strip_quoted
from daemon.parse.sanitize import clean_html

# Forwards bring content that is new to us even when it looks like a quote.
_FORWARD_SUBJECT = re.compile(r"^\s*(?:fwd?|tr|wg|rv|terusan|diteruskan)\s*:", re.IGNORECASE)
# Controls other than tab and line breaks, and bidi overrides that could
# disguise text in an agent's view. Zero-width joiners stay: emoji need them.
_BODY_JUNK = re.compile("[\x00-\x08\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]+")

_TRUNCATION_NOTICE = "\n\n[… teks dipotong / text truncated: {hidden:,} more characters in the original mail]"
# Room kept at the end of TEXT_LIMIT for the notice, so text and notice fit together.
_NOTICE_ROOM = 200


@dataclass(frozen=True, slots=True)
class Body:
    """The body as `InboundMail` carries it, and the notes on what was cut."""

    text: str
    new_text: str
    html: str
    sha256: str
    """SHA-256 of `text` in UTF-8: the body's identity when the mail has no Message-ID."""
    notes: tuple[str, ...]


def read_body(plain: list[str], html: list[str], subject: str) -> Body:
    """The body from the plain and HTML parts a parser found; `subject` tells a forward."""
    text, text_notes = body_text(plain, html)
    sanitised, html_notes = sanitised_html(html)
    return Body(
        text=text,
        new_text=new_text(text, subject),
        html=sanitised,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        notes=text_notes + html_notes,
    )


@dataclass(frozen=True, slots=True)
class PartText:
    """The text of one body part, and the note on its charset when it is worth a defect."""

    text: str
    note: str | None = None


# An HTML part without a MIME charset may name one in a <meta> element near its top.
_META_CHARSET = re.compile(
    rb"""<meta\b[^>]{0,300}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:+-]{1,40})""", re.IGNORECASE
)


def part_text(part: Message, hints: tuple[str, ...] = ()) -> PartText:
    """The text of a body part, decoded the one way both parser backends use (`daemon.parse.charsets`).

    The declared charset is read with the superset mail clients use; when it
    does not fit, UTF-8, the `hints`, detection and windows-1252 follow. An
    HTML part without a MIME charset is read in the one its <meta> names.
    """
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes) or not payload:
        return PartText("")
    try:
        label = part.get_content_charset()
    except (LookupError, ValueError, TypeError):
        label = None
    if label is None and part.get_content_type() == "text/html":
        match = _META_CHARSET.search(payload[:4096])
        label = match.group(1).decode("ascii") if match else None
    decoded = decode_text(payload, label, hints)
    return PartText(decoded.text, charset_note(label, decoded))


def new_text(text: str, subject: str) -> str:
    """What the mail adds: `text` without quoted history, or all of it for a forward."""
    return text if _FORWARD_SUBJECT.match(subject) else strip_quoted(text)


def body_text(plain: list[str], html: list[str]) -> tuple[str, tuple[str, ...]]:
    """The body as plain text, cut at TEXT_LIMIT with a notice; notes when it was cut."""
    parts = [part for part in plain if part.strip()]
    unconverted = 0
    if parts:
        text = "\n\n".join(parts)
    else:
        texts = [part for part in html if part.strip()]
        # html.parser is slow: HTML beyond HTML_LIMIT is not converted at all.
        unconverted = sum(max(len(part) - limits.HTML_LIMIT, 0) for part in texts)
        text = "\n\n".join(html_to_text(part[: limits.HTML_LIMIT]) for part in texts)
    if len(text) <= limits.TEXT_LIMIT and not unconverted:
        return _normalise_text(text), ()
    # The agent must see that there is more than they are shown; the raw mail keeps it all.
    keep = limits.TEXT_LIMIT - _NOTICE_ROOM
    hidden = max(len(text) - keep, 0) + unconverted
    notice = _TRUNCATION_NOTICE.format(hidden=hidden)
    return _normalise_text(text[:keep]) + notice, ("text truncated",)


def sanitised_html(parts: list[str]) -> tuple[str, tuple[str, ...]]:
    """The HTML body parts, sanitised and capped at HTML_DISPLAY_LIMIT; notes when cut."""
    html = "\n".join(part for part in parts if part.strip())
    if not html:
        return "", ()
    limit = limits.HTML_DISPLAY_LIMIT
    cleaned = clean_html(html[:limit]).strip()
    if len(html) <= limit and len(cleaned) <= limit:
        return cleaned, ()
    # Cutting may leave a tag open, which the sanitiser closes; escaping can make
    # the result longer than its input, so cut shorter until it fits.
    target = cut = limit - _NOTICE_ROOM
    cleaned = clean_html(html[:cut])
    while len(cleaned) > target:
        cut = cut * target // len(cleaned) - 1
        cleaned = clean_html(html[: max(cut, 0)])
    return cleaned.strip() + "<p>[… teks dipotong / text truncated]</p>", ("html truncated",)


def _normalise_text(text: str) -> str:
    """Line endings to LF, trailing blanks off every line, junk characters removed."""
    text = _BODY_JUNK.sub("", text)
    text = "\n".join(line.rstrip() for line in text.splitlines()).strip("\n")
    # A backend's own decoding may leave surrogate escapes: never let them out of parse.
    return scalar_text(text)
