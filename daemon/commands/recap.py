"""`caredesk recap template`: the blank recap spreadsheet a branch fills in each month."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from daemon.commands import UserError, configure
from daemon.recap.template import write_template
from daemon.recap.validate import parse_month
from daemon.rules import RulesError, load_rules


def register(commands: Any) -> None:
    recap = commands.add_parser("recap", help="branch recap spreadsheets").add_subparsers(title="recap")
    template = recap.add_parser("template", help="write the recap template (.xlsx)")
    template.add_argument("--out", required=True, help="where to write the .xlsx, e.g. rekap.xlsx")
    template.add_argument("--branch", help="fill in this branch id (from rules.yaml)")
    template.add_argument("--month", help="fill in this month, YYYY-MM")
    template.set_defaults(handler=cmd_recap_template)


def cmd_recap_template(args: argparse.Namespace) -> int:
    config = configure(args)
    try:
        rules = load_rules(config.rules)
    except RulesError as error:
        raise UserError(f"cannot use the rules file:\n{error}") from None
    if args.branch and args.branch not in rules.branches:
        known = ", ".join(rules.branches) or "none"
        raise UserError(f"unknown branch {args.branch!r}; the branches in {config.rules} are: {known}")
    month = None
    if args.month:
        month = parse_month(args.month)
        if month is None:
            raise UserError(f"--month must be YYYY-MM, not {args.month!r}")
    out = Path(args.out)
    if out.suffix.lower() != ".xlsx":
        raise UserError(f"--out must name an .xlsx file, not {out.name!r}")
    try:
        write_template(out, branch=args.branch, month=month, products=tuple(rules.products.values()))
    except OSError as error:
        raise UserError(f"cannot write {out}: {error.strerror}") from None
    print(f"{out}: recap template with {len(rules.products)} products")
    return 0
