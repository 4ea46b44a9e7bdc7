"""Benchmark: the web view's register page (`GET /tickets`) on a register of 100,000 tickets.

Not a test: prints figures. Builds the register with `bench/register.py` (or reuses one
that already holds `--tickets` tickets; opening it migrates it to the schema's head), on
SQLite and on PostgreSQL, adds a `care` account, starts the real server
(`caredesk web --listen 127.0.0.1:PORT`, a child process), logs in, and times each
register view `--runs` times as a logged-in browser would ask for it: p50 and p95 of the
wall time of the whole request, against the 300 ms target of issue 15.

    .venv/bin/python bench/web_register.py [--tickets 100000] [--runs 20] [--rebuild]
    .venv/bin/python bench/web_register.py --postgresql '' --sqlite /tmp/web-register.db

The PostgreSQL register goes in a database of its own (`bench_web` by default), so the
million-ticket `bench` database of `register_queries.py` is left alone.
"""

from __future__ import annotations

import argparse
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import register_queries  # noqa: E402 - bench/register_queries.py, next to this file

DEFAULT_POSTGRESQL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_web"
TARGET_MS = 300
ADDUSER = ("--role", "care", "--password-stdin")
PASSWORD = "bench password 0123"
PHONE = "+6281399990042"
"""A PIC phone the benchmark gives one ticket (the generated register has none)."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000, help="register size (default 100,000)")
    parser.add_argument("--runs", type=int, default=20, help="requests for each view (default 20)")
    parser.add_argument(
        "--sqlite", default=None, help="SQLite file (default /tmp/caredesk-web-register-N.db; '' skips)"
    )
    parser.add_argument(
        "--postgresql", default=DEFAULT_POSTGRESQL, help=f"URL (default {DEFAULT_POSTGRESQL}; '' skips)"
    )
    parser.add_argument("--rebuild", action="store_true", help="build the registers again")
    args = parser.parse_args()
    sqlite_path = f"/tmp/caredesk-web-register-{args.tickets}.db" if args.sqlite is None else args.sqlite
    urls = []
    if sqlite_path:
        urls.append(f"sqlite:///{Path(sqlite_path).resolve()}")
    if args.postgresql:
        urls.append(args.postgresql)
    print(f"python {sys.version.split()[0]}, {args.runs} requests each; load average: {_load()}")
    for url in urls:
        started = time.perf_counter()
        register_queries.prepare(url, args.tickets, rebuild=args.rebuild)
        print(f"prepared (built or migrated) in {time.perf_counter() - started:.1f} s")
        _give_a_phone(url)
        measure(url, args.runs)
    print(f"\nload average after: {_load()}")
    return 0


def _give_a_phone(url: str) -> None:
    from sqlalchemy import text

    from daemon.store import db

    engine = db.make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE ticket SET pic_phone = :phone WHERE id = (SELECT max(id) / 2 FROM ticket)"),
                {"phone": PHONE},
            )
    finally:
        engine.dispose()


def views(department: str) -> dict[str, str]:
    return {
        "default (open)": "/tickets",
        "status=all": "/tickets?status=all",
        "department, open": f"/tickets?department={department}&status=open",
        "q=customer name part": "/tickets?q=siregar",
        "q=customer name, all": "/tickets?q=siregar&status=all",
        "q=pic phone, all": f"/tickets?q={PHONE.replace('+', '%2B')}&status=all",
        "q=2 letters, all": "/tickets?q=ku&status=all",
        "breach=any": "/tickets?breach=any",
        "breach=any, all": "/tickets?breach=any&status=all",
        "month=2026-10, all": "/tickets?month=2026-10&status=all",
        "page=200, all": "/tickets?page=200&status=all",
        "sort=due": "/tickets?sort=due",
        "sort=due, all": "/tickets?sort=due&status=all",
        "CSV export, first page of rows": "/tickets.csv?status=all",
    }


def measure(url: str, runs: int) -> None:
    department, _ = register_queries._examples(url)
    backend = "sqlite" if url.startswith("sqlite") else "postgresql"
    with tempfile.TemporaryDirectory(prefix="cd-web-register-") as folder:
        config = _config(Path(folder), url)
        subprocess.run(
            [sys.executable, "-m", "daemon", "--config", str(config), "web", "adduser", "bench", *ADDUSER],
            input=PASSWORD + "\n",
            text=True,
            check=True,
            capture_output=True,
            cwd=folder,
        )
        port = _free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "daemon", "--config", str(config), "web", "--listen", f"127.0.0.1:{port}"],
            cwd=folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_for(base, server)
            with httpx.Client(base_url=base, timeout=60) as client:
                _login(client)
                print(f"\n{backend}: {url}")
                print(f"{'view':<34} {'p50':>8} {'p95':>8} {'rows':>6}  target {TARGET_MS} ms")
                for name, path in views(department).items():
                    walls, shown = _time(client, path, runs)
                    p50 = statistics.median(walls) * 1000
                    p95 = statistics.quantiles(walls, n=20, method="inclusive")[18] * 1000
                    verdict = "ok" if p95 < TARGET_MS else "SLOW"
                    print(f"{name:<34} {p50:>5.0f} ms {p95:>5.0f} ms {shown:>6}  {verdict}   {path}")
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def _time(client: httpx.Client, path: str, runs: int) -> tuple[list[float], str]:
    """`runs` wall times of GET `path` (after one request to warm up), and what it showed."""
    if path.startswith("/tickets.csv"):
        return _time_csv(client, path, runs)
    walls = []
    body = ""
    for _ in range(runs + 1):
        started = time.perf_counter()
        response = client.get(path)
        walls.append(time.perf_counter() - started)
        response.raise_for_status()
        body = response.text
    total = re.search(r"of (more than )?([\d,]+) tickets", body)
    if total is None:
        return walls[1:], "0"
    return walls[1:], (">" if total.group(1) else "") + total.group(2)


def _time_csv(client: httpx.Client, path: str, runs: int) -> tuple[list[float], str]:
    """Until the header and the first 50 rows have arrived (the export goes on streaming after)."""
    walls = []
    for _ in range(runs + 1):
        started = time.perf_counter()
        lines = 0
        with client.stream("GET", path) as response:
            response.raise_for_status()
            for chunk in response.iter_text():
                lines += chunk.count("\n")
                if lines > 50:
                    break
        walls.append(time.perf_counter() - started)
    return walls[1:], "50"


def _config(folder: Path, url: str) -> Path:
    (folder / "imap-password").write_text("unused\n")
    path = folder / "caredesk.toml"
    path.write_text(
        f"""
address = "care@example.co.id"
name = "Customer Care Bench"
rules = "{ROOT / "rules.yaml"}"

[mailbox]
url = "maildir:{folder / "mail"}"
password_file = "imap-password"

[smtp]
url = "file:{folder / "outbox"}"

[database]
url = "{url}"

[web]
accounts = "{folder / "web-accounts.toml"}"
secure_cookies = false
""",
        encoding="utf-8",
    )
    return path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(
                f"caredesk web stopped: {server.stderr.read().decode() if server.stderr else ''}"
            )
        try:
            httpx.get(f"{base}/login", timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit("caredesk web did not start in 30 s")


def _login(client: httpx.Client) -> None:
    form = client.get("/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    if csrf is None:
        raise SystemExit("no csrf field on /login")
    response = client.post("/login", data={"name": "bench", "password": PASSWORD, "csrf": csrf.group(1)})
    if response.status_code != 303:
        raise SystemExit(f"log-in failed: {response.status_code}")


def _load() -> str:
    return register_queries._load()


if __name__ == "__main__":
    raise SystemExit(main())
