"""`caredesk recap template|status`: the blank recap spreadsheet, and who sent their recap for a month."""

from __future__ import annotations

import argparse
import json
import re
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlmodel import Session, col

from daemon import clock
from daemon.commands import UserError, configure, open_engine
from daemon.config import Config
from daemon.recap.heading import parse_month
from daemon.recap.template import write_template
from daemon.route.loader import load_rules
from daemon.route.rules import Rules, RulesError
from daemon.store import db
from daemon.store.models import InboundMessage, RecapAttachment, RecapFile, RecapRowLink

_MONTH = re.compile(r"(\d{4})-(\d{2})")
SHOWN_PROBLEMS = 20
"""Problems listed per file in the text output; `--json` has them all."""


def _rules(config: Config) -> Rules:
    try:
        return load_rules(config.rules)
    except RulesError as error:
        raise UserError(f"cannot use the rules file:\n{error}") from None


def cmd_recap_template(args: argparse.Namespace) -> int:
    config = configure(args)
    rules = _rules(config)
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
        products = tuple(rules.products.values())
        write_template(out, branch=args.branch, month=month, products=products, categories=rules.categories)
    except OSError as error:
        raise UserError(f"cannot write {out}: {error.strerror}") from None
    print(f"{out}: recap template with {len(rules.products)} products")
    return 0


# ---------------------------------------------------------------------------
# recap status
# ---------------------------------------------------------------------------


def cmd_recap_status(args: argparse.Namespace) -> int:
    config = configure(args)
    rules = _rules(config)
    zone = ZoneInfo(config.timezone)
    month = _month(args.month, zone)
    with open_engine(config) as engine, db.session(engine) as session:
        report = recap_status(session, rules, month, zone)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        _print_status(report)
    return 0


def _month(text: str | None, zone: ZoneInfo) -> str:
    if text is None:
        # The month whose recap is due now: the one before today's.
        today = clock.now().astimezone(zone).date()
        previous = today.replace(day=1) - timedelta(days=1)
        return f"{previous.year:04d}-{previous.month:02d}"
    found = _MONTH.fullmatch(text.strip())
    if found is None or not 1 <= int(found.group(2)) <= 12:
        raise UserError(f"--month must look like 2026-03, not {text!r}")
    return text.strip()


def recap_status(session: Session, rules: Rules, month: str, zone: ZoneInfo) -> dict[str, Any]:
    """Who sent the recap of `month`, when, what was imported and refused; who did not send."""
    year, number = int(month[:4]), int(month[5:])
    due_month = date(year + number // 12, number % 12 + 1, 1)
    window_start = datetime.combine(due_month, time(), tzinfo=zone)
    # Files of the month, and refused files that never said their month but
    # arrived in the month the recap was due in.
    statement = (
        select(RecapFile, col(InboundMessage.from_address))
        .outerjoin(InboundMessage, col(InboundMessage.id) == col(RecapFile.inbound_id))
        .where(
            (col(RecapFile.month) == month)
            | (
                (col(RecapFile.month) == "")
                & (col(RecapFile.received_at) >= window_start)
                & (col(RecapFile.received_at) < _next_month(window_start))
            )
        )
        .order_by(col(RecapFile.received_at), col(RecapFile.id))
    )
    files = session.execute(statement).all()
    forms = _forms_per_file(session, [recap.id for recap, _ in files])
    tickets = _tickets_per_branch(session, month)
    by_branch: dict[str, list[dict[str, Any]]] = {}
    for recap, sender in files:
        by_branch.setdefault(recap.branch, []).append(_file_json(recap, sender or "", forms, zone))
    names = {branch.id: branch.name for branch in rules.branches.values()}
    known = [*names, *sorted(b for b in by_branch if b and b not in names)]
    branches = []
    for branch in known:
        sent = [f for f in by_branch.get(branch, []) if f["state"] == "imported"]
        branches.append(
            {
                "branch": branch,
                "name": names.get(branch, "(not in rules.yaml)"),
                "sent": bool(sent),
                "first_sent_at": sent[0]["received_at"] if sent else None,
                "tickets": tickets.get(branch, 0),
                "files": by_branch.get(branch, []),
            }
        )
    return {
        "month": month,
        "deadline": due_month.replace(day=5).isoformat(),
        "timezone": str(zone),
        "branches": branches,
        "missing": [b["branch"] for b in branches if not b["sent"] and b["branch"] in names],
        "not_from_branch": by_branch.get("", []),
    }


def _next_month(start: datetime) -> datetime:
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1)


