"""Print the corpus figures: per class, how many mails end as labelled, and what went wrong.

    python -m tests.corpus.figures                       # the daemon of this checkout, SQLite
    python -m tests.corpus.figures --source /tmp/old     # another tree's daemon/ (e.g. a git archive)
    python -m tests.corpus.figures --database-url URL    # PostgreSQL (an empty schema)
    python -m tests.corpus.figures --failures            # also every failing mail and why

`--source DIR` runs the daemon package found in DIR (DIR/daemon) for both the
stored acknowledgements and the `run --once`, by putting DIR first on
PYTHONPATH and running this script again; tests/corpus/BEFORE.txt was made so
from `git archive` of the commit before issue 14.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import daemon
from tests.corpus import harness

CLASS_TITLES = {
    "baseline": "0. already handled before issue 14 (baseline)",
    "automated": "1. automated mail with a real return address",
    "bounce": "2. plain-text bounces (tied when they return our mail)",
    "garbled": "3. garbled text (subjects, names, bodies, attachment names)",
    "sender": "4. recoverable senders",
    "duplicate": "5. duplicates too eager (resends under one Message-ID)",
}
PROJECT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--source", type=Path, help="a tree whose daemon/ package to run")
    parser.add_argument("--database-url", help="an empty database (default: a new SQLite file)")
    parser.add_argument("--failures", action="store_true", help="list every failing mail")
    args = parser.parse_args(argv)
    if args.source is not None:
        return _again_with(
            args.source, [a for a in (argv or sys.argv[1:]) if a != str(args.source) and a != "--source"]
        )
    with tempfile.TemporaryDirectory(prefix="caredesk-corpus-") as folder:
        url = args.database_url or f"sqlite:///{folder}/corpus.db"
        run = harness.run_corpus(Path(folder), url)
    print("\n".join(lines(run, show_failures=args.failures)))
    return 0


def _again_with(source: Path, rest: list[str]) -> int:
    if not (source / "daemon" / "__init__.py").exists():
        print(f"{source} has no daemon/ package", file=sys.stderr)
        return 2
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join((str(source.resolve()), str(PROJECT)))
    command = [sys.executable, "-m", "tests.corpus.figures", *rest]
    # Run from DIR: `python -m` puts the working directory first on sys.path.
    return subprocess.run(command, env=environment, cwd=source, check=False).returncode


def lines(run: harness.CorpusRun, *, show_failures: bool = False) -> list[str]:
    counts = run.by_class()
    total = Counter[str]()
    out = [
        f"corpus: {len(run.labels)} mails, one `run --once` (exit {run.returncode}); "
        f"daemon package: {Path(daemon.__file__).parent}",
        "",
        f"{'class':<60} {'mails':>5} {'pass':>5} {'fail':>5}",
    ]
    for name, title in CLASS_TITLES.items():
        found = counts.get(name, Counter())
        total.update(found)
        mails = found["pass"] + found["fail"]
        out.append(f"{title:<60} {mails:>5} {found['pass']:>5} {found['fail']:>5}")
    out.append(f"{'all':<60} {total['pass'] + total['fail']:>5} {total['pass']:>5} {total['fail']:>5}")
    if run.returncode != 0:
        out += ["", "the daemon failed:", *run.stderr.strip().splitlines()[-5:]]
    out += ["", "done-when figures (problems found, by kind):"]
    out += [f"  {key}: {value}" for key, value in harness.summary(run).items()]
    if show_failures:
        out += ["", "failing mails:"] + [f"  {line}" for line in run.failures()]
    return out


if __name__ == "__main__":
    sys.exit(main())
