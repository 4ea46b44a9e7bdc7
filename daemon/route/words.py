"""Words as the rules compare them, and mail text as explanations quote it.

This module owns the one notion of a "word" shared by the loader and the
router: case- and accent-insensitive, split on word boundaries (`fold`,
`word_tokens`); a mail field's text prepared once for word lookups
(`FoldedText`); a compiled any-of-words list (`WordSet`); and `show`, which
quotes mail-supplied text safely for explanations.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

_WORD = re.compile(r"\w+")
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
# '|' is never part of a word, so a phrase can never match across two values.
_VALUE_BREAK = " | "


def _drop_marks(run: re.Match[str]) -> str:
    return "".join(ch for ch in run.group() if not unicodedata.combining(ch))


def fold(text: str) -> str:
    """Case-fold and strip accents, so `Tagihan`, `TAGIHAN` and `Tagíhan` compare equal."""
    if text.isascii():
        # Most complaints are plain ASCII; skip Unicode decomposition for them.
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    # Only non-ASCII runs can hold combining marks; leave the rest untouched.
    return _NON_ASCII.sub(_drop_marks, decomposed)


def word_tokens(text: str) -> list[str]:
    """The folded words of `text`: `"Tagihan, e-Paper!"` -> `["tagihan", "e", "paper"]`."""
    return _WORD.findall(fold(text))


@dataclass(frozen=True, slots=True)
class FoldedText:
    """A field's text as words: a set for single words, a spaced string for phrases."""

    words: frozenset[str]
    spaced: str
    """`" w1 w2 | w3 "`: every word surrounded by single spaces, values split by `|`."""


def fold_values(values: Iterable[str]) -> FoldedText:
    """The words of several values of one field, phrases never spanning two values."""
    spaced = " " + _VALUE_BREAK.join(" ".join(word_tokens(v)) for v in values) + " "
    return FoldedText(frozenset(spaced.split()), spaced)


class WordSet:
    """A compiled any-of-words list.

    Single words become one set, so testing a mail is a set intersection rather
    than a regex scan per word; phrases become `" w1 w2 "` strings looked up in
    the mail's spaced text, which gives exact word boundaries for free.
    """

    __slots__ = ("_ordered", "_phrases", "_singles", "terms", "triggers")

    def __init__(self, terms: Iterable[str]) -> None:
        self.terms = tuple(terms)
        ordered: list[tuple[str, bool, str]] = []
        phrase_starts: set[str] = set()
        for term in self.terms:
            tokens = word_tokens(term)
            if len(tokens) == 1:
                ordered.append((tokens[0], False, term))
            elif tokens:
                ordered.append((" " + " ".join(tokens) + " ", True, term))
                phrase_starts.add(tokens[0])
        self._ordered = tuple(ordered)
        self._singles = frozenset(key for key, is_phrase, _ in ordered if not is_phrase)
        self._phrases = tuple(key for key, is_phrase, _ in ordered if is_phrase)
        self.triggers = self._singles | phrase_starts
        """Words of which a mail must contain at least one for this set to match."""

    def __bool__(self) -> bool:
        return bool(self._ordered)

    def search(self, text: FoldedText) -> bool:
        """Whether `text` contains any of the terms."""
        words = text.words
        # One set test rules out almost every mail, phrases included; only
        # when a trigger word is present is it worth scanning for phrases.
        if words.isdisjoint(self.triggers):
            return False
        if not words.isdisjoint(self._singles):
            return True
        spaced = text.spaced
        return any(phrase in spaced for phrase in self._phrases)

    def first(self, text: FoldedText) -> str | None:
        """The first term, in the order written, that `text` contains."""
        for key, is_phrase, term in self._ordered:
            if (key in text.spaced) if is_phrase else (key in text.words):
                return term
        return None


def show(text: str, limit: int = 60) -> str:
    """Quote mail-supplied text for explanations: one line, bounded, in double quotes."""
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    if text.isprintable():
        return f'"{text}"'
    # Escape control and formatting characters (newlines, bidi overrides) so
    # hostile text cannot forge extra lines in logs or the CLI's output.
    printable = "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text
    )
    return f'"{printable}"'


def show_list(items: Sequence[str], limit: int = 5) -> str:
    """Up to `limit` quoted items, then how many more there are."""
    shown = ", ".join(show(item) for item in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")
