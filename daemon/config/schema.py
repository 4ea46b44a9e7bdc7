"""The configuration's schema: every section and key with its type and default, and the
frozen dataclasses the rest of caredesk reads."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

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
        "help_url": (str, ""),
    },
    "mailbox": {
        "url": (str, "maildir:var/mail"),
        "password": (str, ""),
        "password_file": (str, ""),
        "processed_folder": (str, "Processed"),
        "quarantine_folder": (str, "Quarantine"),
        "sent_folder": (str, ""),
        "poll_interval": (int, 60),
        "batch_size": (int, 100),
        "timeout": (int, 60),
        "max_message_bytes": (int, 25 * 1024 * 1024),
        "plus_addressing": (bool, False),
        "auth": (str, "password"),
        "idle": (bool, True),
        "name": (str, "default"),
        "reply_from": (str, ""),
        "default_department": (str, ""),
    },
    "security": {
        "trust": (str, "authentication-results"),
        "trusted_authserv_ids": (str, ""),
        "authserv_header_count": (int, 1),
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
        "redirect_to": (str, ""),
        "auth": (str, "password"),
    },
    "oauth2": {
        "provider": (str, ""),
        "tenant": (str, "organizations"),
        "client_id": (str, ""),
        "client_secret": (str, ""),
        "client_secret_file": (str, ""),
        "token_url": (str, ""),
        "device_url": (str, ""),
        "authorize_url": (str, ""),
        "scope": (str, ""),
        "mechanism": (str, "xoauth2"),
        "token_file": (str, ""),
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
    "periodic": {
        "max_clock_forward_hours": (int, 72),
        "max_clock_backward_minutes": (int, 10),
    },
    "logging": {
        "format": (str, "text"),
    },
    "metrics": {
        "listen": (str, ""),
    },
    "web": {
        "listen": (str, ""),
        "auth": (str, "password"),
        "header": (str, "X-Remote-User"),
        "trusted_proxies": (str, ""),
        "accounts": (str, "web-accounts.toml"),
        "secure_cookies": (bool, True),
    },
}

# Secrets may come from the environment or a *_file, but not from the config file
# itself: config files get copied into tickets, backups and version control.
_SECRET_KEYS = {("mailbox", "password"), ("smtp", "password"), ("", "secret"), ("oauth2", "client_secret")}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
_MAILBOX_SCHEMES = {"imap", "imaps", "maildir"}
_SMTP_SCHEMES = {"smtp", "smtps", "file"}


class ConfigError(Exception):
    """The configuration cannot be used; the message names the key and the problem."""


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
    sent_folder: str = ""
    """The mailbox's folder of mail sent from it ("Sent", "Sent Items", "[Gmail]/Sent Mail"),
    read (never changed) for customer care's answers; '' = not read."""
    auth: str = "password"
    """How caredesk logs in: "password", or "oauth2" with the `[oauth2]` client's token."""
    idle: bool = True
    """Wait for new mail between polls (IMAP IDLE, a look at a Maildir's new/ each second)
    instead of sleeping out `poll_interval` (`daemon.fetch.idle`)."""
    name: str = "default"
    """The mailbox's name among several (`[[mailbox]]`); "default" for the one `[mailbox]`."""
    reply_from: str = ""
    """The From of the acknowledgements of tickets that came in here; '' = the top-level `address`."""
    default_department: str = ""
    """Where a complaint that came in here goes when no rule chooses; '' = rules.yaml's `default`."""

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
    redirect_to: str = ""
    """Staging: every outgoing mail goes to this one address instead ('' = to its recipients)."""
    auth: str = "password"
    """How caredesk logs in: "password" (with `username`), or "oauth2" as `username`."""

    @property
    def scheme(self) -> str:
        return urlsplit(self.url).scheme

    @property
    def file_path(self) -> Path:
        return Path(self.url.partition(":")[2])


@dataclass(frozen=True)
class OAuth2Config:
    """`[oauth2]`: who the client is, where it gets tokens, where the refresh token is kept.

    Built and checked by `daemon.config.oauth2` (provider presets for Microsoft and Google).
    """

    provider: str = ""
    """"microsoft", "google", "custom"; '' = OAuth2 is not configured."""
    client_id: str = ""
    client_secret: str = field(default="", repr=False)
    """'' for a public client (the usual Microsoft registration); Google's always has one."""
    token_url: str = ""
    device_url: str = ""
    authorize_url: str = ""
    scope: str = ""
    mechanism: str = "xoauth2"
    """The SASL mechanism for IMAP and SMTP: "xoauth2" (Microsoft, Google) or "oauthbearer" (RFC 7628)."""
    token_file: Path | None = None
    """Where the encrypted refresh token is kept; None = in the database (`setting` table)."""

    @property
    def configured(self) -> bool:
        return bool(self.provider)


