"""`[web]`: the web view's listen address, how people log in, and where the accounts live, checked.

`listen` takes the same `HOST:PORT` form as `[metrics] listen` ('' = the daemon
serves no web view; `caredesk web --listen` still can). `auth` is "password" or
"header"; with "header" only requests from `trusted_proxies` are believed, so a
missing or empty setting trusts nobody rather than everybody.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

from daemon.config.metrics import metrics_config
from daemon.config.schema import ConfigError, WebConfig

AUTH_MODES = ("password", "header")


def web_config(section: dict[str, Any], base: Path) -> WebConfig:
    """`[web]` as a `WebConfig`; ConfigError naming the key for a value it cannot use."""
    try:
        listen = metrics_config({"listen": section["listen"]}).listen
    except ConfigError as error:
        raise ConfigError(str(error).replace("metrics.listen", "web.listen", 1)) from None
    auth = str(section["auth"]).strip().lower()
    if auth not in AUTH_MODES:
        raise ConfigError(f"web.auth: {section['auth']!r} is not one of {', '.join(AUTH_MODES)}")
    header = str(section["header"]).strip()
    if auth == "header" and not header:
        raise ConfigError('web.header: name the header the proxy sets, e.g. "X-Remote-User"')
    proxies = tuple(part.strip() for part in str(section["trusted_proxies"]).split(",") if part.strip())
    for proxy in proxies:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise ConfigError(f"web.trusted_proxies: {proxy!r} is not an IP address or network") from None
    if auth == "header" and not proxies:
        raise ConfigError(
            'web.trusted_proxies: auth = "header" believes the header only from the proxy; '
            'name its address, e.g. "127.0.0.1"'
        )
    accounts = Path(str(section["accounts"]).strip() or "web-accounts.toml")
    return WebConfig(
        listen=listen,
        auth=auth,
        header=header,
        trusted_proxies=proxies,
        accounts=accounts if accounts.is_absolute() else base / accounts,
        secure_cookies=bool(section["secure_cookies"]),
    )
