"""Attachments: which ones are kept, how their payloads are decoded, how they are named.

This module owns the attachment limits in practice: `AttachmentBudget` admits
attachments in order while the count, size and total limits allow, judging
each by its encoded length before anything is decoded, and collects the notes
on what it dropped. Damaged base64 is decoded as far as it goes. An
attachment's name becomes display text only, never a path. Both parser
backends build their `Attachment` values here. Nothing here does I/O.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re

from daemon.parse import limits
from daemon.parse.headers import display_text
from daemon.parse.message import Attachment


class AttachmentBudget:
    """Admits attachments in order while the count and size limits allow; notes the rest."""

    def __init__(self) -> None:
        self.kept = 0
        self.total = 0
        self.over_count = 0
        self.notes: dict[str, None] = {}

    def admit(self, name: str, size: int) -> bool:
        """Whether an attachment of `size` decoded bytes (an upper bound will do) is kept."""
        if self.kept >= limits.ATTACHMENT_COUNT_LIMIT:
            self.over_count += 1
            return False
        if size > limits.ATTACHMENT_SIZE_LIMIT:
            self.notes[f"attachment dropped: {name} is over {limits.ATTACHMENT_SIZE_LIMIT:,} bytes"] = None
            return False
        if self.total + size > limits.ATTACHMENT_TOTAL_LIMIT:
            total_limit = limits.ATTACHMENT_TOTAL_LIMIT
            self.notes[f"attachment dropped: {name} is over the {total_limit:,} byte total"] = None
            return False
        self.kept += 1
        self.total += size
        return True

    def damaged(self, name: str) -> None:
        """Note that the attachment `name` was kept with invalid base64."""
        self.notes[f"attachment damaged: {name} has invalid base64"] = None

    def defects(self) -> tuple[str, ...]:
        """The notes on the attachments dropped or damaged, in the order they came."""
        notes = dict(self.notes)
        if self.over_count:
            total = self.kept + self.over_count
            notes[f"attachments truncated: kept {self.kept} of {total}"] = None
        return tuple(notes)


def estimated_size(encoded: str, is_base64: bool) -> int:
    """Decoded size of a payload, from its encoded text, without decoding it (an upper bound)."""
    if not is_base64:
        return len(encoded)
    # Line breaks are not data; the rest is four characters for three bytes,
    # less the padding at the end.
    tail = encoded[-8:].rstrip()
    padding = len(tail) - len(tail.rstrip("="))
    return (len(encoded) - encoded.count("\n") - encoded.count("\r")) * 3 // 4 - padding


_NOT_BASE64 = re.compile(r"[^A-Za-z0-9+/]")


def decode_base64(text: str) -> tuple[bytes, bool]:
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


def attachment(filename: str, content_type: str, payload: bytes) -> Attachment:
    """The `Attachment` value for a decoded payload; the name becomes display text."""
    return Attachment(
        filename=display_filename(filename),
        content_type=(content_type or "application/octet-stream").lower(),
        size=len(payload),
        sha256=hashlib.sha256(payload).hexdigest(),
        payload=payload,
    )


def display_filename(name: str) -> str:
    """An attachment name fit for display only: a base name, never a path."""
    base = display_text(name.replace("\\", "/").rsplit("/", 1)[-1], limit=4 * limits.FILENAME_LIMIT)
    # Leading dots hide files and `..` means a parent directory.
    base = base.strip(" .")
    if len(base) > limits.FILENAME_LIMIT:
        stem, dot, extension = base.rpartition(".")
        if dot and 0 < len(extension) <= 16:
            base = stem[: limits.FILENAME_LIMIT - len(extension) - 1] + "." + extension
        else:
            base = base[: limits.FILENAME_LIMIT]
    return base or "attachment"
