"""The values a bounce is read into: one `Failure` per recipient, one `DeliveryReport` per bounce.

Both a standard report (RFC 3464, `daemon.classify.bounces`) and a plain-text
bounce (`daemon.classify.bounce_text`) are read into these same values, so the
outbox applies them the same way (`daemon.outbox.deliverability`).
"""

from __future__ import annotations

from dataclasses import dataclass


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
    """The Message-ID of the returned original (attached, or its headers quoted in the text)."""
    message_ids: tuple[str, ...] = ()
    """Every Message-ID the bounce names, best first: the returned original's own,
    then the bounce's In-Reply-To and References, then any `<id@host>` in its text.
    Candidates to tie the bounce to a mail we sent."""
    addresses: tuple[str, ...] = ()
    """Every address in the bounce's text and returned original: candidates for a
    signed return path (VERP), which only count when their signature verifies."""
    plain: bool = False
    """True when the failures were read from text, not from a delivery-status part."""
