"""Charsets: from the bytes of a part, a header or a file name to text, as mail clients read them.

This module owns the one decoding rule every parser backend and header reader
uses, so a mail reads the same whichever backend parsed it:

* a declared label is read with the superset mail clients use for it
  (GB2312 and GBK as GB18030, ISO-8859-1 and US-ASCII as windows-1252, Big5 as
  Big5-HKSCS, KS_C_5601 and EUC-KR as CP949, Shift_JIS as CP932, ISO-2022-JP
  with Windows' extension rows, ISO-8859-9 as windows-1254, TIS-620 as
  windows-874), then with the label itself;
* UTF-8 wins over a single-byte label when the bytes are valid UTF-8 (the
  commonest mislabelling), and is tried whenever the label fails; UTF-8
  with a few stray windows-1252 bytes (pasted text) is read as both;
* without a usable label, UTF-8 comes first, then the hints (the charsets the
  mail's other parts declare), as for raw 8-bit header bytes;
* a decoding with replacement characters is accepted only when they are a
  tiny share of the text; when the label fails on more, the charset is
  detected (charset-normalizer), and windows-1252, which can read any byte,
  is the last resort. Most of a customer's words are never replaced.

Labels that are not text encodings (base64, unicode-escape, idna, ...) count
as no label, and no decoding that yields lone surrogates is accepted:
`scalar_text` turns surrogate-escaped bytes that reach us from the standard
library back into text. Nothing here does I/O.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.message import Message
from functools import lru_cache

from daemon.parse.jis import NAME as CP50221
from daemon.parse.jis import decode_cp50221
from daemon.parse.legacy import LEGACY_FALLBACK, legacy_text, mixed_utf8

DETECT_LIMIT = 64 * 1024
"""Bytes charset detection reads; the decoding chosen is then applied to all of them."""

DETECT_MINIMUM = 24
"""Non-ASCII bytes needed before detection is worth more than the fallback: fewer make it a guess."""

# Labels mail software writes that Python does not know, or knows as something else.
_ALIASES = {
    "x-gbk": "gbk",
    "gb_2312-80": "gb2312",
    "csgb2312": "gb2312",
    "cn-gb": "gb2312",
    "x-euc-cn": "gb2312",
    "windows-936": "gbk",
    "cp936": "gbk",
    "x-sjis": "shift_jis",
    "windows-31j": "cp932",
    "x-ms-cp932": "cp932",
    "csshiftjis": "shift_jis",
    "ms_kanji": "shift_jis",
    "_iso-2022-jp$esc": "iso2022_jp",  # Outlook's label for its own ISO-2022-JP
    "csiso2022jp": "iso2022_jp",
    "x-euc-jp": "euc_jp",
    "ks_c_5601-1989": "euc_kr",
    "ksc5601": "euc_kr",
    "windows-949": "cp949",
    "x-windows-949": "cp949",
    "uhc": "cp949",
    "big5-hkscs": "big5hkscs",
    "x-x-big5": "big5",
    "cn-big5": "big5",
    "windows-874": "cp874",
    "x-mac-roman": "mac-roman",
    "iso-8859-8-i": "iso8859-8",
    "iso-8859-6-i": "iso8859-6",
    "unicode-1-1-utf-8": "utf-8",
    "utf8mb4": "utf-8",
}

# Labels that say nothing about the bytes.
_NO_LABEL = frozenset({"", "unknown", "unknown-8bit", "x-unknown", "x-user-defined", "default", "charset"})

# Codecs that are not a way to write text in mail (or make up characters from escapes).
_NOT_MAIL = frozenset(
    {"unicode-escape", "raw-unicode-escape", "idna", "punycode", "undefined", "mbcs", "oem"}
)

# The label (as Python names its codec) -> what to try before the label itself.
_SUPERSETS: dict[str, tuple[str, ...]] = {
    "gb2312": ("gb18030",),
    "gbk": ("gb18030",),
    "hz": ("hz", "gb18030"),
    "ascii": (LEGACY_FALLBACK,),
    "iso8859-1": (LEGACY_FALLBACK,),
    "iso8859-9": ("cp1254",),
    "iso8859-11": ("cp874",),
    "tis-620": ("cp874",),
    "big5": ("big5hkscs", "cp950"),
    "cp950": ("cp950", "big5hkscs"),
    "euc_kr": ("cp949",),
    "shift_jis": ("cp932", "shift_jis_2004"),
    "euc_jp": ("euc_jp", "euc_jis_2004"),
    "iso2022_jp": ("iso2022_jp_ext", CP50221, "iso2022_jp_2", "iso2022_jp_3"),
    "iso2022_jp_1": ("iso2022_jp_1", "iso2022_jp_2"),
}

# What detection may answer: the charsets real mail is written in (not DOS or Mac code pages).
_LATIN = (
    "cp1252",
    "cp1250",
    "cp1254",
    "cp1257",
    "cp1258",
    "latin_1",
    "iso8859_2",
    "iso8859_3",
    "iso8859_4",
    "iso8859_9",
    "iso8859_10",
    "iso8859_13",
    "iso8859_14",
    "iso8859_15",
    "iso8859_16",
)
_OTHER_SCRIPTS = (
    "gb18030",
    "gbk",
    "gb2312",
    "big5",
    "big5hkscs",
    "cp950",
    "cp949",
    "euc_kr",
    "cp932",
    "shift_jis",
    "shift_jis_2004",
    "euc_jp",
    "euc_jis_2004",
    "iso2022_jp",
    "cp1251",
    "koi8_r",
    "koi8_u",
    "iso8859_5",
    "cp1253",
    "iso8859_7",
    "cp1255",
    "iso8859_8",
    "cp1256",
    "iso8859_6",
    "cp874",
    "tis_620",
)


@lru_cache(maxsize=1)
def _detectable() -> tuple[frozenset[str], frozenset[str]]:
    """The Latin codecs and every codec detection may answer, by Python's names.

    Looked up at the first detection, not at import: each lookup imports its
    codec's module (about 30 of them, 1.7 MB of a daemon that rarely detects).
    """
    latin = frozenset(codecs.lookup(name).name for name in _LATIN)
    return latin, latin | frozenset(codecs.lookup(name).name for name in _OTHER_SCRIPTS)


_SURROGATE = re.compile("[\ud800-\udfff]")
_ESCAPE_RUN = re.compile("[\udc80-\udcff]+")
_NOT_AN_ESCAPE = re.compile("[\ud800-\udc7f\udd00-\udfff]")
_HIGH_RUN = re.compile(rb"[\x80-\xff]+")
# The stateful 7-bit encodings: ASCII bytes do not mean ASCII there.
_SEVEN_BIT_STATEFUL = ("utf-7", "hz", "iso2022", CP50221)


@dataclass(frozen=True, slots=True)
class Decoded:
    """Text decoded from bytes, the codec that gave it, and how many characters were replaced."""

    text: str
    charset: str
    replaced: int = 0
    label_used: bool = True
    """False when the declared label (or its superset) was not what decoded the bytes."""


def codec_name(label: str | None) -> str | None:
    """Python's codec for a charset label from a mail, or None when it names no usable text encoding."""
    if not label:
        return None
    name = label.strip().strip("\"'").split("*", 1)[0].strip().lower()
    if name in _NO_LABEL:
        return None
    name = _ALIASES.get(name, name)
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError, TypeError):
        # Unknown names raise LookupError, names with a NUL byte ValueError.
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_MAIL:
        return None
    return info.name


