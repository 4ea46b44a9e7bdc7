"""`#category` and `#organisation`: the labels of the complaint form a reply may set.

This module owns what those two commands accept, as pure decisions the
lifecycle applies (`daemon.tickets.lifecycle`): a category must be one of the
`categories:` list of rules.yaml, named by its name or an alias in any case,
and is stored as the list spells it; an organisation is free text that fits
the ticket's column. `#category -` and `#organisation -` clear the field. It
also owns `Known`, what a reply's commands are checked against, and
`label_command`, the lifecycle's handler for both commands.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Protocol

from daemon.route.rules import Categories
from daemon.tickets.commands import Command

CLEAR = "-"
"""The argument that clears a label."""
ORGANISATION_LENGTH = 320
"""What the ticket's organisation column holds."""


@dataclass(frozen=True)
class Known:
    """What a reply's commands may name: the department ids and the categories of rules.yaml."""

    departments: Collection[str]
    categories: Categories = field(default_factory=Categories)


@dataclass(frozen=True)
class Verdict:
    """What one label command does: set `value`, or change nothing and say why."""

    value: str | None = None
    refusal: str | None = None
    """Why the command was refused; None when it was not."""
    unchanged: str | None = None
    """Why nothing needed doing (the ticket has the value already); None otherwise."""


def category_verdict(argument: str, current: str | None, categories: Categories) -> Verdict:
    """`#category <name>`: a listed category (by name or alias), or `-` to clear it."""
    text = argument.strip()
    if not text:
        return Verdict(refusal=f"missing category; the categories are: {categories.allowed()}")
    wanted = None if text == CLEAR else categories.find(text)
    if wanted is None and text != CLEAR:
        return Verdict(refusal=categories.refusal(text))
    if wanted == current:
        return Verdict(unchanged=f"the category is already {current}" if current else "there is no category")
    return Verdict(value=wanted)


def organisation_verdict(argument: str, current: str | None, _categories: Categories) -> Verdict:
    """`#organisation <name>`: the customer's organisation as written, or `-` to clear it."""
    text = " ".join(argument.split())
    if not text:
        return Verdict(refusal="missing text after #organisation (write '#organisation -' to clear it)")
    if len(text) > ORGANISATION_LENGTH:
        length = len(text)
        return Verdict(refusal=f"the organisation is {length} characters long; at most {ORGANISATION_LENGTH}")
    wanted = "" if text == CLEAR else text
    if wanted == (current or ""):
        return Verdict(unchanged=f"the organisation is already {current}" if current else "there is none")
    return Verdict(value=wanted)


Decide = Callable[[str, str | None, Categories], Verdict]
"""A label command's decision: (argument, the field as it is, the categories) -> what to do."""


class _MailSoFar(Protocol):
    """What a label command reads and records of the mail being applied (`lifecycle._Mail`)."""

    @property
    def view(self) -> object: ...

    @property
    def categories(self) -> Categories: ...

    @property
    def unchanged(self) -> list[str]: ...

    def set(self, name: str, value: str | None) -> None: ...

    def refuse(self, command: Command, reason: str) -> None: ...


def label_command(name: str, decide: Decide) -> Callable[[_MailSoFar, Command], None]:
    """The handler that applies `decide` to the ticket field `name`: set it, or say why not."""

    def handle(mail: _MailSoFar, command: Command) -> None:
        verdict = decide(command.argument, getattr(mail.view, name), mail.categories)
        if verdict.refusal is not None:
            mail.refuse(command, verdict.refusal)
        elif verdict.unchanged is not None:
            mail.unchanged.append(f"{command.raw}: {verdict.unchanged}")
        else:
            mail.set(name, verdict.value)

    return handle
