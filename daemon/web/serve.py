"""Serving the web view with uvicorn: alone (`caredesk web`) or beside the daemon (`[web] listen`)."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import time

import uvicorn

from daemon.config.schema import Config
from daemon.store import db
from daemon.web.app import make_app
from daemon.web.site import Site

log = logging.getLogger("caredesk.web")
START_SECONDS = 10.0


def session_key(config: Config) -> str:
    """The key session cookies are signed with: derived from the site secret, so log-ins outlive a
    restart; without a secret a random one (everybody logs in again after a restart)."""
    if not config.secret:
        return secrets.token_urlsafe(32)
    return hmac.new(config.secret.encode("utf-8"), b"caredesk web session", hashlib.sha256).hexdigest()


def _server(config: Config, listen: str) -> tuple[uvicorn.Server, Site]:
    host, _, port = listen.rpartition(":")
    engine = db.open_read_only(config.database_url)
    site = Site(config, engine, session_key=session_key(config))
    settings = uvicorn.Config(
        make_app(site),
        host=host.strip("[]"),
        port=int(port),
        log_level="warning",
        access_log=False,
        proxy_headers=False,
        server_header=False,
    )
    return uvicorn.Server(settings), site


def serve(config: Config, listen: str) -> int:
    """Serve until interrupted (SIGINT/SIGTERM); 0 on a clean stop."""
    server, site = _server(config, listen)
    log.info("web view on http://%s/ (read-only; accounts in %s)", listen, config.web.accounts)
    print(f"caredesk web view on http://{listen}/", flush=True)
    try:
        server.run()
    finally:
        site.engine.dispose()
    return 0


class WebThread:
    """The web view inside `caredesk run` (`[web] listen`): a uvicorn server on a thread of its own."""

    def __init__(self, config: Config) -> None:
        self.listen = config.web.listen
        self.server, self.site = _server(config, config.web.listen)
        # uvicorn installs signal handlers on the main thread only: the daemon keeps its own.
        self.thread = threading.Thread(target=self.server.run, name="caredesk-web", daemon=True)

    def start(self) -> None:
        """Start serving; returns once the port is open (an error if it cannot be opened)."""
        self.thread.start()
        deadline = time.monotonic() + START_SECONDS
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise OSError(f"the web view could not listen on {self.listen} ([web] listen)")
            time.sleep(0.05)
        log.info("web view on http://%s/ (read-only)", self.listen)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.site.engine.dispose()
