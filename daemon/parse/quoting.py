"""Quoted reply history: what part of a reply is new.

This module owns `strip_quoted`, which removes the history a mail client
appends to a reply (`>` lines, "On ... wrote:", Outlook header blocks, in
English and Indonesian) so later stages look only at what the sender added.
Forwarded content is kept: a forward brings text that is new to us. The
signature is kept too, because it is where the customer's contact person (PIC)
usually leaves a phone number.
"""

from __future__ import annotations

import re

# "On Mon, 2 Nov 2026 at 10:00, Budi <b@x.id> wrote:" (Gmail, Apple Mail,
# Thunderbird) and the Indonesian Gmail "Pada tanggal ... menulis:" /
# "Pada Sen, 2 Nov 2026 ... menulis:". A few other languages are cheap to add
# and customers do run foreign-language clients.
_ATTRIBUTION = re.compile(
    r"""^\s*(?:
        On\s.*\bwrote\s*:
      | Pada\s.*\bmenulis\s*:
      | Le\s.*\ba\s+écrit\s*:
      | Am\s.*\bschrieb\s.*:
      | El\s.*\bescribió\s*:
    )\s*$""",
    re.IGNORECASE | re.VERBOSE,
)
# The first line of an attribution that a client wrapped over two lines.
_ATTRIBUTION_START = re.compile(r"^\s*(?:On|Pada|Le|Am|El)\s", re.IGNORECASE)

_ORIGINAL_MESSAGE = re.compile(
    r"^\s*-{2,}\s*(?:Original\s+Message|Pesan\s+Asli|Pesan\s+Awal|Reply\s+Message)\s*-{2,}\s*$",
    re.IGNORECASE,
)

# Outlook's header block; Outlook converted by another client may bold the
# labels (`*From:*`). "From:" alone is too common in prose, so a block needs a
# "Sent:"-like line within the next few lines (or on the same line, as some
# webmails flatten the block).
_BLOCK_FROM = re.compile(r"^\s*\*?(?:From|Dari)\s*:\*?\s*\S", re.IGNORECASE)
_BLOCK_SENT = re.compile(r"^\s*\*?(?:Sent|Dikirim|Terkirim)\s*:", re.IGNORECASE)
_BLOCK_SENT_INLINE = re.compile(r"\b(?:Sent|Dikirim|Terkirim)\s*:", re.IGNORECASE)
# Outlook for Mac writes "Date:" instead of "Sent:"; Gmail forwards write
# "Date:" too, so that label only counts after Outlook's separator line.
_BLOCK_DATE = re.compile(r"^\s*\*?(?:Date|Tanggal)\s*:", re.IGNORECASE)
_SEPARATOR = re.compile(r"^\s*(?:_{10,}|-{10,})\s*$")
_BLOCK_LOOKAHEAD = 4

# Every line that can start history or a forward begins like this; the rest
# are kept without trying each pattern, which keeps long mails cheap.
_MAY_START_HISTORY = re.compile(r"\s*(?:[->_*]|(?:on|pada|le|am|el|from|dari|begin)\b)", re.IGNORECASE)

_FORWARD_MARKER = re.compile(
    r"""^\s*(?:
        -{2,}\s*(?:Forwarded\s+message|Pesan\s+(?:yang\s+)?diteruskan|Pesan\s+terusan)\s*-{2,}
      | Begin\s+forwarded\s+message\s*:
      | -{2,}\s*Forwarded\s+Message\s*-{2,}
    )\s*$""",
    re.IGNORECASE | re.VERBOSE,
)


def strip_quoted(text: str) -> str:
    """Return `text` without the quoted reply history, trailing whitespace trimmed."""
    lines = text.splitlines()
    kept: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if not _MAY_START_HISTORY.match(line):
            kept.append(line)
            index += 1
            continue
        if _FORWARD_MARKER.match(line):
            # Everything forwarded is new to us, quoted or not.
            kept.extend(lines[index:])
            break
        header_length = _reply_header_length(lines, index)
        if header_length:
            if not _followed_by_quote(lines, index + header_length):
                _drop_separator(kept)
                break
            # Bottom-posting or interleaved replies put the new text below a
            # `>`-quoted block: drop only the attribution and keep reading.
            index += header_length
            continue
        if not line.lstrip().startswith(">"):
            kept.append(line)
        index += 1
    return "\n".join(line.rstrip() for line in kept).strip("\n").rstrip()


def _reply_header_length(lines: list[str], index: int) -> int:
    """How many lines the reply header starting at `index` spans; 0 if none starts there."""
    line = lines[index]
    if _ATTRIBUTION.match(line) or _ORIGINAL_MESSAGE.match(line):
        return 1
    if (
        index + 1 < len(lines)
        and _ATTRIBUTION_START.match(line)
        and _ATTRIBUTION.match(line.rstrip() + " " + lines[index + 1].strip())
    ):
        return 2
    if _BLOCK_FROM.match(line) and _is_outlook_block(lines, index):
        return 1
    return 0


def _is_outlook_block(lines: list[str], index: int) -> bool:
    if _BLOCK_SENT_INLINE.search(lines[index]):
        return True
    following = lines[index + 1 : index + 1 + _BLOCK_LOOKAHEAD]
    if any(_BLOCK_SENT.match(line) for line in following):
        return True
    return _after_separator(lines, index) and any(_BLOCK_DATE.match(line) for line in following)


def _after_separator(lines: list[str], index: int) -> bool:
    """Whether the nearest non-blank line above `index` is Outlook's `____` separator."""
    for line in reversed(lines[max(0, index - 3) : index]):
        if line.strip():
            return bool(_SEPARATOR.match(line))
    return False


def _followed_by_quote(lines: list[str], index: int) -> bool:
    """Whether the first non-blank line from `index` on is `>`-quoted."""
    for line in lines[index : index + 3]:
        if line.strip():
            return line.lstrip().startswith(">")
    return False


def _drop_separator(kept: list[str]) -> None:
    """Remove a trailing separator line (and blank lines) that introduced the history."""
    while kept and not kept[-1].strip():
        kept.pop()
    if kept and _SEPARATOR.match(kept[-1]):
        kept.pop()
