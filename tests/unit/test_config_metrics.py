"""`[metrics] listen`: off by default, an IP address (or localhost) and a port, else refused.

The counters are kept only when it is set.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from daemon.config import ConfigError, MetricsConfig, load_config
from daemon.config.metrics import is_loopback


def _load(tmp_path: Path, listen: str) -> MetricsConfig:
    path = tmp_path / "caredesk.toml"
    path.write_text(f'[metrics]\nlisten = "{listen}"\n')
    return load_config(path, environ={}).metrics


def test_metrics_are_off_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_config(None, environ={}).metrics == MetricsConfig(listen="")


@pytest.mark.parametrize(
    ("listen", "host", "port", "loopback"),
    [
        ("127.0.0.1:9464", "127.0.0.1", 9464, True),
        ("[::1]:9464", "::1", 9464, True),
        ("localhost:9100", "localhost", 9100, True),
        ("10.1.2.3:9464", "10.1.2.3", 9464, False),
    ],
)
def test_a_listen_address_is_read(tmp_path: Path, listen: str, host: str, port: int, loopback: bool) -> None:
    metrics = _load(tmp_path, listen)
    assert (metrics.listen, metrics.host, metrics.port, is_loopback(metrics)) == (
        listen,
        host,
        port,
        loopback,
    )


def test_the_environment_sets_it_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(None, environ={"CAREDESK_METRICS_LISTEN": "127.0.0.1:9999"})
    assert config.metrics.port == 9999


@pytest.mark.parametrize(
    ("listen", "message"),
    [
        ("9464", "'9464' is not HOST:PORT"),
        ("127.0.0.1:0", "'0' is not a port from 1 to 65535"),
        ("127.0.0.1:70000", "'70000' is not a port from 1 to 65535"),
        ("127.0.0.1:http", "'http' is not a port"),
        ("metrics.example.co.id:9464", "'metrics.example.co.id' is not an IP address"),
        ("::1:9464", "write an IPv6 address in brackets ([::1]:9464)"),
    ],
)
def test_an_unusable_listen_address_is_refused_naming_the_key(
    tmp_path: Path, listen: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=r"^metrics\.listen: ") as refused:
        _load(tmp_path, listen)
    assert message in str(refused.value)


def test_an_unknown_key_in_the_section_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "caredesk.toml"
    path.write_text('[metrics]\nlisten_on = "127.0.0.1:9464"\n')
    with pytest.raises(
        ConfigError, match="unknown key \\[metrics\\] 'listen_on' \\(did you mean 'listen'\\?\\)"
    ):
        load_config(path, environ={})


def test_metrics_are_counted_only_when_served(tmp_path: Path) -> None:
    """Without `[metrics] listen` nobody could read them: no counters, and no prometheus_client."""
    from daemon.app.metrics import Metrics
    from daemon.app.monitor import Unserved, observer_for

    path = tmp_path / "caredesk.toml"
    path.write_text("")
    unserved = observer_for(load_config(path, environ={}))
    assert isinstance(unserved, Unserved)
    unserved.observe_poll(Counter(fetched=3), 0.5, "imap://care@127.0.0.1/INBOX")

    path.write_text('[metrics]\nlisten = "127.0.0.1:9464"\n')
    served = observer_for(load_config(path, environ={}))
    assert isinstance(served, Metrics)
    served.observe_poll(Counter(fetched=3), 0.5, "imap://care@127.0.0.1/INBOX")
    assert served.registry.get_sample_value("caredesk_mails_fetched_total", {"folder": "intake"}) == 3
