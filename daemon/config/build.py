"""Turning checked values into a `Config`: URLs, numbers, addresses, paths, secrets."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from daemon import shipped
from daemon.config.schema import (
    _EMAIL,
    _MAILBOX_SCHEMES,
    _SMTP_SCHEMES,
    Config,
    ConfigError,
    LimitsConfig,
    MailboxConfig,
    SecurityConfig,
    SmtpConfig,
)


def _read_secret(label: str, settings: dict[str, Any], base: Path) -> str:
    """The secret from the environment (already merged in) or from its file."""
    if settings["password"]:
        return str(settings["password"])
    if not settings["password_file"]:
        return ""
    secret_path = _resolve(base, settings["password_file"])
    try:
        return secret_path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise ConfigError(f"{label}: cannot read {secret_path}: {error.strerror}") from None


def _resolve(base: Path, value: str) -> Path:
    candidate = Path(value).expanduser()
    return candidate if candidate.is_absolute() else base / candidate


def _resolve_url(base: Path, url: str, local_scheme: str) -> str:
    scheme, _, rest = url.partition(":")
    if scheme == local_scheme:
        return f"{scheme}:{_resolve(base, rest)}"
    return url


def _check_url(label: str, url: str, schemes: set[str], local_scheme: str) -> None:
    scheme = url.partition(":")[0]
    if scheme not in schemes:
        allowed = ", ".join(sorted(f"{s}:" for s in schemes))
        raise ConfigError(f"{label}: unsupported URL {url!r}; use one of {allowed}")
    if scheme == local_scheme:
        if not url.partition(":")[2]:
            raise ConfigError(f"{label}: {url!r} names no folder")
        return
    parts = urlsplit(url)
    if not parts.hostname:
        raise ConfigError(f"{label}: {url!r} names no host")
    if parts.password:
        raise ConfigError(f"{label}: put no password in the URL; use a password_file or environment variable")
    try:
        parts.port  # noqa: B018 - urlsplit validates the port lazily
    except ValueError as error:
        raise ConfigError(f"{label}: {error}") from None


def _check_numbers(merged: dict[str, dict[str, Any]]) -> None:
    positive = [
        ("mailbox", "poll_interval"),
        ("mailbox", "batch_size"),
        ("mailbox", "timeout"),
        ("mailbox", "max_message_bytes"),
        ("smtp", "timeout"),
        ("smtp", "max_attempts"),
        ("smtp", "retry_base_seconds"),
        ("limits", "auto_per_hour"),
        ("limits", "auto_per_day"),
        ("limits", "staff_per_hour"),
        ("limits", "staff_per_day"),
        ("limits", "undeliverable_days"),
    ]
    for section, key in positive:
        if merged[section][key] <= 0:
            raise ConfigError(f"{section}.{key} must be greater than 0")
    if merged["limits"]["forward_attachment_bytes"] < 0:
        raise ConfigError("limits.forward_attachment_bytes must be 0 (attach nothing) or more")


def build(merged: dict[str, dict[str, Any]], base: Path, source: str) -> Config:
    top, mailbox, smtp = merged[""], merged["mailbox"], merged["smtp"]
    _check_url("mailbox.url", mailbox["url"], _MAILBOX_SCHEMES, "maildir")
    _check_url("smtp.url", smtp["url"], _SMTP_SCHEMES, "file")
    _check_numbers(merged)
    if "@" not in top["address"]:
        raise ConfigError(f"address must be an email address, got {top['address']!r}")
    if top["admin_address"] and not _EMAIL.fullmatch(top["admin_address"].strip()):
        raise ConfigError(f"admin_address must be an email address, got {top['admin_address']!r}")
    if top["admin_address"].strip().lower() == top["address"].strip().lower():
        raise ConfigError(
            "admin_address is the mailbox caredesk reads: alerts sent there come back in and are "
            "dropped as our own; name the administrator's own address"
        )
    if not 1 <= top["survey_standard"] <= 5:
        raise ConfigError("survey_standard must be a score from 1 to 5")
    if not top["reference_prefix"].isalnum():
        raise ConfigError("reference_prefix must be letters and digits only")
    _check_timezone(top["timezone"])
    database_url = merged["database"]["url"]
    if database_url.startswith("sqlite:///") and not database_url.startswith("sqlite:////"):
        relative = database_url.removeprefix("sqlite:///")
        if relative and relative != ":memory:":
            database_url = f"sqlite:///{_resolve(base, relative)}"
    templates = _resolve(base, top["templates"]) if top["templates"] else default_templates()
    return Config(
        address=top["address"].lower(),
        name=top["name"],
        reference_prefix=top["reference_prefix"],
        rules=_resolve(base, top["rules"]),
        templates=templates,
        timezone=top["timezone"],
        log_level=top["log_level"].upper(),
        instance=top["instance"],
        backlog_hours=top["backlog_hours"],
        admin_address=top["admin_address"].strip().lower(),
        secret=_read_secret(
            "secret_file", {"password": top["secret"], "password_file": top["secret_file"]}, base
        ),
        mailbox=MailboxConfig(
            url=_resolve_url(base, mailbox["url"], "maildir"),
            password=_read_secret("mailbox.password_file", mailbox, base),
            processed_folder=mailbox["processed_folder"],
            quarantine_folder=mailbox["quarantine_folder"],
            poll_interval=mailbox["poll_interval"],
            batch_size=mailbox["batch_size"],
            timeout=mailbox["timeout"],
            max_message_bytes=mailbox["max_message_bytes"],
            plus_addressing=mailbox["plus_addressing"],
        ),
        smtp=SmtpConfig(
            url=_resolve_url(base, smtp["url"], "file"),
            username=smtp["username"],
            password=_read_secret("smtp.password_file", smtp, base),
            timeout=smtp["timeout"],
            max_attempts=smtp["max_attempts"],
            retry_base_seconds=smtp["retry_base_seconds"],
            verp=smtp["verp"],
        ),
        limits=LimitsConfig(**merged["limits"]),
        security=SecurityConfig(
            trusted_authserv_ids=tuple(
                s.strip().lower() for s in merged["security"]["trusted_authserv_ids"].split(",") if s.strip()
            ),
            require_authenticated_senders=merged["security"]["require_authenticated_senders"],
        ),
        survey_standard=top["survey_standard"],
        database_url=database_url,
        source=source,
    )


def _check_timezone(name: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"timezone: unknown time zone {name!r}") from None


def default_templates() -> Path:
    """The templates shipped with caredesk (inside the wheel, or the checkout's `templates/`)."""
    return shipped.templates()


def imap_login(url: str) -> tuple[str, str]:
    """The user name and folder an `imap://user@host:port/FOLDER` URL names."""
    parts = urlsplit(url)
    folder = unquote(parts.path.lstrip("/")) or "INBOX"
    return unquote(parts.username or ""), folder


def public_url(url: str) -> str:
    """A URL safe to log: never contains a password (we refuse those anyway)."""
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url
