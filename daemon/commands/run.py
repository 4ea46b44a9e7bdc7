"""`caredesk run` and `caredesk ingest`: the daemon, and mail handed over by an MTA."""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from daemon import db, store
from daemon.commands import EX_TEMPFAIL, UserError, configure
from daemon.config import ConfigError
from daemon.service import Daemon

INGEST_SOURCE = "ingest"


def register(commands: Any) -> None:
    run = commands.add_parser("run", help="run the daemon")
    run.add_argument("--once", action="store_true", help="process what is waiting, then exit")
    run.set_defaults(handler=cmd_run)

    ingest = commands.add_parser("ingest", help="process .eml files, or - for standard input")
    ingest.add_argument("files", nargs="+", metavar="FILE")
    ingest.set_defaults(handler=cmd_ingest)


def cmd_run(args: argparse.Namespace) -> int:
    with Daemon(configure(args)) as daemon:
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
        daemon = Daemon(configure(args))
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
