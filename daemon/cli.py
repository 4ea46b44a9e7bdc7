"""The `caredesk` command line: argument parsing, output formatting and exit codes.

Exit codes: 0 ok, 1 a user error with a message, 75 (EX_TEMPFAIL) when `ingest`
could not store a mail (an MTA then keeps it and retries), 78 (EX_CONFIG) for a
configuration error.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import sys
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col

from daemon import db, store
from daemon.config import EX_CONFIG, Config, ConfigError, load_config
from daemon.models import InboundMessage, OutboundMessage, Ticket, TicketEvent
from daemon.rules import check_rules, format_problem
from daemon.service import Daemon

EX_TEMPFAIL = 75
INGEST_SOURCE = "ingest"

log = logging.getLogger("caredesk.cli")


class UserError(Exception):
    """A mistake in what was asked; printed without a traceback, exit code 1."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 1
    try:
        return int(args.handler(args))
    except ConfigError as error:
        print(f"caredesk: configuration error: {error}", file=sys.stderr)
        return EX_CONFIG
    except UserError as error:
        print(f"caredesk: {error}", file=sys.stderr)
        return 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="caredesk", description="Email-driven complaint ticketing.")
    parser.add_argument(
        "--config", help="path to caredesk.toml (default: $CAREDESK_CONFIG or embedded defaults)"
    )
    commands = parser.add_subparsers(title="commands")

    run = commands.add_parser("run", help="run the daemon")
    run.add_argument("--once", action="store_true", help="process what is waiting, then exit")
    run.set_defaults(handler=cmd_run)

    ingest = commands.add_parser("ingest", help="process .eml files, or - for standard input")
    ingest.add_argument("files", nargs="+", metavar="FILE")
    ingest.set_defaults(handler=cmd_ingest)

    tickets = commands.add_parser("tickets", help="the complaint register").add_subparsers(title="tickets")
    listing = tickets.add_parser("list", help="list tickets, newest first")
    listing.add_argument("--json", action="store_true")
    listing.add_argument("--status")
    listing.add_argument("--department")
    listing.add_argument("--limit", type=int, default=1000)
    listing.set_defaults(handler=cmd_tickets_list)
    show = tickets.add_parser("show", help="one ticket with its whole history")
    show.add_argument("reference")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=cmd_tickets_show)

    rules = commands.add_parser("rules", help="routing rules").add_subparsers(title="rules")
    check = rules.add_parser("check", help="validate a rules file")
    check.add_argument("path", nargs="?")
    check.set_defaults(handler=cmd_rules_check)
    return parser


