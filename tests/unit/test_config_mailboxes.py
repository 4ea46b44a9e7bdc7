"""Several mailboxes in one caredesk.toml: `[[mailbox]]` tables, their names, variables and checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.config import ConfigError, load_config

TWO = """\
address = "care@example.co.id"

[[mailbox]]
name = "care"
url = "imaps://care@imap.example.co.id:993/INBOX"
password_file = "care-password"

[[mailbox]]
name = "branch-recap"
url = "imaps://rekap@imap.example.co.id:993/INBOX"
poll_interval = 300
reply_from = "Rekap@Example.co.id"
default_department = "keuangan"
sent_folder = "Sent"
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "caredesk.toml"
    path.write_text(text)
    (tmp_path / "care-password").write_text("care-secret\n")
    return path


def test_every_table_is_a_mailbox_of_its_own(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, TWO), environ={})
    care, recap = config.mailboxes
    assert config.mailbox is care and config.every_mailbox == (care, recap)
    assert (care.name, care.password, care.reply_from, care.default_department) == (
        "care",
        "care-secret",
        "",
        "",
    )
    assert (recap.name, recap.password, recap.poll_interval, recap.sent_folder) == (
        "branch-recap",
        "",
        300,
        "Sent",
    )
    assert (recap.reply_from, recap.default_department) == ("rekap@example.co.id", "keuangan")
    assert care.poll_interval == 60  # the defaults apply to each table
    assert config.own_addresses == ("care@example.co.id", "rekap@example.co.id")


def test_the_single_table_works_as_before_and_is_named_default(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, "[mailbox]\nurl = 'maildir:mail'\npoll_interval = 7\n"), environ={})
    assert config.mailboxes == (config.mailbox,)
    assert (config.mailbox.name, config.mailbox.poll_interval) == ("default", 7)
    assert config.own_addresses == (config.address,)


def test_the_single_table_takes_the_new_keys_too(tmp_path: Path) -> None:
    text = "[mailbox]\nurl = 'maildir:mail'\nname = 'care'\ndefault_department = 'teknik'\n"
    config = load_config(
        _write(tmp_path, text), environ={"CAREDESK_MAILBOX_REPLY_FROM": "desk@example.co.id"}
    )
    assert (config.mailbox.name, config.mailbox.default_department) == ("care", "teknik")
    assert config.mailbox.reply_from == "desk@example.co.id"


def test_both_forms_at_once_are_refused_with_the_file_and_line(tmp_path: Path) -> None:
    text = "[mailbox]\nurl = 'maildir:a'\n\n[[mailbox]]\nname = 'b'\nurl = 'maildir:b'\n"
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError, match=rf"^{path}:4: \[mailbox\] and \[\[mailbox\]\] both given"):
        load_config(path, environ={})
    reversed_order = _write(tmp_path, "[[mailbox]]\nname = 'b'\n\n[mailbox]\nurl = 'maildir:a'\n")
    with pytest.raises(ConfigError, match=rf"^{reversed_order}:4: \[mailbox\] and \[\[mailbox\]\]"):
        load_config(reversed_order, environ={})


def test_names_are_required_among_several_and_unique(tmp_path: Path) -> None:
    unnamed = TWO.replace('name = "branch-recap"\n', "")
    with pytest.raises(
        ConfigError, match=r"\[\[mailbox\]\] 2 has no name: each of several mailboxes needs one"
    ):
        load_config(_write(tmp_path, unnamed), environ={})
    twice = TWO.replace('name = "branch-recap"', 'name = "care"')
    with pytest.raises(ConfigError, match=r"\[\[mailbox\]\] 2: name 'care' is taken by \[\[mailbox\]\] 1"):
        load_config(_write(tmp_path, twice), environ={})
    with pytest.raises(
        ConfigError, match=r"\[\[mailbox\]\] 2: name must be lower-case letters.*'Branch Recap'"
    ):
        load_config(_write(tmp_path, TWO.replace('"branch-recap"', '"Branch Recap"')), environ={})


def test_one_table_needs_no_name(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, "[[mailbox]]\nurl = 'maildir:mail'\n"), environ={})
    assert [box.name for box in config.mailboxes] == ["default"]


def test_two_tables_may_not_read_the_same_mailbox(tmp_path: Path) -> None:
    same = TWO.replace("rekap@imap.example.co.id", "care@imap.example.co.id")
    with pytest.raises(
        ConfigError, match=r"mailbox\[branch-recap\]\.url reads the same mailbox as mailbox\[care\]"
    ):
        load_config(_write(tmp_path, same), environ={})


