"""ISO-2022-JP in Windows' layout: JIS X 0208 with the NEC and IBM rows, read through cp932."""

from __future__ import annotations

import pytest

from daemon.parse.jis import decode_cp50221


def test_plain_iso_2022_jp_reads_as_the_standard_codec_does() -> None:
    text = "いつもお世話になっております。"
    assert decode_cp50221(text.encode("iso2022_jp")) == text


def test_nec_row_13_and_ibm_rows_are_read() -> None:
    # ① ② (NEC row 13, JIS 0x2D21 0x2D22), 髙 (IBM extension, row 92 as cp932 places it).
    assert decode_cp50221(b'\x1b$B-!-"\x1b(B') == "①②"
    assert decode_cp50221(b"\x1b$B|q\x1b(B") == "ⅰ"


def test_half_width_katakana_by_escape_shift_or_eight_bit() -> None:
    assert decode_cp50221(b"\x1b(I12\x1b(B") == "ｱｲ"
    assert decode_cp50221(b"a\x0e12\x0fb") == "aｱｲb"
    assert decode_cp50221(b"\xb1\xb2") == "ｱｲ"


def test_jis_roman_and_line_ends_pass_as_ascii() -> None:
    assert decode_cp50221(b"\x1b(Jabc\x1b(B\r\n") == "abc\r\n"
    assert decode_cp50221(b'\x1b$B$"\r\n$"\x1b(B') == "あ\r\nあ"


@pytest.mark.parametrize(
    "data",
    [
        b"\x1b$(Dxx\x1b(B",  # JIS X 0212: left to iso2022_jp_2
        b"\x1b$B$",  # a double-byte character cut in half
        b"caf\xe9",  # 8-bit bytes outside the katakana range
        b"\x1b(I\x7e\x1b(B",  # not a half-width katakana
    ],
)
def test_what_does_not_fit_raises(data: bytes) -> None:
    with pytest.raises(UnicodeDecodeError):
        decode_cp50221(data)
