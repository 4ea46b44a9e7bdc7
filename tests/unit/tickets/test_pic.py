"""The PIC decisions: which empty fields a customer's mail fills, and what a survey complaint inherits."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from daemon.parse.message import Contact
from daemon.parse.parser import parse
from daemon.tickets.pic import PicFill, fills, inherited_contact, inherited_fields

DATA = Path(__file__).resolve().parents[2] / "data"
STAFF = {"sirkulasi@example.co.id", "bambang.sirkulasi@example.co.id"}


@dataclass
class Pic:
    pic_phone: str = ""
    pic_email: str = ""


def is_staff(address: str) -> bool:
    return address in STAFF


def test_a_gmail_follow_up_fills_the_empty_phone_from_its_own_text_not_the_quote() -> None:
    mail = parse((DATA / "reply_gmail_id.eml").read_bytes(), own_addresses=("cs@example.co.id",))
    found = fills(Pic(pic_email="agus.pratama88@gmail.com"), mail.contact, is_staff=is_staff)
    assert found == (PicFill("pic_phone", "+6281399887766"),)


def test_both_empty_fields_are_filled_with_the_first_phone_and_email() -> None:
    contact = Contact(
        phones=("+6281277773344", "+62215551234"), emails=("sari@kantor.example", "b@x.example")
    )
    assert fills(Pic(), contact, is_staff=is_staff) == (
        PicFill("pic_phone", "+6281277773344"),
        PicFill("pic_email", "sari@kantor.example"),
    )


def test_a_field_that_holds_a_value_is_never_replaced() -> None:
    contact = Contact(phones=("+6281277773344",), emails=("new@example.net",))
    kept = Pic(pic_phone="+6281100000000", pic_email="old@example.net")
    assert fills(kept, contact, is_staff=is_staff) == ()


def test_a_staff_address_in_the_customers_mail_is_not_their_contact() -> None:
    contact = Contact(emails=("bambang.sirkulasi@example.co.id", "sari@kantor.example"))
    assert fills(Pic(), contact, is_staff=is_staff) == (PicFill("pic_email", "sari@kantor.example"),)
    assert fills(Pic(), Contact(emails=("sirkulasi@example.co.id",)), is_staff=is_staff) == ()


def test_a_mail_without_a_contact_fills_nothing() -> None:
    assert fills(Pic(), Contact(), is_staff=is_staff) == ()


def test_a_survey_complaint_takes_the_earlier_pic_after_what_the_answer_names() -> None:
    earlier = Pic(pic_phone="+6281277773344", pic_email="Sari@Kantor.example")
    assert inherited_contact(Contact(), earlier) == Contact(
        phones=("+6281277773344",), emails=("sari@kantor.example",)
    )
    own = Contact(phones=("+6281399887766",), emails=("sari@kantor.example",))
    assert inherited_contact(own, earlier) == Contact(
        phones=("+6281399887766", "+6281277773344"), emails=("sari@kantor.example",)
    )
    assert inherited_contact(Contact(), Pic()) == Contact()


def test_inherited_fields_are_those_the_answer_would_not_have_given() -> None:
    earlier = Pic(pic_phone="+6281277773344", pic_email="sari@kantor.example")
    assert inherited_fields(Contact(), earlier, sender="sari@example.net") == (
        PicFill("pic_phone", "+6281277773344"),
        PicFill("pic_email", "sari@kantor.example"),
    )
    # The earlier PIC email is the sender's own address: the answer gives it anyway.
    same = Pic(pic_phone="", pic_email="sari@example.net")
    assert inherited_fields(Contact(), same, sender="Sari@example.net") == ()
    own = Contact(phones=("+6281399887766",), emails=("x@example.net",))
    assert inherited_fields(own, earlier, sender="sari@example.net") == ()
