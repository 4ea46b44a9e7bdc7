"""The device authorization grant (RFC 8628) of `caredesk auth login`.

caredesk runs on a server without a browser, so it asks the provider for a
device code, the admin opens the verification page on any computer and enters
the user code, and caredesk polls the token endpoint meanwhile: every
`interval` seconds (5 when the provider names none), 5 seconds more after each
`slow_down`, and not after `expires_in`. The device authorization request is
a plain form POST with requests (authlib has no client call for it); the polls
go through the same authlib session as the refreshes
(`daemon.oauth.tokens.session_for`), so a public client sends its `client_id`
and a confidential one its secret alike.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from authlib.integrations.base_client import OAuthError

from daemon.config import OAuth2Config
from daemon.oauth.tokens import HTTP_TIMEOUT, session_for

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DEFAULT_INTERVAL = 5
"""Seconds between polls when the provider names no `interval` (RFC 8628 section 3.2)."""
SLOW_DOWN = 5
"""Seconds added to the interval at each `slow_down` answer (RFC 8628 section 3.5)."""


class LoginFailed(Exception):
    """The login did not give a grant: declined, expired, or the provider refused the request."""


@dataclass(frozen=True)
class DeviceCode:
    """The device authorization response: what the admin is shown, and what caredesk polls with."""

    device_code: str
    user_code: str
    verification_uri: str
    expires_in: int
    interval: int
    verification_uri_complete: str = ""
    message: str = ""
    """The provider's own instructions (Microsoft sends one), shown as they are."""


def request_code(settings: OAuth2Config) -> DeviceCode:
    """Ask the device authorization endpoint for a user code."""
    if not settings.device_url:
        raise LoginFailed(
            "oauth2.device_url is empty: name the device authorization endpoint, "
            "or log in with `caredesk auth login --browser`"
        )
    form = {"client_id": settings.client_id, "scope": settings.scope}
    if settings.client_secret:
        form["client_secret"] = settings.client_secret
    try:
        response = requests.post(settings.device_url, data=form, timeout=HTTP_TIMEOUT)
        values: dict[str, Any] = response.json()
    except (requests.RequestException, ValueError) as error:
        raise LoginFailed(f"device authorization endpoint {settings.device_url} failed: {error}") from error
    if "error" in values or response.status_code >= 400:
        reason = values.get("error_description") or values.get("error") or f"HTTP {response.status_code}"
        raise LoginFailed(f"the provider refused the device authorization request: {reason}")
    try:
        return DeviceCode(
            device_code=str(values["device_code"]),
            user_code=str(values["user_code"]),
            # Google still says verification_url (the draft's name).
            verification_uri=str(values.get("verification_uri") or values["verification_url"]),
            expires_in=int(values.get("expires_in") or 900),
            interval=int(values.get("interval") or DEFAULT_INTERVAL),
            verification_uri_complete=str(values.get("verification_uri_complete") or ""),
            message=str(values.get("message") or ""),
        )
    except (KeyError, ValueError) as error:
        raise LoginFailed(f"the device authorization response lacks {error}") from error


def poll(
    settings: OAuth2Config,
    code: DeviceCode,
    *,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """Poll the token endpoint until the admin approved; the token response.

    Raises `LoginFailed` when the admin declined, the code expired, or the
    provider answered with another error.
    """
    interval = code.interval
    deadline = monotonic() + code.expires_in
    with session_for(settings) as session:
        while True:
            left = deadline - monotonic()
            if left <= 0:
                raise LoginFailed("the code expired before it was entered: run `caredesk auth login` again")
            sleep(min(interval, left))
            try:
                token: dict[str, Any] = session.fetch_token(
                    settings.token_url, grant_type=DEVICE_GRANT, device_code=code.device_code
                )
                return token
            except OAuthError as error:
                if error.error == "authorization_pending":
                    continue
                if error.error == "slow_down":
                    interval += SLOW_DOWN
                    continue
                raise LoginFailed(_refusal(error)) from error
            except requests.RequestException as error:
                raise LoginFailed(f"token endpoint {settings.token_url} failed: {error}") from error


def _refusal(error: OAuthError) -> str:
    if error.error == "access_denied":
        return "the login was declined at the verification page"
    if error.error == "expired_token":
        return "the code expired before it was entered: run `caredesk auth login` again"
    return f"the provider refused the login: {error.error}: {error.description or ''}".rstrip(": ")
