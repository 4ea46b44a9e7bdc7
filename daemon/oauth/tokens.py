"""Access tokens for IMAP and SMTP, refreshed before they expire.

One `TokenSource` serves the mailbox and the SMTP transport (one grant for the
shared mailbox). It keeps the access token in memory and asks the token endpoint
for a new one `MARGIN` before the old one expires (a quarter of its life for a
token that lives less than 20 minutes), or when a server refused it. Each
refresh and each failure is noted in the vault's status (`caredesk auth status`).
A refresh token the provider rotates is stored at once (a lost rotation is how
other help desks lost their grant after 90 days).

The provider refusing the refresh token (`invalid_grant`: expired, revoked, the
password changed) raises `ReauthorizationNeeded`, marks the grant revoked and
calls `on_revoked` once; nothing asks the provider again until `caredesk auth
login` stored a new grant. A token endpoint that cannot be reached is a
`TokenUnavailable` (a `ConnectionError`): the usual mailbox backoff applies.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from sqlalchemy.exc import SQLAlchemyError

from daemon.config import OAuth2Config
from daemon.oauth.vault import Grant, TokenStatus, TokenVault

log = logging.getLogger("caredesk.oauth2")

MARGIN = timedelta(minutes=5)
"""Refresh this long before the access token expires: a poll never starts on a dying token."""
DEFAULT_LIFETIME = timedelta(hours=1)
"""When the token endpoint names no `expires_in`."""
REFUSED_ERRORS = {"invalid_grant", "invalid_client", "unauthorized_client"}
"""Token-endpoint errors no retry can mend: an admin must log in again."""
HTTP_TIMEOUT = 30


def refresh_margin(lifetime: timedelta) -> timedelta:
    """How long before its expiry a token of `lifetime` is replaced."""
    return min(MARGIN, lifetime / 4)


class ReauthorizationNeeded(Exception):
    """The refresh token is gone (expired, revoked) or was never stored: run `caredesk auth login`."""


class TokenUnavailable(ConnectionError):
    """The token endpoint could not be reached or failed; try again later."""


def session_for(settings: OAuth2Config, **extra: str) -> OAuth2Session:
    """An authlib session for the app registration (a public client when it has no secret).

    `extra`: more of authlib's session settings (`redirect_uri`, `code_challenge_method`).
    """
    method = "client_secret_post" if settings.client_secret else "none"
    return OAuth2Session(
        settings.client_id,
        settings.client_secret or None,
        token_endpoint_auth_method=method,
        scope=settings.scope or None,
        default_timeout=HTTP_TIMEOUT,
        **extra,
    )


class TokenSource:
    """The current access token of the stored grant, refreshed when due."""

    def __init__(self, settings: OAuth2Config, vault: TokenVault, clock: Callable[[], datetime]) -> None:
        self.settings = settings
        self.vault = vault
        self.clock = clock
        self.on_revoked: Callable[[Grant, str], None] | None = None
        self._lock = threading.Lock()
        self._access: str = ""
        self._expires_at: datetime | None = None
        self._margin = MARGIN
        self._grant: Grant | None = None
        self.refreshes = 0

    def access_token(self) -> str:
        """A token valid for at least `MARGIN` more; refreshed first when it is not."""
        with self._lock:
            now = self.clock()
            if self._access and self._expires_at is not None and now < self._expires_at - self._margin:
                return self._access
            return self._refresh(now)

    def invalidate(self) -> None:
        """A server refused the current token: the next `access_token()` gets a new one."""
        with self._lock:
            self._access, self._expires_at = "", None

    def grant(self) -> Grant | None:
        """The stored grant (None before the first `caredesk auth login`)."""
        return self.vault.load()

    def paused_for(self) -> str:
        """The fingerprint of the refused grant while it is still the stored one, else ''."""
        grant = self.vault.load()
        revoked = self.vault.revoked()
        return revoked if grant is not None and revoked == grant.fingerprint else ""

    def _refresh(self, now: datetime) -> str:
        grant = self.vault.load()
        if grant is None:
            raise ReauthorizationNeeded("no OAuth2 refresh token is stored: run `caredesk auth login`")
        if self.vault.revoked() == grant.fingerprint:
            raise ReauthorizationNeeded(
                f"the OAuth2 grant {grant.fingerprint} was refused by the provider: run `caredesk auth login`"
            )
        try:
            with session_for(self.settings) as session:
                token = session.refresh_token(self.settings.token_url, refresh_token=grant.refresh_token)
        except OAuthError as error:
            reason = f"{error.error}: {error.description or ''}".strip(": ")
            self._note_error(now, reason)
            if error.error in REFUSED_ERRORS:
                self._refused(grant, reason)
            raise TokenUnavailable(f"token endpoint refused the refresh: {error.error}") from error
        except (requests.RequestException, ValueError) as error:
            self._note_error(now, f"{type(error).__name__}: {error}")
            raise TokenUnavailable(f"token endpoint {self.settings.token_url} failed: {error}") from error
        self.refreshes += 1
        self._access = str(token["access_token"])
        lifetime = timedelta(seconds=int(token.get("expires_in") or DEFAULT_LIFETIME.total_seconds()))
        self._expires_at = now + lifetime
        self._margin = refresh_margin(lifetime)
        rotated = token.get("refresh_token")
        if rotated and rotated != grant.refresh_token:
            self.vault.save(Grant(str(rotated), now.isoformat(), grant.account))
        status = self.vault.status()
        self.vault.note(
            replace(status, refreshed_at=now.isoformat(), expires_at=self._expires_at.isoformat(), error="")
        )
        log.info("OAuth2 access token refreshed, valid until %s", self._expires_at.isoformat())
        return self._access

    def _note_error(self, now: datetime, reason: str) -> None:
        # Only a record: a database that fails too must not hide the token endpoint's error.
        try:
            status: TokenStatus = self.vault.status()
            self.vault.note(replace(status, error=reason, error_at=now.isoformat()))
        except SQLAlchemyError as error:
            log.warning("cannot record the OAuth2 refresh error: %s", error)

    def _refused(self, grant: Grant, reason: str) -> None:
        self._access, self._expires_at = "", None
        self.vault.mark_revoked(grant.fingerprint)
        if self.on_revoked is not None:
            self.on_revoked(grant, reason)
        raise ReauthorizationNeeded(
            f"the provider refused the OAuth2 refresh token ({reason}): run `caredesk auth login`"
        )
