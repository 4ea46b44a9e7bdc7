"""What one IMAP command costs the test Dovecot on a large INBOX: SELECT, NOOP, UID MOVE, COPY + UID EXPUNGE.

Not a test. It starts the bench's Dovecot (`maildir_very_dirty_syncs = yes`, as
`ingest.py` does), drops `--count` small mails into its INBOX, and times each
command over one connection, `--runs` times: the median wall time, and the CPU
time all Dovecot processes used for it (from /proc). The intake spends most of
a 20,000-mail run's waiting on these: before it kept its folder selected it
sent two SELECTs a batch (`daemon.fetch.imap.ImapMailbox._select`).

    .venv/bin/python bench/imap_folder.py [--count 20000] [--runs 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from imapclient import IMAPClient  # noqa: E402

from bench.ingest import VERY_DIRTY_SYNCS  # noqa: E402
from tests import mailfactory  # noqa: E402
from tests.servers import Dovecot  # noqa: E402

MOVED = 100
"""UIDs a MOVE or COPY takes, as one intake batch does."""


def dovecot_cpu_seconds() -> float:
    """User + system CPU of every Dovecot process so far (the master, `imap`, `auth`, ...)."""
    ticks = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
            if b"dovecot" not in command and not command.startswith(b"imap"):
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def timed(label: str, command: Callable[[], object], runs: int) -> None:
    walls, cpus = [], []
    for _ in range(runs):
        cpu, wall = dovecot_cpu_seconds(), time.perf_counter()
        command()
        walls.append(time.perf_counter() - wall)
        cpus.append(dovecot_cpu_seconds() - cpu)
    print(
        f"{label:<40} median {statistics.median(walls) * 1000:7.1f} ms wall, "
        f"Dovecot CPU {statistics.median(cpus) * 1000:6.0f} ms"
    )


def chunks(uids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(uids), MOVED):
        yield uids[start : start + MOVED]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20000, help="mails in the INBOX (default 20000)")
    parser.add_argument("--runs", type=int, default=10, help="times each command is timed (default 10)")
    args = parser.parse_args()
    if args.count < MOVED * args.runs * 3:
        parser.error(f"--count must be at least {MOVED * args.runs * 3} for {args.runs} runs")
    dovecot = Dovecot(settings=VERY_DIRTY_SYNCS)
    dovecot.start()
    try:
        dovecot.create_folder("Processed")
        begin = time.perf_counter()
        dovecot.append_many(
            (mailfactory.complaint(n, sender=f"c{n}@example.net") for n in range(args.count)), direct=True
        )
        print(f"{args.count} mails in the INBOX in {time.perf_counter() - begin:.1f} s (Maildir)")
        client = IMAPClient(dovecot.host, port=dovecot.port, ssl=False, timeout=120)
        client.login(dovecot.user, dovecot.password)
        try:
            client.select_folder("INBOX")
            batches = chunks(sorted(client.search("ALL")))
            timed("SELECT INBOX (nothing changed)", lambda: client.select_folder("INBOX"), args.runs)
            timed("NOOP (the folder stays selected)", client.noop, args.runs)
            timed(f"UID MOVE of {MOVED}", lambda: client.move(next(batches), "Processed"), args.runs)

            def copy_and_expunge() -> None:
                uids = next(batches)
                client.copy(uids, "Processed")
                client.add_flags(uids, [b"\\Deleted"], silent=True)
                client.uid_expunge(uids)

            timed(f"UID COPY + STORE + UID EXPUNGE of {MOVED}", copy_and_expunge, args.runs)
            timed("SELECT INBOX (after the moves)", lambda: client.select_folder("INBOX"), args.runs)
        finally:
            client.logout()
    finally:
        dovecot.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
