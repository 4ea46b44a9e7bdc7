"""Parse stage: raw message bytes -> `InboundMail`.

This module owns turning one received message into the immutable value every
later stage reads. mail-parser does the MIME work; when it raises (it does on
some real bounces) the standard library parser is tried before giving up with
`ParseError`, so one odd mail is still recorded rather than quarantined.
Everything taken from the mail is untrusted: header text is decoded and
stripped of control and bidi characters, identifiers are normalised and
capped, attachment names become display strings only, HTML is sanitised with
an allow-list (`daemon.parse.sanitize`). Nothing here does I/O.

Input limits (reliability.md §6.1). A breach that only a hostile or looping
mail can produce means quarantine: `ParseError` names the limit, and the raw
mail is kept for a person to look at. A breach that a real customer can
produce costs the excess, never the complaint: the mail is parsed, the excess
is cut, and a note is added to `defects`.

| limit                                    | when exceeded                                       |
|------------------------------------------|-----------------------------------------------------|
| raw size 100 MB                          | quarantine (`daemon.parse.prescan`)                       |
| 1,000 header fields, 100 `Received`      | quarantine: a header bomb, a looping mail           |
| MIME depth 20, 200 MIME parts            | quarantine: a MIME bomb                             |
| a part's Content-Type/-Disposition 8 KB  | quarantine: a parameter bomb                        |
| header field 16 KB, header block 256 KB  | cut; "header field/block truncated"                 |
| 50 attachments                           | the first 50 kept; "attachments truncated: ..."     |
| attachment 25 MB decoded                 | that attachment dropped; "attachment dropped: ..."  |
| attachments 50 MB decoded in total       | those that no longer fit dropped; the same note     |
| body text 1 M characters                 | cut, with a notice at its end; "text truncated"     |
| sanitised HTML 1 M characters            | cut and sanitised again, notice; "html truncated"   |
| (damage) invalid base64 in an attachment | decoded as far as it goes; "attachment damaged: ..."|

The hard limits are checked on the raw bytes before mail-parser runs, so a
part bomb never reaches the expensive parser; attachment sizes are judged from
the encoded length before anything is decoded.
"""

from __future__ import annotations

import base64
import binascii
import email
import email.policy
import email.utils
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from html.parser import HTMLParser
from typing import Any

import mailparser

from daemon.parse.contact import extract_contact
from daemon.parse.language import detect_language
from daemon.parse.message import Attachment, InboundMail
from daemon.parse.prescan import LimitExceeded, check_headers, check_parts
from daemon.parse.quoting import strip_quoted
from daemon.parse.sanitize import clean_html

TEXT_LIMIT = 1_000_000
"""Most characters of body text kept, notice included (reliability.md §6.1: 1 MB for display)."""
HTML_LIMIT = 2 * TEXT_LIMIT
"""Most characters of HTML converted (html.parser needs about a second per 1.5 MB)."""
HTML_DISPLAY_LIMIT = TEXT_LIMIT
"""Most characters of sanitised HTML kept."""
ATTACHMENT_COUNT_LIMIT = 50
ATTACHMENT_SIZE_LIMIT = 25 * 1024 * 1024
ATTACHMENT_TOTAL_LIMIT = 50 * 1024 * 1024
"""Attachment limits, in decoded bytes (reliability.md §6.1)."""
HEADER_FIELD_LIMIT = 16 * 1024
HEADER_BLOCK_LIMIT = 256 * 1024
"""Header limits applied before parsing, in bytes (reliability.md §6.1)."""
HEADER_TEXT_LIMIT = 998
"""RFC 5322 line length: the cap for subjects, names and Message-IDs."""
FILENAME_LIMIT = 255
THREAD_ID_LIMIT = 20
"""Most Message-IDs kept from In-Reply-To and from References (reliability.md §3)."""
SYNTHETIC_DOMAIN = "synthetic.invalid"


class ParseError(Exception):
    """The mail breaks a hard limit, or no parser could make sense of the bytes."""


