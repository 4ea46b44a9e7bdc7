"""The content key of a mail: the same mail delivered twice has it, two different mails do not.

A mail reaches the mailbox more than once in ordinary ways: To and Cc, a list
and a direct copy, a gateway that re-delivers. Stored mail is deduplicated by
IMAP UID and by the raw bytes' SHA-256 first; this key catches copies whose
bytes differ only in transport headers. It covers what a person wrote and sent:
the Message-ID, the sender, the subject, the body and every attachment, so a
resend under the same Message-ID with a new attachment or a corrected subject
is a mail of its own, not a duplicate.
"""

from __future__ import annotations

import hashlib

from daemon.parse.message import InboundMail


def logical_key(mail: InboundMail) -> str:
    """The SHA-256 hex digest of the mail's Message-ID, sender, subject, body and attachments."""
    subject = " ".join(mail.subject.split())
    attachments = ",".join(sorted(attachment.sha256 for attachment in mail.attachments))
    material = "|".join((mail.message_id, mail.from_address, subject, mail.body_sha256, attachments))
    return hashlib.sha256(material.encode("utf-8", "surrogatepass")).hexdigest()
