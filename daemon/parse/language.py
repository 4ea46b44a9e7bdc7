"""Which language a customer wrote in: Indonesian ('id') or English ('en').

This module owns `detect_language`. Customer-facing mail is bilingual with
Indonesian first unless the customer wrote in English, so the only question is
"is this clearly English?". Function words (and a few fixed phrases of mail
etiquette) are counted; content words are not, because product names, English
loan words and quoted error messages appear in Indonesian mail all the time.
When the evidence is thin or even, the answer is Indonesian: the organisation
and most of its customers are Indonesian.
"""

from __future__ import annotations

import re


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_INDONESIAN = _words(
    """
    yang dan di ke dari ini itu dengan untuk pada adalah tidak tak belum sudah telah
    akan sedang masih juga atau tetapi tapi namun karena sehingga agar supaya jika
    kalau apabila bila maka saat ketika sejak hingga sampai oleh bagi tentang dalam
    atas bawah antara kepada terhadap seperti sebagai secara serta bahwa saya kami
    kita anda bapak ibu bpk mereka dia ia beliau kamu nya kok sih dong ya tolong
    mohon harap terima kasih hormat salam selamat pagi siang sore malam sekali
    sangat lebih paling hanya saja bisa dapat harus perlu ingin mau ada apa
    bagaimana mengapa kenapa kapan dimana mana siapa berapa sini sana situ lagi
    pun lah kah juga para setiap semua banyak beberapa sebuah seorang hal
    tersebut kepada mengenai terkait hari bulan tahun sudah baru lalu kemarin besok
    """
)

_ENGLISH = _words(
    """
    the a an and or but of to in on at for with from by about as into onto than
    that this these those there here is are was were be been being am do does
    did done have has had having will would shall should can could may might must
    not no yes i me my mine we us our ours you your yours he him his she her
    they them their it its which who whom whose what when where why how if then
    because so since until while after before please thank thanks dear regards
    sincerely kind best hello hi morning afternoon evening again already still
    yet also very just only any some all every each other such our ourselves
    """
)

_WORD = re.compile(r"[a-z]+")
# Enough text to decide on; a long mail's language does not change halfway.
_SAMPLE_CHARS = 4000
_MIN_EVIDENCE = 2


def detect_language(text: str) -> str:
    """Return 'en' when `text` is clearly English, else 'id'."""
    words = _WORD.findall(text[:_SAMPLE_CHARS].lower())
    # The lists share no word, so the two counts are independent.
    indonesian = sum(map(_INDONESIAN.__contains__, words))
    english = sum(map(_ENGLISH.__contains__, words))
    if english >= _MIN_EVIDENCE and english > indonesian:
        return "en"
    return "id"