@dataclass(frozen=True)
class PeriodicConfig:
    """`[periodic]`: how far the clock may move between two runs of the periodic jobs.

    The SLA ladder, the monthly report, its reminder and the branch-recap deadlines
    are held, and the admin told once, when the clock moves further than this from
    the last time the database saw them run, until `caredesk clock confirm`.
    """

    max_clock_forward_hours: int = 72
    """A longer step forward (or a daemon stopped longer) holds them; 0 = no limit."""
    max_clock_backward_minutes: int = 10
    """A longer step back holds them; 0 = no limit."""


@dataclass(frozen=True)
class MetricsConfig:
    """`[metrics]`: where `caredesk run` serves Prometheus metrics; off while `listen` is ''."""

    listen: str = ""
    """`HOST:PORT` (`127.0.0.1:9464`, `[::1]:9464`), checked by `config.build`; '' = no endpoint."""

    @property
    def host(self) -> str:
        return self.listen.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])


@dataclass(frozen=True)
class WebConfig:
    """`[web]`: the read-only web view (`caredesk web`, or inside `caredesk run` when `listen` is set)."""

    listen: str = ""
    """`HOST:PORT` the daemon serves the web view on; '' = only `caredesk web` serves it."""
    auth: str = "password"
    """"password": accounts log in with their argon2-hashed password; "header": a trusted
    reverse proxy names the user in `header` (single sign-on)."""
    header: str = "X-Remote-User"
    trusted_proxies: tuple[str, ...] = ()
    """Peers (addresses or networks) whose `header` is believed when auth = "header"; a request
    from anywhere else is refused. None by default: header log-in needs them named."""
    accounts: Path | None = None
    """The accounts file `caredesk web adduser` writes (roles, password hashes, API token hashes)."""
    secure_cookies: bool = True
    """Session cookies carry `Secure` (browsers send them over https only, and to localhost)."""


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


TRUST_AUTHENTICATION_RESULTS = "authentication-results"
"""`[security] trust`: a sender is verified by our receiving server's Authentication-Results."""
TRUST_NONE = "none"
"""`[security] trust`: no sender is checked; every staff command and branch recap is believed (a lab only)."""


@dataclass(frozen=True)
class SecurityConfig:
    """Who may change a ticket by mail: Authentication-Results from these servers only.

    Closed by default: with no `trusted_authserv_ids` nobody is verified, and
    staff commands, care copies and branch recaps change nothing. Only
    `trust = "none"` (a lab) believes every sender.
    """

    trusted_authserv_ids: tuple[str, ...]
    require_authenticated_senders: bool = True
    trust: str = TRUST_AUTHENTICATION_RESULTS
    authserv_header_count: int = 1
    """How many Authentication-Results headers with a trusted id, from the top, our servers write."""

    @property
    def checks_senders(self) -> bool:
        """False only for `trust = "none"`: every sender is believed."""
        return self.trust != TRUST_NONE

    def startup_warning(self) -> str | None:
        """What start-up warns about when no sender can be verified, or none is checked; None if fine."""
        if not self.checks_senders:
            return (
                '[security] trust = "none": senders are not checked, so anyone who writes From a '
                "department member's or a branch's address can change tickets; use this only in a lab"
            )
        if not self.trusted_authserv_ids:
            return (
                "[security] trusted_authserv_ids is empty: no sender can be verified, so department "
                "commands, customer care's copies and branch recaps are kept as unverified and change "
                "nothing; set it to the authserv-id your receiving server writes in Authentication-Results"
            )
        return None


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
    help_url: str = ""
    """Where staff read the reply commands (a published cheat-sheet); '' = the list goes in the mail."""
    periodic: PeriodicConfig = PeriodicConfig()
    log_format: str = "text"
    """`[logging] format`: "text" lines or "json" objects (with the mail's and ticket's fields)."""
    metrics: MetricsConfig = MetricsConfig()
    """`[metrics]`: the Prometheus endpoint of `caredesk run` (off by default)."""
    web: WebConfig = WebConfig()
    """`[web]`: the read-only web view."""
    oauth2: OAuth2Config = OAuth2Config()
    """`[oauth2]`: the token client of `auth = "oauth2"` (unset by default)."""
    mailboxes: tuple[MailboxConfig, ...] = ()
    """Every mailbox read, `mailbox` first: the `[[mailbox]]` tables, or the one `[mailbox]`."""

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]

    @property
    def every_mailbox(self) -> tuple[MailboxConfig, ...]:
        """The mailboxes caredesk reads, in the order of the file (`mailbox` alone when built by hand)."""
        return self.mailboxes or (self.mailbox,)

    @property
    def own_addresses(self) -> tuple[str, ...]:
        """The addresses caredesk sends as: `address`, then each mailbox's `reply_from`."""
        found = [self.address, *(box.reply_from for box in self.every_mailbox)]
        return tuple(dict.fromkeys(address for address in found if address))
