"""`[web] listen`: `caredesk run` serves the web view beside the daemon, and stops it with the daemon."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest

from tests.faults.harness import DaemonProcess
from tests.integration.helpers import write_config
from tests.servers import free_port
from tests.web.desk import build_desk

pytestmark = pytest.mark.integration


def test_the_daemon_serves_the_web_view_when_web_listen_is_set(tmp_path: Path) -> None:
    desk = build_desk(tmp_path, f"sqlite:///{tmp_path}/caredesk.db")
    port = free_port()
    config = write_config(
        tmp_path,
        database_url=desk.config.database_url,
        mailbox_url="maildir:mail",
        smtp_url="file:outbox",
        extra=f'[web]\nlisten = "127.0.0.1:{port}"\n',
    )
    with DaemonProcess(config) as daemon:
        daemon.wait_for("web view on")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=10) as answer:
            assert answer.status == 200
            assert answer.headers["X-Frame-Options"] == "DENY"
            assert b"Log in" in answer.read()
        assert daemon.terminate() == 0
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2)