def _config(args: argparse.Namespace) -> Config:
    config = load_config(args.config)
    logging.basicConfig(
        level=getattr(logging, config.log_level, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    return config


@contextlib.contextmanager
def _engine(config: Config) -> Iterator[Engine]:
    engine = db.make_engine(config.database_url)
    try:
        db.create_schema(engine)
        yield engine
    finally:
        engine.dispose()


def cmd_run(args: argparse.Namespace) -> int:
    with Daemon(_config(args)) as daemon:
        return _run(daemon, once=args.once)


def _run(daemon: Daemon, *, once: bool) -> int:
    restore_signals = daemon.install_signal_handlers()
    try:
        if once:
            counts = daemon.run_once()
            summary = ", ".join(f"{key} {value}" for key, value in sorted(counts.items()))
            print(f"caredesk: {summary or 'nothing to do'}")
            return 0
        daemon.run_forever()
        return 0
    finally:
        restore_signals()


def cmd_ingest(args: argparse.Namespace) -> int:
    raws = []
    for name in args.files:
        try:
            raws.append(sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes())
        except OSError as error:
            raise UserError(f"cannot read {name}: {error.strerror}") from None
    # Anything that stops us storing the mail, a broken configuration included, is
    # a temporary failure for the MTA that piped it to us: it keeps the mail and
    # retries, instead of bouncing a customer's complaint while an admin fixes it.
    try:
        daemon = Daemon(_config(args))
    except (ConfigError, SQLAlchemyError, OSError) as error:
        print(f"caredesk: could not store the mail, try again later: {error}", file=sys.stderr)
        return EX_TEMPFAIL
    with daemon:
        try:
            with db.session(daemon.engine) as session:
                fetched = [store.Fetched(key=hashlib.sha256(raw).hexdigest(), raw=raw) for raw in raws]
                store.record_fetched(session, INGEST_SOURCE, fetched, received_at=daemon.clock())
                session.commit()
        except (SQLAlchemyError, OSError) as error:
            print(f"caredesk: could not store the mail, try again later: {error}", file=sys.stderr)
            return EX_TEMPFAIL
        # Stored is what an MTA needs to hear; processing and sending are retried by
        # the daemon if anything below fails.
        counts = daemon.processor.process_stored().counts
        counts.update(daemon.deliver())
    print("caredesk: " + ", ".join(f"{key} {value}" for key, value in sorted(counts.items())))
    return 0


def _ticket_summary(ticket: Ticket) -> dict[str, Any]:
    return {
        "reference": ticket.reference,
        "status": ticket.status,
        "department": ticket.department,
        "severity": ticket.severity,
        "product": ticket.product,
        "customer_email": ticket.customer_email,
        "customer_name": ticket.customer_name,
        "subject": ticket.subject,
        "origin": ticket.origin,
        "channel": ticket.channel,
        "escalated": ticket.escalated,
        "received_at": _iso(ticket.received_at),
        "created_at": _iso(ticket.created_at),
        "updated_at": _iso(ticket.updated_at),
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def cmd_tickets_list(args: argparse.Namespace) -> int:
    config = _config(args)
    statement = select(Ticket).order_by(col(Ticket.id).desc()).limit(args.limit)
    if args.status:
        statement = statement.where(col(Ticket.status) == args.status)
    if args.department:
        statement = statement.where(col(Ticket.department) == args.department)
    with _engine(config) as engine, db.session(engine) as session:
        tickets = session.execute(statement).scalars().all()
    if args.json:
        print(json.dumps([_ticket_summary(t) for t in tickets], ensure_ascii=False, indent=2))
        return 0
    if not tickets:
        print("no tickets")
        return 0
    print(f"{'REFERENCE':<16} {'STATUS':<11} {'DEPARTMENT':<14} {'SEV':<6} {'CUSTOMER':<28} SUBJECT")
    for t in tickets:
        print(
            f"{t.reference:<16} {t.status:<11} {t.department:<14} {t.severity:<6} "
            f"{t.customer_email[:28]:<28} {t.subject[:60]}"
        )
    return 0


def _ticket_detail(session: Any, ticket: Ticket) -> dict[str, Any]:
    detail = _ticket_summary(ticket)
    detail.update(
        {
            "tags": [tag for tag in ticket.tags.split(",") if tag],
            "sla_class": ticket.sla_class,
            "pic_phone": ticket.pic_phone,
            "pic_email": ticket.pic_email,
            "language": ticket.language,
            "description": ticket.description,
            "root_cause": ticket.root_cause,
            "corrective_action": ticket.corrective_action,
            "action_target": ticket.action_target.isoformat() if ticket.action_target else None,
            "preventive_action": ticket.preventive_action,
            "effectiveness": ticket.effectiveness,
            "completed_at": _iso(ticket.completed_at),
            "closed_by": ticket.closed_by,
            "rules_version": ticket.rules_version,
        }
    )
    events = session.execute(
        select(TicketEvent).where(col(TicketEvent.ticket_id) == ticket.id).order_by(col(TicketEvent.id))
    ).scalars()
    detail["history"] = [
        {
            "at": _iso(e.at),
            "actor": e.actor,
            "action": e.action,
            "field": e.field_name,
            "old": e.old_value,
            "new": e.new_value,
            "reason": e.reason,
        }
        for e in events
    ]
    inbound = session.execute(
        select(InboundMessage)
        .where(col(InboundMessage.ticket_id) == ticket.id)
        .order_by(col(InboundMessage.id))
    ).scalars()
    outbound = session.execute(
        select(OutboundMessage)
        .where(col(OutboundMessage.ticket_id) == ticket.id)
        .order_by(col(OutboundMessage.id))
    ).scalars()
    detail["messages"] = [
        {
            "direction": "in",
            "at": _iso(m.received_at),
            "from": m.from_address,
            "subject": m.subject,
            "message_id": m.message_id,
            "state": m.state,
        }
        for m in inbound
    ] + [
        {
            "direction": "out",
            "at": _iso(m.created_at),
            "kind": m.kind,
            "to": m.recipient,
            "subject": m.subject,
            "message_id": m.message_id,
            "state": m.state,
        }
        for m in outbound
    ]
    return detail


def cmd_tickets_show(args: argparse.Namespace) -> int:
    config = _config(args)
    with _engine(config) as engine, db.session(engine) as session:
        ticket = store.find_ticket(session, args.reference)
        if ticket is None:
            raise UserError(f"no ticket {args.reference}")
        detail = _ticket_detail(session, ticket)
    if args.json:
        print(json.dumps(detail, ensure_ascii=False, indent=2))
        return 0
    _print_detail(detail)
    return 0


def _print_detail(detail: dict[str, Any]) -> None:
    skip = {"history", "messages", "description"}
    for key, value in detail.items():
        if key not in skip and value not in (None, "", []):
            print(f"{key.replace('_', ' '):<18} {value}")
    print("\ndescription:\n  " + "\n  ".join(str(detail["description"]).splitlines()))
    print("\nhistory:")
    for event in detail["history"]:
        change = f" {event['field']}: {event['old'] or ''} -> {event['new']}" if event["field"] else ""
        print(f"  {event['at']}  {event['actor']:<28} {event['action']}{change}  {event['reason']}")
    print("\nmessages:")
    for message in detail["messages"]:
        who = message.get("from") or message.get("to")
        state = f"[{message['state']}]"
        print(f"  {message['at']}  {message['direction']:<3} {who:<28} {state} {message['subject']}")


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
