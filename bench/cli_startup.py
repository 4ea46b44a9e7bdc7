"""Benchmark: the start-up of the `caredesk` command line.

Not a test: prints figures. The target from issue 17 is `caredesk --help` in under
150 ms of wall time. Each command is run `--runs` times as a child process
(`python -m daemon ...`); the wall time is taken around the child, its CPU time
(user + system) from `os.wait4`. Then one run under `python -X importtime` lists
the packages whose modules took longest to import (their own time, summed).

    .venv/bin/python bench/cli_startup.py [--runs 15] [--top 12]
    .venv/bin/python bench/cli_startup.py --command "tickets list --help"
"""

from __future__ import annotations

import argparse
import compileall
import os
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

COMMANDS = (
    "--help",
    "tickets list --help",
    "tickets show --help",
    "rules check --help",
    "report monthly --help",
    "--version",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="runs of each command (default 15)")
    parser.add_argument("--top", type=int, default=12, help="heaviest imports to list (default 12)")
    parser.add_argument(
        "--command",
        action="append",
        help="arguments after `python -m daemon`, quoted; may repeat (default: a set of --help)",
    )
    args = parser.parse_args()
    commands = args.command or list(COMMANDS)
    # As an installed caredesk starts: from bytecode, which pip writes at install. A checkout
    # run with PYTHONDONTWRITEBYTECODE=1 would compile every module of ours at every start.
    compileall.compile_dir(ROOT / "daemon", quiet=1)
    print(f"python {sys.version.split()[0]}, {args.runs} runs each; load average before: {_load()}")
    print(f"{'command':<28} {'wall median':>12} {'wall min':>9} {'CPU median':>11}")
    for command in commands:
        walls, cpus = _time(shlex.split(command), args.runs)
        print(
            f"{'caredesk ' + command:<28} {_ms(statistics.median(walls)):>12} "
            f"{_ms(min(walls)):>9} {_ms(statistics.median(cpus)):>11}"
        )
    baseline_walls, baseline_cpus = _time_argv([sys.executable, "-c", "pass"], args.runs)
    print(
        f"{'(bare python -c pass)':<28} {_ms(statistics.median(baseline_walls)):>12} "
        f"{_ms(min(baseline_walls)):>9} {_ms(statistics.median(baseline_cpus)):>11}"
    )
    for command in commands[:2]:
        print(f"\nheaviest imports of `caredesk {command}` (self time by package, -X importtime):")
        for micros, name in heaviest_imports(shlex.split(command), args.top):
            print(f"  {micros / 1000:8.1f} ms  {name}")
    return 0


def _time(arguments: list[str], runs: int) -> tuple[list[float], list[float]]:
    return _time_argv([sys.executable, "-m", "daemon", *arguments], runs)


def _time_argv(argv: list[str], runs: int) -> tuple[list[float], list[float]]:
    walls: list[float] = []
    cpus: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        child = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)
        walls.append(time.perf_counter() - started)
        # Popen.wait would reap the child again; wait4 already did.
        child.returncode = os.waitstatus_to_exitcode(status)
        cpus.append(usage.ru_utime + usage.ru_stime)
    return walls, cpus


def heaviest_imports(arguments: list[str], top: int) -> list[tuple[int, str]]:
    """The `top` packages by import time, summing each module's own ("self") time.

    Third-party modules count under their top-level package (`sqlalchemy`), ours
    under their stage package (`daemon.store`), so the list names what to defer.
    """
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "daemon", *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    totals: dict[str, int] = {}
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        label, _cumulative, name = line.split("|", 2)
        parts = name.strip().split(".")
        package = ".".join(parts[:2]) if parts[0] == "daemon" else parts[0]
        totals[package] = totals.get(package, 0) + int(label.removeprefix("import time:"))
    return sorted(((micros, package) for package, micros in totals.items()), reverse=True)[:top]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def _load() -> str:
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


if __name__ == "__main__":
    raise SystemExit(main())
