"""Reading delivery reports: RFC 3464 DSNs, Exim's X-Failed-Recipients and plain-text bounces.

Pure: raw bytes in, a `DeliveryReport` out. What a bounce *means* for a ticket or
an address is decided by the pipeline, and only for bounces it can tie to a mail
we sent (a signed return path, or our own Message-ID in the returned original):
a forged "bounce" naming somebody's address must not get them marked dead.

A bounce without a delivery-status part is read from its words
(`daemon.classify.bounce_text`): the failed recipients, their status, and the
returned original, attached (message/rfc822, text/rfc822-headers) or quoted in
the text. Either way the same values come out, so both are applied the same way.
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from email.message import Message

from daemon.classify import bounce_text
from daemon.classify.bounce_text import ReportText
from daemon.classify.delivery import DeliveryReport, Failure

__all__ = ["DeliveryReport", "Failure", "read_report"]

_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_MAX_TEXT = 200_000
"""Characters read of one text part: reports are short, returned originals need not be read whole."""
_MAX_IDS = 50
_MAX_ADDRESSES = 200
# The bounce's own headers that name us, the reporting system or the original's envelope.
_OWN_FIELDS = (
    "from",
    "sender",
    "reply-to",
    "to",
    "cc",
    "return-path",
    "delivered-to",
    "x-original-to",
    "envelope-to",
)
_RECIPIENT_LINE = re.compile(r"^[ \t>]*(to|cc):[ \t]*(.*(?:\n[ \t>]*[ \t]+\S.*)*)", re.I | re.M)
_DELAYED_SUBJECT = re.compile(
    r"\b(?:delay(?:ed)?|verz(?:ö|oe)gert|retard|retras|ritard|vertraagd|tertunda)|遅延|延迟|延遲", re.I
)


@dataclass
class _Parts:
    """What walking a bounce finds, by role."""

    dsn: list[Failure] = field(default_factory=list)
    report: list[str] = field(default_factory=list)
    """Text the reporting system wrote (text/plain parts outside a returned original)."""
    html: list[str] = field(default_factory=list)
    original_ids: list[str] = field(default_factory=list)
    originals: list[str] = field(default_factory=list)
    """Headers and text of returned originals (message/rfc822, text/rfc822-headers)."""
    other: list[str] = field(default_factory=list)
    """Text only searched for addresses (delivery-status fields)."""


def read_report(raw: bytes) -> DeliveryReport:
    """What a bounce says: who failed with which status, and which mail it returns."""
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    parts = _Parts()
    _collect(message, parts)
    written = "\n".join(parts.report) or "\n".join(parts.html)
    report, inline = bounce_text.split_original(written)
    originals = "\n".join([*parts.originals, inline])
    header_ids = bounce_text.unique(
        [
            *parts.original_ids,
            *bounce_text.header_message_ids(originals),
            *bounce_text.header_message_ids(report),
            *bounce_text.prose_message_ids(report),
        ]
    )
    own_references = " ".join(
        str(v) for name in ("In-Reply-To", "References") for v in message.get_all(name, [])
    )
    everything = "\n".join([written, *parts.originals, *parts.other])
    ids = bounce_text.unique(
        [*header_ids, *bounce_text.bracketed_ids(own_references), *bounce_text.bracketed_ids(everything)]
    )[:_MAX_IDS]
    failures, plain = _failures(message, parts, report, originals, header_ids)
    return DeliveryReport(
        failures=tuple(failures),
        original_message_id=header_ids[0] if header_ids else None,
        message_ids=tuple(ids),
        addresses=tuple(bounce_text.addresses_in(everything)[:_MAX_ADDRESSES]),
        plain=plain,
    )


def _failures(
    message: Message, parts: _Parts, report: str, originals: str, quoted_ids: list[str]
) -> tuple[list[Failure], bool]:
    """The failures and whether they were read from text rather than a delivery-status part.

    `quoted_ids` are the Message-IDs quoted as such: an id looks like an address, but never failed.
    """
    if parts.dsn:
        return parts.dsn, False
    in_text = bounce_text.dsn_fields_in_text(report)
    if in_text:
        return in_text, True
    excluded = {address for name in _OWN_FIELDS for address in _addresses_of(message, name)}
    excluded |= {value.strip("<>").lower() for value in quoted_ids}
    excluded |= set(_senders_of_original(originals))
    excluded |= {a for a in bounce_text.addresses_in(report) if _untagged(a) in excluded}
    context = ReportText(
        text=report,
        excluded=frozenset(excluded),
        fallback=_sole_recipient(originals),
        delayed=bool(_DELAYED_SUBJECT.search(_subject(message))),
    )
    failed = [a.strip().strip("<>") for a in str(message.get("X-Failed-Recipients", "")).split(",")]
    return bounce_text.failures_in(context, [a for a in failed if "@" in a]), True


def _collect(part: Message, parts: _Parts) -> None:
    kind = part.get_content_type()
    if kind == "message/delivery-status":
        parts.dsn.extend(_status_blocks(part))
        blocks = part.get_payload()
        if isinstance(blocks, list):
            parts.other.append("\n".join(_headers_text(b) for b in blocks if isinstance(b, Message)))
    elif kind == "message/rfc822":
        _collect_original(part, parts)
    elif kind == "text/rfc822-headers":
        parts.originals.append(_text(part))
    elif part.is_multipart():
        for sub in part.get_payload():
            if isinstance(sub, Message):
                _collect(sub, parts)
    elif kind == "text/plain":
        parts.report.append(_text(part))
    elif kind == "text/html":
        parts.html.append(re.sub(r"<[^<>]{0,2000}>", " ", _text(part)))


def _collect_original(part: Message, parts: _Parts) -> None:
    payload = part.get_payload()
    if not (isinstance(payload, list) and payload and isinstance(payload[0], Message)):
        return
    original = payload[0]
    value = original.get("Message-ID")
    if value:
        parts.original_ids.append(str(value).strip())
    texts = [_headers_text(original)]
    texts += [
        _text(p) for p in original.walk() if p.get_content_maintype() == "text" and not p.is_multipart()
    ]
    parts.originals.append("\n".join(texts))


def _status_blocks(part: Message) -> list[Failure]:
    blocks = part.get_payload()
    if not isinstance(blocks, list):
        return []
    found = []
    for block in blocks[1:]:  # the first block is about the message, the rest per recipient
        if not isinstance(block, Message):
            continue
        recipient = _address(block.get("Final-Recipient") or block.get("Original-Recipient") or "")
        if not recipient:
            continue
        status_match = _STATUS.search(str(block.get("Status", "")))
        diagnostic = " ".join(str(block.get("Diagnostic-Code", "")).split())[:500]
        found.append(
            Failure(
                recipient=recipient,
                action=str(block.get("Action", "")).strip().lower(),
                status=bounce_text.refine(
                    ".".join(status_match.groups()) if status_match else "", diagnostic
                ),
                diagnostic=diagnostic,
            )
        )
    return found


def _address(value: str) -> str:
    address = str(value).split(";", 1)[-1].strip().strip("<>").lower()
    return address if "@" in address else ""


def _addresses_of(message: Message, name: str) -> list[str]:
    return bounce_text.addresses_in(" ".join(str(v) for v in message.get_all(name, [])))


def _senders_of_original(originals: str) -> list[str]:
    """The returned original's sender addresses: ours, never a failed recipient."""
    found: list[str] = []
    for match in re.finditer(r"^[ \t>]*(?:from|sender|return-path|reply-to):(.*)$", originals, re.I | re.M):
        found += bounce_text.addresses_in(match.group(1))
    return found


def _sole_recipient(originals: str) -> tuple[str, ...]:
    """The one recipient of the returned original, when it had exactly one."""
    named: dict[str, list[str]] = {"to": [], "cc": []}
    for match in _RECIPIENT_LINE.finditer(originals):
        named[match.group(1).lower()] += bounce_text.addresses_in(match.group(2))
    recipients = bounce_text.unique(named["to"] + named["cc"])
    return tuple(recipients) if len(recipients) == 1 else ()


def _untagged(address: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local.split('+', 1)[0]}@{domain}"


def _subject(message: Message) -> str:
    value = message.get("Subject")
    if value is None:
        return ""
    try:
        return str(make_header(decode_header(str(value))))
    except (LookupError, UnicodeError, ValueError):
        return str(value)


def _headers_text(message: Message) -> str:
    return "\n".join(f"{name}: {value}" for name, value in message.items())


def _text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return str(part.get_payload())[:_MAX_TEXT]
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload[: _MAX_TEXT * 2].decode(charset, "replace")[:_MAX_TEXT]
    except LookupError:
        return payload[: _MAX_TEXT * 2].decode("utf-8", "replace")[:_MAX_TEXT]
