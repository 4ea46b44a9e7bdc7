"""The readings of last resort: windows-1252 for any byte, UTF-8 with pasted legacy bytes."""

from __future__ import annotations

from daemon.parse.legacy import legacy_text, mixed_utf8


def test_windows_1252_reads_every_byte_and_keeps_the_undefined_ones() -> None:
    assert legacy_text(b"\x80 \x93x\x94 \x85") == "€ “x” …"
    assert legacy_text(b"\x81\x8d\x8f\x90\x9d") == "\x81\x8d\x8f\x90\x9d"
    assert len(legacy_text(bytes(range(256)))) == 256


def test_utf8_with_pasted_windows_1252_is_read_as_both() -> None:
    assert mixed_utf8("Réf. ".encode() + b"\x93urgent\x94") == "Réf. “urgent”"


def test_a_utf8_character_cut_short_is_one_replacement() -> None:
    assert mixed_utf8("中文".encode() + b"\xe6\x96 ok") == "中文\ufffd ok"


def test_text_that_is_mostly_not_utf8_is_left_to_detection() -> None:
    assert mixed_utf8("您好，我们的订单出现了问题".encode("gbk")) is None
    assert mixed_utf8(b"caf\xe9") is None
    assert mixed_utf8(b"ascii only") is None
