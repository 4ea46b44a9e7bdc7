"""The rule index: which rules a mail's words can possibly trigger.

`build_index` runs once when a `Rules` value is made; `RuleIndex.candidates`
then narrows, per mail, the rules worth evaluating, so routing skips rules
whose words the mail does not contain.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from daemon.route.facts import EXACT_PREFIX

if TYPE_CHECKING:
    from daemon.route.facts import MailFacts
    from daemon.route.rules import Rule


@dataclass(frozen=True, slots=True)
class RuleIndex:
    """Which rules a mail's words can possibly trigger, so routing skips the rest.

    Most rules hinge on words; a rule whose condition needs one of a set of
    words is listed under each of those words, and only rules listed under
    words the mail contains (plus the rules that need no particular word) are
    evaluated. The result is the same as trying every rule, only faster.
    """

    by_word: Mapping[str, Mapping[str, tuple[int, ...]]]
    """Field -> word -> positions of the rules that word can trigger."""
    words: Mapping[str, frozenset[str]]
    unindexed: frozenset[int]

    def candidates(self, facts: MailFacts) -> list[int]:
        found = set(self.unindexed)
        for key, table in self.by_word.items():
            if key.startswith(EXACT_PREFIX):
                present = facts.exact(key[len(EXACT_PREFIX) :])
            else:
                present = facts.folded(key).words
            for word in present & self.words[key]:
                found.update(table[word])
        return sorted(found)


def build_index(rules: Sequence[Rule]) -> RuleIndex:
    """The index of `rules`, by position; rules that need no particular word stay unindexed."""
    by_word: dict[str, dict[str, list[int]]] = {}
    unindexed: list[int] = []
    for position, rule in enumerate(rules):
        triggers = rule.when.triggers()
        if triggers is None:
            unindexed.append(position)
            continue
        for field_name, words in triggers.items():
            table = by_word.setdefault(field_name, {})
            for word in words:
                table.setdefault(word, []).append(position)
    return RuleIndex(
        by_word={name: {w: tuple(p) for w, p in table.items()} for name, table in by_word.items()},
        words={name: frozenset(table) for name, table in by_word.items()},
        unindexed=frozenset(unindexed),
    )
