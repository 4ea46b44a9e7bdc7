"""`[metrics] listen`: the address `caredesk run` serves Prometheus metrics on, checked.

`HOST:PORT`, with HOST an IP address (`127.0.0.1`, `[::1]` in brackets) or
`localhost`, and PORT from 1 to 65535; '' (the default) serves nothing. A name
that needs DNS is refused: the endpoint has no authentication, so where it
listens must be plain to see in the configuration.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from daemon.config.schema import ConfigError, MetricsConfig

_FORM = 'use "HOST:PORT" with an IP address or localhost, e.g. "127.0.0.1:9464" or "[::1]:9464"'


def metrics_config(section: dict[str, Any]) -> MetricsConfig:
    """`[metrics]` as a `MetricsConfig`; ConfigError naming the key for a listen address it cannot use."""
    listen = str(section["listen"]).strip()
    if not listen:
        return MetricsConfig()
    host, colon, port = listen.rpartition(":")
    if not colon or not host:
        raise ConfigError(f"metrics.listen: {listen!r} is not HOST:PORT; {_FORM}")
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ConfigError(f"metrics.listen: {port!r} is not a port from 1 to 65535; {_FORM}")
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if bare != "localhost":
        try:
            address = ipaddress.ip_address(bare)
        except ValueError:
            raise ConfigError(f"metrics.listen: {host!r} is not an IP address; {_FORM}") from None
        if address.version == 6 and bare == host:
            raise ConfigError(f"metrics.listen: write an IPv6 address in brackets ([{bare}]:{port})")
    return MetricsConfig(listen=f"{host}:{int(port)}")


def is_loopback(config: MetricsConfig) -> bool:
    """True when the endpoint is reachable from this host only."""
    host = config.host
    return host == "localhost" or ipaddress.ip_address(host).is_loopback
