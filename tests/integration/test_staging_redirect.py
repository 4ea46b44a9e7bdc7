"""`[smtp] redirect_to`: a staging desk mails one address only, over a real SMTP server."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from daemon.config import ConfigError, load_config
from daemon.send.redirect import ORIGINAL_TO, original_to_header
from tests import mailfactory
from tests.integration.helpers import outbound, run_cli, write_config

pytestmark = pytest.mark.integration

QA = "qa@staging.example.co.id"


def test_every_mail_goes_to_the_staging_address_and_says_to_whom_it_was(
    tmp_path: Path, database_url: str, dovecot: Any, smtp_sink: Any, caplog: pytest.LogCaptureFixture
) -> None:
    config = write_config(
        tmp_path, database_url=database_url, mailbox_url=dovecot.url, smtp_url=smtp_sink.url
    )
    config.write_text(config.read_text().replace("[smtp]\n", f'[smtp]\nredirect_to = "{QA}"\n'))
    dovecot.append(mailfactory.complaint(sender="budi.santoso@example.net", language="id"))

    with caplog.at_level(logging.WARNING, logger="caredesk"):
        assert run_cli("--config", str(config), "run", "--once") == 0

    received = smtp_sink.wait_for(2)
    assert [r.rcpt_tos for r in received] == [[QA], [QA]]
    rows = outbound(database_url)
    # The outbox keeps the real recipients; only the delivery was turned aside.
    assert {row.recipient for row in rows} >= {"budi.santoso@example.net"}
    assert sorted(str(r.message[ORIGINAL_TO]) for r in received) == sorted(row.recipient for row in rows)
    assert all(row.state == "sent" for row in rows)
    assert any(f"redirect_to: staging, every outgoing mail goes to {QA}" in r.message for r in caplog.records)


def test_a_non_ascii_recipient_is_named_in_an_encoded_header() -> None:
    line = original_to_header(["josé@example.com"])
    assert line.isascii() and line.endswith(b"\r\n")
    assert line.startswith(f"{ORIGINAL_TO}: =?utf-8?".encode())
    # Folding whitespace from outside never opens a new header line.
    assert original_to_header(["a@example.com\r\nBcc: x@evil.test"]).count(b"\r\n") == 1


def test_redirect_to_must_be_one_address(tmp_path: Path) -> None:
    config = tmp_path / "caredesk.toml"
    config.write_text('[smtp]\nredirect_to = "qa@example.com, other@example.com"\n')
    with pytest.raises(ConfigError, match=r"smtp\.redirect_to must be one e-mail address"):
        load_config(config, environ={})