class _AttachmentBudget:
    """Admits attachments in order while the count and size limits allow; notes the rest."""

    def __init__(self) -> None:
        self.kept = 0
        self.total = 0
        self.over_count = 0
        self.notes: dict[str, None] = {}

    def admit(self, name: str, size: int) -> bool:
        """Whether an attachment of `size` decoded bytes (an upper bound will do) is kept."""
        if self.kept >= ATTACHMENT_COUNT_LIMIT:
            self.over_count += 1
            return False
        if size > ATTACHMENT_SIZE_LIMIT:
            self.notes[f"attachment dropped: {name} is over {ATTACHMENT_SIZE_LIMIT:,} bytes"] = None
            return False
        if self.total + size > ATTACHMENT_TOTAL_LIMIT:
            self.notes[f"attachment dropped: {name} is over the {ATTACHMENT_TOTAL_LIMIT:,} byte total"] = None
            return False
        self.kept += 1
        self.total += size
        return True

    def defects(self) -> tuple[str, ...]:
        notes = dict(self.notes)
        if self.over_count:
            total = self.kept + self.over_count
            notes[f"attachments truncated: kept {self.kept} of {total}"] = None
        return tuple(notes)


def _estimated_size(encoded: str, is_base64: bool) -> int:
    """Decoded size of a payload, from its encoded text, without decoding it (an upper bound)."""
    if not is_base64:
        return len(encoded)
    # Line breaks are not data; the rest is four characters for three bytes,
    # less the padding at the end.
    tail = encoded[-8:].rstrip()
    padding = len(tail) - len(tail.rstrip("="))
    return (len(encoded) - encoded.count("\n") - encoded.count("\r")) * 3 // 4 - padding


@dataclass(slots=True)
class _Extracted:
    """What a parser backend found; the rest of `InboundMail` is derived from it."""

    message: Message
    senders: list[tuple[str, str]]
    to: list[tuple[str, str]]
    cc: list[tuple[str, str]]
    reply_to: list[tuple[str, str]]
    date: datetime | None
    """The backend's reading of the Date header; None leaves it to the stdlib."""
    plain: list[str]
    html: list[str]
    attachments: list[Attachment]
    defects: tuple[str, ...]
    parser: str


def parse(raw: bytes, *, own_addresses: Iterable[str] = ()) -> InboundMail:
    """Parse one message. Raises `ParseError` on a hard limit or when no parser can read it.

    When mail-parser fails and the standard library parser is used instead,
    `parser` is 'email' and `defects` holds "mail-parser failed: <error>".

    `own_addresses` are kept out of the PIC contact: our addresses appear in
    quoted acknowledgements and signatures of forwarded mail.
    """
    own = tuple(own_addresses)
    raw = bytes(raw)
    try:
        check_headers(raw)
        raw, notes = _limit_headers(raw)
        # On the capped bytes: the part count must be what the parser will see.
        check_parts(raw)
    except LimitExceeded as error:
        raise ParseError(f"limit exceeded: {error}") from None
    try:
        return _build(_with_mailparser(raw), own, notes)
    except Exception as first:
        failure = f"mail-parser failed: {type(first).__name__}"
    try:
        return _build(_with_stdlib(raw, failure), own, notes)
    except Exception as second:
        raise ParseError(
            f"unparseable message ({failure}; email failed: {type(second).__name__}: {second})"
        ) from second


def _limit_headers(raw: bytes) -> tuple[bytes, tuple[str, ...]]:
    """`raw` with each header field capped at 16 KB and the header block at 256 KB.

    The standard library's RFC 2047 decoder, which mail-parser calls on every
    header, is quadratic in the header's length: a 600 KB subject costs
    seconds. Capping first keeps one hostile mail from stalling the loop; the
    source keeps the untouched original. Returns the notes to add to defects.
    """
    ends = [index for index in (raw.find(b"\n\n"), raw.find(b"\n\r\n")) if index >= 0]
    end = min(ends) + 1 if ends else len(raw)
    if end <= HEADER_FIELD_LIMIT:
        return raw, ()
    fields: list[bytes] = []
    for line in raw[:end].splitlines(keepends=True):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += line
        else:
            fields.append(line)
    kept: list[bytes] = []
    notes: dict[str, None] = {}
    total = 0
    for field in fields:
        if len(field) > HEADER_FIELD_LIMIT:
            field = _cap_field(field)
            notes["header field truncated"] = None
        if total + len(field) > HEADER_BLOCK_LIMIT:
            notes["header block truncated"] = None
            break
        kept.append(field)
        total += len(field)
    return b"".join(kept) + raw[end:], tuple(notes)