def candidates(codec: str | None) -> tuple[str, ...]:
    """The codecs to try, in order, for a declared codec: its superset first, then itself."""
    if codec is None:
        return ()
    found = dict.fromkeys((*_SUPERSETS.get(codec, ()), codec))
    return tuple(found)


def decode_text(data: bytes, label: str | None = None, hints: Sequence[str] = ()) -> Decoded:
    """`data` as text, read the way the module docstring says; never raises, never lone surrogates.

    `label` is the declared charset (None or unknown when there is none);
    `hints` are the charsets the mail's other parts declare, tried after UTF-8
    when the label does not decode the bytes.
    """
    if not data:
        return Decoded("", codec_name(label) or "ascii")
    codec = codec_name(label)
    if _plain_ascii(data) and (codec is None or _ascii_compatible(codec)):
        return Decoded(data.decode("ascii"), codec or "ascii")
    declared = candidates(codec)
    if b"\x1b" in data and not any(name.startswith(_SEVEN_BIT_STATEFUL) for name in declared):
        # Raw ISO-2022-JP without a label: Japanese mailers write it into headers.
        declared = (*declared, *candidates("iso2022_jp"))
    return _decode_declared(data, declared, codec, hints)


def _decode_declared(
    data: bytes, declared: tuple[str, ...], codec: str | None, hints: Sequence[str]
) -> Decoded:
    """The first decoding that reads all of `data`, by the order the module docstring gives."""
    utf8_first = not declared or (codec is not None and _single_byte(codec))
    if utf8_first and (text := _strict(data, "utf-8")) is not None:
        return Decoded(text, "utf-8", label_used=codec in (None, "ascii", "utf-8"))
    for name in declared:
        if (text := _strict(data, name)) is not None:
            return Decoded(text, name)
    if not utf8_first and (text := _strict(data, "utf-8")) is not None:
        return Decoded(text, "utf-8", label_used=False)
    for name in _hint_codecs(hints):
        if (text := _strict(data, name)) is not None:
            return Decoded(text, name, label_used=False)
    if codec in (None, "utf-8") and (mixed := mixed_utf8(data)) is not None:
        return Decoded(mixed, "utf-8", mixed.count("\ufffd"))
    best = _least_replaced(data, declared)
    if best is not None and _tolerable(best):
        return best
    detected = _detected(data) if _worth_detecting(data) else None
    if detected is not None:
        return detected
    return Decoded(legacy_text(data), LEGACY_FALLBACK, label_used=False)