def test_each_table_is_checked_and_named_in_the_message(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"mailbox\[branch-recap\]\.poll_interval must be greater than 0"):
        load_config(_write(tmp_path, TWO.replace("poll_interval = 300", "poll_interval = 0")), environ={})
    with pytest.raises(ConfigError, match=r"mailbox\[branch-recap\]\.poll_interval must be int, got '5'"):
        load_config(_write(tmp_path, TWO.replace("poll_interval = 300", "poll_interval = '5'")), environ={})
    with pytest.raises(ConfigError, match=r"mailbox\[branch-recap\]\.reply_from must be one e-mail address"):
        load_config(_write(tmp_path, TWO.replace('"Rekap@Example.co.id"', '"rekap"')), environ={})
    with pytest.raises(ConfigError, match=r"mailbox\[branch-recap\]\.url: unsupported URL 'pop3://x'"):
        load_config(
            _write(tmp_path, TWO.replace("imaps://rekap@imap.example.co.id:993/INBOX", "pop3://x")), {}
        )
    with pytest.raises(
        ConfigError, match=r"\[\[mailbox\]\] 2 \('branch-recap'\): unknown key 'reply_form'.*'reply_from'"
    ):
        load_config(_write(tmp_path, TWO.replace("reply_from =", "reply_form =")), environ={})
    with pytest.raises(ConfigError, match=r"\[\[mailbox\]\] 1 \('care'\): password must not be written"):
        load_config(_write(tmp_path, TWO.replace('password_file = "care-password"', 'password = "x"')), {})


def test_the_admin_may_not_be_a_reply_from_address(tmp_path: Path) -> None:
    text = 'admin_address = "rekap@example.co.id"\n' + TWO
    with pytest.raises(ConfigError, match="admin_address is the mailbox caredesk reads"):
        load_config(_write(tmp_path, text), environ={})


def test_variables_name_their_mailbox(tmp_path: Path) -> None:
    environ = {
        "CAREDESK_MAILBOX_BRANCH_RECAP_PASSWORD": "recap-secret",
        "CAREDESK_MAILBOX_CARE_POLL_INTERVAL": "15",
        "CAREDESK_MAILBOX_BRANCH_RECAP_PLUS_ADDRESSING": "yes",
    }
    care, recap = load_config(_write(tmp_path, TWO), environ=environ).mailboxes
    assert (care.poll_interval, care.password) == (15, "care-secret")
    assert (recap.password, recap.plus_addressing) == ("recap-secret", True)
    with pytest.raises(ConfigError, match=r"CAREDESK_MAILBOX_CARE_POLL_INTERVAL must be a whole number"):
        load_config(_write(tmp_path, TWO), environ={"CAREDESK_MAILBOX_CARE_POLL_INTERVAL": "soon"})


def test_a_variable_that_names_no_mailbox_is_refused_among_several(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"CAREDESK_MAILBOX_PASSWORD names no mailbox.*CAREDESK_MAILBOX_<NAME>_PASSWORD"
    ):
        load_config(_write(tmp_path, TWO), environ={"CAREDESK_MAILBOX_PASSWORD": "x"})
    with pytest.raises(ConfigError, match=r"unknown variable CAREDESK_MAILBOX_RECAP_PASSWORD"):
        load_config(_write(tmp_path, TWO), environ={"CAREDESK_MAILBOX_RECAP_PASSWORD": "x"})


def test_credentials_name_their_mailbox(tmp_path: Path) -> None:
    folder = tmp_path / "credentials"
    folder.mkdir()
    (folder / "imap-password-branch-recap").write_text("from the credential\n")
    environ = {"CREDENTIALS_DIRECTORY": str(folder)}
    care, recap = load_config(_write(tmp_path, TWO), environ=environ).mailboxes
    assert (care.password, recap.password) == ("care-secret", "from the credential")
    # The variable wins over the credential, as for the one [mailbox].
    both = environ | {"CAREDESK_MAILBOX_BRANCH_RECAP_PASSWORD": "from the environment"}
    assert load_config(_write(tmp_path, TWO), environ=both).mailboxes[1].password == "from the environment"
    (folder / "imap-password").write_text("whose?\n")
    with pytest.raises(ConfigError, match=r"credential imap-password: names no mailbox"):
        load_config(_write(tmp_path, TWO), environ=environ)
