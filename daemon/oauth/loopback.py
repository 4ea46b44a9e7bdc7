"""The loopback-redirect login of `caredesk auth login --browser` (RFC 8252, PKCE of RFC 7636).

Google's device flow does not grant the Gmail scope (https://mail.google.com/),
so for Google the admin logs in in a browser: caredesk listens on 127.0.0.1 on
a port of its own (or `--port`), prints the authorization URL, and the provider
sends the browser back to `http://127.0.0.1:<port>/` with a code. The code is
only worth something with the PKCE verifier that never left this process, and
the `state` ties the answer to this request. On a server without a browser the
admin forwards the port first (`ssh -L <port>:127.0.0.1:<port> server`).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from authlib.integrations.base_client import OAuthError

from daemon.config import OAuth2Config
from daemon.oauth.device import LoginFailed
from daemon.oauth.tokens import session_for

WAIT_SECONDS = 300
"""How long to wait for the browser to come back."""
PAGE = (
    "<!doctype html><meta charset=utf-8><title>caredesk</title>"
    "<p>caredesk: {message} You may close this window.</p>"
)


class _Answer(HTTPServer):
    query: dict[str, str] | None = None


class _Redirect(BaseHTTPRequestHandler):
    server: _Answer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if parts.path != "/" or not ({"code", "error"} & query.keys()):
            self._page(404, "this is not the login's answer.")
            return
        self.server.query = query
        self._page(200, "the login is done." if "code" in query else "the login failed.")

    def _page(self, status: int, message: str) -> None:
        body = PAGE.format(message=message).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def extra_parameters(provider: str) -> dict[str, str]:
    """What the authorization URL needs besides the standard ones for a refresh token."""
    # Google gives a refresh token only with access_type=offline, and again only with consent.
    return {"access_type": "offline", "prompt": "consent"} if provider == "google" else {}


def login(
    settings: OAuth2Config,
    announce: Callable[[str], None],
    *,
    port: int = 0,
    wait: float = WAIT_SECONDS,
) -> dict[str, Any]:
    """Run the browser login; `announce` is given the URL to open. The token response."""
    if not settings.authorize_url:
        raise LoginFailed("oauth2.authorize_url is empty: name the authorization endpoint")
    try:
        server = _Answer(("127.0.0.1", port), _Redirect)
    except OSError as error:
        raise LoginFailed(f"cannot listen on 127.0.0.1:{port}: {error.strerror}") from error
    with server:
        redirect_uri = f"http://127.0.0.1:{server.server_port}/"
        verifier = secrets.token_urlsafe(64)
        state = secrets.token_urlsafe(24)
        with session_for(settings, redirect_uri=redirect_uri, code_challenge_method="S256") as session:
            url, _ = session.create_authorization_url(
                settings.authorize_url,
                state=state,
                code_verifier=verifier,
                **extra_parameters(settings.provider),
            )
            announce(url)
            query = _wait_for_answer(server, wait)
            if query.get("state") != state:
                raise LoginFailed("the answer does not belong to this login (state differs): try again")
            if "error" in query:
                reason = query.get("error_description") or query["error"]
                raise LoginFailed(f"the provider refused the login: {reason}")
            try:
                token: dict[str, Any] = session.fetch_token(
                    settings.token_url, code=query["code"], code_verifier=verifier
                )
            except OAuthError as error:
                raise LoginFailed(
                    f"the provider refused the code: {error.error}: {error.description}"
                ) from error
            except requests.RequestException as error:
                raise LoginFailed(f"token endpoint {settings.token_url} failed: {error}") from error
            return token


def _wait_for_answer(server: _Answer, wait: float) -> dict[str, str]:
    deadline = time.monotonic() + wait
    while server.query is None:
        left = deadline - time.monotonic()
        if left <= 0:
            raise LoginFailed(f"no answer from the browser within {round(wait)} seconds: try again")
        server.timeout = min(left, 1.0)
        server.handle_request()
    return server.query
