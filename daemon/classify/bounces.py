"""Reading delivery reports (RFC 3464 DSNs and the common non-standard bounces).

Pure: raw bytes in, a `DeliveryReport` out. What a bounce *means* for a ticket or
an address is decided by the pipeline, and only for bounces it can tie to a mail
we sent (a signed return path, or our own Message-ID in the returned original):
a forged "bounce" naming somebody's address must not get them marked dead.
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from email.message import Message

_MESSAGE_ID = re.compile(r"^message-id:\s*(<[^<>\s]{1,990}>)", re.I | re.M)
_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")


@dataclass(frozen=True)
class Failure:
    recipient: str
    action: str
    """failed, delayed, delivered, relayed or expanded (RFC 3464)."""
    status: str
    """The enhanced status code, e.g. 5.1.1; '' when the report gives none."""
    diagnostic: str = ""

    @property
    def permanent(self) -> bool:
        return self.action == "failed" and self.status.startswith("5")

    @property
    def address_problem(self) -> bool:
        """The address itself is bad (5.1.x) or the mailbox is disabled (5.2.1)."""
        return self.permanent and (self.status.startswith("5.1.") or self.status == "5.2.1")

    @property
    def policy_problem(self) -> bool:
        """Refused for policy (5.7.x: SPF/DKIM/DMARC, spam): our problem, not the address's."""
        return self.permanent and self.status.startswith("5.7.")


@dataclass(frozen=True)
class DeliveryReport:
    failures: tuple[Failure, ...]
    original_message_id: str | None


def read_report(raw: bytes) -> DeliveryReport:
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    failures: list[Failure] = []
    original: str | None = None
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "message/delivery-status":
            failures.extend(_status_blocks(part))
        elif kind == "message/rfc822" and original is None:
            original = _embedded_message_id(part)
        elif kind == "text/rfc822-headers" and original is None:
            original = _message_id_in_text(_text(part))
    if not failures:
        failures = _non_standard(message)
    if original is None:
        original = _message_id_in_text(_text_of_all(message))
    return DeliveryReport(failures=tuple(failures), original_message_id=original)


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
        found.append(
            Failure(
                recipient=recipient,
                action=str(block.get("Action", "")).strip().lower(),
                status=".".join(status_match.groups()) if status_match else "",
                diagnostic=" ".join(str(block.get("Diagnostic-Code", "")).split())[:500],
            )
        )
    return found


def _non_standard(message: Message) -> list[Failure]:
    # Exim names the failed addresses in a header; its text usually carries a code.
    failed = message.get("X-Failed-Recipients")
    if not failed:
        return []
    status_match = _STATUS.search(_text_of_all(message))
    status = ".".join(status_match.groups()) if status_match else "5.0.0"
    return [
        Failure(recipient=_address(a), action="failed", status=status) for a in str(failed).split(",") if a
    ]


def _address(field: str) -> str:
    value = str(field).split(";", 1)[-1].strip().strip("<>").lower()
    return value if "@" in value else ""


def _embedded_message_id(part: Message) -> str | None:
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        value = payload[0].get("Message-ID")
        return str(value).strip() if value else None
    return None


def _text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload.decode("utf-8", "replace")
    return str(part.get_payload())


def _text_of_all(message: Message) -> str:
    return "\n".join(_text(part) for part in message.walk() if not part.is_multipart())


def _message_id_in_text(text: str) -> str | None:
    match = _MESSAGE_ID.search(text)
    return match.group(1) if match else None
