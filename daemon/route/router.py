"""The router: where a complaint goes, and why.

This module owns two things:

* what a compiled rule condition means for one mail: the condition nodes that
  `daemon.route.rules` builds from rules.yaml, and `MailFacts`, the per-mail cache
  they read (the text is case-folded and split into words once per mail, not
  once per condition);
* how the outcomes of several matching rules combine into one `Decision`
  (see docs/rules.md, "How matching rules combine").

Everything here is pure. `route()` reads an `InboundMail`, a loaded `Rules`
value and a `RouteContext` (the clock and the customer's earlier complaints,
passed in by the store) and returns a value: no I/O, no clock, no globals.
"""

from __future__ import annotations

import fnmatch
import re
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from daemon.parse.message import Attachment, InboundMail
    from daemon.route.rules import Branch, Customer, Rule, Rules, Severity

# Markers used in `Decision.decided_by` for choices no rule made. The loader
# refuses them as rule names so the two can never be confused.
BY_DEFAULT = "default"
BY_DETECTION = "detected"
BY_PRODUCT = "product"
RESERVED_NAMES = frozenset({BY_DEFAULT, BY_DETECTION, BY_PRODUCT})

# ---------------------------------------------------------------------------
# Words: case- and accent-insensitive, on word boundaries.
# ---------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------
# What conditions read: the facts about one mail, computed lazily and cached.
# ---------------------------------------------------------------------------


class Facts(Protocol):
    """Anything a field matcher can read text from (a mail, or one attachment)."""

    def values(self, field: str) -> tuple[str, ...]: ...

    def folded(self, field: str) -> FoldedText: ...


_FIELD_READERS: dict[str, Callable[[InboundMail], tuple[str, ...]]] = {
    "from": lambda mail: (mail.from_address,),
    "from_domain": lambda mail: (mail.from_domain,),
    "to": lambda mail: mail.recipients,
    "subject": lambda mail: (mail.subject,),
    "body": lambda mail: (mail.text,),
    "subject_or_body": lambda mail: (mail.subject, mail.text),
    "language": lambda mail: (mail.language,),
}
# Fields that always hold exactly one value, so a `*` glob on them matches every mail.
SINGLE_VALUED = frozenset({"from", "from_domain", "subject", "body", "subject_or_body", "language"})
HEADER_PREFIX = "header:"
Triggers = Mapping[str, frozenset[str]]
"""Field -> words: a condition can only hold when the field has one of the words.
A key `=field` instead lists whole values, as `equals:` compares them."""
EXACT_PREFIX = "="


def _as_utc(moment: datetime) -> datetime:
    # Naive timestamps from a database without time zones are taken as UTC,
    # so comparing them with aware ones never raises.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


@dataclass(frozen=True, slots=True)
class RouteContext:
    """What routing needs beyond the mail: the time and the sender's history.

    `now` defaults to the mail's Date header; `prior_complaints` are the
    creation times of the sender's earlier tickets, supplied by the store.
    """

    now: datetime | None = None
    prior_complaints: tuple[datetime, ...] = ()


