"""ISO-2022-JP as Windows mail clients write it, with the NEC and IBM extension rows.

Outlook and other Windows clients label their Japanese mail ISO-2022-JP but
encode it with code page 50220/50221: JIS X 0208 extended with the NEC special
characters of row 13 (circled digits ①, Roman numerals Ⅲ, ㈱, №) and the IBM
extension rows 89 to 92, and half-width katakana by `ESC ( I` or SO/SI. None
of Python's iso2022_jp codecs reads these rows. They are exactly code page 932
(Shift_JIS with the same extensions) in another byte layout, so this module
rewrites the 7-bit stream as Shift_JIS bytes and decodes those as cp932.
Strict only: a sequence it cannot place raises `UnicodeDecodeError`, and the
caller tries its next candidate. Nothing here does I/O.
"""

from __future__ import annotations

NAME = "cp50221"
"""The name this decoding goes by among the candidate charsets of `daemon.parse.charsets`."""

_ESC = 0x1B
_SHIFT_OUT = 0x0E
_SHIFT_IN = 0x0F

# The designations that select a character set, and the mode each selects.
_DESIGNATIONS = {
    b"\x1b(B": "ascii",
    b"\x1b(J": "ascii",  # JIS X 0201 Roman: ASCII but for ¥ and ‾, read as ASCII as clients do
    b"\x1b(H": "ascii",  # an old, wrong name for JIS X 0201 Roman still written by a few mailers
    b"\x1b(I": "kana",
    b"\x1b$@": "kanji",  # JIS C 6226-1978, a subset of the 1983 set in the same places
    b"\x1b$B": "kanji",
    b"\x1b&@": "",  # announces the 1990 revision of the set that follows: no mode of its own
}


def decode_cp50221(data: bytes) -> str:
    """`data`, ISO-2022-JP in Windows' layout, as text; raises `UnicodeDecodeError` on what does not fit."""
    return _as_shift_jis(data).decode("cp932")


def _as_shift_jis(data: bytes) -> bytes:
    """The Shift_JIS (cp932) bytes of the same characters as the ISO-2022-JP `data`."""
    out = bytearray()
    mode = "ascii"
    shifted = False
    index = 0
    while index < len(data):
        byte = data[index]
        if byte == _ESC:
            sequence = data[index : index + 3]
            if sequence not in _DESIGNATIONS:
                raise _error(data, index, "unsupported escape sequence")
            mode = _DESIGNATIONS[sequence] or mode
            index += 3
            continue
        if byte in (_SHIFT_OUT, _SHIFT_IN):
            shifted = byte == _SHIFT_OUT
            index += 1
            continue
        if byte >= 0x80:
            # Eight-bit half-width katakana (code page 50222's habit); anything else is not 7-bit JIS.
            if 0xA1 <= byte <= 0xDF:
                out.append(byte)
                index += 1
                continue
            raise _error(data, index, "8-bit byte in a 7-bit encoding")
        if byte < 0x21 or byte == 0x7F or (mode == "ascii" and not shifted):
            # Controls, line ends and spaces pass in every mode, as clients read them.
            out.append(byte)
            index += 1
        elif shifted or mode == "kana":
            if byte > 0x5F:
                raise _error(data, index, "not a half-width katakana")
            out.append(byte + 0x80)
            index += 1
        else:
            second = data[index + 1] if index + 1 < len(data) else 0
            if not 0x21 <= second <= 0x7E:
                raise _error(data, index, "incomplete double-byte character")
            out += _jis_to_sjis(byte, second)
            index += 2
    return bytes(out)


def _jis_to_sjis(first: int, second: int) -> bytes:
    """The Shift_JIS pair of the JIS X 0208 row/cell pair (`first`, `second`), both 0x21-0x7E."""
    lead = ((first + 1) >> 1) + (0x70 if first < 0x5F else 0xB0)
    # Odd rows take the lower half of the trail bytes (skipping 0x7F), even rows the upper.
    trail = second + 0x1F + (second >= 0x60) if first % 2 else second + 0x7E
    return bytes((lead, trail))


def _error(data: bytes, index: int, reason: str) -> UnicodeDecodeError:
    return UnicodeDecodeError(NAME, data, index, index + 1, reason)
