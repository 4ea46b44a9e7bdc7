"""`caredesk report monthly|review`: the monthly complaint report and the management-review summary.

`report monthly --resend --reason TEXT` and `--history` are `daemon.commands.report_resend`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from daemon import clock
from daemon.commands import UserError, configure, open_engine, report_resend
from daemon.config import Config, ConfigError
from daemon.report import csv_out, html_out, text_out
from daemon.report.monthly import build_monthly
from daemon.report.periods import AsOf, Month, Quarter
from daemon.report.review import build_review
from daemon.report.xlsx_out import monthly_xlsx
from daemon.route.loader import load_rules
from daemon.route.rules import Rules, RulesError, format_problem
from daemon.store import db


def cmd_report_monthly(args: argparse.Namespace) -> int:
    config = configure(args)
    rules = load_checked_rules(config.rules)
    month = _month(args.month, config)
    if report_resend.wanted(args):
        return report_resend.run(args, config, rules, month)
    unknown = sorted(set(args.department) - set(rules.departments))
    if unknown:
        known = ", ".join(rules.departments)
        raise UserError(f"unknown department {', '.join(unknown)}; the departments are: {known}")
    as_of = AsOf(clock.now(), config.timezone)
    with open_engine(config) as engine, db.session(engine) as session:
        report = build_monthly(session, rules, month, as_of, tuple(args.department))
    if args.format == "xlsx":
        write_output(monthly_xlsx(report, organisation=config.name), args.out)
    elif args.format == "csv":
        write_output(csv_out.monthly_csv(report), args.out)
    else:
        write_output(html_out.monthly_html(report, organisation=config.name), args.out)
    return 0


def cmd_report_review(args: argparse.Namespace) -> int:
    config = configure(args)
    rules = load_checked_rules(config.rules)
    try:
        quarter = Quarter.parse(args.quarter)
    except ValueError as error:
        raise UserError(f"--quarter: {error}") from None
    with open_engine(config) as engine, db.session(engine) as session:
        review = build_review(session, rules, quarter, AsOf(clock.now(), config.timezone))
    if args.format == "json":
        write_output(json.dumps(text_out.review_json(review), ensure_ascii=False, indent=2) + "\n", args.out)
    elif args.format == "csv":
        write_output(csv_out.review_csv(review), args.out)
    elif args.format == "html":
        write_output(html_out.review_html(review, organisation=config.name), args.out)
    else:
        write_output(text_out.review_text(review), args.out)
    return 0


def load_checked_rules(path: Path) -> Rules:
    """The configured rules, or a configuration error listing what is wrong with them."""
    try:
        return load_rules(path)
    except RulesError as error:
        details = "\n".join(format_problem(problem) for problem in error.problems)
        raise ConfigError(f"{path}: rules are invalid:\n{details}") from None


def _month(text: str | None, config: Config) -> Month:
    if text is None:
        return Month.of(clock.now().astimezone(ZoneInfo(config.timezone)).date()).previous()
    try:
        return Month.parse(text)
    except ValueError as error:
        raise UserError(f"--month: {error}") from None


def write_output(content: str | bytes, out: str | None) -> None:
    """Write to `out`, or to standard output; a binary file is never written to a terminal."""
    if out:
        path = Path(out)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        print(f"wrote {path} ({path.stat().st_size} bytes)", file=sys.stderr)
        return
    if isinstance(content, str):
        sys.stdout.write(content)
        return
    if sys.stdout.isatty():
        raise UserError("this format is binary: give --out FILE, or redirect the output to a file")
    sys.stdout.flush()
    sys.stdout.buffer.write(content)
    sys.stdout.buffer.flush()
