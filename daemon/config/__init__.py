"""Configuration: `caredesk.toml`, `CAREDESK_*` environment overrides, embedded defaults.

Configuration is validated completely at start-up: an unknown key, a wrong type or
a malformed URL stops the program with a message naming the key (exit code 78,
EX_CONFIG). Secrets are read from the environment, a systemd credential
(`credentials.py`) or a file, never from the command line, and never appear in
`repr()` or logs.

The file is the one named (`--config`, then `CAREDESK_CONFIG`), else
`./caredesk.toml` when the working directory has one, else none: the embedded
default under `./var/`.
"""

from daemon.config.build import default_templates, imap_login, public_url
from daemon.config.loader import load_config
from daemon.config.schema import (
    EX_CONFIG,
    SITE_CONFIG,
    Config,
    ConfigError,
    LimitsConfig,
    MailboxConfig,
    MetricsConfig,
    OAuth2Config,
    PeriodicConfig,
    SecurityConfig,
    SmtpConfig,
)

__all__ = [
    "EX_CONFIG",
    "SITE_CONFIG",
    "Config",
    "ConfigError",
    "LimitsConfig",
    "MailboxConfig",
    "MetricsConfig",
    "OAuth2Config",
    "PeriodicConfig",
    "SecurityConfig",
    "SmtpConfig",
    "default_templates",
    "imap_login",
    "load_config",
    "public_url",
]
