"""`auth = "oauth2"` against real servers: a loopback OAuth2 provider, Dovecot's oauth2 passdb, aiosmtpd.

The provider (`tests/servers/oauth.py`) issues short-lived access tokens and
answers Dovecot's introspection requests; the SMTP sink asks it whether an
XOAUTH2 token is good. Nothing at the I/O edges is replaced: `caredesk auth
login` runs as a process and polls the real token endpoint, the daemon logs in
with SASL XOAUTH2 over IMAP and SMTP.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from daemon.app.service import Daemon
from daemon.config import Config, load_config
from daemon.oauth import device
from daemon.oauth.vault import Grant, TokenVault
from daemon.outbox import signing
from daemon.store import db
from daemon.store.models import Setting, Ticket
from tests import mailfactory
from tests.clockpin import config_variables, daemon_environment
from tests.integration.helpers import CARE_ADDRESS, PROJECT, run_cli
from tests.servers.dovecot import Dovecot
from tests.servers.oauth import DEVICE_GRANT, OAuthServer
from tests.servers.smtp import SmtpSink

pytestmark = pytest.mark.integration

ADMIN = "admin@example.net"
CLIENT_ID = "caredesk-test"
CLI_TIMEOUT = 30


@pytest.fixture
def oauth() -> Iterator[OAuthServer]:
    with OAuthServer(client_id=CLIENT_ID, user="care") as server:
        yield server


@pytest.fixture
def oauth_dovecot(oauth: OAuthServer) -> Iterator[Dovecot]:
    with Dovecot(oauth2_introspection=f"{oauth.url}/introspect") as server:
        yield server


@pytest.fixture
def oauth_sink(oauth: OAuthServer) -> Iterator[SmtpSink]:
    with SmtpSink(oauth=oauth.valid_for, require_auth=True) as sink:
        yield sink


@pytest.fixture(autouse=True)
def _no_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in config_variables():
        monkeypatch.delenv(name)


def write_oauth_config(
    folder: Path,
    oauth: OAuthServer,
    *,
    database_url: str,
    mailbox_url: str,
    smtp_url: str,
    smtp_oauth: bool = True,
    token_file: str = "",
) -> Path:
    smtp_auth = 'username = "care"\nauth = "oauth2"' if smtp_oauth else 'auth = "password"'
    path = folder / "caredesk.toml"
    path.write_text(
        f"""
address = "{CARE_ADDRESS}"
name = "Customer Care Test"
admin_address = "{ADMIN}"
rules = "{PROJECT / "rules.yaml"}"
log_level = "INFO"

[mailbox]
url = "{mailbox_url}"
auth = "oauth2"
poll_interval = 1

[smtp]
url = "{smtp_url}"
{smtp_auth}
retry_base_seconds = 1

[oauth2]
provider = "custom"
client_id = "{CLIENT_ID}"
token_url = "{oauth.url}/token"
device_url = "{oauth.url}/device"
authorize_url = "{oauth.url}/authorize"
scope = "imap smtp offline_access"
token_file = "{token_file}"