def _cap_field(field: bytes) -> bytes:
    """The head and the tail of an overlong header field, cut between words.

    Keeping both ends matters for References: the first ID is the thread's
    root and the last ones are the nearest ancestors.
    """
    half = HEADER_FIELD_LIMIT // 2
    head_words = field[:half].rsplit(None, 1)
    tail_words = field[-half:].split(None, 1)
    head = head_words[0] if head_words else b""
    tail = tail_words[-1] if tail_words else b""
    ending = field[len(field.rstrip(b"\r\n")) :]
    return head + b"\r\n " + tail.rstrip(b"\r\n") + ending


# --- backends -------------------------------------------------------------------


def _with_mailparser(raw: bytes) -> _Extracted:
    parsed = mailparser.parse_from_bytes(raw)
    budget = _AttachmentBudget()
    attachments = []
    for item in parsed.attachments:
        name = display_filename(item.get("filename") or "")
        if budget.admit(name, _estimated_size(item.get("payload") or "", bool(item.get("binary")))):
            attachments.append(_mailparser_attachment(item, name, budget))
    return _Extracted(
        message=parsed.message,
        senders=list(parsed.from_ or []),
        to=list(parsed.to or []),
        cc=list(parsed.cc or []),
        reply_to=list(parsed.reply_to or []),
        date=_as_utc(parsed.date),
        plain=list(parsed.text_plain),
        html=list(parsed.text_html),
        attachments=attachments,
        defects=tuple(sorted(parsed.defects_categories)) + budget.defects(),
        parser="mail-parser",
    )


def _mailparser_attachment(item: dict[str, Any], name: str, budget: _AttachmentBudget) -> Attachment:
    payload_text = item.get("payload") or ""
    if item.get("binary"):
        payload, intact = _decode_base64(payload_text)
        if not intact:
            budget.notes[f"attachment damaged: {name} has invalid base64"] = None
    else:
        payload = payload_text.encode("utf-8", "replace")
    return _attachment(item.get("filename") or "", item.get("mail_content_type") or "", payload)


_NOT_BASE64 = re.compile(r"[^A-Za-z0-9+/]")


def _decode_base64(text: str) -> tuple[bytes, bool]:
    """The bytes of a base64 payload, and whether it was intact.

    Damaged base64 is decoded as far as it goes, as mail clients do: characters
    outside the alphabet are skipped and an incomplete last group is dropped.
    """
    try:
        return base64.b64decode(text), True
    except (binascii.Error, ValueError):
        pass
    data = _NOT_BASE64.sub("", text)
    return base64.b64decode(data[: len(data) - len(data) % 4]), False


def _with_stdlib(raw: bytes, failure: str) -> _Extracted:
    # compat32, as mail-parser uses: the default policy's header parser takes
    # seconds on one long Content-Type, and the pre-scan counts parts as compat32 reads them.
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    plain: list[str] = []
    html: list[str] = []
    attachments: list[Attachment] = []
    budget = _AttachmentBudget()
    defects: dict[str, None] = {failure: None}
    for part in message.walk():
        defects.update(dict.fromkeys(type(defect).__name__ for defect in part.defects))
        if part.is_multipart():
            continue
        try:
            _sort_stdlib_part(part, plain, html, attachments, budget)
        except Exception as error:
            # This is the last parser: one unreadable part must not lose the mail.
            defects[f"unreadable part: {type(error).__name__}"] = None
    defects.update(dict.fromkeys(budget.defects()))
    raw_headers = _raw_headers(message)
    return _Extracted(
        message=message,
        senders=_stdlib_addresses(raw_headers, "from"),
        to=_stdlib_addresses(raw_headers, "to"),
        cc=_stdlib_addresses(raw_headers, "cc"),
        reply_to=_stdlib_addresses(raw_headers, "reply-to"),
        date=None,
        plain=plain,
        html=html,
        attachments=attachments,
        defects=tuple(defects),
        parser="email",
    )


