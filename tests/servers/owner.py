"""Which test process a throw-away server's state dir belongs to.

Test servers keep their state in ``/tmp`` (Unix socket paths must stay short)
and must be cleaned up after a test run that was killed. Several runs share a
machine, and one run has several pytest-xdist workers, so a clean-up may only
take what belongs to a process that is gone: every state dir names its owner
in a file ``owner`` as ``"<pid> <start time>"``; the start time (clock ticks
since boot, from /proc) tells a reused PID apart from the process that wrote it.
"""

from __future__ import annotations

import os
from pathlib import Path

OWNER_FILE = "owner"


def process_identity(pid: int) -> str:
    """``"<pid> <start time>"`` of a running process; OSError when it is gone."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # After the ")" that ends the command name come the fields from "state"
    # on; the start time is field 22 of stat(5), the 20th of those.
    return f"{pid} {stat.rsplit(')', 1)[1].split()[19]}"


def claim(state: Path) -> None:
    """Record this process as the owner of ``state``."""
    (state / OWNER_FILE).write_text(process_identity(os.getpid()) + "\n")


def owner_alive(state: Path) -> bool | None:
    """Whether the process that claimed ``state`` still runs; None when nobody claimed it."""
    try:
        recorded = (state / OWNER_FILE).read_text().strip()
    except OSError:
        return None
    try:
        return process_identity(int(recorded.split()[0])) == recorded
    except (OSError, IndexError, ValueError):
        return False


__all__ = ["OWNER_FILE", "claim", "owner_alive", "process_identity"]
