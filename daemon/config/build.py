"""Turning checked values into a `Config`: URLs, numbers, addresses, paths, secrets."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from daemon import shipped
from daemon.config.mailboxes import NAME
from daemon.config.metrics import metrics_config
from daemon.config.oauth2 import AUTH_OAUTH2, check_auth, oauth2_config
from daemon.config.schema import (
    _EMAIL,
    _MAILBOX_SCHEMES,
    _SMTP_SCHEMES,
    TRUST_AUTHENTICATION_RESULTS,
    TRUST_NONE,
    Config,
    ConfigError,
    LimitsConfig,
    MailboxConfig,
    PeriodicConfig,
    SecurityConfig,
    SmtpConfig,
)
from daemon.config.web import web_config

_MOST_AUTHSERV_HEADERS = 10
"""More stamps than this from one's own servers is a mistake in the setting, not a mail path."""


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


def _periodic(periodic: dict[str, Any]) -> PeriodicConfig:
    """`[periodic]`: the clock's bounds, each 0 (no limit) or more."""
    for key in ("max_clock_forward_hours", "max_clock_backward_minutes"):
        if periodic[key] < 0:
            raise ConfigError(f"periodic.{key} must be 0 (no limit) or more")
    return PeriodicConfig(**periodic)


def build(
    merged: dict[str, dict[str, Any]], base: Path, source: str, tables: list[dict[str, Any]] | None = None
) -> Config:
    """The `Config`; `tables` are the `[[mailbox]]` tables (defaults merged), None for one `[mailbox]`."""
    top, smtp = merged[""], merged["smtp"]
    if tables is None:
        boxes: tuple[MailboxConfig, ...] = (_mailbox("mailbox", merged["mailbox"], base),)
    else:
        boxes = tuple(_mailbox(f"mailbox[{table['name']}]", table, base) for table in tables)
    _check_distinct(boxes)
    _check_url("smtp.url", smtp["url"], _SMTP_SCHEMES, "file")
    _check_numbers(merged)
    if "@" not in top["address"]:
        raise ConfigError(f"address must be an email address, got {top['address']!r}")
    if top["admin_address"] and not _EMAIL.fullmatch(top["admin_address"].strip()):
        raise ConfigError(f"admin_address must be an email address, got {top['admin_address']!r}")
    own = {top["address"].strip().lower(), *(box.reply_from for box in boxes)} - {""}
    if top["admin_address"].strip().lower() in own:
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
        mailbox=boxes[0],
        mailboxes=boxes,
        smtp=SmtpConfig(
            url=_resolve_url(base, smtp["url"], "file"),
            username=smtp["username"],
            password=_read_secret("smtp.password_file", smtp, base),
            timeout=smtp["timeout"],
            max_attempts=smtp["max_attempts"],
            retry_base_seconds=smtp["retry_base_seconds"],
            verp=smtp["verp"],
            redirect_to=_redirect_to(smtp["redirect_to"]),
            auth=check_auth("smtp.auth", smtp["auth"]),
        ),
        limits=LimitsConfig(**merged["limits"]),
        periodic=_periodic(merged["periodic"]),
        security=_security(merged["security"]),
        survey_standard=top["survey_standard"],
        help_url=_help_url(top["help_url"]),
        log_format=_log_format(merged["logging"]["format"]),
        metrics=metrics_config(merged["metrics"]),
        web=web_config(merged["web"], base),
        oauth2=oauth2_config(
            merged["oauth2"], base, AUTH_OAUTH2 in (*(box.auth for box in boxes), smtp["auth"])
        ),
        database_url=database_url,
        source=source,
    )


def _log_format(value: str) -> str:
    name = value.strip().lower()
    if name not in ("text", "json"):
        raise ConfigError(f'logging.format must be "text" or "json", not {value!r}')
    return name


def _redirect_to(value: str) -> str:
    """`[smtp] redirect_to`: one plain address or nothing."""
    address = value.strip().lower()
    if address and not _EMAIL.fullmatch(address):
        raise ConfigError(f"smtp.redirect_to must be one e-mail address, not {value!r}")
    return address