def _sort_stdlib_part(
    part: Message,
    plain: list[str],
    html: list[str],
    attachments: list[Attachment],
    budget: _AttachmentBudget,
) -> None:
    """Put one leaf part where it belongs: body text, attachment, or nowhere."""
    content_type = part.get_content_type()
    filename = _stdlib_filename(part)
    if filename is None and part.get_content_disposition() != "attachment":
        if content_type == "text/plain":
            plain.append(_decode_payload(part))
            return
        if content_type == "text/html":
            html.append(_decode_payload(part))
            return
        # Other text, message headers and multiparts whose boundary never
        # appeared are neither the body nor files the customer attached.
        if content_type.startswith(("text/", "message/", "multipart/")):
            return
    encoded = part.get_payload()
    is_base64 = str(part.get("content-transfer-encoding", "")).strip().lower() == "base64"
    size = _estimated_size(encoded if isinstance(encoded, str) else "", is_base64)
    if not budget.admit(display_filename(filename or ""), size):
        return
    payload = part.get_payload(decode=True)
    attachments.append(
        _attachment(filename or "", content_type, payload if isinstance(payload, bytes) else b"")
    )


def _stdlib_filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except (LookupError, ValueError, TypeError):
        return "attachment"
    # Outlook puts RFC 2047 words in filename="..."; mail-parser decodes them too.
    return None if name is None else _decode_words(str(name))


