"""`caredesk quarantine list|show|replay|discard`: mail that could not be processed.

A quarantined mail keeps its raw bytes, the stage it failed in, the error, the
traceback and the number of tries. A person can look at it, replay it (after a
fix or an upgrade) or discard it; discarding keeps the record and the bytes, with
who decided and why.
"""

from __future__ import annotations

import argparse
import getpass
import json
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from daemon import clock
from daemon.app.service import Daemon
from daemon.commands import UserError, configure, iso, open_engine, open_engine_for_writing
from daemon.store import db
from daemon.store.models import InboundMessage
from daemon.store.vocabulary import InboundState

HELD_STATES = (InboundState.QUARANTINED, InboundState.RETRY)


def register(commands: Any) -> None:
    quarantine = commands.add_parser("quarantine", help="mail that could not be processed")
    verbs = quarantine.add_subparsers(title="quarantine")
    listing = verbs.add_parser("list", help="quarantined mail and mail waiting for a retry")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=cmd_list)
    show = verbs.add_parser("show", help="one quarantined mail: stage, error, traceback, headers")
    show.add_argument("id", type=int)
    show.add_argument("--json", action="store_true")
    show.add_argument("--raw", action="store_true", help="print the raw message bytes")
    show.set_defaults(handler=cmd_show)
    replay = verbs.add_parser("replay", help="process quarantined mail again, now")
    replay.add_argument("ids", type=int, nargs="*")
    replay.add_argument("--all", action="store_true", help="replay every quarantined mail")
    replay.set_defaults(handler=cmd_replay)
    discard = verbs.add_parser("discard", help="give up on a quarantined mail (it stays on record)")
    discard.add_argument("id", type=int)
    discard.add_argument("--reason", required=True, help="why, for the record")
    discard.set_defaults(handler=cmd_discard)


def _summary(row: InboundMessage) -> dict[str, Any]:
    return {
        "id": row.id,
        "state": row.state,
        "received_at": iso(row.received_at),
        "from": row.from_address,
        "subject": row.subject,
        "stage": row.stage,
        "error": row.error,
        "attempts": row.attempts,
        "next_attempt_at": iso(row.next_attempt_at),
        "size": row.size,
        "source": row.source,
    }


def cmd_list(args: argparse.Namespace) -> int:
    config = configure(args)
    with open_engine(config) as engine, db.session(engine) as session:
        rows = session.execute(
            select(InboundMessage)
            .where(col(InboundMessage.state).in_(HELD_STATES))
            .order_by(col(InboundMessage.id))
        ).scalars()
        found = [_summary(row) for row in rows]
    if args.json:
        print(json.dumps(found, ensure_ascii=False, indent=2))
        return 0
    if not found:
        print("quarantine is empty")
        return 0
    print(f"{'ID':>6} {'STATE':<11} {'STAGE':<9} {'TRIES':>5} {'FROM':<28} ERROR")
    for item in found:
        error = (item["error"] or "").splitlines()[0][:60] if item["error"] else ""
        print(
            f"{item['id']:>6} {item['state']:<11} {item['stage'] or '-':<9} {item['attempts']:>5} "
            f"{(item['from'] or '-')[:28]:<28} {error}"
        )
    return 0


def _held(session: Any, row_id: int) -> InboundMessage:
    row = session.get(InboundMessage, row_id)
    if row is None:
        raise UserError(f"no inbound mail #{row_id}")
    if row.state not in HELD_STATES:
        raise UserError(f"inbound mail #{row_id} is {row.state}, not quarantined")
    return row


def cmd_show(args: argparse.Namespace) -> int:
    config = configure(args)
    with open_engine(config) as engine, db.session(engine) as session:
        row = _held(session, args.id)
        detail = _summary(row) | {"reason": row.reason, "notes": row.notes, "traceback": row.traceback}
        raw = row.raw
    if args.raw:
        import sys

        sys.stdout.buffer.write(raw)
        return 0
    if args.json:
        print(json.dumps(detail, ensure_ascii=False, indent=2))
        return 0
    for key, value in detail.items():
        if key != "traceback" and value not in (None, ""):
            print(f"{key.replace('_', ' '):<16} {value}")
    header_block = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    print("\nheaders:\n  " + "\n  ".join(header_block.decode("utf-8", "replace").splitlines()[:40]))
    if detail["traceback"]:
        print("\ntraceback:\n" + str(detail["traceback"]))
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    if not args.ids and not args.all:
        raise UserError("name the mail to replay, or --all")
    config = configure(args)
    with Daemon(config) as daemon:
        with db.session(daemon.engine) as session:
            if args.all:
                rows = list(
                    session.execute(
                        select(InboundMessage).where(col(InboundMessage.state).in_(HELD_STATES))
                    ).scalars()
                )
            else:
                rows = [_held(session, row_id) for row_id in args.ids]
            for row in rows:
                note = f"replayed by {_who()} at {clock.now().isoformat()}; earlier: {row.stage}: {row.error}"
                row.notes = (row.notes + "\n" if row.notes else "") + note
                row.state, row.attempts, row.next_attempt_at = InboundState.STORED, 0, None
                row.stage = row.error = row.traceback = None
                session.add(row)
            session.commit()
            replayed = [row.id for row in rows]
        daemon.processor.process_stored()
        daemon.deliver()
        with db.session(daemon.engine) as session:
            for row_id in replayed:
                row = session.get(InboundMessage, row_id)
                assert row is not None
                print(f"#{row_id}: {row.state}" + (f" ({row.stage}: {row.error})" if row.error else ""))
    return 0


def cmd_discard(args: argparse.Namespace) -> int:
    config = configure(args)
    with open_engine_for_writing(config) as engine, db.session(engine) as session:
        row = _held(session, args.id)
        note = f"discarded by {_who()} at {clock.now().isoformat()}: {args.reason}"
        row.notes = (row.notes + "\n" if row.notes else "") + note
        row.state, row.next_attempt_at = InboundState.DISCARDED, None
        session.add(row)
        session.commit()
    print(f"#{args.id}: discarded (kept on record)")
    return 0


def _who() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
