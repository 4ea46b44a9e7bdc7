"""Rule regexes that cannot hang the daemon: refused when nested, bounded in time when run.

A pattern such as `(\\d+)+$` backtracks exponentially on a line of digits that
does not end where it expects, and Python's `re` cannot be interrupted while
it does: routing stops and signals wait. Two defences, one at each end:

* at load time (`caredesk rules check`, start and reload), `nested_quantifier`
  refuses a repeat inside a repeat where either is unbounded, which is the
  shape behind almost every catastrophic pattern; an atomic group `(?>...)`
  or a possessive quantifier (`++`, `*+`) cannot backtrack and is allowed;
* at match time, patterns run on the `regex` module, whose syntax is Python's
  (lookarounds included) and which stops a search after `TIME_LIMIT` seconds.
  A search that runs out of time raises `RegexTimeout`, which makes routing
  fail for that one mail: it is quarantined at stage `route`, the daemon goes on.

RE2 (google-re2) would make every search linear, but it has no lookarounds or
backreferences, which rules may already use; the `regex` module keeps every
existing rule working and still bounds each search.

Everything here is pure.
"""

from __future__ import annotations

import warnings
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

import regex

TIME_LIMIT = 0.5
"""Seconds one search of one value may take. Linear patterns finish in
milliseconds on the largest body the parser lets through."""

_REPEATS = frozenset({sre.MAX_REPEAT, sre.MIN_REPEAT})
_UNBOUNDED = sre.MAXREPEAT


class RegexTimeout(Exception):
    """A rule's regex ran out of time on a mail; the mail's routing fails, the daemon goes on."""

    def __init__(self, pattern: str) -> None:
        shown = pattern if len(pattern) <= 80 else pattern[:79] + "…"
        super().__init__(
            f"rule regex '{shown}' ran out of time ({TIME_LIMIT:g} s) on this mail; "
            "fix the pattern in rules.yaml, then replay the mail"
        )
        self.pattern = pattern


def nested_quantifier(pattern: str, flags: int = 0) -> str | None:
    """Why `pattern` may backtrack catastrophically (a repeat inside a repeat), or None.

    `pattern` must already compile with `re`.
    """
    with warnings.catch_warnings():
        # `re.compile` has already reported this pattern's warnings.
        warnings.simplefilter("ignore")
        tree = sre_parse.parse(pattern, flags)
    found = _nested(tree.data, outer=None)
    if found is None:
        return None
    return (
        f"nested quantifier in regex '{pattern}': a repeated group holds another repeat, "
        "which can take exponential time on a mail that almost matches; repeat the inside "
        "once, or make it atomic (?>...) or possessive (++, *+)"
    )


def _nested(items: Any, outer: tuple[int, int] | None) -> tuple[int, int] | None:
    """The first repeat found nested inside `outer` (a repeat's (min, max)), descending."""
    for op, args in items:
        if op in _REPEATS:
            low, high = args[0], args[1]
            if high > 1:
                if outer is not None and _UNBOUNDED in (outer[1], high):
                    return low, high
                found = _nested(args[2], (low, high))
            else:
                found = _nested(args[2], outer)
        elif op in (sre.POSSESSIVE_REPEAT, sre.ATOMIC_GROUP):
            # Neither gives back what it matched: nothing inside is tried again.
            found = None
        elif op is sre.SUBPATTERN:
            found = _nested(args[3], outer)
        elif op is sre.BRANCH:
            found = _first(_nested(branch, outer) for branch in args[1])
        elif op in (sre.ASSERT, sre.ASSERT_NOT):
            found = _nested(args[1], outer)
        elif op is sre.GROUPREF_EXISTS:
            found = _first(_nested(branch, outer) for branch in args[1:] if branch is not None)
        else:
            found = None
        if found is not None:
            return found
    return None


def _first(results: Any) -> tuple[int, int] | None:
    return next((result for result in results if result is not None), None)


class RuleRegex:
    """A rule's compiled pattern, searched with a time limit."""

    __slots__ = ("_compiled", "pattern")

    def __init__(self, pattern: str, *, ignore_case: bool) -> None:
        self.pattern = pattern
        flags = regex.V0 | (regex.IGNORECASE if ignore_case else 0)
        self._compiled = regex.compile(pattern, flags)

    def search(self, value: str) -> regex.Match[str] | None:
        try:
            return self._compiled.search(value, timeout=TIME_LIMIT)
        except TimeoutError:
            raise RegexTimeout(self.pattern) from None
