"""Runs `python -m daemon ...` under tracemalloc: where its memory goes (bench only).

    python bench/heap.py REPORT -- --config caredesk.toml run --once

Takes a tracemalloc snapshot once the daemon's modules are imported, then
every `HEAP_EVERY` seconds (default 1) samples the process's RSS and its peak,
the memory Python traced now and at its highest since the last sample, and
the memory SQLite's library holds (`sqlite3_status64`: page caches, statements).
At exit it writes to REPORT the samples, then the allocation sites that grew
most from the start to the end (`HEAP_FRAMES` frames each, default 1), and the
modules imported after the start. `ingest.py --heap` runs the daemon this way.
tracemalloc slows the daemon and adds to its RSS: read the sites and the
shares, not the totals.
"""

from __future__ import annotations

import _sqlite3
import atexit
import ctypes
import os
import runpy
import sys
import threading
import time
import tracemalloc
from pathlib import Path

FRAMES = int(os.environ.get("HEAP_FRAMES", "1"))
EVERY = float(os.environ.get("HEAP_EVERY", "1"))
TOP = 30
SQLITE_STATUS_MEMORY_USED = 0

_status = ctypes.CDLL(_sqlite3.__file__).sqlite3_status64
_status.argtypes = [
    ctypes.c_int,
    ctypes.POINTER(ctypes.c_int64),
    ctypes.POINTER(ctypes.c_int64),
    ctypes.c_int,
]


def rss_mb() -> tuple[float, float]:
    """The process's resident set now and at its highest, in MB."""
    found = dict.fromkeys(("VmRSS", "VmHWM"), 0.0)
    for line in Path("/proc/self/status").read_text().splitlines():
        name = line.split(":", 1)[0]
        if name in found:
            found[name] = int(line.split()[1]) / 1024
    return found["VmRSS"], found["VmHWM"]


def sqlite_mb() -> tuple[float, float]:
    """What SQLite's allocator holds now and at its highest, in MB (every connection together)."""
    now, highest = ctypes.c_int64(), ctypes.c_int64()
    _status(SQLITE_STATUS_MEMORY_USED, ctypes.byref(now), ctypes.byref(highest), 0)
    return now.value / 2**20, highest.value / 2**20


class Watch:
    def __init__(self) -> None:
        self.began = time.monotonic()
        self.samples: list[tuple[float, ...]] = []
        self.modules = set(sys.modules)
        self.start = tracemalloc.take_snapshot()
        self.done = threading.Event()

    def sample(self) -> None:
        traced, highest = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        at = time.monotonic() - self.began
        self.samples.append((at, *rss_mb(), traced / 2**20, highest / 2**20, *sqlite_mb()))

    def run(self) -> None:
        while not self.done.wait(EVERY):
            self.sample()

    def write(self, report: Path) -> None:
        self.done.set()
        self.sample()
        end = tracemalloc.take_snapshot()
        lines = ["# seconds rss rss_peak traced traced_peak sqlite sqlite_peak (MB)"]
        lines += [" ".join(f"{value:8.1f}" for value in sample) for sample in self.samples]
        key = "traceback" if FRAMES > 1 else "lineno"
        lines.append(f"# grown from start to end (by {key})")
        for stat in end.compare_to(self.start, key)[:TOP]:
            frames = [line.strip() for line in stat.traceback.format() if not line.startswith("    ")]
            lines.append(
                f"{stat.size_diff / 2**20:+8.2f} MB {stat.count_diff:+8d} blocks  {' <- '.join(frames)}"
            )
        later = set(sys.modules) - self.modules
        lines.append(
            f"# packages first imported after the start: {' '.join(sorted({n.split('.')[0] for n in later}))}"
        )
        ours = sorted(name for name in later if name.startswith("daemon."))
        lines.append(f"# daemon modules first imported after the start: {' '.join(ours)}")
        report.write_text("\n".join(lines) + "\n")


def main() -> None:
    report, rest = Path(sys.argv[1]), sys.argv[2:]
    if rest[:1] == ["--"]:
        rest = rest[1:]
    tracemalloc.start(FRAMES)
    import daemon.commands.run  # noqa: F401  (what `run` imports, before the first snapshot)

    watch = Watch()
    threading.Thread(target=watch.run, name="heap-watch", daemon=True).start()
    atexit.register(watch.write, report)
    sys.argv = ["daemon", *rest]
    # The daemon of this checkout, as `python -m daemon` run from it would import: run as a
    # script, this file puts bench/ first on the path, and an editable install elsewhere
    # (another worktree's) would be found instead.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    runpy.run_module("daemon", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
