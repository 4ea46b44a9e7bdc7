"""Benchmark: `SmtpTransport` alone, to the bench's SMTP sink, with and without PIPELINING.

Not a test: prints figures. Starts `fast_sink.py` (aiosmtpd in a process of its own)
once announcing PIPELINING and once not, and sends the same N mails of an
acknowledgement's size to it over one connection, as the outbox sender does with
a round. No database, no daemon: what is timed is the SMTP conversation, which
`ingest.py`'s delivery phase mixes with the sender's database writes. Rounds
alternate (the machine's speed moves), and each prints wall and CPU time a mail.
Exits 1 unless the sink received every mail of every round.

    .venv/bin/python bench/smtp_transport.py [--mails 3000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingest import ProcessSink

from daemon.config import SmtpConfig
from daemon.send.transports import SmtpTransport

BODY = ("Terima kasih, keluhan Anda sudah kami terima dengan nomor CC-2026-000123.\r\n" * 24).encode()


def _mail(number: int) -> bytes:
    head = (
        "From: Customer Care <care@example.com>\r\nTo: budi@example.net\r\n"
        f"Subject: [CC-2026-{number:06d}] Keluhan diterima\r\n"
        f"Message-ID: <ack-{number}@care.example.com>\r\nAuto-Submitted: auto-replied\r\n\r\n"
    )
    return head.encode() + BODY


def one_round(folder: Path, mails: int, *, pipelining: bool) -> tuple[float, float, int]:
    """Wall and CPU seconds to send `mails` mails over one connection, and how many the sink got."""
    sink = ProcessSink(folder, pipelining=pipelining)
    sink.start()
    try:
        settings = SmtpConfig(
            url=sink.url, username="", password="", timeout=30, max_attempts=1, retry_base_seconds=1
        )
        raws = [_mail(number) for number in range(mails)]
        wall, cpu = time.perf_counter(), time.process_time()
        with SmtpTransport(settings) as transport:
            for number, raw in enumerate(raws):
                transport.send("care@example.com", ["budi@example.net"], raw, f"ack-{number}")
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        received = len(sink.received())
    return wall, cpu, received


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=3000, help="mails a round (default 3000)")
    parser.add_argument("--rounds", type=int, default=3, help="pairs of rounds (default 3)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="cd-smtp-bench-"))
    complete = True
    try:
        for number in range(1, args.rounds + 1):
            for pipelining in (True, False):
                wall, cpu, received = one_round(folder, args.mails, pipelining=pipelining)
                label = "with PIPELINING   " if pipelining else "without PIPELINING"
                per_mail, cpu_per_mail = 1000 * wall / args.mails, 1000 * cpu / args.mails
                print(
                    f"round {number} {label}: {wall:.2f} s, {args.mails / wall:.0f} mails/s, "
                    f"{per_mail:.2f} ms a mail (client CPU {cpu_per_mail:.2f} ms); sink received {received}"
                )
                complete = complete and received == args.mails
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if not complete:
        print("the sink did not receive every mail")
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
