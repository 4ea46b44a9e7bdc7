"""List server notices, security gateway notices and challenge-response robots are automated mail."""

from __future__ import annotations

from dataclasses import replace

import pytest

from daemon.classify.notices import challenge_response, gateway_notice, list_server_notice
from daemon.parse.message import InboundMail
from tests.unit.classify.people import PERSON


def _subject(subject: str) -> InboundMail:
    return replace(PERSON, subject=subject)


# --- list servers --------------------------------------------------------------------


@pytest.mark.parametrize(
    "subject",
    [
        "Anggota Digest, Vol 48, Issue 7",
        "USRP-users Digest, Vol 106, Issue 21",
        "[Anggota] Anggota Digest, Vol 2, Issue 1",
        "Linux-kernel-daily-digest digest, Vol 1 #171",
        "Digest for pengumuman@googlegroups.com - 5 updates in 2 topics",
        "penerbit-id Digest Number 1234",
    ],
)
def test_list_digest_subjects(subject: str) -> None:
    assert list_server_notice(_subject(subject)) == "mailing list digest subject"


@pytest.mark.parametrize(
    "subject",
    [
        "Loop Alert: message to PENGUMUMAN-L from cs@example.co.id",
        "[PENGUMUMAN-L] Loop alert",
        "Mail loop detected",
        "Mailing list loop warning",
        "Possible mail loop",
    ],
)
def test_loop_alert_subjects(subject: str) -> None:
    assert list_server_notice(_subject(subject)) == "list server notice: loop alert subject"


@pytest.mark.parametrize(
    "subject",
    [
        # a person answering a digest
        "Re: [USRP-users] USRP-users Digest, Vol 106, Issue 21",
        "Re: Anggota Digest, Vol 48, Issue 7",
        "Digest of my complaints so far",
        "Loophole in your refund policy",
        "Keluhan: paket saya berputar-putar (loop) antar gudang",
    ],
)
def test_people_are_no_list_server(subject: str) -> None:
    assert list_server_notice(_subject(subject)) is None


# --- security gateways --------------------------------------------------------------


@pytest.mark.parametrize(
    "subject",
    [
        "End User Digest: 3 New Messages",
        "Proofpoint Essentials Quarantine Digest",
        "Quarantine Summary for cs@example.co.id",
        "Barracuda Networks Quarantine Summary",
        "Spam Quarantine Notification",
        "Cisco Secure Email: Spam Quarantine Notification",
        "Mimecast: Message Held",
        "Message Held for Review: [CC-2026-000304] Keluhan",
        "Messages held for your approval",
        "Microsoft 365 security: You have messages in quarantine",
        "You have 4 new messages in quarantine",
        "[Sophos] Your quarantined messages",
        "Spam Notification: 3 New Messages",
        "Quarantäne-Zusammenfassung",
        "Résumé de la quarantaine",
        "Resumen de cuarentena",
        "Riepilogo quarantena",
        "Quarantaine-overzicht",
        "Resumo da quarentena",
        "Ringkasan karantina email",
        "隔離メール通知",
        "You have received a secure message",
        "You have a new encrypted email",
        "Attachment removed: Lampiran.zip",
        "Anhang entfernt: Rechnung.zip",
        "Lampiran dihapus: faktur.exe",
        "Your message was blocked by the email security policy",
        "Message rejected due to content filter",
        "Pesan Anda diblokir oleh kebijakan keamanan email",
    ],
)
def test_gateway_notice_subjects(subject: str) -> None:
    assert gateway_notice(_subject(subject)) == "security gateway notice subject"


@pytest.mark.parametrize(
    "subject",
    [
        "Quarantine notice for my parcel INV-2201",
        "Paket tertahan di karantina pertanian",
        "Pemberitahuan karantina untuk kiriman bibit",
        "My parcel is held in customs quarantine",
        "Re: Message held for review",
        "Spam notification dari aplikasi kalian tiap jam",
        "Attachment removed from my order confirmation?",
        "Pesan saya diblokir, tidak bisa chat CS",
        "Your message was blocked, so I am writing by email",
    ],
)
def test_customers_writing_about_quarantine_are_no_gateway(subject: str) -> None:
    assert gateway_notice(_subject(subject)) is None


def test_gateway_headers_with_quarantine_words_anywhere_are_a_notice() -> None:
    mail = replace(
        PERSON,
        subject="[EXTERNAL] cs@example.co.id: 2 quarantined messages",
        headers=(("x-barracuda-connect", "gw.example[192.0.2.9]"),),
    )

    assert gateway_notice(mail) == "security gateway notice: barracuda headers and quarantine subject"


def test_gateway_headers_alone_are_no_notice() -> None:
    # Gateways stamp every mail they pass, a customer's complaint too.
    mail = replace(
        PERSON,
        subject="Paket tertahan di karantina, mohon dibantu",
        headers=(("x-proofpoint-spam-details", "rule=notspam"), ("x-ironport-av", "E=Sophos")),
    )

    assert gateway_notice(mail) is None


# --- challenge-response -------------------------------------------------------------


@pytest.mark.parametrize(
    "subject",
    [
        "Please confirm you are human - [CC-2026-000307] Keluhan",
        "Please confirm that you are a real person",
        "Please confirm your message",
        "Sender verification required",
        "Verify your email to deliver your message",
        "Your message is awaiting verification",
        "Re: [CC-2026-000307] Keluhan [Verification Required]",
        "Budi Santoso (cs@example.co.id) is not on my Guest List",
        "Request to join Budi's guest list",
        "Verifikasi pengirim: mohon konfirmasi bahwa Anda manusia",
        "Mohon konfirmasi bahwa Anda manusia",
        "Absenderverifizierung erforderlich",
        "Vérification de l'expéditeur",
        "Verificación del remitente",
        "Verifica del mittente",
        "Afzenderverificatie",
        "Verificação do remetente",
    ],
)
def test_challenge_response_subjects(subject: str) -> None:
    assert challenge_response(_subject(subject)) == "challenge-response subject"


def test_a_tmda_confirmation_address_in_reply_to_is_a_challenge() -> None:
    mail = replace(PERSON, reply_to=("bayu-confirm-1795422300.28011.9f3c2a@toko-kain.example",))

    assert challenge_response(mail) == (
        "challenge-response: reply-to bayu-confirm-1795422300.28011.9f3c2a@toko-kain.example"
    )


def test_a_text_asking_to_verify_before_delivery_is_a_challenge() -> None:
    text = (
        "I protect my inbox with sender verification. Your message has been held and\n"
        "will be delivered once you confirm you are human. Click the link below."
    )

    assert challenge_response(replace(PERSON, text=text)) == (
        "challenge-response: text asks to verify before delivery"
    )


@pytest.mark.parametrize(
    "text",
    [
        # a customer quoting the captcha of a web form
        'Situs kalian bilang "please confirm you are human" lalu error terus.',
        "Every time I log in it asks me to verify your email address, then nothing happens.",
        # a customer saying our message arrived late
        "Your message was held by my spam filter, so I saw it late. My parcel is still missing.",
    ],
)
def test_customers_who_quote_a_captcha_are_not_challenges(text: str) -> None:
    assert challenge_response(replace(PERSON, subject="Keluhan website", text=text)) is None


@pytest.mark.parametrize(
    "subject",
    [
        "Please confirm my refund",
        "Re: Please confirm you are human",
        "Verification required for my account but no OTP arrives",
    ],
)
def test_customers_asking_for_confirmation_are_not_challenges(subject: str) -> None:
    assert challenge_response(_subject(subject)) is None
