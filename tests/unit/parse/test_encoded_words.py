"""Header text: raw 8-bit bytes, 8-bit bytes inside encoded-words, spaces, split characters."""

from __future__ import annotations

import base64
import email
import email.policy

import pytest

from daemon.parse.headers import decode_words, display_text, header_text, raw_headers


def _b(text: bytes) -> str:
    return base64.b64encode(text).decode()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=?UTF-8?Q?Pedido n=C2=BA 4471 n=C3=A3o entregue?=", "Pedido nº 4471 não entregue"),
        ("=?utf-8?q?Jo=C3=A3o Concei=C3=A7=C3=A3o?= <j@x.br>", "João Conceição <j@x.br>"),
        ("=?utf-8?b?5Lit5paH 5a2X?=", "中文字"),
    ],
)
def test_encoded_words_with_spaces_inside_are_decoded(value: str, expected: str) -> None:
    assert decode_words(value) == expected


def test_a_character_split_across_base64_words_is_whole() -> None:
    data = "关于订单".encode()
    value = f"=?UTF-8?B?{_b(data[:4])}?=\r\n =?UTF-8?B?{_b(data[4:])}?="
    assert decode_words(value.replace("\r\n", "")) == "关于订单"


def test_base64_cut_in_the_middle_of_a_quantum_is_joined_with_the_next_word() -> None:
    text = _b("中文字".encode())
    assert decode_words(f"=?utf-8?b?{text[:6]}?= =?utf-8?b?{text[6:]}?=") == "中文字"
    assert decode_words(f"=?utf-8?b?{text[:5]}?= =?utf-8?b?{text[5:]}?=") == "中文字"


def test_words_of_different_charsets_are_decoded_apart() -> None:
    value = "=?utf-8?b?5Lit?= =?iso-8859-1?q?caf=E9?= text =?gb2312?b?" + _b("王喆".encode("gbk")) + "?="
    assert decode_words(value) == "中café text 王喆"


def test_a_word_that_is_not_base64_is_left_as_it_is() -> None:
    assert decode_words("=?utf-8?b?!!!?= x") == "=?utf-8?b?!!!?= x"


def test_8bit_bytes_inside_a_q_word_are_read_in_the_words_charset() -> None:
    # "é" as a raw ISO-8859-1 byte inside the word: once shown as "ï¿½".
    raw = "=?ISO-8859-1?Q?d\udce9j=E0_pay\udce9e?="
    assert decode_words(header_text(raw)) == "déjà payée"


def test_raw_8bit_header_bytes_use_utf8_then_the_hints() -> None:
    assert header_text("Khi\udce1\udcba\udcbfu n\udce1\udcba\udca1i") == "Khiếu nại"
    assert header_text("\udcce\udce4\udcd0\udca1\udcb6\udcab", ("gb18030",)) == "武小东"
    assert header_text("M\udcfcller") == "Müller"


def test_raw_headers_find_the_hints_in_the_body_parts() -> None:
    raw = (
        'From: "武晓东" <w@example.cn>\r\nSubject: 钢材\r\n'.encode("gbk")
        + b"Content-Type: text/plain; charset=gb2312\r\n\r\nx"
    )
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    headers = dict(raw_headers(message))
    assert headers["from"] == '"武晓东" <w@example.cn>'
    assert headers["subject"] == "钢材"


def test_display_text_never_lets_a_surrogate_out() -> None:
    assert display_text("J\udcfcrgen \ud800") == "Jürgen \ufffd"
