"""Runs `python -m daemon ...` counting its SQL statements, flushes and commits (bench only).

    python bench/counting.py REPORT -- --config caredesk.toml run --once

Listens on every SQLAlchemy engine and ORM session of the process and, at exit,
writes to REPORT one line per counter (`statements 12345`, `flushes 678`, ...),
and the statements by their first words (`by SELECT inbound_message 4000`), so
`ingest.py --count-sql` can print statements per mail, and the time spent in the
driver by statement (`seconds INSERT ticket 2.134`). Not a test, not part of
the daemon: it changes nothing in what the daemon does, only watches.
"""

from __future__ import annotations

import atexit
import re
import runpy
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

counts: Counter[str] = Counter()
shapes: Counter[str] = Counter()
flush_sites: Counter[str] = Counter()
seconds: Counter[str] = Counter()
"""Time in the driver by statement shape, from before to after each cursor execute."""
_began: dict[int, float] = {}
_TABLE = re.compile(r"\b(?:FROM|INTO|UPDATE)\s+\"?(\w+)", re.I)


def _shape(statement: str) -> str:
    verb = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "?"
    found = _TABLE.search(statement)
    return f"{verb} {found.group(1) if found else '-'}"


def _on_execute(_conn: Any, cursor: Any, statement: str, _params: Any, _context: Any, many: bool) -> None:
    _began[id(cursor)] = time.perf_counter()
    counts["statements"] += 1
    if many:
        counts["executemany"] += 1
    shapes[_shape(statement)] += 1


def _after_execute(_conn: Any, cursor: Any, statement: str, _params: Any, _context: Any, _many: bool) -> None:
    began = _began.pop(id(cursor), None)
    if began is not None:
        seconds[_shape(statement)] += time.perf_counter() - began


def _on_flush(_session: Any, _context: Any, _instances: Any) -> None:
    counts["flushes"] += 1
    # Where the flush came from: the innermost frame of the daemon's own code.
    frame = sys._getframe(1)
    while frame is not None and "/daemon/" not in frame.f_code.co_filename:
        frame = frame.f_back
    if frame is not None:
        where = f"{Path(frame.f_code.co_filename).name}:{frame.f_lineno} {frame.f_code.co_name}"
        flush_sites[where] += 1


def _on_commit(_conn: Any) -> None:
    counts["commits"] += 1


def _write(report: Path) -> None:
    lines = [f"{name} {value}" for name, value in sorted(counts.items())]
    lines += [f"by {shape} {value}" for shape, value in shapes.most_common()]
    lines += [f"flush-at {site} {value}" for site, value in flush_sites.most_common(15)]
    lines += [f"seconds {shape} {value:.3f}" for shape, value in seconds.most_common(15)]
    report.write_text("\n".join(lines) + "\n")


def main() -> None:
    report, rest = Path(sys.argv[1]), sys.argv[2:]
    if rest[:1] == ["--"]:
        rest = rest[1:]
    event.listen(Engine, "before_cursor_execute", _on_execute)
    event.listen(Engine, "after_cursor_execute", _after_execute)
    event.listen(Engine, "commit", _on_commit)
    event.listen(Session, "before_flush", _on_flush)
    atexit.register(_write, report)
    sys.argv = ["daemon", *rest]
    # The daemon of this checkout, as `python -m daemon` run from it would import: run as a
    # script, this file puts bench/ first on the path, and an editable install elsewhere
    # (another worktree's) would be found instead.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    runpy.run_module("daemon", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
