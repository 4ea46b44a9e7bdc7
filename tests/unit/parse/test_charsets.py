"""The decoding rule: declared labels read as their supersets, UTF-8 first, detection, the fallback."""

from __future__ import annotations

import email
import email.policy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.parse.charsets import (
    candidates,
    charset_hints,
    charset_note,
    codec_name,
    decode_header_bytes,
    decode_text,
    is_scalar_text,
    scalar_text,
)

# --- labels ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "codec"),
    [
        ("UTF-8", "utf-8"),
        ('"utf-8"', "utf-8"),
        ("GB2312", "gb2312"),
        ("x-gbk", "gbk"),
        ("ks_c_5601-1987", "euc_kr"),
        ("windows-31j", "cp932"),
        ("_iso-2022-jp$ESC", "iso2022_jp"),
        ("windows-874", "cp874"),
        ("us-ascii", "ascii"),
        ("utf-8*en", "utf-8"),
    ],
)
def test_mail_labels_name_their_codec(label: str, codec: str) -> None:
    assert codec_name(label) == codec


@pytest.mark.parametrize(
    "label",
    [None, "", "unknown-8bit", "x-unknown-bogus", "utf\x008", "base64", "rot13", "unicode-escape", "idna"],
)
def test_labels_that_name_no_text_encoding_count_as_none(label: str | None) -> None:
    assert codec_name(label) is None


@pytest.mark.parametrize(
    ("label", "first"),
    [
        ("gb2312", "gb18030"),
        ("gbk", "gb18030"),
        ("iso-8859-1", "cp1252"),
        ("latin1", "cp1252"),
        ("us-ascii", "cp1252"),
        ("big5", "big5hkscs"),
        ("ks_c_5601-1987", "cp949"),
        ("euc-kr", "cp949"),
        ("shift_jis", "cp932"),
        ("iso-2022-jp", "iso2022_jp_ext"),
        ("iso-8859-9", "cp1254"),
        ("tis-620", "cp874"),
        ("utf-8", "utf-8"),
    ],
)
def test_a_legacy_label_is_read_as_its_superset_first(label: str, first: str) -> None:
    found = candidates(codec_name(label))
    assert found[0] == first
    assert found[-1] == codec_name(label)


# --- bodies in a superset of their label --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "written", "label"),
    [
        ("总理朱镕基、王喆、张堃，生僻字䶮，金额 €1,280", "gb18030", "gb2312"),
        ("這個喆字", "gbk", "gb2312"),
        ("我哋訂嘅貨仲未嚟，派咗喺邊度", "big5hkscs", "big5"),
        ("똠방각하 햏 뷁 · 안녕하세요", "cp949", "ks_c_5601-1987"),
        ("①②㈱№Ⅲ 髙橋 﨑", "cp932", "shift_jis"),
        ("“Smart quotes” – €5 … ‰", "cp1252", "iso-8859-1"),
        ("“Smart quotes” – €5", "cp1252", "us-ascii"),
        ("Şikayet: ğüşıöç", "cp1254", "iso-8859-9"),
    ],
)
def test_text_in_the_superset_of_its_label_is_read_whole(text: str, written: str, label: str) -> None:
    decoded = decode_text(text.encode(written), label)
    assert decoded.text == text
    assert decoded.replaced == 0
    assert decoded.label_used


def test_iso_2022_jp_with_windows_extension_rows_is_read() -> None:
    # ① is row 13 (NEC) in ISO-2022-JP as Outlook writes it; no Python codec reads it.
    data = b"\x1b$B-!@A5a=q\x1b(B \x1b(I1\x1b(B"
    assert decode_text(data, "iso-2022-jp").text == "①請求書 ｱ"
    assert decode_text("お問い合わせ".encode("iso2022_jp"), "ISO-2022-JP").text == "お問い合わせ"


def test_an_unlabelled_iso_2022_jp_header_is_recognised_by_its_escapes() -> None:
    assert decode_header_bytes("件名です".encode("iso2022_jp")) == "件名です"


# --- mislabelled text ---------------------------------------------------------------------------


def test_utf8_labelled_latin1_is_read_as_utf8() -> None:
    decoded = decode_text("Grüße aus München – 340 €".encode(), "iso-8859-1")
    assert decoded.text == "Grüße aus München – 340 €"
    assert not decoded.label_used


def test_latin_text_labelled_utf8_falls_back_to_windows_1252_not_to_replacement() -> None:
    decoded = decode_text("Café, déjà vu — “ok”".encode("cp1252"), "utf-8")
    assert decoded.text == "Café, déjà vu — “ok”"
    assert decoded.charset == "cp1252"


def test_utf8_with_one_damaged_byte_keeps_its_label_and_one_replacement() -> None:
    text = "中文测试" * 60
    data = text.encode()[:-1] + "。".encode()
    decoded = decode_text(data, "utf-8")
    assert decoded.replaced == 1
    assert decoded.text == "中文测试" * 59 + "中文测\ufffd。"


