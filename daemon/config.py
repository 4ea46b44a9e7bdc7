"""Configuration: `caredesk.toml`, `CAREDESK_*` environment overrides, embedded defaults.

Configuration is validated completely at start-up: an unknown key, a wrong type or
a malformed URL stops the program with a message naming the key (exit code 78,
EX_CONFIG). Secrets are read from the environment or from a file, never from the
command line, and never appear in `repr()` or logs.

The file is the one named (`--config`, then `CAREDESK_CONFIG`), else
`./caredesk.toml` when the working directory has one, else none: the embedded
default under `./var/`.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from daemon import clock, shipped

EX_CONFIG = 78

# The config file read from the working directory when none is named.
SITE_CONFIG = "caredesk.toml"

# The schema: section -> key -> (type, default). Top-level keys live in section "".
# Paths are resolved against the config file's folder (or the working directory
# when running on the embedded default), so a config file can be moved with its data.
_SCHEMA: dict[str, dict[str, tuple[type, Any]]] = {
    "": {
        "address": (str, "care@example.co.id"),
        "name": (str, "Customer Care"),
        "reference_prefix": (str, "CC"),
        "rules": (str, "rules.yaml"),
        "templates": (str, ""),
        "timezone": (str, "Asia/Jakarta"),
        "log_level": (str, "INFO"),
        "instance": (str, "caredesk"),
        "backlog_hours": (int, 72),
        "admin_address": (str, ""),
        "secret": (str, ""),
        "secret_file": (str, ""),
        "survey_standard": (int, 3),
    },
    "mailbox": {
        "url": (str, "maildir:var/mail"),
        "password": (str, ""),
        "password_file": (str, ""),
        "processed_folder": (str, "Processed"),
        "quarantine_folder": (str, "Quarantine"),
        "poll_interval": (int, 60),
        "batch_size": (int, 100),
        "timeout": (int, 60),
        "max_message_bytes": (int, 25 * 1024 * 1024),
        "plus_addressing": (bool, False),
    },
    "security": {
        "trusted_authserv_ids": (str, ""),
        "require_authenticated_senders": (bool, True),
    },
    "smtp": {
        "url": (str, "file:var/outbox"),
        "username": (str, ""),
        "password": (str, ""),
        "password_file": (str, ""),
        "timeout": (int, 60),
        "max_attempts": (int, 8),
        "retry_base_seconds": (int, 60),
        "verp": (bool, False),
    },
    "limits": {
        "auto_per_hour": (int, 3),
        "auto_per_day": (int, 10),
        "staff_per_hour": (int, 60),
        "staff_per_day": (int, 300),
        "undeliverable_days": (int, 60),
        "forward_attachment_bytes": (int, 10 * 1024 * 1024),
    },
    "database": {
        "url": (str, "sqlite:///var/caredesk.db"),
    },
}

# Secrets may come from the environment or a *_file, but not from the config file
# itself: config files get copied into tickets, backups and version control.
_SECRET_KEYS = {("mailbox", "password"), ("smtp", "password"), ("", "secret")}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
_MAILBOX_SCHEMES = {"imap", "imaps", "maildir"}
_SMTP_SCHEMES = {"smtp", "smtps", "file"}


class ConfigError(Exception):
    """The configuration cannot be used; the message names the key and the problem."""


def _redacted(value: str) -> str:
    return "***" if value else ""


@dataclass(frozen=True)
class MailboxConfig:
    url: str
    password: str = field(repr=False)
    processed_folder: str
    quarantine_folder: str
    poll_interval: int
    batch_size: int
    timeout: int
    max_message_bytes: int
    plus_addressing: bool = False
    """The mailbox accepts care+anything@: replies go to a signed per-ticket address."""

    @property
    def scheme(self) -> str:
        return urlsplit(self.url).scheme

    @property
    def maildir_path(self) -> Path:
        return Path(self.url.partition(":")[2])


@dataclass(frozen=True)
class SmtpConfig:
    url: str
    username: str
    password: str = field(repr=False)
    timeout: int
    max_attempts: int
    retry_base_seconds: int
    verp: bool = False
    """Send with a signed per-mail return path (care+b.TOKEN@...): needs plus-addressing."""

    @property
    def scheme(self) -> str:
        return urlsplit(self.url).scheme

    @property
    def file_path(self) -> Path:
        return Path(self.url.partition(":")[2])


@dataclass(frozen=True)
class LimitsConfig:
    """Limits on automatic mail to one recipient (RFC 3834: never start a mail loop)."""

    auto_per_hour: int
    auto_per_day: int
    undeliverable_days: int
    staff_per_hour: int = 60
    """Confirmations of command mails to staff who passed the sender check: their own, higher limit."""
    staff_per_day: int = 300
    forward_attachment_bytes: int = 10 * 1024 * 1024
    """Most bytes of customer attachments a department notice carries in total; 0 = list them only."""


@dataclass(frozen=True)
class SecurityConfig:
    """Who may change a ticket by mail: Authentication-Results from these servers only."""

    trusted_authserv_ids: tuple[str, ...]
    require_authenticated_senders: bool


@dataclass(frozen=True)
class Config:
    address: str
    name: str
    reference_prefix: str
    rules: Path
    templates: Path
    timezone: str
    log_level: str
    instance: str
    backlog_hours: int
    admin_address: str
    """Who hears about operational problems (a refused rules.yaml); '' = nobody, log only."""
    secret: str = field(repr=False)
    """Signs reply tokens and return paths; '' = use the one kept in the database."""
    mailbox: MailboxConfig
    smtp: SmtpConfig
    limits: LimitsConfig
    database_url: str
    source: str
    """Where the configuration came from, for messages: a path or 'embedded defaults'."""
    security: SecurityConfig = SecurityConfig((), True)
    survey_standard: int = 3
    """A satisfaction score under this (1-5) opens a new complaint linked to the old one."""

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]


def load_config(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Read the config file (if any), apply environment overrides, validate everything."""
    env = os.environ if environ is None else environ
    if path is None and env.get("CAREDESK_CONFIG"):
        path = env["CAREDESK_CONFIG"]
    if path is None and (Path.cwd() / SITE_CONFIG).is_file():
        # The folder `caredesk init` made: `cd mysite && caredesk run` uses its config.
        path = Path.cwd() / SITE_CONFIG
    values: dict[str, dict[str, Any]] = {section: {} for section in _SCHEMA}
    if path is not None:
        file_path = Path(path)
        base = file_path.resolve().parent
        source = str(file_path)
        _read_file(file_path, values)
    else:
        base = Path.cwd()
        source = "embedded defaults"
    _apply_environment(env, values)
    merged = _merge_defaults(values)
    return _build(merged, base, source)


