"""`caredesk run` and `caredesk ingest`: the daemon, and mail handed over by an MTA.

The daemon (`run` without `--once`) waits for a database that cannot be reached
when it starts, instead of exiting: one ERROR line, then a WARNING per retry with
a growing delay (at most `START_RETRY_MAX_SECONDS`), until the database answers
or SIGTERM/SIGINT ends the wait. A restart loop under systemd would print the
same failure every few seconds and hide the first one. `run --once` and the other
commands exit 69 (EX_UNAVAILABLE) instead; `ingest` exits 75 so the MTA retries.

`ingest`'s exit code is for the MTA that piped the mail to it: 0 once the mail is
stored, also when processing it fails afterwards (the daemon retries or
quarantines it, and the sender must not get a bounce); 75 (EX_TEMPFAIL) when it
could not be stored; 65 (EX_DATAERR) for a mail bigger than caredesk takes whole.

`ingest --explain` stores and sends nothing: it says what the daemon would make
of each mail and why (`daemon.commands.explain`).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import logging
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col

from daemon.app.service import Daemon
from daemon.commands import EX_TEMPFAIL, UserError, configure, explain
from daemon.config import Config, ConfigError
from daemon.fetch.imap import hard_cap
from daemon.store import db, queries
from daemon.store.models import InboundMessage

INGEST_SOURCE = "ingest"
READ_CHUNK = 1024 * 1024
EX_DATAERR = 65
"""sysexits.h: the input was refused; an MTA bounces the mail instead of retrying."""
START_RETRY_FIRST_SECONDS = 1.0
START_RETRY_MAX_SECONDS = 60.0

log = logging.getLogger("caredesk.service")


def cmd_run(args: argparse.Namespace) -> int:
    config = configure(args)
    if args.once:
        with Daemon(config) as daemon:
            return _run(daemon, once=True)
    started = start_when_reachable(config)
    if started is None:
        return 0
    with started as daemon, _web_beside(config):
        return _run(daemon, once=False)


@contextlib.contextmanager
def _web_beside(config: Config) -> Iterator[None]:
    """`[web] listen`: the read-only web view served by this process too, while the daemon runs."""
    if not config.web.listen:
        yield
        return
    from daemon.web.serve import WebThread

    web = WebThread(config)
    web.start()
    try:
        yield
    finally:
        web.stop()


def start_when_reachable(config: Config, stop: threading.Event | None = None) -> Daemon | None:
    """The daemon, once its database can be reached; None when a signal ends the wait first.

    A configuration error is raised at once (each try builds the whole daemon, so
    the configuration is checked before the database). While the database is
    unreachable only the connection is tried again, so the log carries the
    outage and not the start-up lines of every try.
    """
    stop = stop or threading.Event()

    def handle(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        while not stop.is_set():
            try:
                return Daemon(config, stop=stop)
            except db.DatabaseUnavailable as error:
                if not _wait_for_database(config.database_url, error, stop):
                    break
        log.info("caredesk stopped before the database could be reached")
        return None
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _wait_for_database(url: str, error: db.DatabaseUnavailable, stop: threading.Event) -> bool:
    """Retry connecting with a doubling delay; True when it answers, False when stopped."""
    tries, delay = 1, START_RETRY_FIRST_SECONDS
    log.error("%s; caredesk keeps trying (next try in %gs)", error, delay)
    while not stop.wait(delay):
        engine = db.make_engine(url)
        try:
            db.check_reachable(engine, url)
        except db.DatabaseUnavailable as again:
            tries += 1
            delay = min(delay * 2, START_RETRY_MAX_SECONDS)
            log.warning("%s (try %d); next try in %gs", again, tries, delay)
            continue
        finally:
            engine.dispose()
        log.info("database %s reachable after %d tries", db.public_database_url(url), tries + 1)
        return True
    return False


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
    if args.explain:
        return explain.cmd_explain(args)
    if args.json:
        raise UserError("--json goes with --explain")
    # Anything that stops us storing the mail, a broken configuration included, is
    # a temporary failure for the MTA that piped it to us: it keeps the mail and
    # retries, instead of bouncing a customer's complaint while an admin fixes it.
    try:
        config = configure(args)
    except ConfigError as error:
        print(f"caredesk: could not store the mail, try again later: {error}", file=sys.stderr)
        return EX_TEMPFAIL
    limit = config.mailbox.max_message_bytes
    fetched = []
    for name in args.files:
        read = _read_mail(name, hard_cap(limit))
        if isinstance(read, int):
            print(
                f"caredesk: {name}: a mail of {read:,} bytes is over the {hard_cap(limit):,} bytes caredesk "
                "takes whole: refused, nothing stored",
                file=sys.stderr,
            )
            return EX_DATAERR
        fetched.append(_ingested(read, limit))
    try:
        daemon = Daemon(config)
    except (ConfigError, db.DatabaseUnavailable, SQLAlchemyError, OSError) as error:
        print(f"caredesk: could not store the mail, try again later: {error}", file=sys.stderr)
        return EX_TEMPFAIL
    with daemon:
        try:
            with db.session(daemon.engine) as session:
                new = queries.record_fetched(session, INGEST_SOURCE, fetched, received_at=daemon.clock())
                session.commit()
                stored = _stored_ids(session, fetched)
        except (SQLAlchemyError, OSError) as error:
            print(f"caredesk: could not store the mail, try again later: {error}", file=sys.stderr)
            return EX_TEMPFAIL
        # Stored is what an MTA needs to hear: from here on the exit code is 0, whatever
        # fails. A mail not processed now is the daemon's to retry or quarantine; a
        # bounce would tell the customer it never arrived.
        try:
            counts = daemon.processor.process_stored().counts
        except Exception as error:
            # The mail is safe: say why and leave it to the daemon.
            print(
                f"caredesk: stored as {stored}; processing failed ({type(error).__name__}: "
                f"{_first_line(error)}): the daemon processes it again",
                file=sys.stderr,
            )
            return 0
        counts.update(daemon.deliver())
    if new < len(fetched):
        counts["already stored"] = len(fetched) - new
    print(f"caredesk: {', '.join(f'{key} {value}' for key, value in sorted(counts.items()))} ({stored})")
    return 0


def _stored_ids(session: Session, fetched: list[queries.Fetched]) -> str:
    """`inbound #3, #4`: the rows the ingested mails are (a mail ingested before keeps its row)."""
    keys = [mail.key for mail in fetched]
    found = session.execute(
        select(col(InboundMessage.id))
        .where(col(InboundMessage.source) == INGEST_SOURCE, col(InboundMessage.source_key).in_(keys))
        .order_by(col(InboundMessage.id))
    ).scalars()
    return "inbound " + ", ".join(f"#{number}" for number in found)


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else "no message"


def _read_mail(name: str, cap: int) -> bytes | int:
    """The bytes of one mail (a file, or `-` for standard input); its size when over `cap`.

    At most `cap` + 1 bytes are ever held: the rest of a bigger mail is read in
    chunks and counted, so a 94 MB mail piped in costs no more memory than the cap.
    """
    try:
        if name == "-":
            return _bounded(sys.stdin.buffer, cap)
        with Path(name).open("rb") as handle:
            return _bounded(handle, cap)
    except OSError as error:
        raise UserError(f"cannot read {name}: {error.strerror}") from None


def _bounded(stream: BinaryIO, cap: int) -> bytes | int:
    data = stream.read(cap + 1)
    if len(data) <= cap:
        return data
    size = len(data)
    del data
    while chunk := stream.read(READ_CHUNK):
        size += len(chunk)
    return size


def _ingested(raw: bytes, limit: int) -> queries.Fetched:
    """One mail as `caredesk ingest` stores it: over `limit`, held as the IMAP intake holds it."""
    key = hashlib.sha256(raw).hexdigest()
    if len(raw) <= limit:
        return queries.Fetched(key=key, raw=raw)
    reason = f"{queries.OVERSIZE} {len(raw)} bytes, over mailbox.max_message_bytes ({limit}) when ingested"
    return queries.Fetched(key=key, raw=raw, oversize=len(raw), reason=reason)
