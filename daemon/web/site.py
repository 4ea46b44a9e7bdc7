"""What every page needs: the configuration, the database, the rules, the accounts, the clock, rendering.

One `Site` per server. Pages render jinja2 layouts from `daemon/web/layouts`
with autoescaping on for every layout: nothing a customer wrote reaches the
page unescaped, and no text from outside is ever a template.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import HTMLResponse

from daemon import clock as daemon_clock
from daemon.config.schema import Config
from daemon.route.loader import load_rules
from daemon.route.rules import Rules, RulesError
from daemon.store import db
from daemon.web.access import Accounts, LoginLimiter, csrf_token
from daemon.web.accounts import Account, Scope, scope_of

TIME_FORMAT = "%Y-%m-%d %H:%M"


def _local(value: datetime | None, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime(TIME_FORMAT) if value is not None else "–"


@dataclass
class Site:
    config: Config
    engine: Engine
    clock: Callable[[], datetime] = daemon_clock.now
    limiter: LoginLimiter = field(default_factory=LoginLimiter)
    session_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    def __post_init__(self) -> None:
        self.zone = ZoneInfo(self.config.timezone)
        self.accounts = Accounts(self.config.web.accounts)
        self._rules: Rules | None = None
        self._rules_lock = threading.Lock()
        self.environment = Environment(
            loader=PackageLoader("daemon.web", "layouts"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.environment.filters["local"] = lambda value: _local(value, self.zone)
        self.environment.filters["thousands"] = lambda number: f"{number:,}"

    def rules(self) -> Rules:
        """The rules in force (read once; the GM scope and the month's labels come from them)."""
        with self._rules_lock:
            if self._rules is None:
                self._rules = load_rules(self.config.rules)
            return self._rules

    def general_managers(self) -> dict[str, str]:
        try:
            rules = self.rules()
        except RulesError:
            return {}
        return {name: dept.general_manager or "" for name, dept in rules.departments.items()}

    def scope(self, account: Account) -> Scope:
        return scope_of(account, self.general_managers())

    @contextmanager
    def session(self) -> Iterator[Session]:
        with db.read_session(self.engine) as session:
            yield session

    def page(self, request: Request, layout: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        account = context.pop("account", None)
        html = self.environment.get_template(layout).render(
            request=request,
            account=account,
            organisation=self.config.name,
            csrf=csrf_token(request) if "session" in request.scope else "",
            now=self.clock(),
            **context,
        )
        return HTMLResponse(html, status_code=status_code)
