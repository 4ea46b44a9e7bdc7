"""Parse stage: raw message bytes -> `InboundMail`.

This module owns turning one received message into the immutable value every
later stage reads, and the order of the steps. A damaged header block is
mended first (`daemon.parse.repair`: a stray first line, a broken field that
hides the next ones), so the limits and the parsers see the fields a mail
client would. The hard limits are then checked on those bytes
(`daemon.parse.prescan`), so a part bomb never reaches the expensive parser,
and the header block is capped (`daemon.parse.headers`).
mail-parser then does the MIME work (`daemon.parse.mailparser_backend`); when
it raises (it does on some real bounces) the standard library parser is tried
(`daemon.parse.stdlib_backend`) before giving up with `ParseError`, so one odd
mail is still recorded rather than quarantined. What the backend found is
assembled here from the header, identifier and body readers; the sender,
recovered from a malformed From or taken from a fallback field when need be,
by `daemon.parse.sender`.

Everything taken from the mail is untrusted: header text is decoded and
stripped of control and bidi characters, identifiers are normalised and
capped, attachment names become display strings only, HTML is sanitised with
an allow-list (`daemon.parse.sanitize`). A limit that only a hostile or
looping mail can breach means quarantine; one a real customer can breach costs
the excess, never the complaint (`daemon.parse.limits` has the table).
Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from daemon.parse import identifiers
from daemon.parse.bigparts import set_aside
from daemon.parse.body import read_body
from daemon.parse.contact import extract_contact
from daemon.parse.extracted import Extracted
from daemon.parse.headers import (
    decode_words,
    display_text,
    first_value,
    header_date,
    limit_headers,
    raw_headers,
)
from daemon.parse.language import detect_language
from daemon.parse.mailparser_backend import with_mailparser
from daemon.parse.message import InboundMail
from daemon.parse.prescan import LimitExceeded, check_headers, check_parts
from daemon.parse.repair import repair_header_block
from daemon.parse.sender import SenderFields, choose_sender
from daemon.parse.stdlib_backend import with_stdlib


class ParseError(Exception):
    """The mail breaks a hard limit, or no parser could make sense of the bytes."""


def parse(raw: bytes, *, own_addresses: Iterable[str] = ()) -> InboundMail:
    """Parse one message. Raises `ParseError` on a hard limit or when no parser can read it.

    When mail-parser fails and the standard library parser is used instead,
    `parser` is 'email' and `defects` holds "mail-parser failed: <error>".

    `own_addresses` are kept out of the PIC contact: our addresses appear in
    quoted acknowledgements and signatures of forwarded mail.
    """
    own = tuple(own_addresses)
    # A stray line or a broken field would end the header block early and hide
    # the fields after it, the sender among them: mended before anything counts them.
    repaired = repair_header_block(bytes(raw))
    raw = repaired.raw
    try:
        check_headers(raw)
        raw, capped = limit_headers(raw)
        # On the capped bytes: the part count must be what the parser will see.
        check_parts(raw)
    except LimitExceeded as error:
        raise ParseError(f"limit exceeded: {error}") from None
    found = _Found(own, repaired.notes + capped, repaired.how_recovered("from"))
    # Big attachments are decoded from the bytes, not parsed: memory stays a small
    # multiple of the mail (a 24 MB mail took 350 MB and ten seconds before).
    aside = set_aside(raw)
    try:
        return _build(with_mailparser(aside.raw, aside), found)
    except Exception as first:
        failure = f"mail-parser failed: {type(first).__name__}"
    try:
        return _build(with_stdlib(aside.raw, failure, aside), found)
    except Exception as second:
        raise ParseError(
            f"unparseable message ({failure}; email failed: {type(second).__name__}: {second})"
        ) from second


@dataclass(frozen=True)
class _Found:
    """What parsing found before a backend ran: our addresses, the repair and capping notes."""

    own_addresses: tuple[str, ...]
    notes: tuple[str, ...]
    repaired_from: str | None
    """How the header block repair brought the From field back, when it had to."""


def _build(extracted: Extracted, found: _Found) -> InboundMail:
    """The `InboundMail` for what a backend found."""
    raw_pairs = tuple(raw_headers(extracted.message))
    headers = tuple((name, decode_words(value)) for name, value in raw_pairs)
    sender = choose_sender(SenderFields(raw_pairs, tuple(extracted.senders), found.repaired_from))
    subject = display_text(first_value(headers, "subject") or "")
    body = read_body(extracted.plain, extracted.html, subject)
    message_id = identifiers.normalise_message_id(first_value(headers, "message-id") or "")
    return InboundMail(
        message_id=message_id or _synthetic_message_id(headers, sender.address, subject, body.sha256),
        message_id_synthetic=message_id is None,
        from_address=sender.address,
        from_name=sender.name,
        sender_source=sender.source,
        to=identifiers.addresses(extracted.to),
        cc=identifiers.addresses(extracted.cc),
        reply_to=identifiers.addresses(extracted.reply_to),
        return_path=identifiers.return_path(first_value(headers, "return-path")),
        subject=subject,
        # mail-parser gives up on a Date without a zone; the RFC says UTC then.
        date=extracted.date or header_date(first_value(headers, "date")),
        text=body.text,
        new_text=body.new_text,
        content_type=extracted.message.get_content_type().lower(),
        headers=headers,
        attachments=tuple(extracted.attachments),
        in_reply_to=identifiers.in_reply_to(first_value(headers, "in-reply-to") or ""),
        references=identifiers.references(" ".join(value for key, value in headers if key == "references")),
        language=detect_language(subject + "\n" + (body.new_text or body.text)),
        contact=extract_contact(body.new_text or body.text, exclude_emails=found.own_addresses),
        body_sha256=body.sha256,
        defects=found.notes + extracted.defects + body.notes,
        parser=extracted.parser,
        html=body.html,
    )


def _synthetic_message_id(
    headers: tuple[tuple[str, str], ...], sender: str, subject: str, body_sha256: str
) -> str:
    """The Message-ID of a mail that has none, from what every delivered copy shares.

    Deterministic, so a redelivered copy collapses onto the first one; never
    from the raw bytes, whose trace headers differ per delivery.
    """
    date_value = " ".join((first_value(headers, "date") or "").split())
    return identifiers.synthetic_message_id(sender, date_value, subject, body_sha256)
