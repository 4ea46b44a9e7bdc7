"""Passwords and the secret from systemd credentials (`LoadCredential=`, `$CREDENTIALS_DIRECTORY`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.config import ConfigError, load_config

CONFIG = """\
secret_file = "secret-file"

[mailbox]
url = "imaps://care@imap.example.co.id:993/INBOX"
password_file = "imap-password-file"

[smtp]
url = "smtp://smtp.example.co.id:587"
password_file = "smtp-password-file"
"""


def _site(tmp_path: Path, *, files: bool = True) -> Path:
    config = tmp_path / "caredesk.toml"
    config.write_text(
        CONFIG if files else "\n".join(line for line in CONFIG.splitlines() if "_file" not in line)
    )
    if files:
        for name in ("secret-file", "imap-password-file", "smtp-password-file"):
            (tmp_path / name).write_text(f"from {name}\n")
    return config


def _credentials(tmp_path: Path, **values: str) -> Path:
    """What systemd makes of `LoadCredential=NAME:PATH` lines: one file per credential."""
    folder = tmp_path / "credentials"
    folder.mkdir()
    for name, value in values.items():
        (folder / name.replace("_", "-")).write_text(value)
    return folder


def test_credentials_give_both_passwords_and_the_secret(tmp_path: Path) -> None:
    folder = _credentials(tmp_path, imap_password="imap-s3cret\n", smtp_password="smtp\n", secret="signing\n")
    config = load_config(_site(tmp_path, files=False), environ={"CREDENTIALS_DIRECTORY": str(folder)})
    assert config.mailbox.password == "imap-s3cret"
    assert (config.smtp.password, config.secret) == ("smtp", "signing")
    assert "s3cret" not in repr(config.mailbox)


def test_a_credential_wins_over_the_file_key_and_the_file_is_not_read(tmp_path: Path) -> None:
    config_path = _site(tmp_path)
    # Root-only files under the unit: caredesk's user could not read them.
    (tmp_path / "imap-password-file").unlink()
    (tmp_path / "imap-password-file").mkdir()
    folder = _credentials(tmp_path, imap_password="from the credential")
    config = load_config(config_path, environ={"CREDENTIALS_DIRECTORY": str(folder)})
    assert config.mailbox.password == "from the credential"
    # A credential that was not passed leaves the file key to do its work.
    assert config.smtp.password == "from smtp-password-file"
    assert config.secret == "from secret-file"


def test_the_environment_wins_over_a_credential(tmp_path: Path) -> None:
    folder = _credentials(tmp_path, smtp_password="from the credential", secret="credential secret")
    environ = {
        "CREDENTIALS_DIRECTORY": str(folder),
        "CAREDESK_SMTP_PASSWORD": "from the environment",
        "CAREDESK_SECRET": "environment secret",
    }
    config = load_config(_site(tmp_path), environ=environ)
    assert config.smtp.password == "from the environment"
    assert config.secret == "environment secret"


def test_without_credentials_directory_the_files_are_used(tmp_path: Path) -> None:
    _credentials(tmp_path, imap_password="never read")
    config = load_config(_site(tmp_path), environ={})
    assert config.mailbox.password == "from imap-password-file"


def test_a_credential_that_cannot_be_read_is_a_configuration_error(tmp_path: Path) -> None:
    folder = _credentials(tmp_path)
    (folder / "smtp-password").mkdir()
    with pytest.raises(ConfigError, match=r"credential smtp-password: cannot read \$CREDENTIALS_DIRECTORY"):
        load_config(_site(tmp_path), environ={"CREDENTIALS_DIRECTORY": str(folder)})
    (folder / "smtp-password").rmdir()
    (folder / "smtp-password").write_bytes(b"\xff\xfe not text")
    with pytest.raises(ConfigError, match="not UTF-8 text"):
        load_config(_site(tmp_path), environ={"CREDENTIALS_DIRECTORY": str(folder)})
