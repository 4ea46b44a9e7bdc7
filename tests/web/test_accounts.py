"""The web view's accounts, roles and `[web]` settings, without a server."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from daemon.commands.parsers.web import ROLES as PARSER_ROLES
from daemon.config.schema import ConfigError
from daemon.config.web import web_config
from daemon.web.access import LoginLimiter
from daemon.web.accounts import (
    ROLES,
    Account,
    AccountsError,
    check_password,
    check_token,
    hash_password,
    load_accounts,
    save_accounts,
    scope_of,
    token_digest,
)

DEFAULTS = {
    "listen": "",
    "auth": "password",
    "header": "X-Remote-User",
    "trusted_proxies": "",
    "accounts": "web-accounts.toml",
    "secure_cookies": True,
}
GMS = {"koran": "gm.media-cetak@example.co.id", "majalah": "GM.Media-Cetak@example.co.id", "it": "gm.it@x"}


def test_the_cli_offers_the_roles_there_are() -> None:
    assert PARSER_ROLES == ROLES


def test_each_role_sees_what_it_should() -> None:
    assert scope_of(Account("a", "care"), GMS).departments is None
    assert scope_of(Account("a", "admin"), GMS).departments is None
    assert scope_of(Account("a", "department", department="it"), GMS).departments == {"it"}
    gm = scope_of(Account("a", "gm", general_manager="gm.media-cetak@example.co.id"), GMS)
    assert gm.departments == {"koran", "majalah"}, "the GM's address matches whatever its case"
    unknown = scope_of(Account("a", "gm", general_manager="nobody@x"), GMS)
    assert unknown.departments == frozenset() and not unknown.allows("koran")


def test_accounts_are_saved_private_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "accounts.toml"
    accounts = {
        "ani": Account(
            "ani", "care", password_hash=hash_password("a long password"), token_hash=token_digest("t")
        ),
        'o"dd \\name': Account('o"dd \\name', "department", department="koran"),
    }
    save_accounts(path, accounts)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "a long password" not in path.read_text()
    back = load_accounts(path)
    assert back == accounts
    assert check_password(back, "ani", "a long password") == accounts["ani"]
    assert check_password(back, "ani", "wrong") is None
    assert check_password(back, "nobody", "a long password") is None
    assert check_password(back, 'o"dd \\name', "") is None, "an account without a password cannot log in"
    assert check_token(back.values(), "t") == accounts["ani"]
    assert check_token(back.values(), "other") is None


def test_a_bad_accounts_file_names_the_file_and_the_account(tmp_path: Path) -> None:
    path = tmp_path / "accounts.toml"
    path.write_text('[account.x]\nrole = "boss"\n')
    with pytest.raises(AccountsError, match=r"accounts\.toml: account 'x': role 'boss' is not one of"):
        load_accounts(path)
    path.write_text('[account.x]\nrole = "gm"\n')
    with pytest.raises(AccountsError, match="role gm needs `general_manager`"):
        load_accounts(path)
    assert load_accounts(tmp_path / "missing.toml") == {}


def test_failed_logins_are_limited_per_address_and_per_name() -> None:
    now = [0.0]
    limiter = LoginLimiter(allowed=3, window=60, clock=lambda: now[0])
    for _ in range(3):
        assert limiter.wait_seconds("10.0.0.1", "ani") == 0
        limiter.failed("10.0.0.1", "ani")
    assert limiter.wait_seconds("10.0.0.1", "budi") > 0, "the address is limited"
    assert limiter.wait_seconds("10.0.0.2", "ANI") > 0, "the name is limited from anywhere"
    assert limiter.wait_seconds("10.0.0.2", "budi") == 0
    now[0] = 61
    assert limiter.wait_seconds("10.0.0.1", "ani") == 0, "failures age out"


def test_web_settings_are_checked_and_header_login_needs_a_named_proxy(tmp_path: Path) -> None:
    config = web_config(DEFAULTS, tmp_path)
    assert config.accounts == tmp_path / "web-accounts.toml"
    assert config.trusted_proxies == ()
    with pytest.raises(ConfigError, match=r"web\.trusted_proxies"):
        web_config(DEFAULTS | {"auth": "header"}, tmp_path)
    header = web_config(DEFAULTS | {"auth": "header", "trusted_proxies": "127.0.0.1, 10.1.0.0/16"}, tmp_path)
    assert header.trusted_proxies == ("127.0.0.1", "10.1.0.0/16")
    with pytest.raises(ConfigError, match=r"web\.auth"):
        web_config(DEFAULTS | {"auth": "ldap"}, tmp_path)
    with pytest.raises(ConfigError, match=r"web\.listen"):
        web_config(DEFAULTS | {"listen": "example.com:80"}, tmp_path)
    with pytest.raises(ConfigError, match=r"web\.trusted_proxies"):
        web_config(DEFAULTS | {"auth": "header", "trusted_proxies": "proxy.local"}, tmp_path)
