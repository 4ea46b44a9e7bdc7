"""The arguments of each command group, kept apart from the commands' code so that start-up is cheap.

`daemon.cli` builds the whole argparse tree at every start, `caredesk --help`
included. So each module here imports only argparse and the standard library,
and names its handlers with `Lazy("tickets", "cmd_tickets_show")`: the module
`daemon.commands.tickets`, with its database and report code, is imported only
when that command runs. `tests/unit/test_cli_imports.py` keeps it so (it reads
`python -X importtime`), and checks that every `Lazy` names a function that exists.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from typing import Any

Handler = Callable[[argparse.Namespace], int]


class Lazy:
    """A command's handler: `function` of `daemon.commands.<module>`, imported when the command runs.

    A plain class, not a dataclass: `dataclasses` pulls in `inspect`, a good part of
    the start-up this package exists to keep small.
    """

    __slots__ = ("function", "module")

    def __init__(self, module: str, function: str) -> None:
        self.module = module
        self.function = function

    def __eq__(self, other: Any) -> bool:
        if not isinstance(other, Lazy):
            return NotImplemented
        return (self.module, self.function) == (other.module, other.function)

    def __hash__(self) -> int:
        return hash((self.module, self.function))

    def __repr__(self) -> str:
        return f"Lazy({self.module!r}, {self.function!r})"

    def resolve(self) -> Handler:
        handler: Handler = getattr(importlib.import_module(f"daemon.commands.{self.module}"), self.function)
        return handler

    def __call__(self, args: argparse.Namespace) -> int:
        return self.resolve()(args)
