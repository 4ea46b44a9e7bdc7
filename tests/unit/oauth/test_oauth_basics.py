"""The OAuth2 pieces that need no server: config presets, SASL strings, the encrypted grant."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from daemon.config import ConfigError, load_config
from daemon.oauth import sasl
from daemon.oauth.tokens import refresh_margin
from daemon.oauth.vault import Grant, TokenVault, VaultError, read_state
from daemon.store import db

OAUTH_ENV = {"CAREDESK_MAILBOX_AUTH": "oauth2", "CAREDESK_OAUTH2_CLIENT_ID": "app-id"}


def test_microsoft_preset_fills_endpoints_and_scopes() -> None:
    config = load_config(environ={**OAUTH_ENV, "CAREDESK_OAUTH2_PROVIDER": "microsoft"})
    assert config.mailbox.auth == "oauth2"
    assert config.oauth2.token_url == "https://login.microsoftonline.com/organizations/oauth2/v2.0/token"
    assert "IMAP.AccessAsUser.All" in config.oauth2.scope
    assert "offline_access" in config.oauth2.scope


def test_oauth2_auth_without_provider_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"\[oauth2\] section"):
        load_config(environ=OAUTH_ENV)


def test_client_secret_is_refused_in_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "caredesk.toml"
    path.write_text('[oauth2]\nclient_secret = "x"\n')
    with pytest.raises(ConfigError, match="CAREDESK_OAUTH2_CLIENT_SECRET"):
        load_config(path, environ={})


def test_plain_http_token_url_only_on_loopback() -> None:
    env = {**OAUTH_ENV, "CAREDESK_OAUTH2_PROVIDER": "custom"}
    with pytest.raises(ConfigError, match="https"):
        load_config(environ={**env, "CAREDESK_OAUTH2_TOKEN_URL": "http://idp.example.com/token"})
    config = load_config(environ={**env, "CAREDESK_OAUTH2_TOKEN_URL": "http://127.0.0.1:9/token"})
    assert config.oauth2.token_url == "http://127.0.0.1:9/token"


def test_sasl_initial_responses() -> None:
    assert sasl.xoauth2("care@x.id", "T") == "user=care@x.id\x01auth=Bearer T\x01\x01"
    assert sasl.oauthbearer("a,b=c", "T") == "n,a=a=2Cb=3Dc,\x01auth=Bearer T\x01\x01"


def test_grant_is_stored_encrypted_and_needs_the_same_secret(tmp_path: Path) -> None:
    engine = db.open_for_writing(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        vault = TokenVault(engine, b"secret-one")
        assert vault.load() is None
        vault.save(Grant("refresh-XYZ", "2026-12-01T00:00:00+00:00", "care@x.id"))
        assert vault.load() == Grant("refresh-XYZ", "2026-12-01T00:00:00+00:00", "care@x.id")
        with pytest.raises(VaultError, match="auth login"):
            TokenVault(engine, b"secret-two").load()
        file_vault = TokenVault(engine, b"secret-one", tmp_path / "token")
        file_vault.save(Grant("refresh-FILE", "now"))
        assert b"refresh-FILE" not in (tmp_path / "token").read_bytes()
        assert (tmp_path / "token").stat().st_mode & 0o077 == 0
        assert file_vault.load() == Grant("refresh-FILE", "now")
    finally:
        engine.dispose()


def test_the_daemon_starts_with_oauth2_before_any_login(tmp_path: Path) -> None:
    # No grant yet is no reason to refuse the start: the mailbox waits for `caredesk auth login`.
    from daemon.app.service import Daemon

    env = {
        **OAUTH_ENV,
        "CAREDESK_OAUTH2_PROVIDER": "microsoft",
        "CAREDESK_DATABASE_URL": f"sqlite:///{tmp_path}/caredesk.db",
    }
    with Daemon(load_config(environ=env)) as daemon:
        assert daemon.tokens is not None and daemon.tokens.grant() is None
        assert daemon.oauth is not None and not daemon.oauth.holds()


def test_refresh_margin_is_five_minutes_or_a_quarter_of_a_short_life() -> None:
    assert refresh_margin(timedelta(hours=1)) == timedelta(minutes=5)
    assert refresh_margin(timedelta(seconds=4)) == timedelta(seconds=1)


def test_status_is_kept_in_the_clear_without_the_token(tmp_path: Path) -> None:
    engine = db.open_for_writing(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        vault = TokenVault(engine, b"k")
        grant = Grant("refresh-SECRET", "2026-12-01T00:00:00+00:00", "care@x.id")
        vault.save(grant, login=True)
        with db.session(engine) as session:
            state = read_state(session, None)
        assert state.stored and not state.paused and state.status.grant == grant.fingerprint
        assert "refresh-SECRET" not in state.status.encode()
        vault.mark_revoked(grant.fingerprint)
        with db.session(engine) as session:
            assert read_state(session, None).paused
        # Another mailbox's slot is a grant of its own.
        with db.session(engine) as session:
            assert not read_state(session, None, "recap").stored
    finally:
        engine.dispose()