def _security(security: dict[str, Any]) -> SecurityConfig:
    """`[security]`, checked: a known `trust`, ids only when they are read, a header count of 1 or more."""
    trust = security["trust"].strip().lower()
    ids = tuple(s.strip().lower() for s in security["trusted_authserv_ids"].split(",") if s.strip())
    if trust not in (TRUST_AUTHENTICATION_RESULTS, TRUST_NONE):
        raise ConfigError(
            f'security.trust must be "{TRUST_AUTHENTICATION_RESULTS}" or "{TRUST_NONE}", not {trust!r}'
        )
    if trust == TRUST_NONE and ids:
        raise ConfigError(
            'security.trust = "none" checks no sender, so security.trusted_authserv_ids would not be '
            "read: remove one of the two"
        )
    if not 1 <= security["authserv_header_count"] <= _MOST_AUTHSERV_HEADERS:
        raise ConfigError(
            f"security.authserv_header_count must be from 1 to {_MOST_AUTHSERV_HEADERS}: the number of "
            "Authentication-Results headers your own receiving servers add at the top of a mail"
        )
    return SecurityConfig(
        trusted_authserv_ids=ids,
        require_authenticated_senders=security["require_authenticated_senders"],
        trust=trust,
        authserv_header_count=security["authserv_header_count"],
    )


def _help_url(value: str) -> str:
    """`help_url`: an http(s) address staff can open, or '' for none."""
    url = value.strip()
    if url and (urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc or " " in url):
        raise ConfigError(f"help_url must be an http:// or https:// address, got {value!r}")
    return url


def _check_sent_folder(label: str, mailbox: dict[str, Any]) -> None:
    """`[mailbox] sent_folder` is only read: it may not be a folder caredesk moves mail into."""
    sent = mailbox["sent_folder"].strip()
    for key in ("processed_folder", "quarantine_folder"):
        if sent and sent == mailbox[key]:
            raise ConfigError(f"{label}.sent_folder is the same folder as {label}.{key} ({sent!r})")


def _mailbox(label: str, mailbox: dict[str, Any], base: Path) -> MailboxConfig:
    """One mailbox's settings, checked; `label` names it in messages (`mailbox`, `mailbox[recap]`)."""
    _check_url(f"{label}.url", mailbox["url"], _MAILBOX_SCHEMES, "maildir")
    for key in ("poll_interval", "batch_size", "timeout", "max_message_bytes"):
        if mailbox[key] <= 0:
            raise ConfigError(f"{label}.{key} must be greater than 0")
    _check_sent_folder(label, mailbox)
    if not NAME.fullmatch(mailbox["name"]):
        raise ConfigError(
            f"{label}.name must be lower-case letters, digits, '-' and '_', got {mailbox['name']!r}"
        )
    reply_from = mailbox["reply_from"].strip().lower()
    if reply_from and not _EMAIL.fullmatch(reply_from):
        raise ConfigError(f"{label}.reply_from must be one e-mail address, not {mailbox['reply_from']!r}")
    return MailboxConfig(
        url=_resolve_url(base, mailbox["url"], "maildir"),
        password=_read_secret(f"{label}.password_file", mailbox, base),
        processed_folder=mailbox["processed_folder"],
        quarantine_folder=mailbox["quarantine_folder"],
        poll_interval=mailbox["poll_interval"],
        batch_size=mailbox["batch_size"],
        timeout=mailbox["timeout"],
        max_message_bytes=mailbox["max_message_bytes"],
        plus_addressing=mailbox["plus_addressing"],
        sent_folder=mailbox["sent_folder"].strip(),
        auth=check_auth(f"{label}.auth", mailbox["auth"]),
        idle=mailbox["idle"],
        name=mailbox["name"],
        reply_from=reply_from,
        default_department=mailbox["default_department"].strip(),
    )


def _check_distinct(boxes: tuple[MailboxConfig, ...]) -> None:
    """Two tables may not read the same mailbox folder: its mail would be fetched twice."""
    seen: dict[tuple[str, str, int | None, str, str], str] = {}
    for box in boxes:
        parts = urlsplit(box.url)
        user, folder = imap_login(box.url) if box.scheme != "maildir" else ("", str(box.maildir_path))
        key = (parts.scheme, (parts.hostname or "").lower(), parts.port, user, folder)
        if key in seen:
            raise ConfigError(
                f"mailbox[{box.name}].url reads the same mailbox as mailbox[{seen[key]}]: "
                f"{public_url(box.url)}"
            )
        seen[key] = box.name


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
