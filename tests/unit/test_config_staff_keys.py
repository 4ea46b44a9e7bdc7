"""`help_url` and `[mailbox] sent_folder`: off by default, checked when set."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.config import ConfigError, load_config


def _load(tmp_path: Path, text: str) -> object:
    path = tmp_path / "caredesk.toml"
    path.write_text(text)
    return load_config(path, environ={})


def test_both_are_off_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(None, environ={})
    assert (config.help_url, config.mailbox.sent_folder) == ("", "")


def test_a_published_help_url_and_a_sent_folder_are_read(tmp_path: Path) -> None:
    config = _load(
        tmp_path,
        'help_url = "https://intranet.example.co.id/perintah"\n[mailbox]\nsent_folder = "Sent Items"\n',
    )
    assert config.help_url == "https://intranet.example.co.id/perintah"  # type: ignore[attr-defined]
    assert config.mailbox.sent_folder == "Sent Items"  # type: ignore[attr-defined]


@pytest.mark.parametrize("url", ["docs/departments.md", "javascript:alert(1)", "https://"])
def test_a_help_url_that_is_no_web_address_is_refused(tmp_path: Path, url: str) -> None:
    with pytest.raises(ConfigError, match="help_url must be an http:// or https:// address"):
        _load(tmp_path, f'help_url = "{url}"\n')


def test_the_sent_folder_cannot_be_one_caredesk_moves_mail_into(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"sent_folder is the same folder as mailbox.processed_folder"):
        _load(tmp_path, '[mailbox]\nsent_folder = "Processed"\n')
