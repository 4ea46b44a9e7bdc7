"""Recognising plain-text bounces: a reporting sender or null return path and words of failure;
a customer who writes about a parcel that was not delivered stays a customer."""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import pytest

from daemon.classify.kinds import Kind, classify
from daemon.classify.plain_bounces import plain_bounce_reason
from daemon.parse.message import InboundMail
from daemon.parse.parser import parse

DATA = Path(__file__).resolve().parents[2] / "data"
CARE = "care@example.co.id"
OWN = (CARE,)

PLAIN = sorted(path.stem for path in DATA.glob("bounce_plain_*.eml"))


def _sample(name: str) -> InboundMail:
    return parse((DATA / f"{name}.eml").read_bytes(), own_addresses=OWN)


def _mail(sender: str, subject: str, body: str, *headers: tuple[str, str]) -> InboundMail:
    message = EmailMessage(policy=SMTP)
    message["From"] = sender
    message["To"] = CARE
    message["Subject"] = subject
    message["Message-ID"] = "<recognise@example.net>"
    for name, value in headers:
        message[name] = value
    message.set_content(body)
    return parse(message.as_bytes(), own_addresses=OWN)


def test_there_are_plain_text_samples_of_each_mta() -> None:
    assert len(PLAIN) >= 10


@pytest.mark.parametrize("sample", PLAIN)
def test_every_plain_text_sample_is_recognised_and_classified_as_a_bounce(sample: str) -> None:
    mail = _sample(sample)
    assert plain_bounce_reason(mail) is not None
    decision = classify(mail, own_addresses=OWN, thread_ticket_id=None)
    assert decision.kind is Kind.BOUNCE


def test_a_bounce_from_the_empty_address_is_a_bounce_not_a_mail_without_sender() -> None:
    mail = _sample("bounce_plain_null_from")
    assert mail.from_address == ""
    assert mail.return_path is None
    assert plain_bounce_reason(mail) == (
        "plain-text bounce: sent from the empty address <>, its subject says delivery failed"
    )
    assert classify(mail, own_addresses=OWN, thread_ticket_id=7).kind is Kind.BOUNCE


def test_a_bounce_from_an_ndr_address_is_a_bounce() -> None:
    reason = plain_bounce_reason(_sample("bounce_plain_exim_ndr"))
    assert reason is not None and "ndr@mail.pabrikroti.example.com" in reason


SUBJECTS = [
    "Undeliverable: [CC-2026-000001] Keluhan Anda",
    "Undelivered Mail Returned to Sender",
    "Mail delivery failed: returning message to sender",
    "failure notice",
    "Returned mail: see transcript for details",
    "Delivery Status Notification (Failure)",
    "DELIVERY FAILURE: User x not listed in Domino Directory",
    "Warning: message 1tQ7pZ-00073b-3e delayed 24 hours",
    "[EXT] Undeliverable: Keluhan",
    "Unzustellbar: Keluhan",
    "Non remis : Keluhan",
    "No se puede entregar: Keluhan",
    "Non recapitabile: Keluhan",
    "Onbestelbaar: Keluhan",
    "Não é possível entregar: Keluhan",
    "Tidak terkirim: Keluhan",
    "Tidak dapat dihantar: Keluhan",
    "配信不能: Keluhan",
    "无法送达: Keluhan",
    "無法傳遞: Keluhan",
    "系统退信",
]


@pytest.mark.parametrize("subject", SUBJECTS)
def test_bounce_subjects_in_many_languages_from_a_reporting_sender(subject: str) -> None:
    mail = _mail("Mail Delivery System <MAILER-DAEMON@mx.example.net>", subject, "See below.\n")
    assert plain_bounce_reason(mail) is not None


@pytest.mark.parametrize(
    "body",
    [
        "This message was created automatically by mail delivery software.\n",
        "Hi. This is the qmail-send program at mx.example.net.\n",
        "Your message did not reach some or all of the intended recipients.\n",
        "Ihre Nachricht konnte nicht zugestellt werden.\n",
        "Votre message n'est pas parvenu à certains destinataires.\n",
        "Pesan Anda tidak dapat dikirim ke penerima berikut.\n",
        "UNDELIVERABLE MAIL\nYour message to the following recipients cannot be delivered:\n",
    ],
)
def test_the_wording_of_a_report_from_a_null_return_path_is_enough(body: str) -> None:
    mail = _mail("Mail Gateway <gateway@mx.example.net>", "Notification", body, ("Return-Path", "<>"))
    assert plain_bounce_reason(mail) == "plain-text bounce: null return-path, its text says delivery failed"


def test_subject_and_technical_text_without_a_reporting_sender_is_a_bounce() -> None:
    mail = _mail(
        "Microsoft Outlook <outlook@corp.example.com>",
        "Undeliverable: [CC-2026-000003] Keluhan",
        "Delivery has failed to these recipients or groups:\n\nlia@corp.example.com\n"
        "Diagnostic information for administrators:\nRemote Server returned '550 5.1.1 User unknown'\n",
    )
    assert plain_bounce_reason(mail) == "plain-text bounce: its subject and text say delivery failed"


def test_a_reporting_name_with_a_bounce_subject_is_a_bounce() -> None:
    mail = _mail('"System Administrator" <admin@corp.example.com>', "Undeliverable: Keluhan", "See below.\n")
    assert plain_bounce_reason(mail) is not None


@pytest.mark.parametrize(
    ("sender", "subject", "body"),
    [
        # Customers writing about deliveries: the words, but no reporting sender and no technical marks.
        ("budi@example.net", "Paket tidak terkirim", "Paket saya tidak dapat dikirim sejak Senin.\n"),
        ("jane@example.org", "Undelivered newspaper", "My paper was not delivered this morning.\n"),
        ("rina@example.net", "Koran tidak datang", "Koran saya undeliverable katanya, tolong dicek.\n"),
        # A customer forwarding a bounce they received is writing to us.
        (
            "andi@example.net",
            "Fwd: Undeliverable: pesanan saya",
            "Tolong dibantu.\n\n---------- Forwarded message ---------\nFrom: postmaster@corp.example\n"
            "Your message did not reach some or all of the intended recipients. 550 5.1.1\n",
        ),
        # A person whose name sounds like a system, writing an ordinary complaint.
        (
            '"System Administrator" <sysadmin@pabrik.example.com>',
            "Keluhan pengiriman",
            "Paket kami undeliverable menurut kurir.\n",
        ),
        # A reporting sender that does not say any delivery failed.
        ("postmaster@example.net", "Pertanyaan tagihan", "Mohon info tagihan bulan ini.\n"),
    ],
)
def test_mail_from_people_is_not_a_plain_text_bounce(sender: str, subject: str, body: str) -> None:
    mail = _mail(sender, subject, body)
    assert plain_bounce_reason(mail) is None


def test_a_complaint_about_an_undelivered_parcel_stays_a_complaint() -> None:
    mail = _mail("budi@example.net", "Paket tidak terkirim", "Paket saya tidak dapat dikirim sejak Senin.\n")
    assert classify(mail, own_addresses=OWN, thread_ticket_id=None).kind is Kind.COMPLAINT