def _forms_per_file(session: Session, ids: list[int | None]) -> dict[int, int]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    statement = (
        select(col(RecapAttachment.recap_file_id), func.count())
        .where(col(RecapAttachment.recap_file_id).in_(wanted))
        .group_by(col(RecapAttachment.recap_file_id))
    )
    return {int(file_id): int(count) for file_id, count in session.execute(statement).all()}


def _tickets_per_branch(session: Session, month: str) -> dict[str, int]:
    statement = (
        select(col(RecapRowLink.branch), func.count())
        .where(col(RecapRowLink.month) == month, col(RecapRowLink.ticket_id).is_not(None))
        .group_by(col(RecapRowLink.branch))
    )
    return {branch: int(count) for branch, count in session.execute(statement).all()}


def _file_json(recap: RecapFile, sender: str, forms: dict[int, int], zone: ZoneInfo) -> dict[str, Any]:
    return {
        "id": recap.id,
        "filename": recap.filename,
        "sender": sender,
        "received_at": recap.received_at.astimezone(zone).isoformat(),
        "state": recap.state,
        "reason": recap.reason,
        "rows_total": recap.rows_total,
        "rows_imported": recap.rows_imported,
        "rows_refused": recap.rows_refused,
        "created": recap.rows_created,
        "updated": recap.rows_updated,
        "unchanged": recap.rows_unchanged,
        "problems": json.loads(recap.problems or "[]"),
        "forms": forms.get(recap.id or 0, 0),
    }


def _print_status(report: dict[str, Any]) -> None:
    print(f"Recap {report['month']}: due {report['deadline']} ({report['timezone']})")
    for branch in report["branches"]:
        if branch["sent"]:
            state = f"sent {_when(branch['first_sent_at'])}, {branch['tickets']} complaints recorded"
        else:
            state = "NOT SENT"
        print(f"\n{branch['branch']}  {branch['name']}: {state}")
        for recap in branch["files"]:
            _print_file(recap)
    missing = report["missing"]
    print(f"\nnot sent ({len(missing)}): {', '.join(missing) if missing else '-'}")
    strangers = report["not_from_branch"]
    if strangers:
        print(f"\nfrom addresses that are no branch's ({len(strangers)}), not imported:")
        for recap in strangers:
            print(f"  {_when(recap['received_at'])}  {recap['sender'] or '-'}  {recap['filename']}")


def _print_file(recap: dict[str, Any]) -> None:
    head = f"  {_when(recap['received_at'])}  {recap['filename']}  {recap['state']}"
    if recap["state"] != "imported":
        print(f"{head}: {recap['reason']}")
        return
    print(
        f"{head}: {recap['rows_total']} rows, {recap['rows_imported']} imported "
        f"({recap['created']} new, {recap['updated']} updated, {recap['unchanged']} unchanged), "
        f"{recap['rows_refused']} refused; {recap['forms']} forms"
    )
    problems = recap["problems"]
    for problem in problems[:SHOWN_PROBLEMS]:
        cell = f" ({problem['cell']})" if problem.get("cell") else ""
        where = f"{problem['sheet']} row {problem['row']}, '{problem['column']}'{cell}"
        print(f"      {where}: {problem['message']}")
    if len(problems) > SHOWN_PROBLEMS:
        print(f"      ... {len(problems) - SHOWN_PROBLEMS} more problems (--json lists them all)")


def _when(value: str | None) -> str:
    return value[:16].replace("T", " ") if value else "-"
