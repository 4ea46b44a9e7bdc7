"""A recording SMTP server in a process of its own, for `ingest.py --sink process` (bench only).

    python bench/fast_sink.py PORT RECORD [--no-pipelining]

aiosmtpd on 127.0.0.1:PORT, announcing PIPELINING as Postfix, Exchange Online and
Gmail do (aiosmtpd reads one command line at a time, so it serves a pipelined
client, but does not say so by itself); `--no-pipelining` leaves it out. For
every message it accepts it keeps the Message-ID and the Auto-Submitted header,
read from the header block only (no MIME parse), and the time it accepted it
(Unix seconds); on SIGTERM it writes them to RECORD, one tab-separated line
each, then exits. `tests/servers/smtp.py`'s sink runs in the benchmark's own
process and parses every message before it answers, which caps the delivery
phase well below what the daemon can send; this one measures the daemon, not
the sink.
"""

from __future__ import annotations

import re
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

_HEADER = re.compile(rb"^(message-id|auto-submitted):[ \t]*(.*(?:\r?\n[ \t].*)*)", re.I | re.M)


class Recorder:
    def __init__(self, *, pipelining: bool) -> None:
        self.lines: list[str] = []
        self.pipelining = pipelining

    async def handle_EHLO(
        self, _server: Any, session: Any, _envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname  # this form of the hook must do it itself
        if self.pipelining:
            return [*responses[:-1], "250-PIPELINING", responses[-1]]
        return responses

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        data: bytes = envelope.original_content or b""
        head = re.split(rb"\r?\n\r?\n", data, maxsplit=1)[0]
        found = {name.lower(): value.strip() for name, value in _HEADER.findall(head)}
        message_id = found.get(b"message-id", b"").decode("ascii", "replace")
        submitted = found.get(b"auto-submitted", b"").decode("ascii", "replace")
        self.lines.append(f"{message_id}\t{submitted}\t{time.time():.3f}")
        return "250 OK"


def main() -> None:
    port, record = int(sys.argv[1]), Path(sys.argv[2])
    recorder = Recorder(pipelining="--no-pipelining" not in sys.argv[3:])
    controller = Controller(recorder, hostname="127.0.0.1", port=port, data_size_limit=0)
    controller.start()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    print("ready", flush=True)
    done.wait()
    controller.stop()
    record.write_text("".join(f"{line}\n" for line in recorder.lines))


if __name__ == "__main__":
    main()
