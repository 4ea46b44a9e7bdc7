"""`caredesk report monthly|review`: the monthly complaint report and the management-review summary.

`report monthly --resend --reason TEXT` and `--history` are `daemon.commands.report_resend`.
"""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from zoneinfo import ZoneInfo

from daemon import clock
from daemon.commands import UserError, configure, open_engine
from daemon.config import Config, ConfigError
from daemon.report import csv_out, html_out, text_out
from daemon.report.monthly import MonthlyReport, build_monthly
from daemon.report.periods import AsOf, Month, Quarter
from daemon.report.review import build_review
from daemon.report.xlsx_out import write_monthly_xlsx
from daemon.route.loader import load_rules
from daemon.route.rules import Rules, RulesError, format_problem
from daemon.store import db


def _resend_or_history(args: argparse.Namespace) -> bool:
    """Whether `report monthly` was asked to resend or show the history rather than write a file."""
    return bool(args.resend or args.history or args.reason is not None or args.recipient)


def cmd_report_monthly(args: argparse.Namespace) -> int:
    config = configure(args)
    rules = load_checked_rules(config.rules)
    month = _month(args.month, config)
    if _resend_or_history(args):
        # Here, not at the top: resending loads the daemon's mailer, which writing a report never needs.
        from daemon.commands import report_resend

        return report_resend.run(args, config, rules, month)
    unknown = sorted(set(args.department) - set(rules.departments))
    if unknown:
        known = ", ".join(rules.departments)
        raise UserError(f"unknown department {', '.join(unknown)}; the departments are: {known}")
    as_of = AsOf(clock.now(), config.timezone)
    # The report reads its lists while it is written: it is rendered with the session open.
    with open_engine(config) as engine, db.session(engine) as session:
        report = build_monthly(session, rules, month, as_of, tuple(args.department))
        if args.format == "xlsx":
            _write_workbook(report, config.name, args.out)
        elif args.format == "csv":
            write_output(csv_out.monthly_csv_parts(report), args.out)
        else:
            write_output(html_out.monthly_html_parts(report, organisation=config.name), args.out)
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
            write_output(text_out.review_json_parts(review), args.out)
        elif args.format == "csv":
            write_output(csv_out.review_csv_parts(review), args.out)
        elif args.format == "html":
            write_output(html_out.review_html_parts(review, organisation=config.name), args.out)
        else:
            write_output(text_out.review_text_parts(review, listed=args.list), args.out)
    return 0


def _write_workbook(report: MonthlyReport, organisation: str, out: str | None) -> None:
    """The workbook straight into `out`; to standard output only when that is not a terminal."""
    if out:
        path = Path(out)
        with _replacing(path) as partial:
            write_monthly_xlsx(report, partial, organisation=organisation)
        print(f"wrote {path} ({path.stat().st_size} bytes)", file=sys.stderr)
        return
    if sys.stdout.isatty():
        raise UserError("this format is binary: give --out FILE, or redirect the output to a file")
    buffer = io.BytesIO()
    write_monthly_xlsx(report, buffer, organisation=organisation)
    write_output(buffer.getvalue(), None)


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


def write_output(content: str | bytes | Iterable[str], out: str | None) -> None:
    """Write to `out`, or to standard output; a binary file is never written to a terminal.

    Text may come as pieces (a long report), written as they come. A file is
    written beside its name first and renamed when complete.
    """
    if out:
        path = Path(out)
        with _replacing(path) as partial:
            if isinstance(content, bytes):
                partial.write_bytes(content)
            elif isinstance(content, str):
                partial.write_text(content, encoding="utf-8")
            else:
                with partial.open("w", encoding="utf-8") as file:
                    file.writelines(content)
        print(f"wrote {path} ({path.stat().st_size} bytes)", file=sys.stderr)
        return
    if isinstance(content, str):
        sys.stdout.write(content)
        return
    if not isinstance(content, bytes):
        sys.stdout.writelines(content)
        return
    if sys.stdout.isatty():
        raise UserError("this format is binary: give --out FILE, or redirect the output to a file")
    sys.stdout.flush()
    sys.stdout.buffer.write(content)
    sys.stdout.buffer.flush()


@contextmanager
def _replacing(path: Path) -> Iterator[Path]:
    """A file beside `path` to write, which replaces `path` once written (and is removed if not)."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        yield partial
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
