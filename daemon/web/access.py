"""Logging in and who a request is: sessions, the trusted proxy header, API tokens, failed-login limits.

A browser logs in with an account's password (argon2) and then carries a
signed session cookie (`HttpOnly`, `SameSite=Strict`, `Secure` unless the
site turns it off for plain-http testing). With `[web] auth = "header"` a
reverse proxy that did the single sign-on names the user in a header, and
only requests from `trusted_proxies` are believed. The API takes
`Authorization: Bearer <token>` with each account's token. Failed log-ins are
limited per client address and per account name.
"""

from __future__ import annotations

import ipaddress
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from starlette.requests import Request

from daemon.config.schema import WebConfig
from daemon.web.accounts import Account, check_token, load_accounts

FAILURES_ALLOWED = 5
FAILURE_WINDOW_SECONDS = 15 * 60


@dataclass
class LoginLimiter:
    """At most `allowed` failed log-ins per client address and per account name in `window` seconds."""

    allowed: int = FAILURES_ALLOWED
    window: float = FAILURE_WINDOW_SECONDS
    clock: Callable[[], float] = time.monotonic
    _failures: dict[str, deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def wait_seconds(self, address: str, name: str) -> int:
        """0 when a try may go ahead; else how long until the oldest counted failure ages out."""
        now = self.clock()
        with self._lock:
            waits = [
                times[0] + self.window - now
                for key in (f"ip:{address}", f"name:{name.lower()}")
                if len(times := self._recent(key, now)) >= self.allowed
            ]
        return int(max(waits)) + 1 if waits else 0

    def failed(self, address: str, name: str) -> None:
        now = self.clock()
        with self._lock:
            for key in (f"ip:{address}", f"name:{name.lower()}"):
                self._recent(key, now).append(now)

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(f"name:{name.lower()}", None)


class Accounts:
    """The accounts file, read again when it changes (`caredesk web adduser` on a running server)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._accounts: dict[str, Account] = {}
        self._lock = threading.Lock()

    def current(self) -> dict[str, Account]:
        stamp = None
        if self.path is not None and self.path.exists():
            status = self.path.stat()
            stamp = (status.st_mtime_ns, status.st_size)
        with self._lock:
            if stamp != self._stamp:
                self._accounts = load_accounts(self.path) if stamp is not None else {}
                self._stamp = stamp
            return self._accounts


def client_address(request: Request) -> str:
    return request.client.host if request.client is not None else ""


def from_trusted_proxy(request: Request, config: WebConfig) -> bool:
    try:
        peer = ipaddress.ip_address(client_address(request))
    except ValueError:
        return False
    return any(peer in ipaddress.ip_network(proxy, strict=False) for proxy in config.trusted_proxies)


def browser_account(request: Request, config: WebConfig, accounts: dict[str, Account]) -> Account | None:
    """Who a page request is: the session's account, or the proxy's header in header mode."""
    if config.auth == "header":
        if not from_trusted_proxy(request, config):
            return None
        return accounts.get(request.headers.get(config.header, "").strip())
    name = request.session.get("account")
    return accounts.get(name) if isinstance(name, str) else None


def api_account(request: Request, accounts: dict[str, Account]) -> Account | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return check_token(accounts.values(), token.strip())


def csrf_token(request: Request) -> str:
    """The session's token that every form posts back (SameSite=Strict already stops most forgeries)."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(24)
        request.session["csrf"] = token
    return token


def csrf_ok(request: Request, posted: object) -> bool:
    expected = request.session.get("csrf")
    return isinstance(expected, str) and isinstance(posted, str) and secrets.compare_digest(expected, posted)
