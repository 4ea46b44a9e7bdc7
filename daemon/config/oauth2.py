"""`[oauth2]`: the app registration caredesk logs in with when `[mailbox]` or `[smtp]` says `auth = "oauth2"`.

A provider preset fills in the endpoints and scopes of Microsoft 365 or Google
Workspace; `provider = "custom"` takes them from the keys. The client secret is a
secret like the passwords: the environment (`CAREDESK_OAUTH2_CLIENT_SECRET`), the
systemd credential `oauth2-client-secret` or `client_secret_file`, never the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from daemon.config.schema import ConfigError, OAuth2Config

AUTH_PASSWORD = "password"
AUTH_OAUTH2 = "oauth2"
MECHANISMS = ("xoauth2", "oauthbearer")

_MICROSOFT = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0"
PRESETS: dict[str, dict[str, str]] = {
    "microsoft": {
        "token_url": f"{_MICROSOFT}/token",
        "device_url": f"{_MICROSOFT}/devicecode",
        "authorize_url": f"{_MICROSOFT}/authorize",
        # offline_access: a refresh token; the two Exchange Online scopes: IMAP and SMTP AUTH.
        "scope": (
            "offline_access https://outlook.office.com/IMAP.AccessAsUser.All "
            "https://outlook.office.com/SMTP.Send"
        ),
    },
    "google": {
        "token_url": "https://oauth2.googleapis.com/token",
        # Google's device flow refuses the Gmail scope; `caredesk auth login --loopback` works.
        "device_url": "https://oauth2.googleapis.com/device/code",
        "authorize_url": "https://accounts.google.com/o/oauth2/v2/auth",
        "scope": "https://mail.google.com/",
    },
}


def oauth2_config(values: dict[str, Any], base: Path, used: bool) -> OAuth2Config:
    """`[oauth2]` checked; `used` says whether `[mailbox]` or `[smtp]` logs in with it."""
    provider = values["provider"].strip().lower()
    if not provider:
        if used:
            raise ConfigError(
                'auth = "oauth2" needs an [oauth2] section: provider = "microsoft", "google" or "custom", '
                "and client_id"
            )
        return OAuth2Config()
    if provider not in (*PRESETS, "custom"):
        raise ConfigError(f'oauth2.provider must be "microsoft", "google" or "custom", not {provider!r}')
    if not values["client_id"].strip():
        raise ConfigError("oauth2.client_id is empty: the application (client) id of your app registration")
    mechanism = values["mechanism"].strip().lower()
    if mechanism not in MECHANISMS:
        raise ConfigError(f'oauth2.mechanism must be "xoauth2" or "oauthbearer", not {mechanism!r}')
    preset = {k: v.format(tenant=values["tenant"].strip()) for k, v in PRESETS.get(provider, {}).items()}
    urls = {
        key: values[key].strip() or preset.get(key, "")
        for key in ("token_url", "device_url", "authorize_url")
    }
    for key, url in urls.items():
        _check_endpoint(key, url, required=key == "token_url")
    token_file = values["token_file"].strip()
    return OAuth2Config(
        provider=provider,
        client_id=values["client_id"].strip(),
        client_secret=_client_secret(values, base),
        scope=values["scope"].strip() or preset.get("scope", ""),
        mechanism=mechanism,
        token_file=_resolve(base, token_file) if token_file else None,
        **urls,
    )


def check_auth(label: str, value: str) -> str:
    """`[mailbox] auth` / `[smtp] auth`: "password" or "oauth2"."""
    auth = value.strip().lower()
    if auth not in (AUTH_PASSWORD, AUTH_OAUTH2):
        raise ConfigError(f'{label} must be "password" or "oauth2", not {value!r}')
    return auth


def _check_endpoint(key: str, url: str, *, required: bool) -> None:
    if not url:
        if required:
            raise ConfigError(f'oauth2.{key} is empty: name it, or use provider = "microsoft" or "google"')
        return
    parts = urlsplit(url)
    loopback = parts.hostname in ("127.0.0.1", "::1", "localhost")
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise ConfigError(f"oauth2.{key} must be an https:// address (http:// only on loopback), got {url!r}")


def _client_secret(values: dict[str, Any], base: Path) -> str:
    if values["client_secret"]:
        return str(values["client_secret"]).strip()
    if not values["client_secret_file"]:
        return ""
    path = _resolve(base, values["client_secret_file"])
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise ConfigError(f"oauth2.client_secret_file: cannot read {path}: {error.strerror}") from None


def _resolve(base: Path, value: str) -> Path:
    candidate = Path(value).expanduser()
    return candidate if candidate.is_absolute() else base / candidate
