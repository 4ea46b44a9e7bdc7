"""What rule conditions read: the facts about one mail, computed lazily and cached.

This module owns `MailFacts`, one mail as the rules see it: each field's
values, their folded words, the sender's customer record and branch, the
product its words name, and how often the sender complained before; each is
worked out at most once per mail, however many conditions ask. It also owns
the names of the fields conditions read (`HEADER_PREFIX`, `SINGLE_VALUED`),
and `Triggers`, the words a condition hinges on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from daemon.route.decision import RouteContext
from daemon.route.words import FoldedText, fold_values

if TYPE_CHECKING:
    from daemon.parse.message import Attachment, InboundMail
    from daemon.route.rules import Branch, Customer, Rules


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


class AttachmentFacts:
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