def _read_file(path: Path, values: dict[str, dict[str, Any]]) -> None:
    try:
        with path.open("rb") as handle:
            document = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    for key, value in document.items():
        if isinstance(value, dict):
            if key not in _SCHEMA or key == "":
                raise ConfigError(f"{path}: unknown section [{key}]{_suggest(key, _SCHEMA)}")
            for sub_key, sub_value in value.items():
                _check_key(path, key, sub_key)
                if (key, sub_key) in _SECRET_KEYS:
                    raise ConfigError(
                        f"{path}: [{key}] {sub_key} must not be written in the config file; "
                        f"use {key}.password_file or CAREDESK_{key.upper()}_PASSWORD"
                    )
                values[key][sub_key] = sub_value
        else:
            _check_key(path, "", key)
            if ("", key) in _SECRET_KEYS:
                raise ConfigError(
                    f"{path}: {key} must not be written in the config file; "
                    "use secret_file or CAREDESK_SECRET"
                )
            values[""][key] = value


def _check_key(path: Path | str, section: str, key: str) -> None:
    if key not in _SCHEMA[section]:
        where = f"[{section}] " if section else ""
        hint = _suggest(key, _SCHEMA[section])
        raise ConfigError(f"{path}: unknown key {where}{key!r}{hint}")


def _suggest(word: str, choices: Mapping[str, Any]) -> str:
    close = difflib.get_close_matches(word, [c for c in choices if c], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _env_names() -> dict[str, tuple[str, str]]:
    names = {}
    for section, keys in _SCHEMA.items():
        for key in keys:
            prefix = f"CAREDESK_{section.upper()}_" if section else "CAREDESK_"
            names[prefix + key.upper()] = (section, key)
    return names


def _apply_environment(env: Mapping[str, str], values: dict[str, dict[str, Any]]) -> None:
    names = _env_names()
    for name, raw in env.items():
        # The pinned test clock's variables belong to daemon.clock, not to the configuration.
        if not name.startswith("CAREDESK_") or name == "CAREDESK_CONFIG" or name in clock.VARIABLES:
            continue
        if name not in names:
            hint = difflib.get_close_matches(name, list(names), n=1)
            extra = f" (did you mean {hint[0]}?)" if hint else ""
            raise ConfigError(f"environment: unknown variable {name}{extra}")
        section, key = names[name]
        kind = _SCHEMA[section][key][0]
        if kind is bool:
            if raw.strip().lower() not in _TRUE | _FALSE:
                raise ConfigError(f"environment: {name} must be true or false, got {raw!r}")
            values[section][key] = raw.strip().lower() in _TRUE
        elif kind is int:
            try:
                values[section][key] = int(raw)
            except ValueError:
                raise ConfigError(f"environment: {name} must be a whole number, got {raw!r}") from None
        else:
            values[section][key] = raw


def _merge_defaults(values: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for section, keys in _SCHEMA.items():
        merged[section] = {}
        for key, (kind, default) in keys.items():
            value = values[section].get(key, default)
            label = f"{section}.{key}" if section else key
            # bool is an int subclass; a `true` where a number belongs is a mistake.
            if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                raise ConfigError(f"{label} must be {kind.__name__}, got {value!r}")
            merged[section][key] = value
    return merged


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


def _build(merged: dict[str, dict[str, Any]], base: Path, source: str) -> Config:
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
