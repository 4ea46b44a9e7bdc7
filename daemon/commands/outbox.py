"""`caredesk outbox list|retry`: the mail caredesk sends, and a second chance for what did not go out.

`list` shows the outbox rows, newest first, one line each (or JSON). `retry`
renders a mail whose template failed again with the current templates (same
Message-ID), or makes a failed or uncertain delivery due again, records who
asked on the ticket, then delivers at once through the configured transport.
"""

from __future__ import annotations

import argparse
import getpass
import json
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import col

from daemon.app.service import Daemon
from daemon.commands import UserError, configure, iso, open_engine
from daemon.send import requeue
from daemon.store import db
from daemon.store.models import OutboundMessage, Ticket


def _summary(row: OutboundMessage, reference: str | None) -> dict[str, Any]:
    return {
        "id": row.id,
        "state": row.state,
        "kind": row.kind,
        "recipient": row.recipient,
        "ticket": reference,
        "attempts": row.attempts,
        "created_at": iso(row.created_at),
        "next_attempt_at": iso(row.next_attempt_at),
        "sent_at": iso(row.sent_at),
        "last_code": row.last_code,
        "last_error": row.last_error,
        "template": row.template,
        "rendered": bool(row.raw),
        "message_id": row.message_id,
        "subject": row.subject,
    }


def cmd_list(args: argparse.Namespace) -> int:
    if args.limit < 1:
        raise UserError("--limit must be at least 1")
    config = configure(args)
    statement = (
        select(OutboundMessage, col(Ticket.reference))
        .outerjoin(Ticket, col(Ticket.id) == col(OutboundMessage.ticket_id))
        .order_by(col(OutboundMessage.id).desc())
        .limit(args.limit)
    )
    if args.state:
        statement = statement.where(col(OutboundMessage.state) == args.state)
    with open_engine(config) as engine, db.session(engine) as session:
        rows = [(row, reference) for row, reference in session.execute(statement).all()]
    if args.json:
        print(json.dumps([_summary(row, reference) for row, reference in rows], ensure_ascii=False, indent=2))
        return 0
    if not rows:
        print("no outgoing mail" + (f" in state {args.state}" if args.state else ""))
        return 0
    zone = ZoneInfo(config.timezone)
    print(
        f"{'ID':>6} {'STATE':<10} {'KIND':<14} {'RECIPIENT':<28} {'TICKET':<16} {'TRIES':>5} "
        f"{'CREATED':<16} LAST ERROR"
    )
    for row, reference in rows:
        error = row.last_error.splitlines()[0][:80] if row.last_error else ""
        created = f"{row.created_at.astimezone(zone):%Y-%m-%d %H:%M}"
        print(
            f"{row.id:>6} {row.state:<10} {row.kind[:14]:<14} {row.recipient[:28]:<28} "
            f"{reference or '-':<16} {row.attempts:>5} {created:<16} {error}"
        )
    return 0


def cmd_retry(args: argparse.Namespace) -> int:
    if not args.ids and not args.failed:
        raise UserError("name the mail to retry, or --failed")
    config = configure(args)
    who = _who()
    with Daemon(config) as daemon:
        with db.session(daemon.engine) as session:
            wanted = list(dict.fromkeys([*args.ids, *(requeue.failed_ids(session) if args.failed else [])]))
            now = daemon.clock()
            results = [requeue.retry(session, daemon.mailer, row_id, actor=who, now=now) for row_id in wanted]
            session.commit()
        if not results:
            print("no failed outgoing mail")
            return 0
        # At once, as `ingest` does after storing: whoever asked wants to see it go
        # out (or why not), not wait for the daemon's next round.
        if any(result.queued for result in results):
            daemon.deliver()
        with db.session(daemon.engine) as session:
            for result in results:
                line = result.what
                if result.queued:
                    row = session.get(OutboundMessage, result.id)
                    assert row is not None
                    line += f"; now {row.state}" + (f" ({row.last_error})" if row.last_error else "")
                print(line)
    return 0 if all(result.ok for result in results) else 1


def _who() -> str:
    """The operating-system user asking, for the ticket history (as `quarantine replay` records)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
