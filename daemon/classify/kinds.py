"""What is this mail? A pure decision over the parsed mail and what threading found.

new complaint | follow-up on a known ticket | automated mail (recorded, never
answered). Later stages add department updates, branch recaps and survey answers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from daemon.classify.automated import automated_reason, is_bounce
from daemon.parse.message import InboundMail


class Kind(StrEnum):
    COMPLAINT = "complaint"
    FOLLOW_UP = "follow-up"
    AUTOMATED = "automated"
    BOUNCE = "bounce"


@dataclass(frozen=True)
class Classification:
    kind: Kind
    reason: str
    ticket_id: int | None = None


def classify(
    mail: InboundMail, *, own_addresses: Iterable[str], thread_ticket_id: int | None
) -> Classification:
    """Decide the kind of `mail`. Automated mail wins over everything: never answer it."""
    own = tuple(own_addresses)
    if is_bounce(mail):
        return Classification(Kind.BOUNCE, automated_reason(mail, own) or "delivery failure report")
    reason = automated_reason(mail, own)
    if reason is not None:
        return Classification(Kind.AUTOMATED, reason, thread_ticket_id)
    if thread_ticket_id is not None:
        return Classification(Kind.FOLLOW_UP, "replies to a message of the ticket", thread_ticket_id)
    return Classification(Kind.COMPLAINT, "new mail from a customer")
