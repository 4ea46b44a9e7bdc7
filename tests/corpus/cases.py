"""One corpus mail with its label, and the mails "we sent" that bounces return.

Standard library only: the generator and the test both read these shapes, the
test through the files the generator wrote (labels.tsv, outbound.tsv).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from tests.corpus import mime

LABELS = ("ticket", "ignore", "bounce")
CLASSES = ("baseline", "automated", "bounce", "garbled", "sender", "duplicate")
"""`baseline`: what already worked before issue 14; the others are the issue's five classes."""

VERP_SECRET = "corpus-return-path-secret"
"""The signing secret the corpus run configures, so the signed return paths in bounces verify."""

LABEL_COLUMNS = ("file", "label", "sender", "subject", "tied", "class", "name", "attachments")
OUTBOUND_COLUMNS = ("id", "message_id", "recipient", "reference", "subject", "file")


@dataclass
class Case:
    """One mail of the corpus and what must become of it."""

    group: str
    shape: str
    raw: bytes
    label: str
    sender: str
    """For a ticket: the customer's address.

    For ignore/bounce: the address an answer would wrongly go to ('' if none)."""
    subject: str
    """The decoded subject exactly as it must be stored (whitespace collapsed)."""
    cls: str = "baseline"
    tied: str = ""
    """For a bounce: 'yes' when it returns one of our mails (outbound.tsv) and must be tied to it."""
    name: str = ""
    """The customer's display name as it must be stored ('' = not checked)."""
    attachments: tuple[str, ...] = ()
    """The attachment names as they must be decoded ('' = not checked)."""
    returns: str = ""
    """For a bounce of our mail: the Message-ID of the acknowledgement it returns (outbound.tsv)."""

    def __post_init__(self) -> None:
        assert self.label in LABELS and self.cls in CLASSES, (self.label, self.cls)
        assert (self.tied in ("yes", "no")) == (self.label == "bounce"), (self.group, self.shape)
        assert bool(self.returns) == (self.tied == "yes"), (self.group, self.shape)
        for text in (self.sender, self.subject, self.name, *self.attachments):
            assert "\t" not in text and "\n" not in text and "|" not in text, text
        self.subject = " ".join(self.subject.split())


@dataclass(frozen=True)
class Sent:
    """A mail we sent (an acknowledgement) that a bounce in the corpus returns."""

    id: int
    message_id: str
    recipient: str
    reference: str
    subject: str

    @property
    def local_id(self) -> str:
        return self.message_id.strip("<>")

    def verp(self) -> str:
        return mime.verp_address(VERP_SECRET, self.id)

    def original(self, rng: random.Random, *, verp: bool = False) -> bytes:
        """The acknowledgement as we sent it, for bounces that quote or attach it."""
        # Sent the week before the corpus mails, which bounce it.
        when = mime.moment(rng, self.id) - mime.timedelta(days=7)
        headers: list[mime.Header] = [
            ("Return-Path", f"<{self.verp() if verp else mime.CARE}>"),
            ("From", f"{mime.CARE_NAME} <{mime.CARE}>"),
            ("To", self.recipient),
            ("Subject", self.subject),
            ("Date", mime.date_header(when)),
            ("Message-ID", self.message_id),
            ("Auto-Submitted", "auto-replied"),
            ("X-Caredesk-Loop", "1"),
            ("MIME-Version", "1.0"),
        ]
        body = mime.text_part(
            f"Terima kasih, keluhan Anda telah kami terima dengan nomor {self.reference}.\n"
            "Kami akan menghubungi Anda paling lambat dalam 2 hari kerja.\n\n"
            f"{mime.CARE_NAME}\n",
            cte="8bit",
        )
        return mime.message(headers, body)

    def header_block(self, rng: random.Random, *, verp: bool = False) -> str:
        raw = self.original(rng, verp=verp)
        return raw.split(b"\n\n", 1)[0].decode("utf-8")


@dataclass
class Ours:
    """Hands out the acknowledgements we "sent" before the corpus run (outbound.tsv)."""

    sent: list[Sent] = field(default_factory=list)

    def ack(self, recipient: str) -> Sent:
        number = len(self.sent) + 1
        reference = f"PRE-2026-{number:06d}"
        sent = Sent(
            id=9000 + number,
            message_id=f"<ack.corpus-{number:03d}@caredesk.test>",
            recipient=recipient,
            reference=reference,
            subject=f"[{reference}] Keluhan Anda telah kami terima",
        )
        self.sent.append(sent)
        return sent