def decode_header_bytes(data: bytes, hints: Sequence[str] = ()) -> str:
    """Raw 8-bit header bytes as text: UTF-8, then the `hints` (the body's charsets), then windows-1252."""
    return decode_text(data, None, hints).text


def charset_hints(message: Message) -> tuple[str, ...]:
    """The charsets a message's parts declare, in order, as usable codecs, without repeats and UTF-8."""
    found: dict[str, None] = {}
    for part in message.walk():
        try:
            label = part.get_content_charset()
        except (LookupError, ValueError, TypeError, AttributeError):
            continue
        codec = codec_name(label)
        if codec is not None and codec not in ("ascii", "utf-8"):
            found.setdefault(codec)
    return tuple(found)


def scalar_text(value: str, hints: Sequence[str] = ()) -> str:
    """`value` with surrogate-escaped bytes decoded and any other lone surrogate replaced.

    The standard library hands raw 8-bit bytes over as surrogate escapes.
    When that is all the non-ASCII there is, the bytes are decoded together
    (so a multi-byte character split by an earlier UTF-8 attempt is whole
    again); next to text that was decoded already, each run is decoded alone.
    """
    if value.isascii() or not _SURROGATE.search(value):
        return value
    # Only U+DC80..U+DCFF stand for bytes; any other surrogate is no text at all.
    value = _NOT_AN_ESCAPE.sub("\ufffd", value)
    data = value.encode("utf-8", "surrogateescape")
    if _ESCAPE_RUN.sub("", value).isascii():
        return decode_text(data, None, hints).text
    return _ESCAPE_RUN.sub(
        lambda run: decode_text(run.group().encode("utf-8", "surrogateescape"), None, hints).text, value
    )


def charset_note(label: str | None, decoded: Decoded) -> str | None:
    """A defect note when a part's declared charset was unknown, did not fit, or left replacements."""
    if decoded.replaced:
        return f"charset {label or 'undeclared'!r}: {decoded.replaced} characters replaced"
    if not label or decoded.label_used:
        return None
    if codec_name(label) is None:
        return f"charset {label!r} unknown: read as {decoded.charset}"
    return f"charset {label!r} did not fit: read as {decoded.charset}"


def is_scalar_text(value: str) -> bool:
    """Whether `value` is valid Unicode text: no lone surrogates."""
    return not _SURROGATE.search(value)


# --- the pieces of the rule -----------------------------------------------------------------


def _plain_ascii(data: bytes) -> bool:
    return data.isascii() and b"\x1b" not in data


@lru_cache(maxsize=256)
def _ascii_compatible(codec: str) -> bool:
    """Whether ASCII bytes mean ASCII in `codec` (not so in UTF-16, EBCDIC or the 7-bit stateful ones)."""
    if codec.startswith(_SEVEN_BIT_STATEFUL):
        return False
    sample = b"From: Ab-yz 0.9, <x@y>\n"
    try:
        return sample.decode(codec) == sample.decode("ascii")
    except (UnicodeError, LookupError, ValueError):
        return False