class MailFacts:
    """One mail as the rules see it; each derived value is computed at most once."""

    def __init__(self, mail: InboundMail, rules: Rules, context: RouteContext) -> None:
        self.mail = mail
        self.rules = rules
        self.context = context
        self.rule_product: str | None = None
        """The product an earlier matching rule set, if any."""
        self._values: dict[str, tuple[str, ...]] = {}
        self._folded: dict[str, FoldedText] = {}
        self._customer: tuple[Customer | None] | None = None
        self._detected: tuple[str | None, str | None] | None = None
        self._history: dict[int, int] = {}

    def values(self, field: str) -> tuple[str, ...]:
        found = self._values.get(field)
        if found is None:
            if field.startswith(HEADER_PREFIX):
                found = self.mail.header_all(field[len(HEADER_PREFIX) :])
            else:
                found = _FIELD_READERS[field](self.mail)
            self._values[field] = found
        return found

    def folded(self, field: str) -> FoldedText:
        found = self._folded.get(field)
        if found is None:
            if field == "subject_or_body":
                # Reuse the two folded parts: the body is the costly one.
                subject, body = self.folded("subject"), self.folded("body")
                found = FoldedText(subject.words | body.words, subject.spaced + "|" + body.spaced)
            else:
                found = fold_values(self.values(field))
            self._folded[field] = found
        return found

    def exact(self, field: str) -> frozenset[str]:
        """The field's values as `equals:` compares them: stripped and case-folded."""
        return frozenset(value.strip().casefold() for value in self.values(field))

    @property
    def customer(self) -> Customer | None:
        if self._customer is None:
            self._customer = (self.rules.customer_for(self.mail.from_address),)
        return self._customer[0]

    @property
    def branch(self) -> Branch | None:
        return self.rules.branch_for(self.mail.from_address)

    def detected_product(self) -> tuple[str | None, str | None]:
        """(product id, the word that named it) from aliases, then keywords."""
        if self._detected is None:
            self._detected = self._detect()
        return self._detected

    def _detect(self) -> tuple[str | None, str | None]:
        text = self.folded("subject_or_body")
        # Aliases name a product outright, keywords only hint at it; so an alias
        # of a later product beats a keyword of an earlier one.
        for use_aliases in (True, False):
            for product_id, aliases, keywords in self.rules.product_words:
                term = (aliases if use_aliases else keywords).first(text)
                if term is not None:
                    return product_id, term
        return None, None

    def current_product(self) -> str | None:
        if self.rule_product is not None:
            return self.rule_product
        return self.detected_product()[0]

    def complaints_within(self, days: int) -> int:
        count = self._history.get(days)
        if count is None:
            count = self._history[days] = self._count_prior(days)
        return count

    def _count_prior(self, days: int) -> int:
        prior = self.context.prior_complaints
        if not prior:
            return 0
        now = self.context.now or self.mail.date or max(prior, key=_as_utc)
        end = _as_utc(now)
        start = end - timedelta(days=days)
        return sum(1 for moment in prior if start <= _as_utc(moment) <= end)


class _AttachmentFacts:
    """One attachment seen through the `Facts` interface (fields filename, content_type)."""

    __slots__ = ("_attachment",)

    def __init__(self, attachment: Attachment) -> None:
        self._attachment = attachment

    def values(self, field: str) -> tuple[str, ...]:
        if field == "filename":
            return (self._attachment.filename,)
        return (self._attachment.content_type,)

    def folded(self, field: str) -> FoldedText:
        return fold_values(self.values(field))


# ---------------------------------------------------------------------------
# Matchers: the operators words / regex / equals / glob, and header presence.
# ---------------------------------------------------------------------------


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


