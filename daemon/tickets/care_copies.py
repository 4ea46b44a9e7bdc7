"""Customer care's answer from the shared mailbox, seen as a copy: the ticket's first response.

Customer-care staff sometimes answer a customer from the mailbox caredesk
reads, in their own mail program, with the mailbox in Bcc or Cc. That copy
comes in From our own address, which for every other mail means our own mail
coming back (ignored, never answered). `record_care_answer` takes the copy
that is a person's answer to the ticket's customer instead (`daemon.tickets.answers`
decides what such a mail looks like): the ticket is found by the mail's thread
(In-Reply-To or References of one of its mails) or, failing that, the
`[CC-…]` tag in the subject; the mail must be addressed to the customer, and
pass the same sender check as staff commands (`Authentication-Results`, where
the admin set it up). It is kept on the ticket as a `care-answer` history
entry with its text and meets the first-response target.

The copies in the mailbox's Sent folder are not read: caredesk reads only the
intake folder, so customer care Bcc's the mailbox (docs/departments.md).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlmodel import Session

from daemon.classify.authres import sender_verified
from daemon.parse.message import InboundMail
from daemon.route.rules import Rules
from daemon.sla.stamping import record_first_response
from daemon.store import queries
from daemon.store import tickets as ticket_store
from daemon.store.models import InboundMessage, Ticket
from daemon.store.vocabulary import Action, InboundState
from daemon.tickets.answers import addressed_to, care_answer, customer_addresses, subject_reference
from daemon.tickets.desk import Desk
from daemon.tickets.policy import staff_refusal

log = logging.getLogger("caredesk.conversation")


@dataclass(frozen=True)
class OwnMail:
    """A mail from our own address: its row, the parsed mail, the ticket threading found, the rules."""

    row: InboundMessage
    mail: InboundMail
    ticket_id: int | None
    rules: Rules


def record_care_answer(session: Session, desk: Desk, own: OwnMail) -> bool:
    """Record `own` as customer care's answer to a ticket's customer, if it is one; False otherwise.

    When it is one, the inbound row becomes `processed` on the ticket; when it
    is not, nothing is written and the caller ignores it as our own mail.
    """
    row, mail = own.row, own.mail
    if not care_answer(mail, (desk.config.address,)):
        return False
    ticket = _ticket(session, own)
    if ticket is None or not addressed_to(mail, customer_addresses(ticket.customer_email, ticket.pic_email)):
        return False
    security = desk.config.security
    verdict = sender_verified(
        mail.headers, mail.from_address, trusted_authserv_ids=security.trusted_authserv_ids
    )
    refused = staff_refusal(verdict, security)
    if refused is not None:
        log.warning(
            "mail from our own address on %s not taken as care's answer: %s", ticket.reference, refused
        )
        return False
    now = desk.clock()
    # The copy arrived when care sent it; the daemon may see it later.
    sent_at = min(row.arrived_at or now, now)
    row.state, row.ticket_id = InboundState.PROCESSED, ticket.id
    row.reason = "customer care's answer to the customer, sent from the mailbox"
    recipients = ", ".join((*mail.to, *mail.cc))
    queries.add_event(
        session,
        ticket,
        queries.History(
            actor=mail.from_address,
            action=Action.CARE_ANSWER,
            at=now,
            reason=f"answer to {recipients} sent from the mailbox (copy seen by caredesk)",
            new_value=mail.new_text[:10_000],
            inbound_id=row.id,
        ),
    )
    record_first_response(session, ticket, sent_at, how="customer care's answer from the mailbox")
    ticket_store.mark_updated(session, ticket, now)
    log.info("customer care answered %s from the mailbox (inbound #%s)", ticket.reference, row.id)
    return True


def _ticket(session: Session, own: OwnMail) -> Ticket | None:
    """The ticket the copy threads to, else the one its subject tag names."""
    found = ticket_store.ticket_by_id(session, own.ticket_id)
    if found is not None:
        return found
    reference = subject_reference(own.mail.subject)
    return queries.find_ticket(session, reference) if reference is not None else None
