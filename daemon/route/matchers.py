"""Matchers: the operators words / regex / equals / glob, and header presence.

A matcher tests the values of one mail field (read through `Facts`), says why
it matched or did not for explanations, and tells the loader and the rule
index what it can know before any mail arrives: whether it is constant, and
which words a mail must contain for it to hold.
"""

from __future__ import annotations

import fnmatch
import re
from abc import ABC, abstractmethod
from collections.abc import Sequence

from daemon.route.facts import EXACT_PREFIX, SINGLE_VALUED, Facts, Triggers
from daemon.route.regexes import RuleRegex
from daemon.route.words import WordSet, show, show_list, word_tokens


class Matcher(ABC):
    """An operator applied to the values of one field."""

    __slots__ = ()

    @abstractmethod
    def test(self, facts: Facts, field: str) -> bool: ...

    @abstractmethod
    def hit(self, facts: Facts, field: str, label: str) -> str | None:
        """Why the field matches, for explanations; None when it does not."""

    @abstractmethod
    def describe(self, label: str) -> str:
        """What the operator asks for, e.g. `body has any of the words "a", "b"`."""

    def miss(self, label: str) -> str:
        return f"not: {self.describe(label)}"

    def constant(self, field: str) -> bool | None:
        """True/False when the result is the same for every mail, else None."""
        return None

    def triggers(self, field: str) -> Triggers | None:
        """Words a mail must contain one of for this to match; None when not word-based."""
        return None


class WordsMatcher(Matcher):
    __slots__ = ("words",)

    def __init__(self, words: WordSet) -> None:
        self.words = words

    def triggers(self, field: str) -> Triggers | None:
        return {field: self.words.triggers}

    def test(self, facts: Facts, field: str) -> bool:
        return self.words.search(facts.folded(field))

    def hit(self, facts: Facts, field: str, label: str) -> str | None:
        term = self.words.first(facts.folded(field))
        if term is None:
            return None
        kind = "phrase" if len(word_tokens(term)) > 1 else "word"
        return f"{label} has {kind} {show(term)}"

    def describe(self, label: str) -> str:
        return f"{label} has any of the words {show_list(self.words.terms)}"

    def miss(self, label: str) -> str:
        return f"{label} has none of the words {show_list(self.words.terms)}"


class RegexMatcher(Matcher):
    """Python regular expressions, each search bounded in time (`regexes.RuleRegex`)."""

    __slots__ = ("patterns",)

    def __init__(self, patterns: Sequence[RuleRegex]) -> None:
        self.patterns = tuple(patterns)

    def test(self, facts: Facts, field: str) -> bool:
        values = facts.values(field)
        return any(pattern.search(value) for pattern in self.patterns for value in values)

    def hit(self, facts: Facts, field: str, label: str) -> str | None:
        for pattern in self.patterns:
            for value in facts.values(field):
                found = pattern.search(value)
                if found:
                    return f"{label} matches regex {show(pattern.pattern)} at {show(found.group())}"
        return None

    def describe(self, label: str) -> str:
        patterns = [pattern.pattern for pattern in self.patterns]
        return f"{label} matches regex {show_list(patterns)}"

    def miss(self, label: str) -> str:
        patterns = [pattern.pattern for pattern in self.patterns]
        return f"{label} does not match regex {show_list(patterns)}"


class EqualsMatcher(Matcher):
    __slots__ = ("expected", "folded")

    def __init__(self, expected: Sequence[str]) -> None:
        self.expected = tuple(expected)
        self.folded = frozenset(value.strip().casefold() for value in expected)

    def test(self, facts: Facts, field: str) -> bool:
        return any(value.strip().casefold() in self.folded for value in facts.values(field))

    def triggers(self, field: str) -> Triggers | None:
        return {EXACT_PREFIX + field: self.folded}

    def hit(self, facts: Facts, field: str, label: str) -> str | None:
        for value in facts.values(field):
            if value.strip().casefold() in self.folded:
                return f"{label} is {show(value.strip())}"
        return None

    def describe(self, label: str) -> str:
        if len(self.expected) == 1:
            return f"{label} is {show(self.expected[0])}"
        return f"{label} is one of {show_list(self.expected)}"

    def miss(self, label: str) -> str:
        if len(self.expected) == 1:
            return f"{label} is not {show(self.expected[0])}"
        return f"{label} is none of {show_list(self.expected)}"


class GlobMatcher(Matcher):
    """Shell-style wildcards (`*`, `?`, `[abc]`), whole value, case-insensitive."""

    __slots__ = ("_compiled", "_each", "patterns")

    def __init__(self, patterns: Sequence[str]) -> None:
        self.patterns = tuple(patterns)
        self._each = tuple(re.compile(fnmatch.translate(p), re.IGNORECASE) for p in patterns)
        union = "|".join(f"(?:{fnmatch.translate(p)})" for p in patterns)
        self._compiled = re.compile(union, re.IGNORECASE)

    def test(self, facts: Facts, field: str) -> bool:
        match = self._compiled.match
        return any(match(value.strip()) for value in facts.values(field))

    def hit(self, facts: Facts, field: str, label: str) -> str | None:
        for value in facts.values(field):
            for pattern, compiled in zip(self.patterns, self._each, strict=True):
                if compiled.match(value.strip()):
                    return f"{label} {show(value.strip())} matches {show(pattern)}"
        return None

    def describe(self, label: str) -> str:
        return f"{label} matches {show_list(self.patterns)}"

    def miss(self, label: str) -> str:
        return f"{label} matches none of {show_list(self.patterns)}"

    def constant(self, field: str) -> bool | None:
        return True if "*" in self.patterns and field in SINGLE_VALUED else None


class PresentMatcher(Matcher):
    """The field (a header) exists at all, whatever its value."""

    __slots__ = ()

    def test(self, facts: Facts, field: str) -> bool:
        return bool(facts.values(field))

    def hit(self, facts: Facts, field: str, label: str) -> str | None:
        return f"{label} is present" if facts.values(field) else None

    def describe(self, label: str) -> str:
        return f"{label} is present"

    def miss(self, label: str) -> str:
        return f"{label} is absent"
