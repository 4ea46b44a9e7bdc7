"""`caredesk rules ...`: validate and try out routing rules."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from daemon.commands import UserError
from daemon.config import load_config
from daemon.rules import check_rules, format_problem


def register(commands: Any) -> None:
    rules = commands.add_parser("rules", help="routing rules").add_subparsers(title="rules")
    check = rules.add_parser("check", help="validate a rules file")
    check.add_argument("path", nargs="?")
    check.set_defaults(handler=cmd_rules_check)


def cmd_rules_check(args: argparse.Namespace) -> int:
    path = Path(args.path) if args.path else load_config(args.config).rules
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise UserError(f"cannot read {path}: {error.strerror}") from None
    rules, problems = check_rules(text, str(path))
    for problem in problems:
        print(format_problem(problem))
    if rules is None:
        return 1
    print(
        f"{path}: ok, {len(rules.rules)} rules, {len(rules.departments)} departments, version {rules.version}"
    )
    return 0
