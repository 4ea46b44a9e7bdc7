"""Which ticket a mail is about, from the evidence it carries.

In order: a Message-ID of ours (or of a mail on a ticket) in its In-Reply-To
or References; the signed reply address it was sent to; the `[CC-2026-000123]`
tag in its subject, followed only when the sender is on that ticket. A tag that
names a ticket the sender may not write to is a near miss: recorded on the
new complaint, never followed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlmodel import Session

from daemon.config import Config
from daemon.outbox import signing
from daemon.parse.message import InboundMail
from daemon.route.rules import Rules
from daemon.store import queries
from daemon.store import tickets as ticket_store
from daemon.store.models import Ticket
from daemon.tickets.policy import Parties, role_of

_SUBJECT_TAG = re.compile(r"\[([A-Z0-9]{1,10}-\d{4}-\d{6})\]", re.I)
MAX_REFERENCES = 20


@dataclass(frozen=True)
class Thread:
    ticket_id: int | None
    via: str = ""
    near_miss: str = ""
    """A subject tag naming a ticket the sender may not write to: recorded, not followed."""


def parties(ticket: Ticket) -> Parties:
    """Who is on `ticket`, for `policy.role_of`."""
    return Parties(ticket.customer_email, ticket.watchers, ticket.department)


class Threads:
    """Finds the ticket a mail belongs to."""

    def __init__(self, config: Config, signing_key: bytes | None) -> None:
        self.config = config
        self.signing_key = signing_key

    def find(self, session: Session, mail: InboundMail, rules: Rules) -> Thread:
        """In order: our Message-IDs, a resend, the signed reply address, the subject tag.

        The last two only for senders on the ticket.
        """
        message_ids = [i for i in (*mail.in_reply_to, *mail.references) if i][:MAX_REFERENCES]
        by_reference = ticket_store.ticket_of_message_ids(session, message_ids) if message_ids else None
        if by_reference is not None:
            return Thread(by_reference, "references")
        resent = self._resent(session, mail, rules)
        if resent is not None:
            return Thread(resent, "resent under the Message-ID of a mail on the ticket")
        by_token = self._by_reply_address(session, mail)
        if by_token is not None:
            return Thread(by_token, "reply address")
        match = _SUBJECT_TAG.search(mail.subject)
        if match is None:
            return Thread(None)
        ticket = queries.find_ticket(session, match.group(1))
        if ticket is None:
            return Thread(None, near_miss=f"subject names {match.group(1).upper()}, which does not exist")
        if role_of(mail.from_address, parties(ticket), rules) is None:
            return Thread(None, near_miss=f"subject names {ticket.reference}, but the sender is not on it")
        return Thread(ticket.id, "subject tag")

    @staticmethod
    def _resent(session: Session, mail: InboundMail, rules: Rules) -> int | None:
        """The ticket of an earlier mail with this Message-ID, when its sender is on that ticket.

        Content that differs (a new attachment, a corrected subject) makes the resend
        no duplicate; it still belongs where its first copy went.
        """
        if mail.message_id_synthetic or not mail.message_id:
            return None
        ticket_id = ticket_store.ticket_of_message_ids(session, [mail.message_id])
        if ticket_id is None:
            return None
        ticket = session.get(Ticket, ticket_id)
        if ticket is None or role_of(mail.from_address, parties(ticket), rules) is None:
            return None
        return ticket_id

    def _by_reply_address(self, session: Session, mail: InboundMail) -> int | None:
        if self.signing_key is None:
            return None
        candidates = [*mail.to, *mail.cc]
        for name in ("delivered-to", "x-original-to"):
            candidates.extend(mail.header_all(name))
        for candidate in candidates:
            reference = signing.reference_from_reply_address(self.signing_key, self.config.address, candidate)
            if reference is not None:
                ticket = queries.find_ticket(session, reference)
                if ticket is not None:
                    return ticket.id
        return None
