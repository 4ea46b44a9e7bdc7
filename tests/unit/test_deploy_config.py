"""The example production config in deploy/ stays loadable: every key in it is real."""

from __future__ import annotations

import re
from pathlib import Path

from daemon.config import load_config

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "caredesk.toml"


def test_the_example_production_config_loads(tmp_path: Path) -> None:
    # Point its secret files at temporary ones; everything else is used as written.
    text = DEPLOY.read_text()
    for name in ("imap-password", "smtp-password", "secret"):
        (tmp_path / name).write_text("x\n")
        text = text.replace(f"/etc/caredesk/{name}", str(tmp_path / name))
    copy = tmp_path / "caredesk.toml"
    copy.write_text(text)
    config = load_config(copy, environ={})
    assert config.mailbox.plus_addressing and config.smtp.verp
    assert config.security.trusted_authserv_ids == ("mx.example.co.id",)
    assert config.limits.auto_per_hour == 3
    assert config.metrics.listen == "127.0.0.1:9464"
    assert not re.search(r"^\s*password\s*=", text, re.M)  # no secret in the example
