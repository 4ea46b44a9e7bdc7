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

The same answer is also found in the mailbox's Sent folder when `[mailbox]
sent_folder` names it (`daemon.fetch.intake` reads it, read only):
`record_sent_mail` takes a mail from there the same way, without the sender
check (only whoever logs in to the mailbox puts mail in its Sent folder, and it
never passed a receiving server that could stamp it), and records every other
mail there as ignored: a mail customer care sent is never answered and never
a new ticket. A Bcc copy and the Sent-folder copy of one answer are one mail to
the duplicate check, so the answer is counted once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlmodel import Session

from daemon.classify.authres import verify_sender
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
    in_sent_folder: bool = False
    """Read from the mailbox's Sent folder rather than received as a copy."""


def record_sent_mail(session: Session, desk: Desk, own: OwnMail) -> None:
    """A mail from the mailbox's Sent folder: customer care's answer to a ticket, or ignored."""
    if record_care_answer(session, desk, own):
        return
    own.row.state, own.row.ticket_id = InboundState.IGNORED, own.ticket_id
    own.row.reason = "sent from the mailbox, not an answer to a ticket's customer (Sent folder)"


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
    refused = None if own.in_sent_folder else _sender_refusal(desk, mail)
    if refused is not None:
        log.warning(
            "mail from our own address on %s not taken as care's answer: %s", ticket.reference, refused
        )
        return False
    now = desk.clock()
    # The copy arrived when care sent it; the daemon may see it later.
    sent_at = min(row.arrived_at or now, now)
    row.state, row.ticket_id = InboundState.PROCESSED, ticket.id
    seen = "in the Sent folder" if own.in_sent_folder else "copy seen by caredesk"
    row.reason = "customer care's answer to the customer, sent from the mailbox"
    recipients = ", ".join((*mail.to, *mail.cc))
    queries.add_event(
        session,
        ticket,
        queries.History(
            actor=mail.from_address,
            action=Action.CARE_ANSWER,
            at=now,
            reason=f"answer to {recipients} sent from the mailbox ({seen})",
            new_value=mail.new_text[:10_000],
            inbound_id=row.id,
        ),
    )
    record_first_response(session, ticket, sent_at, how="customer care's answer from the mailbox")
    ticket_store.mark_updated(session, ticket, now)
    log.info("customer care answered %s from the mailbox (inbound #%s)", ticket.reference, row.id)
    return True


def _sender_refusal(desk: Desk, mail: InboundMail) -> str | None:
    """Why a copy that came in is not believed to be from the mailbox (the staff check); None if it is."""
    security = desk.config.security
    verdict = verify_sender(mail.headers, mail.from_address, security)
    return staff_refusal(verdict, security)


def _ticket(session: Session, own: OwnMail) -> Ticket | None:
    """The ticket the copy threads to, else the one its subject tag names."""
    found = ticket_store.ticket_by_id(session, own.ticket_id)
    if found is not None:
        return found
    reference = subject_reference(own.mail.subject)
    return queries.find_ticket(session, reference) if reference is not None else None
