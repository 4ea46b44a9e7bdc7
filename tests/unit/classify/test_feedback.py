"""Abuse complaints and feedback reports are automated mail, in every shape they come in."""

from __future__ import annotations

from dataclasses import replace

import pytest

from daemon.classify.feedback import abuse_report_reason
from daemon.parse.message import Attachment
from tests.unit.classify.people import PERSON

_ARF_FIELDS = """Feedback-Type: abuse
User-Agent: WNFBL/2.4
Version: 1
Original-Mail-From: <bounces+ack.301.5c1e@example.co.id>
Reported-Domain: example.co.id
"""


def test_an_rfc_5965_report_is_an_abuse_report() -> None:
    mail = replace(
        PERSON,
        content_type="multipart/report",
        headers=(("content-type", 'multipart/report; report-type="feedback-report"; boundary="b"'),),
    )

    assert abuse_report_reason(mail) == "abuse report: feedback-report (ARF)"


def test_a_delivery_status_report_is_no_abuse_report() -> None:
    mail = replace(
        PERSON,
        content_type="multipart/report",
        headers=(("content-type", "multipart/report; report-type=delivery-status; boundary=b"),),
    )

    assert abuse_report_reason(mail) is None


def test_a_feedback_report_part_in_another_container_counts() -> None:
    part = Attachment(
        filename="report", content_type="message/feedback-report", size=1, sha256="0", payload=b""
    )

    assert (
        abuse_report_reason(replace(PERSON, attachments=(part,)))
        == "abuse report: message/feedback-report part"
    )


def test_x_arf_counts() -> None:
    mail = replace(PERSON, headers=(("x-arf", "YES"),))

    assert abuse_report_reason(mail) == "abuse report: x-arf"


def test_a_flattened_report_is_known_by_its_fields() -> None:
    mail = replace(PERSON, text="A user marked your mail as spam.\n\n" + _ARF_FIELDS)

    assert abuse_report_reason(mail) == "abuse report: feedback-type field in the text"


def test_feedback_type_alone_is_not_enough() -> None:
    mail = replace(PERSON, text="Formulir kami punya kolom\nFeedback-Type: abuse\nTolong diperbaiki.")

    assert abuse_report_reason(mail) is None


@pytest.mark.parametrize(
    "subject",
    [
        "Abuse report: spam from 198.51.100.25",
        "Abuse complaint for example.co.id",
        "Spam complaint regarding 198.51.100.25",
        "[HA-558213] Spam complaint regarding 198.51.100.25",
        "[Abuse #4471] Unsolicited mail from your network",
        "Notice of abuse: 198.51.100.25",
        "Email Feedback Report for IP 198.51.100.25",
        "complaint about message from 198.51.100.25",
        "[SpamCop (https://www.spamcop.example/sc?id=z1893124) id:7341227119]Keluhan Anda telah kami terima",
        "Missbrauchsmeldung: 198.51.100.25",
        "Spam-Beschwerde zu example.co.id",
        "Signalement d'abus : 198.51.100.25",
        "Plainte pour spam",
        "Denuncia de abuso: 198.51.100.25",
        "Queja por spam",
        "Segnalazione di abuso",
        "Misbruikmelding 198.51.100.25",
        "Denúncia de abuso",
        "Reclamação de spam",
        "Laporan penyalahgunaan jaringan dari 198.51.100.25",
        "Aduan penyalahgunaan e-mel",
        "迷惑メール報告: 198.51.100.25",
        "垃圾邮件投诉: 198.51.100.25",
        "濫用舉報",
    ],
)
def test_abuse_desk_subjects_in_several_languages(subject: str) -> None:
    assert abuse_report_reason(replace(PERSON, subject=subject)) == "abuse report subject"


@pytest.mark.parametrize(
    "subject",
    [
        "Keluhan spam SMS dari kurir",
        "Laporan penyalahgunaan data pribadi oleh kurir",
        "Abuse of power by your courier",
        "Re: Abuse report",
        "Complaint about spam calls from your sales team",
        "Saya menerima spam complaint palsu",
        "Complaint about message from your courier",
    ],
)
def test_customers_writing_about_spam_or_abuse_are_not_abuse_desks(subject: str) -> None:
    assert abuse_report_reason(replace(PERSON, subject=subject)) is None