def _show_list(items: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(show(item) for item in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


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
        return f"{label} has any of the words {_show_list(self.words.terms)}"

    def miss(self, label: str) -> str:
        return f"{label} has none of the words {_show_list(self.words.terms)}"


class RegexMatcher(Matcher):
    __slots__ = ("patterns",)

    def __init__(self, patterns: Sequence[re.Pattern[str]]) -> None:
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
        return f"{label} matches regex {_show_list(patterns)}"

    def miss(self, label: str) -> str:
        patterns = [pattern.pattern for pattern in self.patterns]
        return f"{label} does not match regex {_show_list(patterns)}"


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
        return f"{label} is one of {_show_list(self.expected)}"

    def miss(self, label: str) -> str:
        if len(self.expected) == 1:
            return f"{label} is not {show(self.expected[0])}"
        return f"{label} is none of {_show_list(self.expected)}"


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
        return f"{label} matches {_show_list(self.patterns)}"

    def miss(self, label: str) -> str:
        return f"{label} matches none of {_show_list(self.patterns)}"

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


# ---------------------------------------------------------------------------
# Condition nodes: the compiled `when:` tree.
# ---------------------------------------------------------------------------


class Condition(ABC):
    """A compiled `when:` node. `test` is the fast path; `explain` also says why.

    `explain` appends to `reasons` human-readable descriptions of the facts that
    decided the result (what matched when true, what did not when false).
    """

    __slots__ = ()

    @abstractmethod
    def test(self, facts: MailFacts) -> bool: ...

    @abstractmethod
    def explain(self, facts: MailFacts, reasons: list[str]) -> bool: ...

    def constant(self) -> bool | None:
        """True/False when the condition is the same for every mail, else None."""
        return None

    def triggers(self) -> Triggers | None:
        """Words (per field) a mail must contain one of to match; None if any mail may."""
        return None


class FieldCondition(Condition):
    __slots__ = ("field", "label", "matcher")

    def __init__(self, field: str, label: str, matcher: Matcher) -> None:
        self.field = field
        self.label = label
        self.matcher = matcher

    def test(self, facts: MailFacts) -> bool:
        return self.matcher.test(facts, self.field)

    def explain(self, facts: MailFacts, reasons: list[str]) -> bool:
        hit = self.matcher.hit(facts, self.field, self.label)
        reasons.append(hit if hit is not None else self.matcher.miss(self.label))
        return hit is not None

    def constant(self) -> bool | None:
        return self.matcher.constant(self.field)

    def triggers(self) -> Triggers | None:
        return self.matcher.triggers(self.field)


class AllOf(Condition):
    __slots__ = ("children",)

    def __init__(self, children: Sequence[Condition]) -> None:
        self.children = tuple(children)

    def test(self, facts: MailFacts) -> bool:
        return all(child.test(facts) for child in self.children)

    def explain(self, facts: MailFacts, reasons: list[str]) -> bool:
        collected: list[str] = []
        for child in self.children:
            part: list[str] = []
            if not child.explain(facts, part):
                # The first failing part is the whole story of why `all` failed.
                reasons.extend(part)
                return False
            collected.extend(part)
        reasons.extend(collected)
        return True

    def constant(self) -> bool | None:
        results = [child.constant() for child in self.children]
        if False in results:
            return False
        return True if all(result is True for result in results) else None

    def triggers(self) -> Triggers | None:
        # Every child must hold, so any one child's trigger words will do;
        # the smallest set keeps the fewest mails as candidates.
        known = [found for child in self.children if (found := child.triggers()) is not None]
        if not known:
            return None
        return min(known, key=lambda found: sum(len(words) for words in found.values()))


class AnyOf(Condition):
    __slots__ = ("children",)

    def __init__(self, children: Sequence[Condition]) -> None:
        self.children = tuple(children)

    def test(self, facts: MailFacts) -> bool:
        return any(child.test(facts) for child in self.children)

    def explain(self, facts: MailFacts, reasons: list[str]) -> bool:
        misses: list[str] = []
        for child in self.children:
            part: list[str] = []
            if child.explain(facts, part):
                reasons.extend(part)
                return True
            misses.extend(part)
        reasons.extend(misses)
        return False

    def constant(self) -> bool | None:
        results = [child.constant() for child in self.children]
        if True in results:
            return True
        return False if all(result is False for result in results) else None

    def triggers(self) -> Triggers | None:
        # One child suffices, so the mail needs a trigger of some child; a
        # child without triggers makes the whole group untriggered.
        merged: dict[str, frozenset[str]] = {}
        for child in self.children:
            found = child.triggers()
            if found is None:
                return None
            for field_name, words in found.items():
                merged[field_name] = merged.get(field_name, frozenset()) | words
        return merged


class Not(Condition):
    __slots__ = ("child",)

    def __init__(self, child: Condition) -> None:
        self.child = child

    def test(self, facts: MailFacts) -> bool:
        return not self.child.test(facts)

    def explain(self, facts: MailFacts, reasons: list[str]) -> bool:
        # The child's reasons already describe the mail as it is ("sender
        # matches none of ..."), so they read correctly under `not` as well.
        return not self.child.explain(facts, reasons)

    def constant(self) -> bool | None:
        inner = self.child.constant()
        return None if inner is None else not inner


class Always(Condition):
    __slots__ = ("value",)

    def __init__(self, value: bool) -> None:
        self.value = value

    def test(self, facts: MailFacts) -> bool:
        return self.value

    def explain(self, facts: MailFacts, reasons: list[str]) -> bool:
        reasons.append("always" if self.value else "never (always: false)")
        return self.value

    def constant(self) -> bool | None:
        return self.value


class AttachmentCondition(Condition):
    """Some single attachment satisfies every given part (file name and type)."""

    __slots__ = ("parts",)

    def __init__(self, parts: Sequence[tuple[str, str, Matcher]]) -> None:
        self.parts = tuple(parts)
        """(field, label, matcher) with field `filename` or `content_type`."""

    def _fits(self, attachment: Attachment) -> bool:
        view = _AttachmentFacts(attachment)
        return all(matcher.test(view, name) for name, _, matcher in self.parts)

    def test(self, facts: MailFacts) -> bool:
        return any(self._fits(attachment) for attachment in facts.mail.attachments)

    def explain(self, facts: MailFacts, reasons: list[str]) -> bool:
        for attachment in facts.mail.attachments:
            if self._fits(attachment):
                view = _AttachmentFacts(attachment)
                for name, label, matcher in self.parts:
                    reasons.append(matcher.hit(view, name, label) or label)
                return True
        wanted = " and ".join(matcher.describe(label) for _, label, matcher in self.parts)
        reasons.append(f"no attachment where {wanted}")
        return False


class CustomerCondition(Condition):
    """The sender is (or is not) on the customer list, optionally with a tier."""

    __slots__ = ("known", "tiers")

    def __init__(self, known: bool | None, tiers: frozenset[str] | None) -> None:
        self.known = known
        self.tiers = tiers

    def test(self, facts: MailFacts) -> bool:
        customer = facts.customer
        if self.known is not None and (customer is not None) != self.known:
            return False
        return self.tiers is None or (customer is not None and customer.tier in self.tiers)

    def explain(self, facts: MailFacts, reasons: list[str]) -> bool:
        customer = facts.customer
        if customer is None:
            reasons.append("sender is not a known customer")
        elif self.tiers is not None:
            reasons.append(f"sender is customer {show(customer.name)} with tier {show(customer.tier)}")
        else:
            reasons.append(f"sender is known customer {show(customer.name)}")
        return self.test(facts)


class HistoryCondition(Condition):
    """The sender already complained at least `at_least` times in `within_days` days."""

    __slots__ = ("at_least", "within_days")

    def __init__(self, at_least: int, within_days: int) -> None:
        self.at_least = at_least
        self.within_days = within_days

    def test(self, facts: MailFacts) -> bool:
        return facts.complaints_within(self.within_days) >= self.at_least

    def explain(self, facts: MailFacts, reasons: list[str]) -> bool:
        count = facts.complaints_within(self.within_days)
        reasons.append(
            f"sender has {count} earlier complaint{'s' if count != 1 else ''} within "
            f"{self.within_days} days (the rule asks for at least {self.at_least})"
        )
        return count >= self.at_least


class _IdCondition(Condition):
    """Shared shape of `product:` and `branch:`: one of some ids, or known at all."""

    __slots__ = ("ids", "known")
    noun = ""

    def __init__(self, ids: frozenset[str] | None, known: bool | None) -> None:
        self.ids = ids
        self.known = known

    @abstractmethod
    def current(self, facts: MailFacts) -> str | None: ...

    def _judge(self, found: str | None) -> bool:
        if self.ids is not None:
            return found in self.ids
        return (found is not None) == bool(self.known)

    def test(self, facts: MailFacts) -> bool:
        return self._judge(self.current(facts))

    def explain(self, facts: MailFacts, reasons: list[str]) -> bool:
        found = self.current(facts)
        reasons.append(f"{self.noun} is {show(found)}" if found else f"no {self.noun}")
        return self._judge(found)


class ProductCondition(_IdCondition):
    """The product set by an earlier rule, or else the one detected by its words."""

    __slots__ = ()
    noun = "product"

    def current(self, facts: MailFacts) -> str | None:
        return facts.current_product()


class BranchCondition(_IdCondition):
    """The sender is one of a provincial branch's addresses."""

    __slots__ = ()
    noun = "sender branch"

    def current(self, facts: MailFacts) -> str | None:
        branch = facts.branch
        return branch.id if branch is not None else None


# ---------------------------------------------------------------------------
# The decision and how rules combine into it.
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RuleHit:
    """A rule that matched, and the conditions that made it match."""

    rule: str
    description: str
    matched: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RuleMiss:
    """A rule that did not match (only recorded with `route(..., trace=True)`)."""

    rule: str
    description: str
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Decision:
    """Where a complaint goes, and which rule decided each part of that."""

    department: str
    product: str | None
    severity: Severity
    escalate: bool
    tags: tuple[str, ...]
    sla_class: str | None
    hits: tuple[RuleHit, ...]
    decided_by: Mapping[str, str]
    """Field name -> the rule name, or `default`, `detected` (product found by
    its aliases/keywords) or `product` (department owns the product)."""
    rules_version: str
    escalate_to: tuple[str, ...] = ()
    """The general manager(s) to escalate to, when `escalate` is true."""
    notes: tuple[str, ...] = ()
    """Human explanations of choices no rule made (detection, defaults)."""
    misses: tuple[RuleMiss, ...] = ()

    @property
    def major_reason(self) -> str | None:
        """Why this complaint is major, in words for the GM and the ticket history."""
        if self.severity != "major":
            return None
        by = self.decided_by.get("severity", BY_DEFAULT)
        for hit in self.hits:
            if hit.rule == by:
                return f'rule "{hit.rule}" ({hit.description}): ' + "; ".join(hit.matched)
        return "the default severity in the rules file is major"

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready form, for the ticket history and `--json` output."""
        return {
            "department": self.department,
            "product": self.product,
            "severity": self.severity,
            "escalate": self.escalate,
            "escalate_to": list(self.escalate_to),
            "tags": list(self.tags),
            "sla_class": self.sla_class,
            "decided_by": dict(self.decided_by),
            "major_reason": self.major_reason,
            "hits": [
                {"rule": hit.rule, "description": hit.description, "matched": list(hit.matched)}
                for hit in self.hits
            ],
            "notes": list(self.notes),
            "rules_version": self.rules_version,
        }


@dataclass
class _Outcome:
    """The decision while rules are still being applied, in rule order."""

    department: str | None = None
    product: str | None = None
    severity: Severity | None = None
    escalate: bool = False
    tags: dict[str, None] = field(default_factory=dict)
    sla_class: str | None = None
    hits: list[RuleHit] = field(default_factory=list)
    decided_by: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def apply(self, rule: Rule, matched: list[str]) -> None:
        then = rule.then
        self.hits.append(RuleHit(rule.name, rule.description, tuple(matched)))
        # First rule to set department, product or SLA wins; later ones are ignored.
        if then.department is not None and self.department is None:
            self.department = then.department
            self.decided_by["department"] = rule.name
        if then.product is not None and self.product is None:
            self.product = then.product
            self.decided_by["product"] = rule.name
        if then.sla is not None and self.sla_class is None:
            self.sla_class = then.sla
            self.decided_by["sla"] = rule.name
        # Severity only ever rises: one major rule makes the complaint major.
        if then.severity is not None and (self.severity is None or then.severity == "major"):
            if self.severity != then.severity:
                self.decided_by["severity"] = rule.name
            self.severity = then.severity
        if then.escalate:
            self.escalate = True
            self.decided_by.setdefault("escalate", rule.name)
        for tag in then.tags:
            self.tags.setdefault(tag, None)

    def fill_gaps(self, facts: MailFacts) -> None:
        """Product detection, the product's department, then the default route."""
        rules = facts.rules
        if self.product is None:
            product_id, term = facts.detected_product()
            if product_id is not None and term is not None:
                self.product = product_id
                self.decided_by["product"] = BY_DETECTION
                self.notes.append(f"product {show(product_id)} detected by the word {show(term)}")
        if self.department is None and self.product is not None:
            self.department = rules.products[self.product].department
            self.decided_by["department"] = BY_PRODUCT
            self.notes.append(f"department owns product {show(self.product)}")
        if self.department is None:
            self.department = rules.default_department
            self.decided_by["department"] = BY_DEFAULT
            self.notes.append("no rule or product chose a department: default route")
        if self.severity is None:
            self.severity = rules.default_severity
            self.decided_by["severity"] = BY_DEFAULT
        # A major complaint always goes to the general manager (procedure 6.4).
        if self.severity == "major" and not self.escalate:
            self.escalate = True
            self.decided_by["escalate"] = self.decided_by["severity"]


def _escalation_target(rules: Rules, department_id: str) -> tuple[str, ...]:
    department = rules.departments[department_id]
    manager = department.general_manager
    if manager is None:
        # A department without its own GM escalates through the default one.
        manager = rules.departments[rules.default_department].general_manager
    return (manager,) if manager else ()


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


_NO_CONTEXT = RouteContext()


def route(
    mail: InboundMail,
    rules: Rules,
    context: RouteContext = _NO_CONTEXT,
    *,
    trace: bool = False,
) -> Decision:
    """Decide department, product, severity, escalation, tags and SLA for `mail`.

    Rules are tried in file order (see docs/rules.md for how their actions
    combine). With `trace=True` every rule is explained, and the ones that did
    not match are listed in `Decision.misses`; routing itself is unchanged.
    """
    facts = MailFacts(mail, rules, context)
    outcome = _Outcome()
    misses: list[RuleMiss] = []
    # Tracing explains every rule, so it skips the index on purpose.
    positions = range(len(rules.rules)) if trace else rules.index.candidates(facts)
    for position in positions:
        rule = rules.rules[position]
        reasons: list[str] = []
        matched = rule.when.explain(facts, reasons) if trace else rule.when.test(facts)
        if not matched:
            if trace:
                misses.append(RuleMiss(rule.name, rule.description, tuple(reasons)))
            continue
        if not trace:
            # Explaining costs more than testing, so do it only for rules that hit.
            rule.when.explain(facts, reasons)
        outcome.apply(rule, reasons)
        if outcome.product is not None:
            facts.rule_product = outcome.product
        if rule.then.stop:
            if trace:
                misses.extend(_skipped(rules.rules[position + 1 :], rule.name))
            break
    outcome.fill_gaps(facts)
    return _decision(outcome, rules, misses)


def _skipped(rules: Sequence[Rule], stopper: str) -> list[RuleMiss]:
    reason = (f'not evaluated: rule "{stopper}" has stop: true',)
    return [RuleMiss(rule.name, rule.description, reason) for rule in rules]


def _decision(outcome: _Outcome, rules: Rules, misses: list[RuleMiss]) -> Decision:
    department = outcome.department or rules.default_department
    severity: Severity = outcome.severity or rules.default_severity
    return Decision(
        department=department,
        product=outcome.product,
        severity=severity,
        escalate=outcome.escalate,
        tags=tuple(outcome.tags),
        sla_class=outcome.sla_class,
        hits=tuple(outcome.hits),
        decided_by=MappingProxyType(dict(outcome.decided_by)),
        rules_version=rules.version,
        escalate_to=_escalation_target(rules, department) if outcome.escalate else (),
        notes=tuple(outcome.notes),
        misses=tuple(misses),
    )


# ---------------------------------------------------------------------------
# Explanation for `caredesk rules test`.
# ---------------------------------------------------------------------------


def _by_text(decision: Decision, field_name: str) -> str:
    by = decision.decided_by.get(field_name)
    if by is None:
        return ""
    if by == BY_DEFAULT:
        return "  (default route)"
    if by == BY_DETECTION:
        return "  (detected from the mail's words)"
    if by == BY_PRODUCT:
        return f"  (owner of product {decision.product})"
    return f'  (rule "{by}")'


def explain(decision: Decision) -> list[str]:
    """Lines saying what was decided and why, for the CLI and the ticket history."""
    escalation = "no"
    if decision.escalate:
        target = ", ".join(decision.escalate_to) or "no general manager configured"
        escalation = f"yes, to {target}"
    lines = [
        f"department: {decision.department}{_by_text(decision, 'department')}",
        f"product:    {decision.product or '-'}{_by_text(decision, 'product')}",
        f"severity:   {decision.severity}{_by_text(decision, 'severity')}",
        f"escalate:   {escalation}{_by_text(decision, 'escalate')}",
        f"sla:        {decision.sla_class or '-'}{_by_text(decision, 'sla')}",
        f"tags:       {', '.join(decision.tags) or '-'}",
        f"rules:      version {decision.rules_version}",
    ]
    if decision.major_reason:
        lines.append(f"major because {decision.major_reason}")
    lines.extend(f"note: {note}" for note in decision.notes)
    lines.append("matched rules:" if decision.hits else "matched rules: none")
    for hit in decision.hits:
        lines.append(f"  {hit.rule}: {hit.description}")
        lines.extend(f"    - {reason}" for reason in hit.matched)
    if decision.misses:
        lines.append("rules that did not match:")
        for miss in decision.misses:
            lines.append(f"  {miss.rule}: {miss.description}")
            lines.extend(f"    - {reason}" for reason in miss.reasons)
    return lines