@lru_cache(maxsize=256)
def _single_byte(codec: str) -> bool:
    """Whether every byte is one character in `codec` (ISO-8859-x, windows-125x, KOI8, ...)."""
    if not _ascii_compatible(codec) or codec.startswith("utf"):
        return False
    try:
        return len(bytes(range(256)).decode(codec, "replace")) == 256
    except (UnicodeError, LookupError, ValueError):
        return False


def _decode(data: bytes, codec: str, errors: str) -> str:
    if codec == CP50221:
        return decode_cp50221(data)
    return data.decode(codec, errors)


def _strict(data: bytes, codec: str) -> str | None:
    """`data` in `codec`, or None when it does not decode cleanly into valid text."""
    try:
        text = _decode(data, codec, "strict")
    except (UnicodeError, LookupError, ValueError, TypeError):
        return None
    return text if is_scalar_text(text) else None


def _hint_codecs(hints: Iterable[str]) -> tuple[str, ...]:
    found: dict[str, None] = {}
    for hint in hints:
        codec = codec_name(hint)
        if codec is not None and _ascii_compatible(codec):
            found.update(dict.fromkeys(candidates(codec)))
    return tuple(found)


def _least_replaced(data: bytes, declared: Iterable[str]) -> Decoded | None:
    """The declared candidate (or UTF-8) that replaces the fewest characters."""
    best: Decoded | None = None
    for name in dict.fromkeys((*declared, "utf-8")):
        if name == CP50221:
            continue
        try:
            text = _decode(data, name, "replace")
        except (UnicodeError, LookupError, ValueError, TypeError):
            continue
        text = _SURROGATE.sub("\ufffd", text)
        replaced = text.count("\ufffd")
        if best is None or replaced < best.replaced:
            best = Decoded(text, name, replaced)
    return best


def _tolerable(decoded: Decoded) -> bool:
    """Whether the replacements of a decoding are damage to text in that charset, not a wrong charset.

    At most one character in 200 (and one in any text) may be replaced, and
    the rest must show the charset at work: some non-ASCII character read.
    """
    if decoded.replaced > max(1, len(decoded.text) // 200):
        return False
    return any(not character.isascii() and character != "\ufffd" for character in decoded.text)


def _worth_detecting(data: bytes) -> bool:
    """Whether detection can beat windows-1252: the non-ASCII bytes mostly come in runs.

    Latin-script text has its accented letters one by one between ASCII; the
    CJK, Cyrillic, Greek, Hebrew, Arabic and Thai encodings write whole words
    of non-ASCII bytes. Too few bytes make detection a guess.
    """
    runs = [len(run) for run in _HIGH_RUN.findall(data[:DETECT_LIMIT])]
    total = sum(runs)
    clustered = sum(length for length in runs if length > 1)
    return total >= DETECT_MINIMUM and clustered * 10 >= total * 6


def _detected(data: bytes) -> Decoded | None:
    """The charset charset-normalizer finds for `data`, applied to all of it, or None.

    A Latin-script answer (cp1250, iso8859-15, ...) is read as windows-1252:
    on short text detection cannot tell these apart, and windows-1252 is what
    an unlabelled Western mail is written in.
    """
    sample = data[:DETECT_LIMIT]
    if len(data) > DETECT_LIMIT:
        # Cut at a line end, so no multi-byte character is cut in two.
        sample = sample[: sample.rfind(b"\n") + 1] or sample
    # Imported here: 2.5 MB, and only a mail no label, hint or UTF-8 reads comes this far.
    from charset_normalizer import from_bytes

    try:
        # Unrestricted: charset-normalizer ranks better over all code pages; ours are picked after.
        matches = list(from_bytes(sample))
    except Exception:
        # A detector bug must not lose the mail: the fallback still reads it.
        return None
    latin, detectable = _detectable()
    for match in matches:
        codec = codec_name(match.encoding)
        if codec not in detectable:
            continue
        names = (LEGACY_FALLBACK,) if codec in latin else candidates(codec)
        for name in names:
            text = _strict(data, name)
            if text is not None:
                return Decoded(text, name, label_used=False)
    return None
