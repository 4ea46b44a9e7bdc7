"""The customer's contact person (PIC) on a ticket: filled in from later mail, never overwritten.

The complaint procedure wants a PIC phone or email on every complaint, and the
acknowledgement asks for one when the first mail had none. This module owns
two decisions about the ticket's `pic_phone` and `pic_email`:

* `fills`: which empty PIC fields a customer's follow-up fills, and with what
  (the first phone, the first email the mail names that is not a staff
  address). A field that holds a value, whoever set it, is never replaced;
* `inherited_contact`: the contact a complaint opened from a survey answer
  starts with: what the answer itself names first, then the PIC of the ticket
  the survey was about, so the customer is not asked again.

Everything here is pure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from daemon.parse.message import Contact

PicField = Literal["pic_phone", "pic_email"]


class HasPic(Protocol):
    """Anything with the two PIC fields (a `Ticket`)."""

    @property
    def pic_phone(self) -> str: ...

    @property
    def pic_email(self) -> str: ...


@dataclass(frozen=True, slots=True)
class PicFill:
    """One empty PIC field and the value a mail gives it."""

    field: PicField
    value: str


def fills(ticket: HasPic, contact: Contact, *, is_staff: Callable[[str], bool]) -> tuple[PicFill, ...]:
    """The empty PIC fields of `ticket` that `contact` (found in a customer's mail) fills.

    `is_staff` tells a staff address (a department's, customer care's) from
    the customer's: a customer quoting the department's address does not make
    it their contact.
    """
    found: list[PicFill] = []
    if not ticket.pic_phone and contact.phones:
        found.append(PicFill("pic_phone", contact.phones[0]))
    if not ticket.pic_email:
        email = next((address for address in contact.emails if not is_staff(address)), None)
        if email is not None:
            found.append(PicFill("pic_email", email))
    return tuple(found)


def inherited_contact(own: Contact, earlier: HasPic) -> Contact:
    """The contact of a complaint opened from a survey answer: the answer's own, then the earlier PIC.

    The answer's own phones and emails come first (they are the newest); the
    earlier ticket's PIC follows, so the new complaint has a PIC whenever the
    earlier one had.
    """
    phones = _merged(own.phones, earlier.pic_phone)
    emails = _merged(own.emails, earlier.pic_email.strip().lower())
    return Contact(phones=phones, emails=emails)


def inherited_fields(own: Contact, earlier: HasPic, *, sender: str) -> tuple[PicFill, ...]:
    """The PIC fields a complaint opened from a survey answer owes to the earlier ticket.

    Those the answer itself (its own contact, else for the email its sender)
    would not have given: what the new complaint's history says it inherited.
    """
    found: list[PicFill] = []
    if not own.phones and earlier.pic_phone:
        found.append(PicFill("pic_phone", earlier.pic_phone))
    email = earlier.pic_email.strip().lower()
    if not own.emails and email and email != sender.strip().lower():
        found.append(PicFill("pic_email", email))
    return tuple(found)


def _merged(own: tuple[str, ...], earlier: str) -> tuple[str, ...]:
    if not earlier or earlier in own:
        return own
    return (*own, earlier)
