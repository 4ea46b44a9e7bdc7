"""What is this mail? A pure decision over the parsed mail, what threading found and the rules.

bounce | automated mail (recorded, never answered) | branch recap | follow-up on
a known ticket | new complaint. Each kind has exactly one handler in the
processing stage (`daemon.tickets.processing`); whether a follow-up comes from
the customer or from staff, and whether it answers the survey, is decided
there, from the ticket it follows up.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from daemon.classify.automated import automated_reason, is_bounce
from daemon.classify.plain_bounces import plain_bounce_reason
from daemon.classify.recaps import RecapMail, recognise
from daemon.parse.message import InboundMail
from daemon.route.rules import Rules


class Kind(StrEnum):
    COMPLAINT = "complaint"
    FOLLOW_UP = "follow-up"
    AUTOMATED = "automated"
    BOUNCE = "bounce"
    RECAP = "recap"


@dataclass(frozen=True)
class RecapInbox:
    """What recognising a branch recap takes: the rules (the branches' addresses) and the care address."""

    rules: Rules
    care_address: str


@dataclass(frozen=True)
class Classification:
    kind: Kind
    reason: str
    ticket_id: int | None = None
    recap: RecapMail | None = None
    """For `Kind.RECAP`: the recap recognised, with its spreadsheets and forms."""


def classify(
    mail: InboundMail,
    *,
    own_addresses: Iterable[str],
    thread_ticket_id: int | None,
    recaps: RecapInbox | None = None,
) -> Classification:
    """Decide the kind of `mail`. Automated mail wins over everything: never answer it.

    A recap wins over a follow-up: a branch replying to one of our mails with its
    spreadsheet is sending its recap. Without `recaps` no mail is taken for one.
    """
    own = tuple(own_addresses)
    if is_bounce(mail):
        return Classification(Kind.BOUNCE, automated_reason(mail, own) or "delivery failure report")
    # Before everything that looks at the sender: a bounce from `<>` is a bounce, not a mail without sender.
    plain_bounce = plain_bounce_reason(mail)
    if plain_bounce is not None:
        return Classification(Kind.BOUNCE, plain_bounce)
    reason = automated_reason(mail, own)
    if reason is not None:
        return Classification(Kind.AUTOMATED, reason, thread_ticket_id)
    found = recognise(mail, recaps.rules, recaps.care_address) if recaps is not None else None
    if found is not None:
        sender = f"branch {found.branch.id}" if found.branch is not None else "an address that is no branch's"
        return Classification(Kind.RECAP, f"recap from {sender}", recap=found)
    if thread_ticket_id is not None:
        return Classification(Kind.FOLLOW_UP, "replies to a message of the ticket", thread_ticket_id)
    return Classification(Kind.COMPLAINT, "new mail from a customer")
