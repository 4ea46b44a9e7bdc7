"""The robot signals of issue 14, asked through `automated_reason`: each names what decided it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from daemon.classify.automated import automated_reason, is_bounce
from tests.unit.classify.people import PERSON


@pytest.mark.parametrize(
    "header",
    ["X-Mailman-Version", "X-BeenThere", "X-List-Administrivia", "X-Listserver", "X-ML-Name"],
)
def test_list_server_headers_without_list_headers_are_list_mail(header: str) -> None:
    mail = replace(PERSON, headers=((header.lower(), "yes"),))

    assert automated_reason(mail) == f"mailing list: {header.lower()}"


@pytest.mark.parametrize(
    "address",
    [
        "anggota-request@lists.example.org",
        "anggota-admin@lists.example.org",
        "anggota-bounces@lists.example.org",
        "anggota-owner@lists.example.org",
        "owner-anggota@lists.example.org",
        "ndr@mail.hosting-awan.example",
        "bounce-7781@news.toko.example",
        "no_reply@shop.example",
        "do_not_reply@bank.example",
        "noreplies@shop.example",
        "abuse@webmail-nusantara.example",
    ],
)
def test_new_robot_senders_are_automated(address: str) -> None:
    assert automated_reason(replace(PERSON, from_address=address)) == f"automated sender: {address}"


def test_a_robot_return_path_counts_and_a_people_address_does_not() -> None:
    verp = replace(PERSON, return_path="bounces+12345-abcd-budi=pelanggan.id@em.esp.example")

    assert automated_reason(verp) == "automated sender: bounces+12345-abcd-budi=pelanggan.id@em.esp.example"
    assert automated_reason(replace(PERSON, from_address="bounce.fan@gmail.com")) is None


def test_a_feedback_report_says_abuse_report_before_delivery_report() -> None:
    mail = replace(
        PERSON,
        content_type="multipart/report",
        headers=(("content-type", "multipart/report; report-type=feedback-report; boundary=b"),),
    )

    assert automated_reason(mail) == "abuse report: feedback-report (ARF)"
    assert not is_bounce(mail)


def test_list_headers_are_named_before_the_list_servers_return_path() -> None:
    mail = replace(PERSON, return_path="anggota-bounces@lists.example.org", headers=(("list-id", "<a.b>"),))

    assert automated_reason(mail) == "mailing list: list-id"


@pytest.mark.parametrize(
    ("subject", "reason"),
    [
        ("Anggota Digest, Vol 48, Issue 7", "mailing list digest subject"),
        ("Loop Alert: message to PENGUMUMAN-L", "list server notice: loop alert subject"),
        ("Spam complaint regarding 198.51.100.25", "abuse report subject"),
        ("End User Digest: 3 New Messages", "security gateway notice subject"),
        ("Please confirm you are human", "challenge-response subject"),
        ("Respuesta automática: Reclamación", "out-of-office subject"),
        ("Mail delivery failed: returning message to sender", "non-delivery subject"),
        ("Non remis : [CC-2026-000306] Keluhan", "non-delivery subject"),
        ("自动回复: [CC-2026-000125] Keluhan", "out-of-office subject"),
        ("配信不能: [CC-2026-000125] Keluhan", "non-delivery subject"),
    ],
)
def test_subjects_alone_decide_with_their_reason(subject: str, reason: str) -> None:
    assert automated_reason(replace(PERSON, subject=subject)) == reason


@pytest.mark.parametrize(
    "subject",
    [
        "Auto service mobil tidak memuaskan",
        "Mobil automatic transmission rusak setelah servis",
        "Colis non remis depuis une semaine",
        "Paket tidak terkirim sudah 2 minggu",
        "Re: Anggota Digest, Vol 48, Issue 7",
        "Keluhan spam SMS dari kurir",
        "Paket tertahan di karantina pertanian",
    ],
)
def test_a_customer_mentioning_robot_words_is_still_a_person(subject: str) -> None:
    assert automated_reason(replace(PERSON, subject=subject)) is None
