"""Which language the customer wrote in decides the order of the bilingual reply."""

from __future__ import annotations

import pytest

from daemon.parse import language
from daemon.parse.language import detect_language


@pytest.mark.parametrize(
    "text",
    [
        "Keluhan pengiriman\nKoran kami tidak diantar sejak hari Senin, mohon segera dicek.",
        "Tagihan ganda\nSaya sudah membayar tetapi tagihan masih muncul di akun kami.",
        "Printer error\nPrinter di kantor kami rusak lagi, teknisi belum datang.",
    ],
)
def test_indonesian_complaints_are_indonesian(text: str) -> None:
    assert detect_language(text) == "id"


@pytest.mark.parametrize(
    "text",
    [
        "Incorrect invoice\nWe have been charged twice for the October subscription.",
        "Late delivery\nMy order has not arrived yet. Please help.",
        "Hi, the newspaper was not delivered to our office this week. Thanks",
    ],
)
def test_english_complaints_are_english(text: str) -> None:
    assert detect_language(text) == "en"


def test_indonesian_mail_with_english_product_words_stays_indonesian() -> None:
    text = "Re: Login error di aplikasi\nSaya tidak bisa login, muncul pesan 'Invalid password'."

    assert detect_language(text) == "id"


@pytest.mark.parametrize("text", ["", "INV-2026-10-0042", "OK", "Printer error 0x80070005"])
def test_unclear_text_defaults_to_indonesian(text: str) -> None:
    assert detect_language(text) == "id"


def test_stopword_lists_do_not_overlap() -> None:
    assert not language._INDONESIAN & language._ENGLISH
