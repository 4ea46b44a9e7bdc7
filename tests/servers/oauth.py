"""A loopback OAuth 2.0 authorization server, for the OAuth2 integration tests.

One threaded `http.server` on 127.0.0.1 plays the provider (Entra ID, Google):

* ``POST /device`` - the device authorization endpoint (RFC 8628 section 3.1);
* ``POST /token`` - the token endpoint, with the ``device_code`` grant
  (``authorization_pending``, ``slow_down`` when polled faster than the
  interval, ``expired_token``), the ``authorization_code`` grant with PKCE S256
  (RFC 7636) and the ``refresh_token`` grant (``invalid_grant`` once revoked);
* ``GET /authorize`` - the authorization endpoint of the loopback-redirect flow:
  the "user" approves at once and is sent back to ``redirect_uri``;
* ``POST /introspect`` - token introspection (RFC 7662), what Dovecot's
  ``oauth2`` passdb asks (``token=...`` in a form body).

Access tokens really expire after ``access_lifetime`` seconds (wall time): a
test that waits sees the IMAP and SMTP servers refuse them. ``expire_access_tokens``
ends every token at once while the client still thinks it valid, ``revoke``
makes every refresh token ``invalid_grant``. ``grants`` records the grant type
of each token request, in order.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@dataclass
class _Device:
    user_code: str
    expires_at: float
    approved: bool = False
    denied: bool = False
    last_poll: float = 0.0
    polls: int = 0


@dataclass
class _Code:
    challenge: str
    redirect_uri: str


@dataclass
class _State:
    access: dict[str, float] = field(default_factory=dict)
    """Access token -> wall time it expires."""
    refresh: set[str] = field(default_factory=set)
    devices: dict[str, _Device] = field(default_factory=dict)
    codes: dict[str, _Code] = field(default_factory=dict)
    grants: list[str] = field(default_factory=list)
    device_answers: list[str] = field(default_factory=list)
    introspections: list[bool] = field(default_factory=list)


class OAuthServer:
    """The loopback provider; use as a context manager. See the module docstring."""

    host = "127.0.0.1"

    def __init__(
        self,
        *,
        user: str = "care",
        client_id: str = "caredesk-test",
        access_lifetime: float = 3600.0,
        device_lifetime: int = 60,
        interval: int = 1,
        rotate_refresh_tokens: bool = False,
    ) -> None:
        self.user = user
        self.client_id = client_id
        self.access_lifetime = access_lifetime
        self.device_lifetime = device_lifetime
        self.interval = interval
        self.rotate_refresh_tokens = rotate_refresh_tokens
        self.revoked = False
        self._state = _State()
        self._lock = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------

    def __enter__(self) -> OAuthServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        server = ThreadingHTTPServer((self.host, 0), _handler_for(self))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="oauth-server", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        return f"http://{self.host}:{self._server.server_address[1]}"

    # -- what a test does ---------------------------------------------------------

    def approve(self, user_code: str) -> None:
        """The user entered `user_code` at the verification page and consented."""
        with self._lock:
            for device in self._state.devices.values():
                if device.user_code == user_code:
                    device.approved = True
                    return
        raise AssertionError(f"no device authorization with user code {user_code!r}")

    def revoke(self) -> None:
        """The admin (or a policy) revoked the grant: every refresh token is refused from now on."""
        with self._lock:
            self.revoked = True
            self._state.refresh.clear()

    def expire_access_tokens(self) -> None:
        """Every access token issued so far stops working now (the client does not know)."""
        with self._lock:
            self._state.access.clear()

    def issue_grant(self) -> str:
        """A refresh token as a completed login would have got (for tests that need one ready)."""
        with self._lock:
            self.revoked = False
            token = f"rt-{secrets.token_urlsafe(12)}"
            self._state.refresh.add(token)
            return token

    @property
    def grants(self) -> list[str]:
        """The grant type of every token request so far, in order."""
        with self._lock:
            return list(self._state.grants)

    @property
    def device_answers(self) -> list[str]:
        """What each device-code poll was answered: an error code, or "token"."""
        with self._lock:
            return list(self._state.device_answers)

    @property
    def refresh_tokens(self) -> set[str]:
        """The refresh tokens that are good now."""
        with self._lock:
            return set(self._state.refresh)

    @property
    def introspections(self) -> list[bool]:
        """Whether each token a resource server asked about was active, in order."""
        with self._lock:
            return list(self._state.introspections)

    def token_active(self, token: str) -> bool:
        with self._lock:
            return self._state.access.get(token, 0.0) > time.time()

    def valid_for(self, user: str, token: str) -> bool:
        """What a resource server decides: the token is live and was issued to `user`."""
        return user == self.user and self.token_active(token)

    # -- the endpoints (on the server's threads) ------------------------------

    def _token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        grant = form.get("grant_type", "")
        with self._lock:
            self._state.grants.append(grant)
            if form.get("client_id", self.client_id) != self.client_id:
                return 401, {"error": "invalid_client"}
            if grant == DEVICE_GRANT:
                status, answer = self._device_grant(form.get("device_code", ""))
                self._state.device_answers.append(answer.get("error", "token"))
                return status, answer
            if grant == "refresh_token":
                if form.get("refresh_token", "") not in self._state.refresh:
                    return 400, {"error": "invalid_grant", "error_description": "the grant was revoked"}
                return 200, self._tokens(refresh=form["refresh_token"])
            if grant == "authorization_code":
                return self._code_grant(form)
            return 400, {"error": "unsupported_grant_type"}

    def _device_grant(self, device_code: str) -> tuple[int, dict[str, Any]]:
        device = self._state.devices.get(device_code)
        if device is None:
            return 400, {"error": "invalid_grant"}
        now = time.monotonic()
        if now > device.expires_at:
            return 400, {"error": "expired_token"}
        too_soon = device.polls and now - device.last_poll < self.interval - 0.05
        device.polls += 1
        device.last_poll = now
        if too_soon:
            return 400, {"error": "slow_down"}
        if device.denied:
            return 400, {"error": "access_denied"}
        if not device.approved:
            return 400, {"error": "authorization_pending"}
        del self._state.devices[device_code]
        return 200, self._tokens(refresh=None)

    def _code_grant(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        code = self._state.codes.pop(form.get("code", ""), None)
        if code is None or form.get("redirect_uri") != code.redirect_uri:
            return 400, {"error": "invalid_grant"}
        verifier = form.get("code_verifier", "").encode("ascii")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=").decode()
        if challenge != code.challenge:
            return 400, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
        return 200, self._tokens(refresh=None)

    def _tokens(self, refresh: str | None) -> dict[str, Any]:
        access = f"at-{secrets.token_urlsafe(12)}"
        self._state.access[access] = time.time() + self.access_lifetime
        if refresh is None or self.rotate_refresh_tokens:
            self._state.refresh.discard(refresh or "")
            refresh = f"rt-{secrets.token_urlsafe(12)}"
            self._state.refresh.add(refresh)
            self.revoked = False
        return {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": max(1, round(self.access_lifetime)),
            "refresh_token": refresh,
            "scope": "imap smtp",
        }

    def _device(self, form: dict[str, str]) -> dict[str, Any]:
        with self._lock:
            device_code = secrets.token_urlsafe(16)
            user_code = f"{secrets.randbelow(10000):04d}-{secrets.randbelow(10000):04d}"
            expires = time.monotonic() + self.device_lifetime
            self._state.devices[device_code] = _Device(user_code, expires)
        return {
            "device_code": device_code,
            "user_code": user_code,
            "verification_uri": f"{self.url}/device/verify",
            "expires_in": self.device_lifetime,
            "interval": self.interval,
        }

    def _authorize(self, query: dict[str, str]) -> str:
        """The redirect back to the client, with a code (PKCE S256 required)."""
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            return _with_query(
                query.get("redirect_uri", ""), error="invalid_request", state=query.get("state")
            )
        code = secrets.token_urlsafe(12)
        with self._lock:
            self._state.codes[code] = _Code(query["code_challenge"], query.get("redirect_uri", ""))
        return _with_query(query["redirect_uri"], code=code, state=query.get("state"))

    def _introspect(self, form: dict[str, str]) -> dict[str, Any]:
        active = self.token_active(form.get("token", ""))
        with self._lock:
            self._state.introspections.append(active)
        return {"active": True, "username": self.user, "scope": "imap"} if active else {"active": False}


def _with_query(url: str, **values: str | None) -> str:
    query = urlencode({k: v for k, v in values.items() if v is not None})
    return f"{url}{'&' if urlsplit(url).query else '?'}{query}"


def _handler_for(provider: OAuthServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _form(self) -> dict[str, str]:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8")
            return {k: v[0] for k, v in parse_qs(body).items()}

        def _json(self, status: int, document: dict[str, Any]) -> None:
            body = json.dumps(document).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            path = urlsplit(self.path).path
            form = self._form()
            if path == "/token":
                self._json(*provider._token(form))
            elif path == "/device":
                self._json(200, provider._device(form))
            elif path == "/introspect":
                self._json(200, provider._introspect(form))
            else:
                self._json(404, {"error": "not_found"})

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path != "/authorize":
                self._json(404, {"error": "not_found"})
                return
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            self.send_response(302)
            self.send_header("Location", provider._authorize(query))
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


__all__ = ["DEVICE_GRANT", "OAuthServer"]
