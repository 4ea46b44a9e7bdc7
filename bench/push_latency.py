"""Benchmark: push latency, a complaint's APPEND -> its acknowledgement accepted by SMTP.

Not a test: prints figures. Starts a throw-away Dovecot and an SMTP sink (aiosmtpd)
on loopback, runs `caredesk run` against them as a subprocess with the default
60 s poll, then APPENDs `--count` complaints one at a time over a second IMAP
connection, spaced `--spacing MIN MAX` seconds apart (uniform, seeded), each from
its own customer. For each it takes the time from the APPEND's completion to the
moment the sink accepted the DATA of the acknowledgement to that customer, and
prints p50, p95, max and the mean.

    .venv/bin/python bench/push_latency.py [--count 50] [--spacing 0.5 1.0] [--poll-interval 60]
        [--no-idle] [--daemon-root DIR] [--database-url URL] [--seed 7]

`--no-idle` writes `[mailbox] idle = false` (plain polling). `--daemon-root`
runs the `daemon` package of another tree (e.g. `git archive HEAD | tar -x -C
/tmp/before` for the code before a change); then no `idle` key is written.
The database is a fresh SQLite file unless `--database-url` names another.
Exits 1 when an acknowledgement never came.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from imapclient import IMAPClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from daemon import clock
from tests import mailfactory
from tests.clockpin import DEFAULT_INSTANT, daemon_environment
from tests.integration.helpers import write_config
from tests.servers import Dovecot, SmtpSink
from tests.servers.smtp import Received

PROJECT = Path(__file__).resolve().parent.parent


class StampedSink(SmtpSink):
    """The test SMTP sink, noting when each DATA was accepted (before its 250 goes out)."""

    def __init__(self) -> None:
        super().__init__()
        self.stamps: list[tuple[float, Received]] = []
        self._lock = threading.Lock()

    def _record(self, received: Received) -> None:
        with self._lock:
            self.stamps.append((time.monotonic(), received))
        super()._record(received)

    def accepted_for(self, address: str) -> float | None:
        with self._lock:
            for at, received in self.stamps:
                if address in received.rcpt_tos:
                    return at
        return None


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))
    return ordered[index]


def _wait_for_line(log: Path, text: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in log.read_text(errors="replace"):
            return
        time.sleep(0.05)
    raise SystemExit(f"the daemon never logged {text!r}:\n{log.read_text(errors='replace')[-3000:]}")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--spacing", type=float, nargs=2, default=(0.5, 1.0), metavar=("MIN", "MAX"))
    parser.add_argument("--poll-interval", type=int, default=60)
    parser.add_argument("--no-idle", action="store_true", help="[mailbox] idle = false: plain polling")
    parser.add_argument("--daemon-root", type=Path, default=PROJECT)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--seed", type=int, default=7)
    return parser.parse_args()


def _start_daemon(args: argparse.Namespace, config: Path, log: Path) -> subprocess.Popen[bytes]:
    if args.no_idle:
        config.write_text(config.read_text().replace("[mailbox]\n", "[mailbox]\nidle = false\n"))
    # The clock pinned to an ordinary working day (as in the tests), so that no periodic
    # mail (the recap reminders of days 1-5) goes out during the run.
    env = daemon_environment() | {
        clock.TESTING_VARIABLE: "1",
        clock.CLOCK_VARIABLE: clock.encode(DEFAULT_INSTANT),
        "PYTHONPATH": str(args.daemon_root),
    }
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "daemon", "--config", str(config), "run"],
            env=env,
            cwd=args.daemon_root,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _complain(args: argparse.Namespace, dovecot: Dovecot) -> list[tuple[str, float]]:
    """APPEND the complaints one at a time; (customer, monotonic time the APPEND completed) each."""
    rng = random.Random(args.seed)
    appended: list[tuple[str, float]] = []
    with IMAPClient(dovecot.host, port=dovecot.port, ssl=False) as client:
        client.login(dovecot.user, dovecot.password)
        for n in range(args.count):
            sender = f"push{n}@example.net"
            client.append("INBOX", mailfactory.complaint(n, sender=sender))
            appended.append((sender, time.monotonic()))
            time.sleep(rng.uniform(*args.spacing))
    return appended


def _measure(args: argparse.Namespace, folder: Path) -> tuple[list[float], list[str], Path]:
    """The latency of each acknowledgement, the customers who got none, and the daemon's log."""
    database_url = args.database_url or f"sqlite:///{folder / 'caredesk.db'}"
    latencies: list[float] = []
    missing: list[str] = []
    log = folder / "daemon.log"
    with Dovecot() as dovecot, StampedSink() as sink:
        config = write_config(
            folder,
            database_url=database_url,
            mailbox_url=dovecot.url,
            smtp_url=sink.url,
            poll_interval=args.poll_interval,
        )
        daemon = _start_daemon(args, config, log)
        try:
            _wait_for_line(log, "caredesk running", 60)
            time.sleep(2.0)  # past the poll(s) of the start
            appended = _complain(args, dovecot)
            deadline = time.monotonic() + args.poll_interval + 60
            for sender, at in appended:
                while (accepted := sink.accepted_for(sender)) is None and time.monotonic() < deadline:
                    time.sleep(0.05)
                if accepted is None:
                    missing.append(sender)
                else:
                    latencies.append(accepted - at)
        finally:
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(timeout=30)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()
    return latencies, missing, log


def main() -> int:
    args = _arguments()
    folder = Path(tempfile.mkdtemp(prefix="cd-push-"))
    load = os.getloadavg()[0]
    latencies, missing, log = _measure(args, folder)
    mode = "plain polling ([mailbox] idle = false)" if args.no_idle else "the tree's default"
    print(
        f"push latency, {args.count} complaints spaced {args.spacing[0]}-{args.spacing[1]} s, "
        f"poll_interval {args.poll_interval} s, {mode}, daemon from {args.daemon_root}, "
        f"load average before {load:.1f}"
    )
    if latencies:
        print(
            f"  p50 {_percentile(latencies, 0.50):.2f} s   p95 {_percentile(latencies, 0.95):.2f} s   "
            f"max {max(latencies):.2f} s   mean {statistics.fmean(latencies):.2f} s   "
            f"({len(latencies)} acknowledged)"
        )
    if missing:
        print(f"  no acknowledgement for {len(missing)}: {missing[:5]}")
        print(f"  daemon log: {log}")
        return 1
    if os.environ.get("KEEP") != "1":
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
