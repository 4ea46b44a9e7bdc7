"""Localised auto-reply and non-delivery subjects count only where they start the subject."""

from __future__ import annotations

import unicodedata

import pytest

from daemon.classify.subjects import non_delivery_subject, out_of_office_subject


@pytest.mark.parametrize(
    "subject",
    [
        # English (Outlook, Exchange, Lotus)
        "Automatic reply: [CC-2026-000125] Keluhan",
        "Out of Office AutoReply: Keluhan",
        "Auto-Reply: Keluhan",
        "[Auto Reply] Di luar kantor",
        # Indonesian and Malay
        "Balasan otomatis: Keluhan",
        "Balasan automatik: Aduan",
        "Jawapan automatik: Aduan penghantaran",
        "Di luar kantor: [CC-2026-000125] Keluhan",
        "Di luar pejabat (kembali 30 Nov)",
        "Sedang Cuti: [CC-2026-000125] Keluhan",
        "Pesan Otomatis: [CC-2026-000125] Keluhan",
        # German
        "Abwesenheitsnotiz: Beschwerde",
        "Automatische Antwort: [CC-2026-000125] Keluhan",
        "Autom. Antwort: Keluhan",
        "Abwesend: Keluhan",
        "Abwesenheit: Keluhan",
        # French, also unaccented
        "Réponse automatique : Réclamation",
        "Reponse automatique: Reclamation",
        "Absent du bureau : Keluhan",
        "Message d'absence",
        # Spanish
        "Respuesta automática: Reclamación",
        "Fuera de la oficina: Keluhan",
        # Italian
        "Risposta automatica: Reclamo",
        "Fuori sede: Keluhan",
        # Dutch
        "Automatisch antwoord: Klacht",
        "Afwezig: Keluhan",
        "Afwezigheidsbericht: Keluhan",
        # Portuguese
        "Resposta automática: Reclamação",
        "Ausente do escritório: Keluhan",
        "Ausência temporária: Keluhan",
        # Japanese and Chinese, with their brackets
        "自動応答: [CC-2026-000125] Keluhan",
        "【自動返信】Re: [CC-2026-000125] Keluhan",
        "不在通知 [CC-2026-000125]",
        "自动回复: [CC-2026-000125] Keluhan",
        "自動回覆: [CC-2026-000125] Keluhan",
        "[自动答复] Keluhan",
    ],
)
def test_auto_reply_subjects_in_each_language(subject: str) -> None:
    assert out_of_office_subject(subject)


@pytest.mark.parametrize(
    "subject",
    [
        "Auto service mobil tidak memuaskan",
        "Out of office hours support tidak dijawab",
        "Re: Automatic renewal charged twice",
        "Keluhan: balasan otomatis kalian tidak membantu",
        "Mobil automatic transmission rusak setelah servis",
        "Automatic transmission fluid leaking after service",
        "Re: Réponse automatique de votre service client",
        "Fwd: Abwesenheitsnotiz",
        "Keluhan tentang 自动回复 kalian",
        "Afwezig bezorger, pakket niet ontvangen",
        "Auto reply kalian tidak membantu",
        "Sedang cuti kurirnya? Paket belum datang",
    ],
)
def test_complaints_that_mention_auto_reply_words_are_not_auto_replies(subject: str) -> None:
    assert not out_of_office_subject(subject)


@pytest.mark.parametrize(
    "subject",
    [
        # English: Exim, Postfix, Gmail, Sendmail, qmail, Lotus
        "Mail delivery failed: returning message to sender",
        "Undelivered Mail Returned to Sender",
        "Undeliverable mail: [CC-2026-000130] Keluhan",
        "Delivery Status Notification (Failure)",
        "Delivery Status Notification (Delay)",
        "Returned mail: see transcript for details",
        "failure notice",
        "Mail System Error - Returned Mail",
        "Delivery Notification: Delivery has failed",
        "Non-delivery report: [CC-2026-000130] Keluhan",
        "Warning: could not send message for past 4 hours",
        # French
        "Non remis : [CC-2026-000306] Keluhan",
        "Message non remis",
        "Échec de la remise du message",
        "Notification d'état de distribution (échec)",
        # German
        "Unzustellbar: [CC-2026-000310] Keluhan",
        "Nicht zustellbar: Keluhan",
        "Unzustellbare Nachricht",
        "Mail-Zustellung fehlgeschlagen",
        # Spanish
        "No entregado: [CC-2026-000130] Keluhan",
        "No se puede entregar: Keluhan",
        "Notificación de estado de entrega (error)",
        # Italian
        "Non recapitabile: [CC-2026-000130] Keluhan",
        "Messaggio non recapitato",
        "Mancato recapito del messaggio",
        "Mancato recapito: Keluhan",
        # Dutch
        "Onbestelbaar: [CC-2026-000130] Keluhan",
        "Bericht niet bezorgd",
        # Portuguese
        "Não entregue: [CC-2026-000130] Keluhan",
        "Mensagem não entregue",
        "Notificação de status de entrega (falha)",
        # Indonesian and Malay
        "Tidak terkirim: [CC-2026-000313] Keluhan",
        "Tidak dapat dikirim: Keluhan",
        "Pemberitahuan Status Pengiriman (Kegagalan)",
        "Tidak dapat dihantar: Aduan",
        "Gagal dihantar: Aduan",
        # Japanese and Chinese
        "配信不能: [CC-2026-000130] Keluhan",
        "メール配信エラー",
        "系统退信: [CC-2026-000312] Keluhan",
        "退信通知",
        "无法投递: [CC-2026-000130] Keluhan",
        "無法傳遞: [CC-2026-000130] Keluhan",
        "邮件投递失败",
    ],
)
def test_non_delivery_subjects_in_each_language(subject: str) -> None:
    assert non_delivery_subject(subject)


@pytest.mark.parametrize(
    "subject",
    [
        # a courier's customers write about parcels in the robots' words
        "Paket tidak terkirim sudah 2 minggu",
        "Tidak terkirim paket saya, resi JP1234",
        "Undeliverable: paket saya dikembalikan",
        "Delivery failure on order INV-2201",
        "Colis non remis depuis une semaine",
        "Keluhan: non remis",
        "Zustellung fehlgeschlagen, Paket zurück",
        "Unzustellbar",
        "Mancato recapito pacco",
        "No entregado el paquete",
        "包裹无法投递",
        "无法投递的包裹",
        # replies and forwards of a bounce come from a person
        "Re: Mail delivery failed: returning message to sender",
        "Fwd: Undelivered Mail Returned to Sender",
        "AW: Unzustellbar: Keluhan",
    ],
)
def test_complaints_about_deliveries_are_not_non_delivery_reports(subject: str) -> None:
    assert not non_delivery_subject(subject)


def test_decomposed_accents_and_full_width_colons_are_normalised() -> None:
    decomposed = unicodedata.normalize("NFD", "Réponse automatique : Réclamation")

    assert decomposed != "Réponse automatique : Réclamation"
    assert out_of_office_subject(decomposed)
    assert non_delivery_subject("无法投递：[CC-2026-000130] Keluhan")
    assert non_delivery_subject("Non remis\u00a0: [CC-2026-000306] Keluhan")