def _decode_payload(part: Message) -> str:
    """Text of a part, never raising on an unknown or lying charset."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    return _decode_bytes(payload, part.get_content_charset() or "utf-8")


def _stdlib_addresses(raw_headers: list[tuple[str, str]], name: str) -> list[tuple[str, str]]:
    values = [value for key, value in raw_headers if key == name][:1]
    return [
        (_decode_words(display_name), address)
        for display_name, address in email.utils.getaddresses(values)
        if "@" in address
    ]


def _stdlib_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return _as_utc(email.utils.parsedate_to_datetime(value))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _as_utc(value: object) -> datetime | None:
    """An aware UTC datetime; a date without a zone is taken as UTC."""
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


# --- building the value ---------------------------------------------------------


def _build(extracted: _Extracted, own_addresses: tuple[str, ...], notes: tuple[str, ...]) -> InboundMail:
    raw_headers = _raw_headers(extracted.message)
    headers = tuple((name, _decode_words(value)) for name, value in raw_headers)
    senders = _addresses(extracted.senders)
    subject = display_text(_first(headers, "subject") or "")
    text, text_notes = _body_text(extracted.plain, extracted.html)
    html, html_notes = _sanitised_html(extracted.html)
    new_text = text if _FORWARD_SUBJECT.match(subject) else strip_quoted(text)
    body_sha256 = hashlib.sha256(text.encode("utf-8")).hexdigest()
    message_id = normalise_message_id(_first(headers, "message-id") or "")
    synthetic = message_id is None
    if message_id is None:
        # Deterministic, so a redelivered copy collapses onto the first one;
        # never from the raw bytes, whose trace headers differ per delivery.
        date_value = " ".join((_first(headers, "date") or "").split())
        message_id = _synthetic_message_id(senders[0] if senders else "", date_value, subject, body_sha256)
    return InboundMail(
        message_id=message_id,
        message_id_synthetic=synthetic,
        from_address=senders[0] if senders else "",
        from_name=_first_name(extracted.senders),
        to=_addresses(extracted.to),
        cc=_addresses(extracted.cc),
        reply_to=_addresses(extracted.reply_to),
        return_path=_return_path(_first(headers, "return-path")),
        subject=subject,
        # mail-parser gives up on a Date without a zone; the RFC says UTC then.
        date=extracted.date or _stdlib_date(_first(headers, "date")),
        text=text,
        new_text=new_text,
        content_type=extracted.message.get_content_type().lower(),
        headers=headers,
        attachments=tuple(extracted.attachments),
        in_reply_to=message_id_tokens(_first(headers, "in-reply-to") or "")[:THREAD_ID_LIMIT],
        references=_references(" ".join(value for key, value in headers if key == "references")),
        language=detect_language(subject + "\n" + (new_text or text)),
        contact=extract_contact(new_text or text, exclude_emails=own_addresses),
        body_sha256=body_sha256,
        defects=notes + extracted.defects + text_notes + html_notes,
        parser=extracted.parser,
        html=html,
    )


def _synthetic_message_id(sender: str, date: str, subject: str, body_sha256: str) -> str:
    key = "|".join((sender, date, subject, body_sha256))
    return f"<{hashlib.sha256(key.encode('utf-8')).hexdigest()[:32]}@{SYNTHETIC_DOMAIN}>"


# --- headers --------------------------------------------------------------------


def _raw_headers(message: Message) -> list[tuple[str, str]]:
    """Every header as (lower-case name, unfolded raw value), in order.

    Raw 8-bit header bytes reach us as surrogate escapes; they are decoded as
    UTF-8 with replacement so no later stage sees an unencodable string.
    """
    pairs = []
    for name, value in message.raw_items():
        pairs.append((_valid_text(str(name)).strip().lower(), _unfold(_valid_text(str(value)))))
    return pairs


def _valid_text(value: str) -> str:
    if value.isascii():
        return value
    try:
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return value.encode("utf-8", "replace").decode("utf-8")


def _unfold(value: str) -> str:
    return value.replace("\r", "").replace("\n", "").strip()


def _first(pairs: Iterable[tuple[str, str]], name: str) -> str | None:
    for key, value in pairs:
        if key == name:
            return value
    return None


_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([QqBb])\?([^?\s]*)\?=")


def _decode_words(value: str) -> str:
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
            pieces.append(_decode_bytes(b"".join(run), run_charset))
            run = []
            pieces.append(gap)
        if data is None:
            pieces.append(_decode_bytes(b"".join(run), run_charset))
            run = []
            pieces.append(match.group())
            continue
        if run and charset != run_charset:
            pieces.append(_decode_bytes(b"".join(run), run_charset))
            run = []
        run.append(data)
        run_charset = charset
    pieces.append(_decode_bytes(b"".join(run), run_charset))
    pieces.append(value[position:])
    return "".join(pieces)


def _encoded_word_bytes(encoding: str, text: str) -> bytes | None:
    if encoding in "Qq":
        return binascii.a2b_qp(text.encode("utf-8", "replace"), header=True)
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None


def _decode_bytes(data: bytes, charset: str) -> str:
    if not data:
        return ""
    try:
        return data.decode(charset or "utf-8", "replace")
    except (LookupError, UnicodeError, ValueError):
        # Unknown names raise LookupError, names with a NUL ValueError.
        return data.decode("utf-8", "replace")


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


def display_text(value: str, limit: int = HEADER_TEXT_LIMIT) -> str:
    """`value` made safe to show on one line: no control, bidi or zero-width characters.

    Whitespace is collapsed and the result capped at `limit` characters. Used
    for subjects, display names and attachment names, which senders control.
    """
    # Cap the input first so a 100 KB subject costs no more than a long one.
    return " ".join(_valid_text(value[: limit * 4]).translate(_DISPLAY_TABLE).split())[:limit]


# --- identifiers and addresses --------------------------------------------------

_ANGLE_TOKEN = re.compile(r"<([^<>]*)>")
_ID_JUNK = re.compile(r"[\s\x00-\x1f\x7f]+")


def normalise_message_id(value: str) -> str | None:
    """The first `<id>` in a Message-ID-like header value, or None when there is none.

    Whitespace and controls inside the brackets are dropped and the result is
    capped at 998 characters. A bare `id@host` without brackets (written by
    some broken mailers) is accepted as a single token.
    """
    match = _ANGLE_TOKEN.search(value)
    if match:
        inner = match.group(1)
    else:
        tokens = value.split()
        inner = tokens[0] if len(tokens) == 1 and "@" in tokens[0] else ""
    inner = _ID_JUNK.sub("", inner)
    return f"<{inner[: HEADER_TEXT_LIMIT - 2]}>" if inner else None


def message_id_tokens(value: str) -> tuple[str, ...]:
    """Every `<id>` in an In-Reply-To or References value, normalised, without repeats."""
    found: dict[str, None] = {}
    for match in _ANGLE_TOKEN.finditer(value):
        normalised = normalise_message_id(match.group())
        if normalised is not None:
            found.setdefault(normalised)
    return tuple(found)


def _references(value: str) -> tuple[str, ...]:
    tokens = message_id_tokens(value)
    if len(tokens) <= THREAD_ID_LIMIT:
        return tokens
    # The first is the thread's root and the last are the nearest ancestors,
    # where our own acknowledgement sits; the middle adds nothing for threading.
    return tokens[:1] + tokens[-(THREAD_ID_LIMIT - 1) :]


def _addresses(pairs: Iterable[tuple[str, str]]) -> tuple[str, ...]:
    found: dict[str, None] = {}
    for _name, address in pairs:
        normalised = _ID_JUNK.sub("", address or "").lower()
        if normalised:
            found.setdefault(normalised)
    return tuple(found)


def _first_name(pairs: Iterable[tuple[str, str]]) -> str:
    for name, address in pairs:
        if address:
            # mail-parser leaves an encoded-word in an unknown charset as it was.
            return display_text(_decode_words(name or ""))
    return ""


def _return_path(value: str | None) -> str | None:
    """None when absent, '' for the null reverse path `<>`, else the lower-case address."""
    if value is None:
        return None
    match = _ANGLE_TOKEN.search(value)
    inner = match.group(1) if match else value
    return _ID_JUNK.sub("", inner).lower()


# --- body -----------------------------------------------------------------------

# Forwards bring content that is new to us even when it looks like a quote.
_FORWARD_SUBJECT = re.compile(r"^\s*(?:fwd?|tr|wg|rv|terusan|diteruskan)\s*:", re.IGNORECASE)
# Controls other than tab and line breaks, and bidi overrides that could
# disguise text in an agent's view. Zero-width joiners stay: emoji need them.
_BODY_JUNK = re.compile("[\x00-\x08\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]+")


_TRUNCATION_NOTICE = "\n\n[… teks dipotong / text truncated: {hidden:,} more characters in the original mail]"
# Room kept at the end of TEXT_LIMIT for the notice, so text and notice fit together.
_NOTICE_ROOM = 200


def _body_text(plain: list[str], html: list[str]) -> tuple[str, tuple[str, ...]]:
    """The body as plain text, cut at TEXT_LIMIT with a notice; notes when it was cut."""
    parts = [part for part in plain if part.strip()]
    unconverted = 0
    if parts:
        text = "\n\n".join(parts)
    else:
        texts = [part for part in html if part.strip()]
        # html.parser is slow: HTML beyond HTML_LIMIT is not converted at all.
        unconverted = sum(max(len(part) - HTML_LIMIT, 0) for part in texts)
        text = "\n\n".join(html_to_text(part[:HTML_LIMIT]) for part in texts)
    if len(text) <= TEXT_LIMIT and not unconverted:
        return _normalise_text(text), ()
    # The agent must see that there is more than they are shown; the raw mail keeps it all.
    keep = TEXT_LIMIT - _NOTICE_ROOM
    hidden = max(len(text) - keep, 0) + unconverted
    notice = _TRUNCATION_NOTICE.format(hidden=hidden)
    return _normalise_text(text[:keep]) + notice, ("text truncated",)


def _sanitised_html(parts: list[str]) -> tuple[str, tuple[str, ...]]:
    """The HTML body parts, sanitised and capped at HTML_DISPLAY_LIMIT; notes when cut."""
    html = "\n".join(part for part in parts if part.strip())
    if not html:
        return "", ()
    cleaned = clean_html(html[:HTML_DISPLAY_LIMIT]).strip()
    if len(html) <= HTML_DISPLAY_LIMIT and len(cleaned) <= HTML_DISPLAY_LIMIT:
        return cleaned, ()
    # Cutting may leave a tag open, which the sanitiser closes; escaping can make
    # the result longer than its input, so cut shorter until it fits.
    target = cut = HTML_DISPLAY_LIMIT - _NOTICE_ROOM
    cleaned = clean_html(html[:cut])
    while len(cleaned) > target:
        cut = cut * target // len(cleaned) - 1
        cleaned = clean_html(html[: max(cut, 0)])
    return cleaned.strip() + "<p>[… teks dipotong / text truncated]</p>", ("html truncated",)


def _normalise_text(text: str) -> str:
    """Line endings to LF, trailing blanks off every line, junk characters removed."""
    text = _BODY_JUNK.sub("", text)
    text = "\n".join(line.rstrip() for line in text.splitlines()).strip("\n")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


_SKIPPED_TAGS = frozenset({"script", "style", "head", "title", "template", "svg"})
# Tags that stand apart as paragraphs (a blank line around them) and tags that
# only start a new line.
_PARAGRAPH_TAG_NAMES = "p h1 h2 h3 h4 h5 h6 blockquote pre table ul ol dl hr form fieldset figure"
_LINE_TAG_NAMES = """div section article header footer main nav aside address center tr
thead tbody tfoot caption li dt dd figcaption"""
_PARAGRAPH_TAGS = frozenset(_PARAGRAPH_TAG_NAMES.split())
_LINE_TAGS = frozenset(_LINE_TAG_NAMES.split())
_HTML_SPACE = re.compile(r"\s+")
_BLANK_RUNS = re.compile(r"\n{3,}")


class _HtmlText(HTMLParser):
    """Collects the readable text of an HTML body.

    Line breaks owed to block tags are held back until the next visible text,
    so nested blocks and the whitespace between tags do not pile up blank lines.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._pending_breaks = 0
        self._skipping = 0
        self._preformatted = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self._skipping += 1
        elif tag == "body":
            # An unclosed <head> or <title> must not hide the whole body.
            self._skipping = 0
        elif tag == "br":
            self._pending_breaks += 1
        elif tag in ("td", "th"):
            self._space()
        else:
            self._block_edge(tag)
            if tag == "li":
                self._emit("- ")
        if tag == "pre":
            self._preformatted += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self._skipping = max(0, self._skipping - 1)
        else:
            self._block_edge(tag)
        if tag == "pre":
            self._preformatted = max(0, self._preformatted - 1)

    def handle_data(self, data: str) -> None:
        if self._skipping:
            return
        if self._preformatted:
            self._emit(data)
            return
        text = _HTML_SPACE.sub(" ", data)
        if text.strip():
            self._emit(text)
        else:
            self._space()

    def _block_edge(self, tag: str) -> None:
        if tag in _PARAGRAPH_TAGS:
            self._pending_breaks = max(self._pending_breaks, 2)
        elif tag in _LINE_TAGS:
            self._pending_breaks = max(self._pending_breaks, 1)

    def _space(self) -> None:
        if not self._pending_breaks and self.chunks:
            self.chunks.append(" ")

    def _emit(self, text: str) -> None:
        if self._pending_breaks and self.chunks:
            self.chunks.append("\n" * self._pending_breaks)
        self._pending_breaks = 0
        self.chunks.append(text)


