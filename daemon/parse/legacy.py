"""The readings of last resort: windows-1252 for any byte, UTF-8 with stray legacy bytes.

This module owns what `daemon.parse.charsets` falls back on when no label
and no detection fits: windows-1252 as browsers read it, where every byte is
a character (the five it leaves undefined keep their Latin-1 meaning), so
the fallback never replaces a byte; and UTF-8 into which windows-1252 text
was pasted, read as both. Nothing here does I/O.
"""

from __future__ import annotations

import re

LEGACY_FALLBACK = "cp1252"
"""The charset of last resort: windows-1252, read with the bytes it leaves undefined kept."""

_ESCAPE_RUN = re.compile("[\udc80-\udcff]+")


def _legacy_table() -> str:
    """The 256 characters of windows-1252 as browsers read it, indexed by byte."""
    characters = []
    for byte in range(256):
        try:
            characters.append(bytes((byte,)).decode(LEGACY_FALLBACK))
        except UnicodeDecodeError:
            # The five bytes windows-1252 leaves undefined keep their Latin-1 (C1 control) meaning.
            characters.append(chr(byte))
    return "".join(characters)


_LEGACY_MAP = str.maketrans(
    {chr(byte): character for byte, character in enumerate(_legacy_table()) if chr(byte) != character}
)


def legacy_text(data: bytes) -> str:
    """`data` in windows-1252, every byte a character: the decoding that never fails."""
    return data.decode("latin-1").translate(_LEGACY_MAP)


_UTF8_RUN = re.compile(
    rb"(?:[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
    rb"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}"
    rb"|\xf4[\x80-\x8f][\x80-\xbf]{2})+"
)


# A UTF-8 lead byte with some of its continuation bytes: a character cut short, not legacy text.
_CUT_UTF8 = re.compile(rb"[\xc2-\xf4][\x80-\xbf]+")


def mixed_utf8(data: bytes) -> str | None:
    """UTF-8 with stray bytes: valid UTF-8 as such, a cut character as U+FFFD, the rest windows-1252.

    A web form or a forwarding script pastes windows-1252 text into UTF-8
    (or the reverse). Taken only when the valid multi-byte characters are
    not far fewer than the stray bytes (a quarter), so text in another
    multi-byte charset, where some pairs happen to be valid UTF-8, is left
    to detection.
    """
    pieces: list[str] = []
    valid = stray = position = 0
    for match in (*_UTF8_RUN.finditer(data), None):
        gap = data[position : match.start() if match else len(data)]
        stray += sum(byte >= 0x80 for byte in gap)
        pieces.append(_CUT_UTF8.sub(b"\xef\xbf\xbd", gap).decode("utf-8", "surrogateescape"))
        if match is not None:
            text = match.group().decode("utf-8")
            valid += len(text)
            pieces.append(text)
            position = match.end()
    if not valid or valid * 4 < stray:
        return None
    # The stray bytes left as surrogate escapes by the UTF-8 reading are windows-1252.
    return _ESCAPE_RUN.sub(
        lambda run: legacy_text(run.group().encode("utf-8", "surrogateescape")), "".join(pieces)
    )
