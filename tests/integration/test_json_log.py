"""`[logging] format = "json"`: one JSON object a line, carrying the mail's and the ticket's fields."""

from __future__ import annotations

import email
import json
import subprocess
import sys
from pathlib import Path

import pytest

from daemon.config import ConfigError, load_config
from tests import mailfactory
from tests.clockpin import daemon_environment
from tests.integration.helpers import PROJECT, write_config

pytestmark = pytest.mark.integration


def _run_once(config: Path) -> list[dict[str, object]]:
    done = subprocess.run(
        [sys.executable, "-m", "daemon", "--config", str(config), "run", "--once"],
        env=daemon_environment(),
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    # Every line is an object: a log collector never has to guess where one ends.
    return [json.loads(line) for line in done.stderr.splitlines()]


def test_each_line_is_json_with_the_ticket_and_message_id(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        database_url=f"sqlite:///{tmp_path}/caredesk.db",
        mailbox_url=f"maildir:{tmp_path / 'mail'}",
        smtp_url=f"file:{tmp_path / 'outbox'}",
        extra='[logging]\nformat = "json"\n',
    )
    raw = mailfactory.complaint(sender="budi.santoso@example.net")
    (tmp_path / "mail" / "new").mkdir(parents=True)
    (tmp_path / "mail" / "new" / "1.eml").write_bytes(raw)

    records = _run_once(config)

    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    created = [r for r in records if str(r["message"]).startswith("ticket CC-")]
    assert len(created) == 1, records
    reference = str(created[0]["ticket"])
    assert reference in str(created[0]["message"])
    assert created[0]["message_id"] == email.message_from_bytes(raw)["Message-ID"].strip()
    assert isinstance(created[0]["inbound"], int)
    sent = [r for r in records if str(r["message"]).startswith("sent ")]
    assert {r["ticket"] for r in sent} == {reference} and len(sent) == 2
    assert all(isinstance(r["outbound"], int) and r["message_id"] for r in sent)
    # Lines outside a mail carry no stale fields from the last one.
    assert all("ticket" not in r for r in records if "caredesk running" in str(r["message"]))


def test_an_unknown_format_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "caredesk.toml"
    path.write_text('[logging]\nformat = "xml"\n')
    with pytest.raises(ConfigError, match=r'logging\.format must be "text" or "json"'):
        load_config(path, environ={})
