"""Which mails are a person's answer to the customer, and so meet the first response (issue 12.4)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from daemon.parse.message import InboundMail
from daemon.parse.parser import parse
from daemon.tickets.answers import addressed_to, care_answer, customer_addresses, subject_reference

DATA = Path(__file__).resolve().parents[2] / "data"
OWN = ("care@example.co.id",)
CUSTOMER = customer_addresses("dewi.lestari81@gmail.com", "")


def _sample(name: str) -> InboundMail:
    return parse((DATA / f"{name}.eml").read_bytes(), own_addresses=OWN)


CARE_COPY = _sample("reply_care_from_shared_mailbox_bcc")


def test_care_answering_from_the_shared_mailbox_is_a_persons_answer_to_the_customer() -> None:
    assert care_answer(CARE_COPY, OWN)
    assert addressed_to(CARE_COPY, CUSTOMER)


def test_our_robots_mail_coming_back_is_not() -> None:
    robot = replace(CARE_COPY, headers=(*CARE_COPY.headers, ("x-caredesk-loop", "example.co.id")))
    assert not care_answer(robot, OWN)


@pytest.mark.parametrize(
    "header",
    [("auto-submitted", "auto-replied"), ("precedence", "bulk"), ("list-id", "<pelanggan.example.co.id>")],
)
def test_automatic_mail_from_our_address_is_not(header: tuple[str, str]) -> None:
    assert not care_answer(replace(CARE_COPY, headers=(*CARE_COPY.headers, header)), OWN)


def test_auto_submitted_no_is_a_person() -> None:
    assert care_answer(replace(CARE_COPY, headers=(*CARE_COPY.headers, ("auto-submitted", "no"))), OWN)


def test_only_mail_from_our_own_address_is_cares_from_the_mailbox() -> None:
    assert not care_answer(_sample("complaint_id_gmail_delivery"), OWN)
    assert care_answer(replace(CARE_COPY, from_address="care+t.cc-2026-000001.x@example.co.id"), OWN)


def test_addressed_to_the_customer_in_to_or_cc_whatever_the_case() -> None:
    assert not addressed_to(replace(CARE_COPY, to=("sirkulasi@example.co.id",)), CUSTOMER)
    moved = replace(CARE_COPY, to=("sirkulasi@example.co.id",), cc=("Dewi.Lestari81@Gmail.com",))
    assert addressed_to(moved, CUSTOMER)
    assert addressed_to(
        replace(CARE_COPY, to=("pic@contoh.example.net",)),
        customer_addresses("a@b.c", "pic@contoh.example.net"),
    )
    assert customer_addresses("a@b.c", "") == ("a@b.c",)


def test_the_subject_tag_names_the_ticket() -> None:
    assert subject_reference("Re: [cc-2026-000123] Koran tidak diantar") == "CC-2026-000123"
    assert subject_reference("Re: Koran tidak diantar") is None