[database]
url = "{database_url}"
"""
    )
    return path


def login(config: Path, oauth: OAuthServer, *extra: str) -> subprocess.CompletedProcess[str]:
    """`caredesk auth login` as a process; the test plays the admin who enters the code."""
    command = [sys.executable, "-m", "daemon", "--config", str(config), "auth", "login", *extra]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=daemon_environment(),
        cwd=PROJECT,
    )
    try:
        shown = []
        assert process.stdout is not None
        for line in process.stdout:
            shown.append(line)
            if line.startswith("user code: "):
                oauth.approve(line.removeprefix("user code: ").strip())
                break
            if line.startswith(f"{oauth.url}/authorize"):
                # The browser: the provider sends it back to caredesk's listener on 127.0.0.1.
                page = requests.get(line.strip(), timeout=10)
                assert page.status_code == 200 and "login is done" in page.text
                break
        out, err = process.communicate(timeout=CLI_TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return subprocess.CompletedProcess(command, process.returncode, "".join(shown) + out, err)


def seed_grant(config: Config, oauth: OAuthServer) -> Grant:
    """A grant as a finished `caredesk auth login` leaves it (the login has its own test)."""
    engine = db.open_for_writing(config.database_url)
    try:
        vault = TokenVault(engine, signing.load_key(engine, config.secret), config.oauth2.token_file)
        grant = Grant(oauth.issue_grant(), "2026-07-21T03:00:00+00:00", "care")
        vault.save(grant, login=True)
        return grant
    finally:
        engine.dispose()


def tickets(config: Config) -> list[Ticket]:
    engine = db.make_engine(config.database_url)
    try:
        with db.session(engine) as session:
            return list(session.scalars(select(Ticket)))
    finally:
        engine.dispose()


def test_auth_login_device_flow_stores_the_refresh_token_encrypted(
    tmp_path: Path, oauth: OAuthServer, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_oauth_config(
        tmp_path,
        oauth,
        database_url=database_url,
        mailbox_url="imap://care@127.0.0.1:9/INBOX",
        smtp_url="file:out",
    )
    result = login(path, oauth)
    assert result.returncode == 0, result.stderr
    assert "enter the code" in result.stdout and "stored OAuth2 grant" in result.stdout
    # Polled every `interval` (1 s): pending until the code was entered, never too fast.
    answers = oauth.device_answers
    assert answers[-1] == "token" and "slow_down" not in answers
    assert set(oauth.grants) == {DEVICE_GRANT}
    (refresh,) = oauth.refresh_tokens

    config = load_config(path)
    engine = db.make_engine(config.database_url)
    try:
        with db.session(engine) as session:
            rows = {row.key: row.value for row in session.scalars(select(Setting))}
        assert refresh not in json.dumps(rows)
        assert rows["oauth2-refresh-token"]
        vault = TokenVault(engine, signing.load_key(engine, config.secret))
        stored = vault.load()
        assert stored is not None and stored.refresh_token == refresh and stored.account == "care"
    finally:
        engine.dispose()

    capsys.readouterr()
    assert run_cli("--config", str(path), "auth", "status", "--json") == 0
    (grant,) = json.loads(capsys.readouterr().out)["grants"]
    assert grant["stored"] and not grant["paused"] and grant["used_by"] == ["mailbox default", "smtp"]
    assert grant["grant"] == stored.fingerprint and grant["access_token_expires_at"] is None


def test_auth_login_browser_flow_with_pkce_into_a_token_file(tmp_path: Path, oauth: OAuthServer) -> None:
    path = write_oauth_config(
        tmp_path,
        oauth,
        database_url=f"sqlite:///{tmp_path / 'c.db'}",
        mailbox_url="imap://care@127.0.0.1:9/INBOX",
        smtp_url="file:out",
        token_file="oauth2-token",
    )
    result = login(path, oauth, "--browser")
    assert result.returncode == 0, result.stderr
    assert oauth.grants == ["authorization_code"]
    (refresh,) = oauth.refresh_tokens
    sealed = (tmp_path / "oauth2-token").read_bytes()
    assert refresh.encode() not in sealed
    assert (tmp_path / "oauth2-token").stat().st_mode & 0o077 == 0


def test_device_flow_slows_down_when_told_and_stops_when_the_code_expires() -> None:
    # Polled too fast once (a sleep that does not wait): slow_down adds 5 s to the interval.
    with OAuthServer(client_id=CLIENT_ID, interval=1) as server:
        settings = load_config(environ=_custom_environ(server)).oauth2
        code = device.request_code(settings)
        asked: list[float] = []

        def sleep(seconds: float) -> None:
            asked.append(seconds)
            if len(asked) == 3:
                server.approve(code.user_code)
            time.sleep(0 if len(asked) == 2 else 1.05)

        token = device.poll(settings, code, sleep=sleep)
        assert token["refresh_token"] in server.refresh_tokens
        assert asked == [1, 1, 6] and server.device_answers == ["authorization_pending", "slow_down", "token"]

    with OAuthServer(client_id=CLIENT_ID, interval=1, device_lifetime=2) as server:
        settings = load_config(environ=_custom_environ(server)).oauth2
        code = device.request_code(settings)
        with pytest.raises(device.LoginFailed, match="expired"):
            device.poll(settings, code)
        assert "token" not in server.device_answers


def _custom_environ(server: OAuthServer) -> dict[str, str]:
    return {
        "CAREDESK_OAUTH2_PROVIDER": "custom",
        "CAREDESK_OAUTH2_CLIENT_ID": CLIENT_ID,
        "CAREDESK_OAUTH2_TOKEN_URL": f"{server.url}/token",
        "CAREDESK_OAUTH2_DEVICE_URL": f"{server.url}/device",
        "CAREDESK_OAUTH2_SCOPE": "imap offline_access",
    }


def test_daemon_logs_in_with_xoauth2_tickets_a_mail_and_sends_the_acknowledgement(
    tmp_path: Path, oauth: OAuthServer, oauth_dovecot: Dovecot, oauth_sink: SmtpSink
) -> None:
    path = write_oauth_config(
        tmp_path,
        oauth,
        database_url=f"sqlite:///{tmp_path / 'c.db'}",
        mailbox_url=oauth_dovecot.url,
        smtp_url=oauth_sink.url,
    )
    config = load_config(path)
    seed_grant(config, oauth)
    oauth_dovecot.append(mailfactory.complaint(sender="budi.santoso@example.net"))
    with Daemon(config) as daemon:
        counts = daemon.run_once()
    assert len(tickets(config)) == 1, counts
    assert "Login: user=<care>, method=XOAUTH2" in oauth_dovecot.log()
    mails = oauth_sink.messages
    acknowledgement = [m for m in mails if m.rcpt_tos == ["budi.santoso@example.net"]]
    assert len(acknowledgement) == 1 and acknowledgement[0].login == "care"
    assert oauth_sink.login_attempts and all(ok for _user, ok in oauth_sink.login_attempts)
    # One access token for IMAP and SMTP alike.
    assert oauth.grants == ["refresh_token"]


def test_an_access_token_that_expires_mid_run_is_refreshed(
    tmp_path: Path, oauth: OAuthServer, oauth_dovecot: Dovecot, oauth_sink: SmtpSink
) -> None:
    oauth.access_lifetime = 1.0
    path = write_oauth_config(
        tmp_path,
        oauth,
        database_url=f"sqlite:///{tmp_path / 'c.db'}",
        mailbox_url=oauth_dovecot.url,
        smtp_url=oauth_sink.url,
    )
    config = load_config(path)
    seed_grant(config, oauth)
    with Daemon(config) as daemon:
        oauth_dovecot.append(mailfactory.complaint(1))
        daemon.poll_mailbox()
        first = oauth.grants.count("refresh_token")
        assert first >= 1

        # The token's second is up: the next poll gets a new one before it logs in.
        time.sleep(1.2)
        oauth_dovecot.append(mailfactory.complaint(2))
        daemon.poll_mailbox()
        assert oauth.grants.count("refresh_token") > first
        assert len(tickets(config)) == 2

        # A token the server dropped early (the daemon thinks it good): refused, refreshed, once.
        oauth.access_lifetime = 3600.0
        time.sleep(1.2)
        daemon.poll_mailbox()
        before = oauth.grants.count("refresh_token")
        oauth.expire_access_tokens()
        oauth_dovecot.append(mailfactory.complaint(3))
        counts = daemon.poll_mailbox()
        assert "mailbox_errors" not in counts and "mailbox_paused" not in counts
        assert oauth.grants.count("refresh_token") == before + 1
        assert len(tickets(config)) == 3
        assert False in oauth.introspections

        # SMTP: the same source, one refresh on a refused token too.
        oauth.expire_access_tokens()
        daemon.deliver()
    assert oauth.grants.count("refresh_token") == before + 2
    assert any(m.rcpt_tos == ["budi.santoso@example.net"] and m.login == "care" for m in oauth_sink.messages)


def test_a_revoked_grant_pauses_the_mailbox_with_one_error_and_one_alert(
    tmp_path: Path,
    oauth: OAuthServer,
    oauth_dovecot: Dovecot,
    smtp_sink: SmtpSink,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # SMTP logs in with no OAuth2 here, so the alert can go out while the grant is refused.
    path = write_oauth_config(
        tmp_path,
        oauth,
        database_url=f"sqlite:///{tmp_path / 'c.db'}",
        mailbox_url=oauth_dovecot.url,
        smtp_url=smtp_sink.url,
        smtp_oauth=False,
    )
    config = load_config(path)
    seed_grant(config, oauth)
    caplog.set_level(logging.INFO)
    with Daemon(config) as daemon:
        daemon.run_once()
        assert len(tickets(config)) == 0  # nothing waiting yet, but logged in
        oauth.revoke()
        oauth.expire_access_tokens()
        oauth_dovecot.append(mailfactory.complaint(4))
        caplog.clear()
        first = daemon.run_once()
        second = daemon.run_once()
        assert first["mailbox_paused"] == 1 and second["mailbox_paused"] == 1
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1, [r.getMessage() for r in errors]
        assert "mailbox paused" in errors[0].getMessage() and "auth login" in errors[0].getMessage()
        alerts = [m for m in smtp_sink.messages if m.rcpt_tos == [ADMIN]]
        assert len(alerts) == 1
        assert "OAuth2" in str(alerts[0].message["Subject"])
        assert len(tickets(config)) == 0
        # One refresh asked and refused; the second poll did not ask again.
        assert oauth.grants.count("refresh_token") == 2

        capsys.readouterr()
        assert run_cli("--config", str(path), "health", "--json") == 2
        report = json.loads(capsys.readouterr().out)
        assert report["token_expiry"]["status"] == "down" and report["token_expiry"]["paused"] is True
        assert "invalid_grant" in report["token_expiry"]["summary"]

        # The admin logs in again: the next poll reads the mailbox.
        result = login(path, oauth)
        assert result.returncode == 0, result.stderr
        counts = daemon.run_once()
        assert "mailbox_paused" not in counts
    assert len(tickets(config)) == 1
    assert any("new grant is stored" in r.getMessage() for r in caplog.records)
    assert len([m for m in smtp_sink.messages if m.rcpt_tos == [ADMIN]]) == 1


def test_without_a_stored_grant_the_daemon_waits_instead_of_failing(
    tmp_path: Path, oauth: OAuthServer, oauth_dovecot: Dovecot, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_oauth_config(
        tmp_path,
        oauth,
        database_url=f"sqlite:///{tmp_path / 'c.db'}",
        mailbox_url=oauth_dovecot.url,
        smtp_url=f"file:{tmp_path / 'out'}",
    )
    with Daemon(load_config(path)) as daemon:
        counts = [daemon.poll_mailbox(), daemon.poll_mailbox()]
    assert all(c["mailbox_paused"] == 1 for c in counts)
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "no OAuth2 refresh token is stored" in errors[0]
    assert oauth.grants == []


def test_a_second_mailbox_has_a_grant_of_its_own(
    tmp_path: Path, oauth: OAuthServer, oauth_dovecot: Dovecot, capsys: pytest.CaptureFixture[str]
) -> None:
    # The first mailbox reads a Maildir with no OAuth2; the second logs in to Dovecot with its own grant.
    maildir = tmp_path / "mail"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    path = write_oauth_config(
        tmp_path,
        oauth,
        database_url=f"sqlite:///{tmp_path / 'c.db'}",
        mailbox_url=oauth_dovecot.url,
        smtp_url=f"file:{tmp_path / 'out'}",
        smtp_oauth=False,
    )
    text = path.read_text().replace(
        "[mailbox]\n",
        f'[[mailbox]]\nname = "care"\nurl = "maildir:{maildir}"\n\n[[mailbox]]\nname = "recap"\n',
    )
    path.write_text(text)
    result = login(path, oauth, "--mailbox", "recap")
    assert result.returncode == 0, result.stderr
    assert "used by: mailbox recap" in result.stdout
    config = load_config(path)
    oauth_dovecot.append(mailfactory.complaint(5))
    with Daemon(config) as daemon:
        assert daemon.tokens is None and daemon.grants.source("recap") is not None
        counts = daemon.poll_mailbox()
    assert "mailbox_paused" not in counts and len(tickets(config)) == 1
    capsys.readouterr()
    assert run_cli("--config", str(path), "auth", "status", "--json") == 0
    grants = {tuple(g["used_by"]): g for g in json.loads(capsys.readouterr().out)["grants"]}
    assert grants[("mailbox recap",)]["stored"] and grants[("mailbox recap",)]["access_token_expires_at"]
    assert not grants[()]["stored"]
