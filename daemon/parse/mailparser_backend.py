"""The first parser backend: mail-parser, adapted to `Extracted`.

This module owns reading mail-parser's result: its address lists and Date,
its text and HTML parts, its defect categories, and its attachments, which
arrive as base64 or text payloads and pass through the `AttachmentBudget`
before they are decoded. mail-parser raises on some real bounces; the caller
then tries `daemon.parse.stdlib_backend`. Nothing here does I/O.
"""

from __future__ import annotations

from typing import Any

import mailparser

from daemon.parse.attachments import (
    AttachmentBudget,
    attachment,
    decode_base64,
    display_filename,
    estimated_size,
)
from daemon.parse.extracted import Extracted
from daemon.parse.headers import as_utc
from daemon.parse.message import Attachment


def with_mailparser(raw: bytes) -> Extracted:
    """What mail-parser finds in `raw`; raises whatever mail-parser raises."""
    parsed = mailparser.parse_from_bytes(raw)
    budget = AttachmentBudget()
    attachments = []
    for item in parsed.attachments:
        name = display_filename(item.get("filename") or "")
        if budget.admit(name, estimated_size(item.get("payload") or "", bool(item.get("binary")))):
            attachments.append(_attachment(item, name, budget))
    return Extracted(
        message=parsed.message,
        senders=list(parsed.from_ or []),
        to=list(parsed.to or []),
        cc=list(parsed.cc or []),
        reply_to=list(parsed.reply_to or []),
        date=as_utc(parsed.date),
        plain=list(parsed.text_plain),
        html=list(parsed.text_html),
        attachments=attachments,
        defects=tuple(sorted(parsed.defects_categories)) + budget.defects(),
        parser="mail-parser",
    )


def _attachment(item: dict[str, Any], name: str, budget: AttachmentBudget) -> Attachment:
    payload_text = item.get("payload") or ""
    if item.get("binary"):
        payload, intact = decode_base64(payload_text)
        if not intact:
            budget.damaged(name)
    else:
        payload = payload_text.encode("utf-8", "replace")
    return attachment(item.get("filename") or "", item.get("mail_content_type") or "", payload)
