"""The fallback parser backend: the standard library's `email` package, adapted to `Extracted`.

This module owns reading a mail that mail-parser could not: it walks the
message's leaf parts and sorts each into the plain or HTML body, an
attachment (admitted by the `AttachmentBudget` on its encoded size before it
is decoded), or nothing. It is the last parser, so one unreadable part is a
defect, not a lost mail. Payloads are decoded without trusting their
declared charsets. Nothing here does I/O.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
from email.message import Message

from daemon.parse.attachments import AttachmentBudget, attachment, display_filename
from daemon.parse.bigparts import SetAside
from daemon.parse.body import part_text
from daemon.parse.charsets import charset_hints
from daemon.parse.extracted import Extracted
from daemon.parse.filenames import part_filename
from daemon.parse.headers import decode_words, raw_headers
from daemon.parse.message import Attachment


def with_stdlib(raw: bytes, failure: str, aside: SetAside | None = None) -> Extracted:
    """What the standard library finds in `raw`; `failure` (why mail-parser failed) heads the defects.

    `aside` has the attachment bodies set aside from `raw` (`daemon.parse.bigparts`).
    """
    # compat32, as mail-parser uses: the default policy's header parser takes
    # seconds on one long Content-Type, and the pre-scan counts parts as compat32 reads them.
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    hints = charset_hints(message)
    leaves = _Leaves(failure, hints, aside or SetAside(raw, raw))
    leaves.read(message)
    headers = raw_headers(message, hints)
    return Extracted(
        message=message,
        senders=_addresses(headers, "from", hints),
        to=_addresses(headers, "to", hints),
        cc=_addresses(headers, "cc", hints),
        reply_to=_addresses(headers, "reply-to", hints),
        date=None,
        plain=leaves.plain,
        html=leaves.html,
        attachments=leaves.attachments,
        defects=tuple(leaves.defects),
        parser="email",
    )


class _Leaves:
    """Sorts the leaf parts of a message into body text and attachments, noting defects."""

    def __init__(self, failure: str, hints: tuple[str, ...], aside: SetAside) -> None:
        self.hints = hints
        self.aside = aside
        self.plain: list[str] = []
        self.html: list[str] = []
        self.attachments: list[Attachment] = []
        self.budget = AttachmentBudget()
        self.defects: dict[str, None] = {failure: None}

    def read(self, message: Message) -> None:
        """Sort every leaf of `message`; the parser's defects and the budget's notes are kept."""
        for part in message.walk():
            self.defects.update(dict.fromkeys(type(defect).__name__ for defect in part.defects))
            if part.is_multipart():
                continue
            try:
                self._sort(part)
            except Exception as error:
                # This is the last parser: one unreadable part must not lose the mail.
                self.defects[f"unreadable part: {type(error).__name__}"] = None
        self.defects.update(dict.fromkeys(self.budget.defects()))

    def _sort(self, part: Message) -> None:
        """Put one leaf part where it belongs: body text, attachment, or nowhere."""
        content_type = part.get_content_type()
        filename = part_filename(part, self.hints)
        if filename is None and part.get_content_disposition() != "attachment":
            if content_type in ("text/plain", "text/html"):
                text = part_text(part, self.hints)
                (self.plain if content_type == "text/plain" else self.html).append(text.text)
                if text.note:
                    self.defects[text.note] = None
                return
            # Other text, message headers and multiparts whose boundary never
            # appeared are neither the body nor files the customer attached.
            if content_type.startswith(("text/", "message/", "multipart/")):
                return
        self._attach(part, filename or "", content_type)

    def _attach(self, part: Message, filename: str, content_type: str) -> None:
        """Keep `part` as an attachment when the budget admits its estimated size."""
        encoded = part.get_payload()
        is_base64 = str(part.get("content-transfer-encoding", "")).strip().lower() == "base64"
        text = encoded if isinstance(encoded, str) else ""
        size = self.aside.estimated_size(text, is_base64)
        if not self.budget.admit(display_filename(filename), size):
            return
        real = self.aside.decoded(text) if is_base64 else None
        payload = real[0] if real is not None else part.get_payload(decode=True)
        self.attachments.append(
            attachment(filename, content_type, payload if isinstance(payload, bytes) else b"")
        )


def _addresses(headers: list[tuple[str, str]], name: str, hints: tuple[str, ...]) -> list[tuple[str, str]]:
    values = [value for key, value in headers if key == name][:1]
    return [
        (decode_words(display_name, hints), address)
        for display_name, address in email.utils.getaddresses(values)
        if "@" in address
    ]
