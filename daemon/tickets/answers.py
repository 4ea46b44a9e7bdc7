"""Which mails are a person's answer to the customer: the ones that meet the first response.

The first-response target (DOMAIN.md §3) is met by any human answer that
reaches the customer. caredesk queues most of them itself (a relayed
`#reply`, the resolution mail); this module decides about the answers it only
sees pass by:

* a staff member's mail about a ticket that is addressed to its customer
  (`addressed_to`), e.g. a department member who wrote to the customer
  directly and copied the ticket's address;
* customer care answering from the shared mailbox itself (`care_answer`):
  the mail comes in From our own address, Bcc'd (or copied) to the mailbox.
  Our own robot's mail comes back the same way, so only a person's mail
  counts: without the `X-Caredesk-Loop` header every mail of ours carries,
  and with nothing else about it that marks automatic mail (Auto-Submitted,
  list headers, a robot sender ...).

Pure: values in, values out; the processing stage looks up the ticket and
records the answer (`daemon.tickets.care_copies`, `daemon.tickets.staff`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from daemon.classify.automated import automated_reason
from daemon.outbox.compose import without_tag
from daemon.parse.message import InboundMail

_SUBJECT_TAG = re.compile(r"\[([A-Z0-9]{1,10}-\d{4}-\d{6})\]", re.I)


def _normalised(addresses: Iterable[str]) -> set[str]:
    return {without_tag(address.strip().lower()) for address in addresses if address and address.strip()}


def addressed_to(mail: InboundMail, addresses: Iterable[str]) -> bool:
    """Whether `mail` is addressed (To or Cc) to one of `addresses`; plus-address tags do not matter."""
    wanted = _normalised(addresses)
    return bool(wanted & _normalised((*mail.to, *mail.cc)))


def customer_addresses(customer_email: str, pic_email: str) -> tuple[str, ...]:
    """Where an answer reaches the customer: the address they wrote from, and their PIC's."""
    return tuple(address for address in (customer_email, pic_email) if address)


def care_answer(mail: InboundMail, own_addresses: Iterable[str]) -> bool:
    """Whether `mail` is customer care's own answer, written by a person from the shared mailbox.

    It comes from one of `own_addresses` (the mailbox caredesk reads), and
    would pass for a person's mail if it came from anyone else: no loop header
    of ours, not Auto-Submitted, no list, bulk or robot marks. Whom it is
    addressed to is asked separately (`addressed_to`), once its ticket is known.
    """
    own = _normalised(own_addresses)
    if without_tag(mail.from_address.lower()) not in own:
        return False
    # Every other check on automatic mail, as if the sender were not us; the
    # loop header, which all our robot's mail carries, is one of them.
    return automated_reason(mail, ()) is None


def subject_reference(subject: str) -> str | None:
    """The ticket reference in a subject's `[CC-2026-000123]` tag, upper case; None without one."""
    match = _SUBJECT_TAG.search(subject)
    return match.group(1).upper() if match else None
