"""deploy/prometheus-alerts.yml: valid Prometheus rules over metrics caredesk really serves.

The file is read as Prometheus reads a rules file (groups of rules with an
`alert`, an `expr` and labels), every `caredesk_*` name in an expression is
looked up among the metrics a pinned-clock daemon serves at `/metrics` after a
poll. (`promtool check rules deploy/prometheus-alerts.yml` is the check to run
where Prometheus is installed; it is not on the test machines.)
"""

from __future__ import annotations

import re
import socket
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from daemon import clock
from daemon.app.service import Daemon
from daemon.config import load_config
from tests import mailfactory
from tests.clockpin import config_variables
from tests.integration.helpers import PROJECT, write_config

pytestmark = pytest.mark.integration

RULES = PROJECT / "deploy" / "prometheus-alerts.yml"
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}


def _rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(RULES.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def _served_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> set[str]:
    for name in config_variables():
        monkeypatch.delenv(name)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    config = write_config(
        tmp_path,
        database_url=f"sqlite:///{tmp_path}/caredesk.db",
        mailbox_url=f"maildir:{tmp_path / 'mail'}",
        smtp_url=f"file:{tmp_path / 'outbox'}",
        extra=f'[metrics]\nlisten = "127.0.0.1:{port}"\n',
    )
    (tmp_path / "mail" / "new").mkdir(parents=True)
    (tmp_path / "mail" / "new" / "1.eml").write_bytes(mailfactory.complaint(1))
    with Daemon(load_config(config), clock=clock.now) as daemon:
        daemon.serve_metrics()
        daemon.run_once()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
            text = response.read().decode("utf-8")
    return {
        family.name + suffix
        for family in text_string_to_metric_families(text)
        for suffix in SUFFIXES.get(family.type, ("",))
    }


def test_every_alert_is_well_formed() -> None:
    rules = _rules()
    assert len(rules) >= 6
    names = [rule["alert"] for rule in rules]
    assert len(set(names)) == len(names)
    for rule in rules:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations", "keep_firing_for"}, rule
        assert isinstance(rule["expr"], str) and rule["expr"].strip()
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}
        assert rule["annotations"]["summary"]
        if "for" in rule:
            assert re.fullmatch(r"\d+[smh]", rule["for"]), rule["for"]


def test_the_alerts_use_only_metrics_caredesk_serves(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    served = _served_names(tmp_path, monkeypatch)
    assert "caredesk_database_up" in served and "caredesk_errors_total" in served
    used = {name for rule in _rules() for name in re.findall(r"\bcaredesk_[a-z_]+", rule["expr"])}
    assert used, "no caredesk metric in any alert"
    assert used - served == set(), f"alerts on metrics caredesk does not serve: {sorted(used - served)}"
