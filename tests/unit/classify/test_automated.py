"""Automated mail is recognised, with a reason, so it is never answered or made a ticket."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.classify.automated import automated_reason, is_bounce
from daemon.parse.message import InboundMail
from daemon.parse.parser import parse

DATA = Path(__file__).resolve().parents[2] / "data"
OWN = ("cs@example.co.id", "bounces@example.co.id")


def _sample(name: str) -> InboundMail:
    return parse((DATA / f"{name}.eml").read_bytes(), own_addresses=OWN)


def _mail(
    *headers: tuple[str, str],
    from_address: str = "budi@pelanggan.id",
    subject: str = "Keluhan pengiriman",
    content_type: str = "text/plain",
    return_path: str | None = None,
) -> InboundMail:
    return InboundMail(
        message_id="<1@pelanggan.id>",
        message_id_synthetic=False,
        from_address=from_address,
        from_name="",
        to=("cs@example.co.id",),
        cc=(),
        reply_to=(),
        return_path=return_path,
        subject=subject,
        date=None,
        text="",
        new_text="",
        content_type=content_type,
        headers=tuple((name.lower(), value) for name, value in headers),
    )


# --- the sample mails ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("sample", "reason"),
    [
        ("out_of_office_auto_submitted", "auto-submitted: auto-replied"),
        ("out_of_office_exchange_subject_only", "out-of-office subject"),
        ("bounce_dsn_postfix", "delivery report: delivery-status"),
        ("bounce_exchange", "delivery report: delivery-status"),
        ("bounce_truncated_headers_only_original", "delivery report: delivery-status"),
        ("list_mail", "mailing list: list-id"),
    ],
)
def test_automated_samples_are_never_answered(sample: str, reason: str) -> None:
    assert automated_reason(_sample(sample), OWN) == reason


@pytest.mark.parametrize(
    "sample",
    [
        "complaint_id_plain",
        "complaint_en_html_only",
        "complaint_with_attachment",
        "reply_outlook_no_in_reply_to",
        "reply_gmail_id",
        "no_message_id",
        "unknown_charset",
    ],
)
def test_mail_from_people_is_not_automated(sample: str) -> None:
    mail = _sample(sample)

    assert automated_reason(mail, OWN) is None
    assert not is_bounce(mail)


@pytest.mark.parametrize(
    "sample", ["bounce_dsn_postfix", "bounce_exchange", "bounce_truncated_headers_only_original"]
)
def test_delivery_failures_are_bounces(sample: str) -> None:
    assert is_bounce(_sample(sample))


def test_out_of_office_reply_is_not_a_bounce() -> None:
    assert not is_bounce(_sample("out_of_office_auto_submitted"))


# --- each rule ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("auto-replied", "auto-submitted: auto-replied"),
        ("auto-generated", "auto-submitted: auto-generated"),
        ("auto-notified", "auto-submitted: auto-notified"),
        ("Auto-Replied (vacation)", "auto-submitted: auto-replied"),
        ("", "auto-submitted: (empty)"),
        ("no", None),
        ("No ; comment", None),
    ],
)
def test_any_auto_submitted_value_but_no_is_automated(value: str, reason: str | None) -> None:
    assert automated_reason(_mail(("Auto-Submitted", value))) == reason


@pytest.mark.parametrize("report_type", ["delivery-status", "disposition-notification"])
def test_every_multipart_report_is_a_delivery_report(report_type: str) -> None:
    mail = _mail(
        ("Content-Type", f'multipart/report; report-type="{report_type}"; boundary="x"'),
        content_type="multipart/report",
    )

    assert automated_reason(mail) == f"delivery report: {report_type}"
    assert is_bounce(mail) == (report_type == "delivery-status")


def test_null_return_path_is_automated() -> None:
    assert automated_reason(_mail(return_path="")) == "null return-path"


def test_null_return_path_with_a_daemon_sender_is_a_bounce() -> None:
    mail = _mail(("Sender", "MAILER-DAEMON@mx.example.net"), return_path="")

    assert is_bounce(mail)
    assert not is_bounce(_mail(return_path=""))


@pytest.mark.parametrize("value", ["bulk", "junk", "list", "auto_reply", " Bulk "])
def test_bulk_precedence_is_automated(value: str) -> None:
    assert automated_reason(_mail(("Precedence", value))) == f"precedence: {value.strip().lower()}"


def test_first_class_precedence_is_not_automated() -> None:
    assert automated_reason(_mail(("Precedence", "first-class"))) is None


@pytest.mark.parametrize(
    "header",
    [
        "List-Id",
        "List-Unsubscribe",
        "List-Post",
        "List-Help",
        "List-Owner",
        "List-Archive",
        "Mailing-List",
        "X-Mailing-List",
    ],
)
def test_mailing_list_headers_are_automated(header: str) -> None:
    assert automated_reason(_mail((header, "<x>"))) == f"mailing list: {header.lower()}"


@pytest.mark.parametrize("header", ["X-Autoreply", "X-Autorespond"])
def test_autoreply_headers_are_automated(header: str) -> None:
    assert automated_reason(_mail((header, "yes"))) == f"auto-reply header: {header.lower()}"


def test_auto_response_suppress_alone_is_not_automated() -> None:
    # It asks us not to auto-reply; a person sent it and it is still a complaint.
    assert automated_reason(_mail(("X-Auto-Response-Suppress", "All"))) is None


def test_feedback_id_marks_bulk_mail() -> None:
    assert automated_reason(_mail(("Feedback-ID", "1:campaign:esp"))) == "bulk sender: feedback-id"


@pytest.mark.parametrize(
    "address",
    [
        "mailer-daemon@mx.example.net",
        "MAILER_DAEMON@mx.example.net",
        "postmaster@example.net",
        "noreply@shop.example",
        "no-reply@shop.example",
        "no.reply@shop.example",
        "donotreply@bank.example",
        "do-not-reply@bank.example",
    ],
)
def test_robot_senders_are_automated(address: str) -> None:
    assert automated_reason(_mail(from_address=address)) == f"automated sender: {address.lower()}"


def test_robot_sender_header_and_return_path_count_too() -> None:
    sender = _mail(("Sender", "Shop <NoReply@shop.example>"))
    envelope = _mail(return_path="no-reply@shop.example")

    assert automated_reason(sender) == "automated sender: noreply@shop.example"
    assert automated_reason(envelope) == "automated sender: no-reply@shop.example"


def test_exim_failed_recipients_is_a_bounce() -> None:
    mail = _mail(("X-Failed-Recipients", "budi@pelanggan.id"))

    assert automated_reason(mail) == "bounce: x-failed-recipients"
    assert is_bounce(mail)


def test_mail_from_mailer_daemon_is_a_bounce() -> None:
    assert is_bounce(_mail(from_address="mailer-daemon@mx.example.net"))
    assert not is_bounce(_mail(from_address="noreply@shop.example"))


def test_our_own_address_is_our_own_mail() -> None:
    mail = _mail(from_address="cs@example.co.id")

    assert automated_reason(mail, ["CS@Example.co.id"]) == "our own mail"
    assert automated_reason(mail) is None


def test_our_loop_header_is_our_own_mail() -> None:
    assert automated_reason(_mail(("X-Caredesk-Loop", "example.co.id"))) == "our own mail"


@pytest.mark.parametrize(
    "subject",
    [
        "Automatic reply: [CC-2026-000125] Keluhan",
        "Auto: Keluhan pengiriman",
        "AutoReply: Keluhan",
        "Out of Office: Keluhan",
        "Out of Office AutoReply: Keluhan",
        "Out of office",
        "Balasan otomatis: Keluhan",
        "Balasan Otomatis: [CC-2026-000125] Keluhan",
        "Sedang di luar kantor",
        "Abwesenheitsnotiz: Beschwerde",
        "Réponse automatique : Réclamation",
        "Autosvar: Klagomål",
    ],
)
def test_localised_out_of_office_subjects_are_automated(subject: str) -> None:
    assert automated_reason(_mail(subject=subject)) == "out-of-office subject"


@pytest.mark.parametrize(
    "subject",
    [
        "Auto service mobil tidak memuaskan",
        "Out of office hours support tidak dijawab",
        "Re: Automatic renewal charged twice",
        "Keluhan: balasan otomatis kalian tidak membantu",
    ],
)
def test_complaints_that_merely_mention_auto_words_are_not_automated(subject: str) -> None:
    assert automated_reason(_mail(subject=subject)) is None