def html_to_text(html: str) -> str:
    """Readable text of an HTML body: no scripts or styles, blocks on their own lines."""
    converter = _HtmlText()
    try:
        converter.feed(html)
        converter.close()
    except Exception:
        # html.parser has raised assorted errors on broken markup across
        # Python versions; the text read so far beats losing the mail.
        pass
    lines = (line.strip() for line in "".join(converter.chunks).splitlines())
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip()


# --- attachments ----------------------------------------------------------------


def _attachment(filename: str, content_type: str, payload: bytes) -> Attachment:
    return Attachment(
        filename=display_filename(filename),
        content_type=(content_type or "application/octet-stream").lower(),
        size=len(payload),
        sha256=hashlib.sha256(payload).hexdigest(),
        payload=payload,
    )


def display_filename(name: str) -> str:
    """An attachment name fit for display only: a base name, never a path."""
    base = display_text(name.replace("\\", "/").rsplit("/", 1)[-1], limit=4 * FILENAME_LIMIT)
    # Leading dots hide files and `..` means a parent directory.
    base = base.strip(" .")
    if len(base) > FILENAME_LIMIT:
        stem, dot, extension = base.rpartition(".")
        if dot and 0 < len(extension) <= 16:
            base = stem[: FILENAME_LIMIT - len(extension) - 1] + "." + extension
        else:
            base = base[:FILENAME_LIMIT]
    return base or "attachment"
