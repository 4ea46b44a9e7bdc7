"""Secrets handed over by systemd: `LoadCredential=` files in `$CREDENTIALS_DIRECTORY`.

systemd copies each credential the unit names into a private, read-only folder
that only the service's user can read, and names it in `$CREDENTIALS_DIRECTORY`.
caredesk reads these names there:

=================  ==========================  ===========================
credential         setting                     same as
=================  ==========================  ===========================
`imap-password`    `[mailbox] password`        `CAREDESK_MAILBOX_PASSWORD`
`smtp-password`    `[smtp] password`           `CAREDESK_SMTP_PASSWORD`
`secret`           `secret`                    `CAREDESK_SECRET`
=================  ==========================  ===========================

`oauth2-client-secret` sets `[oauth2] client_secret` (`CAREDESK_OAUTH2_CLIENT_SECRET`).
With `[[mailbox]]` tables, each mailbox's password is `imap-password-<name>`
instead (`daemon.config.mailboxes`).

What the process is given wins over what the config file names: the
environment variable first, then the credential, then the `password_file` /
`secret_file` key. A credential that is not there is simply not used; one that
is there but cannot be read is a configuration error naming it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from daemon.config.schema import ConfigError

VARIABLE = "CREDENTIALS_DIRECTORY"

CREDENTIALS: dict[str, tuple[str, str]] = {
    "imap-password": ("mailbox", "password"),
    "smtp-password": ("smtp", "password"),
    "secret": ("", "secret"),
    "oauth2-client-secret": ("oauth2", "client_secret"),
}
"""Credential name -> the (section, key) it sets."""


def apply_credentials(env: Mapping[str, str], values: dict[str, dict[str, Any]]) -> None:
    """Fill each secret the environment left unset from its credential, when systemd passed one."""
    folder = env.get(VARIABLE, "")
    if not folder:
        return
    for name, (section, key) in CREDENTIALS.items():
        if key in values[section]:
            continue  # set by the environment, which wins
        path = Path(folder) / name
        try:
            values[section][key] = path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            continue  # this credential was not passed
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
            raise ConfigError(
                f"credential {name}: cannot read ${VARIABLE}/{name} ({path}): {reason}"
            ) from None