def test_utf8_with_pasted_windows_1252_bytes_reads_both() -> None:
    assert decode_text("Réf. ".encode() + b"\x93urgent\x94", "utf-8").text == "Réf. “urgent”"
    assert decode_text(b"J\xf6rg \xc3\xa9 24").text == "Jörg é 24"


def test_gbk_labelled_utf8_is_not_read_as_utf8_with_stray_bytes() -> None:
    # Some GBK pairs are valid UTF-8; the rest of the text shows they are not.
    text = "您好，我们的订单出现了问题，请尽快联系我们"
    assert decode_text(text.encode("gbk"), "utf-8").text == text


def test_mostly_undecodable_text_is_detected_not_replaced() -> None:
    # Shift_JIS labelled UTF-8 by a misconfigured server: UTF-8 fails on most of it.
    text = "お世話になっております。ご注文の商品がまだ届いておりません。至急ご確認ください。"
    decoded = decode_text(text.encode("shift_jis"), "utf-8")
    assert decoded.text == text
    assert "\ufffd" not in decoded.text
    assert not decoded.label_used


def test_cyrillic_without_a_label_is_detected() -> None:
    text = "Здравствуйте, заказ не пришёл. Пожалуйста, проверьте доставку."
    assert decode_text(text.encode("cp1251")).text == text


def test_short_latin_bytes_without_a_label_are_windows_1252() -> None:
    assert decode_text(b"Tagihan ganda \xe9\xe8\xff untuk").text == "Tagihan ganda éèÿ untuk"


def test_the_fallback_never_replaces_a_byte() -> None:
    data = bytes(range(256))
    decoded = decode_text(data, "utf-8")
    assert "\ufffd" not in decoded.text
    assert len(decoded.text) == 256


# --- never lone surrogates ----------------------------------------------------------------------


@pytest.mark.parametrize(("data", "label"), [(b"+2D0-", "utf-7"), (b"\\udcce", "unicode-escape")])
def test_codecs_that_make_surrogates_or_escapes_are_not_trusted(data: bytes, label: str) -> None:
    decoded = decode_text(data, label)
    assert is_scalar_text(decoded.text)
    assert decoded.text == data.decode("ascii")


def test_surrogate_escapes_are_decoded_together_with_the_mails_charsets() -> None:
    # The customer name once stored as lone surrogates: GBK bytes of 武汉.
    assert scalar_text("\udcce\udce4\udcba\udcba", ["gb18030"]) == "武汉"
    assert scalar_text("Jos\udce9 García") == "José García"
    assert scalar_text("\ud800 x") == "\ufffd x"
    assert scalar_text("plain") == "plain"


@settings(max_examples=200, deadline=None)
@given(
    st.binary(max_size=300),
    st.sampled_from([None, "utf-8", "gb2312", "iso-2022-jp", "utf-7", "big5", "x-bogus"]),
)
def test_any_bytes_in_any_label_become_valid_text(data: bytes, label: str | None) -> None:
    assert is_scalar_text(decode_text(data, label).text)


# --- header bytes and hints ---------------------------------------------------------------------


def test_raw_header_bytes_try_utf8_then_the_body_charsets_then_windows_1252() -> None:
    assert decode_header_bytes("Nguyễn Văn Hùng".encode()) == "Nguyễn Văn Hùng"
    assert decode_header_bytes("武晓东".encode("gbk"), ["gb2312"]) == "武晓东"
    assert decode_header_bytes("Jürgen Müller".encode("latin-1"), ["iso8859-1"]) == "Jürgen Müller"
    assert decode_header_bytes("Jürgen Müller".encode("latin-1")) == "Jürgen Müller"


def test_hints_are_the_declared_charsets_of_the_parts_without_utf8() -> None:
    raw = (
        b"Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\n"
        b"Content-Type: text/plain; charset=GB2312\r\n\r\nx\r\n--b\r\n"
        b"Content-Type: text/html; charset=utf-8\r\n\r\nx\r\n--b\r\n"
        b"Content-Type: text/plain; charset=x-bogus\r\n\r\nx\r\n--b--\r\n"
    )
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    assert charset_hints(message) == ("gb2312",)


def test_notes_say_when_a_label_did_not_fit() -> None:
    assert charset_note("gb2312", decode_text("王喆".encode("gb18030"), "gb2312")) is None
    assert (
        charset_note("x-bogus", decode_text(b"caf\xe9", "x-bogus"))
        == "charset 'x-bogus' unknown: read as cp1252"
    )
    note = charset_note("iso-8859-1", decode_text("ü".encode(), "iso-8859-1"))
    assert note == "charset 'iso-8859-1' did not fit: read as utf-8"
    assert charset_note(None, decode_text(b"caf\xe9")) is None
