"""caredesk.toml and CAREDESK_* overrides: validated at start, clear errors, exit 78."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.cli import main
from daemon.config import EX_CONFIG, ConfigError, load_config


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "caredesk.toml"
    path.write_text(text)
    return path


def test_no_file_means_the_embedded_default_under_var(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(None, environ={})
    assert config.source == "embedded defaults"
    assert config.mailbox.url == f"maildir:{tmp_path / 'var/mail'}"
    assert config.smtp.url == f"file:{tmp_path / 'var/outbox'}"
    assert config.database_url == f"sqlite:///{tmp_path / 'var/caredesk.db'}"
    assert config.reference_prefix == "CC"


def test_unknown_key_is_named_with_a_suggestion(tmp_path: Path) -> None:
    path = _write(tmp_path, "[mailbox]\npoll_intervall = 5\n")
    with pytest.raises(ConfigError, match=r"unknown key \[mailbox\] 'poll_intervall'.*'poll_interval'"):
        load_config(path, environ={})


def test_unknown_section_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown section \[smpt\].*'smtp'"):
        load_config(_write(tmp_path, "[smpt]\nurl = 'smtp://x'\n"), environ={})


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, '[database]\nurl = "sqlite:///a.db"\n')
    config = load_config(
        path,
        environ={
            "CAREDESK_DATABASE_URL": "postgresql+psycopg://u@h/db",
            "CAREDESK_MAILBOX_POLL_INTERVAL": "7",
        },
    )
    assert config.database_url == "postgresql+psycopg://u@h/db"
    assert config.mailbox.poll_interval == 7


def test_unknown_environment_variable_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"CAREDESK_DATABSE_URL.*CAREDESK_DATABASE_URL"):
        load_config(None, environ={"CAREDESK_DATABSE_URL": "x"})


def test_password_is_never_taken_from_the_config_file(tmp_path: Path) -> None:
    path = _write(tmp_path, '[smtp]\nurl = "smtp://mail.example.com"\npassword = "hunter2"\n')
    with pytest.raises(ConfigError, match="password_file or CAREDESK_SMTP_PASSWORD"):
        load_config(path, environ={})


def test_password_comes_from_a_file_or_the_environment_and_is_not_shown(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("s3cret\n")
    path = _write(
        tmp_path,
        '[mailbox]\nurl = "imaps://care@imap.example.com/INBOX"\npassword_file = "secret"\n',
    )
    config = load_config(path, environ={"CAREDESK_SMTP_PASSWORD": "other"})
    assert config.mailbox.password == "s3cret"
    assert config.smtp.password == "other"
    assert "s3cret" not in repr(config) and "other" not in repr(config)


def test_password_in_a_url_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, '[mailbox]\nurl = "imap://care:pw@imap.example.com/INBOX"\n')
    with pytest.raises(ConfigError, match="no password in the URL"):
        load_config(path, environ={})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[mailbox]\nurl = "pop3://x"\n', "unsupported URL"),
        ('[smtp]\nurl = "smtp://"\n', "names no host"),
        ('[mailbox]\npoll_interval = "often"\n', "mailbox.poll_interval must be int"),
        ("[mailbox]\nbatch_size = 0\n", "batch_size must be greater than 0"),
        ('timezone = "Mars/Olympus"\n', "unknown time zone"),
        ('address = "nobody"\n', "must be an email address"),
        ('admin_address = "ops team"\n', "admin_address must be an email address"),
        (
            'address = "care@x.id"\nadmin_address = "Care@X.id"\n',
            "admin_address is the mailbox caredesk reads",
        ),
        ("[limits]\nstaff_per_hour = 0\n", "limits.staff_per_hour must be greater than 0"),
        ("[limits]\nforward_attachment_bytes = -1\n", "limits.forward_attachment_bytes must be 0"),
        ("not toml at all = = \n", "not valid TOML"),
    ],
)
def test_bad_values_are_refused_with_the_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(_write(tmp_path, text), environ={})


def test_notices_carry_up_to_10_mb_of_attachments_unless_set_otherwise(tmp_path: Path) -> None:
    assert load_config(None, environ={}).limits.forward_attachment_bytes == 10 * 1024 * 1024
    path = _write(tmp_path, "[limits]\nforward_attachment_bytes = 0\n")
    assert load_config(path, environ={}).limits.forward_attachment_bytes == 0


def test_configuration_error_exits_78_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "colour = 'blue'\n")
    assert main(["--config", str(path), "tickets", "list"]) == EX_CONFIG
    assert "unknown key 'colour'" in capsys.readouterr().err


def test_relative_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    path = _write(folder, '[mailbox]\nurl = "maildir:mail"\n[database]\nurl = "sqlite:///data/c.db"\n')
    config = load_config(path, environ={})
    assert config.mailbox.maildir_path == folder / "mail"
    assert config.database_url == f"sqlite:///{folder / 'data/c.db'}"


def test_admin_address_is_empty_by_default_and_set_from_file_or_environment(tmp_path: Path) -> None:
    assert load_config(None, environ={}).admin_address == ""
    path = _write(tmp_path, 'admin_address = "Ops@Example.co.id"\n')
    assert load_config(path, environ={}).admin_address == "ops@example.co.id"
    overridden = load_config(path, environ={"CAREDESK_ADMIN_ADDRESS": "tim.ti@example.co.id"})
    assert overridden.admin_address == "tim.ti@example.co.id"
