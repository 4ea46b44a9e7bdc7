"""The secure and the fallback mail paths of `caredesk run --once`, over real servers.

IMAP over implicit TLS and STARTTLS with the certificate verified against a
throw-away CA (trusted through ``SSL_CERT_FILE``, never by switching
verification off); SMTP with STARTTLS + AUTH and over implicit TLS; plain text
refused towards a host that is not loopback; IMAP servers without ``MOVE`` or
without ``UIDPLUS``; and servers that accept a connection but never answer.

Everything listens on 127.0.0.0/8. A host that must look remote is another
loopback address, 127.0.0.2, which Linux routes to ``lo`` like 127.0.0.1.
"""

from __future__ import annotations

import email
import email.policy
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from daemon.config import SmtpConfig
from daemon.route.loader import load_rules
from daemon.send.transports import SmtpTransport, TemporaryFailure
from tests import mailfactory
from tests.conftest import _unavailable
from tests.integration.helpers import CARE_ADDRESS, PROJECT, inbound, outbound, run_cli, tickets
from tests.servers import Dovecot, SmtpSink, find_dovecot
from tests.servers.dovecot import DOVECOT_CAPABILITIES
from tests.servers.tls import Certificates, find_openssl, make_certificates

pytestmark = pytest.mark.integration

SMTP_USER = "care-smtp"
SMTP_PASSWORD = "s3cret-smtp"
# What a host that must look remote is called; the test certificate covers it.
NOT_LOOPBACK = "127.0.0.2"
TIMEOUT = 2
# How much longer than its timeout a `run --once` against a silent server may
# take: start-up (nine migrations on a new database), the database and the rest
# of the run, on a loaded machine. The step that waits on the server is timed on
# its own, from the log (`waited_on_server`), to within `STEP_SLACK`.
SLACK = 15.0
STEP_SLACK = 2.5


# -- fixtures -----------------------------------------------------------------


@pytest.fixture(scope="session")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    """The test PKI the daemon is told to trust, for every address the servers use."""
    if find_openssl() is None:
        _unavailable("openssl not found: sudo apt-get install openssl")
    return make_certificates(tmp_path_factory.mktemp("pki"), hosts=("127.0.0.1", NOT_LOOPBACK, "localhost"))


@pytest.fixture(scope="session")
def stranger(tmp_path_factory: pytest.TempPathFactory, certificates: Certificates) -> Certificates:
    """A server certificate for the right addresses from a CA nobody trusts."""
    return make_certificates(tmp_path_factory.mktemp("stranger"), hosts=certificates.hosts)


@pytest.fixture(scope="session")
def wrong_name(tmp_path_factory: pytest.TempPathFactory, certificates: Certificates) -> Certificates:
    """A certificate from the trusted CA, but for another host."""
    return certificates.issue(tmp_path_factory.mktemp("wrong-name"), hosts=("mail.example.net",))


@pytest.fixture
def trust(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, certificates: Certificates) -> Certificates:
    """Make `ssl.create_default_context()` trust the test CA, and nothing else."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificates.ca))
    # An empty directory instead of the system's: only the test CA is trusted.
    empty = tmp_path / "no-system-cas"
    empty.mkdir()
    monkeypatch.setenv("SSL_CERT_DIR", str(empty))
    return certificates


@pytest.fixture
def make_dovecot(_dovecot_orphans_reaped: None) -> Iterator[Callable[..., Dovecot]]:
    """Start Dovecots with options (TLS, capabilities, rawlog ...); all stopped afterwards."""
    if find_dovecot() is None:
        _unavailable("dovecot not found: install dovecot-imapd: sudo apt-get install dovecot-imapd")
    started: list[Dovecot] = []

    def start(**options: Any) -> Dovecot:
        server = Dovecot(**options)
        started.append(server)
        server.start()
        return server

    try:
        yield start
    finally:
        for server in started:
            server.stop()


@pytest.fixture
def make_sink() -> Iterator[Callable[..., SmtpSink]]:
    """Start SMTP sinks with options (TLS, AUTH, address); all stopped afterwards."""
    started: list[SmtpSink] = []

    def start(**options: Any) -> SmtpSink:
        sink = SmtpSink(**options)
        started.append(sink)
        sink.start()
        return sink

    try:
        yield start
    finally:
        for sink in started:
            sink.stop()


class SilentServer:
    """A TCP server on 127.0.0.1 that accepts connections and never says a word.

    It stands for a mail server that hangs: without socket timeouts a client
    would wait for its greeting forever.
    """

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port = int(self._listener.getsockname()[1])
        self.accepted: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _address = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted.append(connection)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._listener.close()
        for connection in self.accepted:
            connection.close()


@pytest.fixture
def silent_server() -> Iterator[SilentServer]:
    server = SilentServer()
    try:
        yield server
    finally:
        server.close()


# -- helpers ------------------------------------------------------------------


def config_file(folder: Path, *, mailbox_url: str, smtp_url: str, mailbox: str = "", smtp: str = "") -> Path:
    """A caredesk.toml on SQLite; `mailbox` and `smtp` are extra lines for those sections."""
    (folder / "imap-password").write_text("carepass\n")
    path = folder / "caredesk.toml"
    path.write_text(
        f"""
address = "{CARE_ADDRESS}"
name = "Customer Care Test"
rules = "{PROJECT / "rules.yaml"}"
log_level = "INFO"

[mailbox]
url = "{mailbox_url}"
password_file = "imap-password"
{mailbox}

[smtp]
url = "{smtp_url}"
retry_base_seconds = 1
{smtp}

[database]
url = "{database(folder)}"
"""
    )
    return path


def database(folder: Path) -> str:
    return f"sqlite:///{folder}/caredesk.db"


def run_once(config: Path) -> float:
    """`caredesk run --once`; asserts it exits 0 and returns how long it took."""
    started = time.monotonic()
    assert run_cli("--config", str(config), "run", "--once") == 0
    return time.monotonic() - started


def waited_on_server(caplog: pytest.LogCaptureFixture, failure: str) -> float:
    """Seconds from the log record before the first one containing `failure` to that one.

    That is how long the step that gave up on the silent server took: nothing is
    logged between the step before it and the failure.
    """
    records = caplog.records
    index = next(i for i, record in enumerate(records) if failure in record.getMessage())
    assert index > 0, [record.getMessage() for record in records]
    return records[index].created - records[index - 1].created


def logins(dovecot: Dovecot) -> list[str]:
    """Dovecot's log lines of successful logins (the test helpers' own included)."""
    return [line for line in dovecot.log().splitlines() if "imap-login: Info: Login:" in line]


def assert_ack_and_notice(sink: SmtpSink, folder: Path, customer: str) -> None:
    """The sink received exactly the acknowledgement and the department's notice, over TLS."""
    [ticket] = tickets(database(folder))
    department = load_rules(PROJECT / "rules.yaml").department(ticket.department)
    received = sink.wait_for(2)
    assert sorted(r for message in received for r in message.rcpt_tos) == sorted([customer, department.email])
    for message in received:
        parsed = email.message_from_bytes(message.data, policy=email.policy.default)
        assert f"[{ticket.reference}]" in str(parsed["Subject"])
        assert message.encrypted
        assert message.login == SMTP_USER
    assert [row.state for row in outbound(database(folder))] == ["sent", "sent"]


def assert_refused_before_login(dovecot: Dovecot) -> None:
    """The daemon's connection ended without a login; only the test's append() logged in.

    Dovecot logs "(no auth attempts ...)" when a connection closes without
    one; its log process writes a moment later, so that line is waited for.
    """
    deadline = time.monotonic() + 5
    while "no auth attempts" not in dovecot.log():
        assert time.monotonic() < deadline, dovecot.log()
        time.sleep(0.02)
    assert len(logins(dovecot)) == 1, dovecot.log()


def assert_mail_kept(dovecot: Dovecot, folder: Path) -> None:
    """Nothing was taken from the server and nothing was recorded: the mail waits."""
    assert dovecot.count("INBOX") == 1
    assert tickets(database(folder)) == []
    assert inbound(database(folder)) == []


# -- IMAP over TLS ------------------------------------------------------------


def test_imaps_mailbox_is_read_with_the_certificate_verified(
    tmp_path: Path, trust: Certificates, make_dovecot: Callable[..., Dovecot], smtp_sink: SmtpSink
) -> None:
    dovecot = make_dovecot(tls=(trust.cert, trust.key))
    dovecot.append(mailfactory.complaint(sender="budi.santoso@example.net"))
    config = config_file(tmp_path, mailbox_url=dovecot.imaps_url, smtp_url=smtp_sink.url)

    run_once(config)

    assert len(tickets(database(tmp_path))) == 1
    assert dovecot.count("INBOX") == 0
    assert dovecot.count("Processed") == 1
    assert len(smtp_sink.wait_for(2)) == 2


@pytest.mark.parametrize("presented", ["stranger", "wrong_name"])
def test_imaps_server_with_an_untrusted_certificate_is_refused_and_the_mail_stays(
    tmp_path: Path,
    trust: Certificates,
    make_dovecot: Callable[..., Dovecot],
    presented: str,
    request: pytest.FixtureRequest,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A certificate from an unknown CA, or for another host, ends the connection
    before the password is sent; the mail stays on the server for a later poll."""
    bad: Certificates = request.getfixturevalue(presented)
    dovecot = make_dovecot(tls=(bad.cert, bad.key))
    dovecot.append(mailfactory.complaint())
    config = config_file(tmp_path, mailbox_url=dovecot.imaps_url, smtp_url="file:outbox")

    run_once(config)

    assert "unavailable" in caplog.text
    assert "CERTIFICATE_VERIFY_FAILED" in caplog.text
    assert_refused_before_login(dovecot)
    assert_mail_kept(dovecot, tmp_path)


def test_imap_uses_starttls_when_the_server_requires_tls_before_login(
    tmp_path: Path, trust: Certificates, make_dovecot: Callable[..., Dovecot], smtp_sink: SmtpSink
) -> None:
    """The server refuses any login before TLS (Dovecot trusts 127.0.0.1 -> 127.0.0.1
    as secure, so it listens on 127.0.0.2); the daemon gets in, so it used STARTTLS."""
    dovecot = make_dovecot(host=NOT_LOOPBACK, tls=(trust.cert, trust.key), require_tls=True)
    dovecot.append(mailfactory.complaint(sender="rina@example.net"))
    plain = IMAPClient(dovecot.host, port=dovecot.port, ssl=False, timeout=5)
    try:
        with pytest.raises(LoginError, match="PRIVACYREQUIRED"):
            plain.login(dovecot.user, dovecot.password)
    finally:
        plain.shutdown()
    config = config_file(tmp_path, mailbox_url=dovecot.url, smtp_url=smtp_sink.url)
    assert dovecot.url.startswith(f"imap://care@{NOT_LOOPBACK}:")

    run_once(config)

    assert len(tickets(database(tmp_path))) == 1
    assert dovecot.count("INBOX") == 0
    assert dovecot.count("Processed") == 1
    assert all(", TLS," in line for line in logins(dovecot))


def test_imap_starttls_with_an_untrusted_certificate_does_not_fall_back_to_plain_text(
    tmp_path: Path,
    trust: Certificates,
    stranger: Certificates,
    make_dovecot: Callable[..., Dovecot],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The server offers STARTTLS and would also take a plain login (127.0.0.1 is
    trusted); a failed certificate check must end the attempt, not downgrade it."""
    dovecot = make_dovecot(tls=(stranger.cert, stranger.key))
    dovecot.append(mailfactory.complaint())
    config = config_file(tmp_path, mailbox_url=dovecot.url, smtp_url="file:outbox")

    run_once(config)

    assert "unavailable" in caplog.text
    assert "CERTIFICATE_VERIFY_FAILED" in caplog.text
    assert_refused_before_login(dovecot)
    assert_mail_kept(dovecot, tmp_path)


def test_imap_password_is_not_sent_in_plain_text_to_a_host_that_is_not_loopback(
    tmp_path: Path, make_dovecot: Callable[..., Dovecot], caplog: pytest.LogCaptureFixture
) -> None:
    """A server without STARTTLS at an address that is not loopback: the daemon
    refuses to log in, as the SMTP transport does, instead of sending the password."""
    dovecot = make_dovecot(host=NOT_LOOPBACK)
    dovecot.append(mailfactory.complaint())
    config = config_file(tmp_path, mailbox_url=dovecot.url, smtp_url="file:outbox")

    run_once(config)

    assert "unavailable" in caplog.text
    assert "STARTTLS" in caplog.text
    assert_refused_before_login(dovecot)
    assert_mail_kept(dovecot, tmp_path)


# -- SMTP over TLS ------------------------------------------------------------


def test_smtp_starttls_with_auth_and_the_password_from_the_environment(
    tmp_path: Path,
    trust: Certificates,
    dovecot: Dovecot,
    make_sink: Callable[..., SmtpSink],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sink = make_sink(
        tls_context=trust.server_context(),
        require_starttls=True,
        auth=(SMTP_USER, SMTP_PASSWORD),
        require_auth=True,
    )
    monkeypatch.setenv("CAREDESK_SMTP_PASSWORD", SMTP_PASSWORD)
    dovecot.append(mailfactory.complaint(sender="budi.santoso@example.net"))
    config = config_file(
        tmp_path, mailbox_url=dovecot.url, smtp_url=sink.url, smtp=f'username = "{SMTP_USER}"'
    )
    assert SMTP_PASSWORD not in config.read_text()

    run_once(config)

    assert_ack_and_notice(sink, tmp_path, "budi.santoso@example.net")
    # One connection for the batch: one login, after STARTTLS (the sink offers
    # AUTH only then, and takes no mail before it).
    assert sink.login_attempts == [(SMTP_USER, True)]


def test_smtp_starttls_with_auth_and_the_password_from_a_file(
    tmp_path: Path, trust: Certificates, dovecot: Dovecot, make_sink: Callable[..., SmtpSink]
) -> None:
    sink = make_sink(
        tls_context=trust.server_context(),
        require_starttls=True,
        auth=(SMTP_USER, SMTP_PASSWORD),
        require_auth=True,
    )
    (tmp_path / "smtp-password").write_text(f"{SMTP_PASSWORD}\n")
    dovecot.append(mailfactory.complaint(sender="siti@example.net"))
    # The user name in the URL this time, the password in a file beside the config.
    config = config_file(
        tmp_path,
        mailbox_url=dovecot.url,
        smtp_url=f"smtp://{SMTP_USER}@{sink.host}:{sink.port}",
        smtp='password_file = "smtp-password"',
    )

    run_once(config)

    assert_ack_and_notice(sink, tmp_path, "siti@example.net")
    assert sink.login_attempts == [(SMTP_USER, True)]


def test_smtps_implicit_tls_delivers(
    tmp_path: Path,
    trust: Certificates,
    dovecot: Dovecot,
    make_sink: Callable[..., SmtpSink],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sink = make_sink(
        tls_context=trust.server_context(),
        implicit_tls=True,
        auth=(SMTP_USER, SMTP_PASSWORD),
        require_auth=True,
    )
    monkeypatch.setenv("CAREDESK_SMTP_PASSWORD", SMTP_PASSWORD)
    dovecot.append(mailfactory.complaint(sender="andi@example.net"))
    assert sink.url.startswith("smtps://")
    config = config_file(
        tmp_path, mailbox_url=dovecot.url, smtp_url=sink.url, smtp=f'username = "{SMTP_USER}"'
    )

    run_once(config)

    assert_ack_and_notice(sink, tmp_path, "andi@example.net")
    assert sink.login_attempts == [(SMTP_USER, True)]


@pytest.mark.parametrize("implicit_tls", [False, True], ids=["starttls", "smtps"])
def test_smtp_server_with_an_untrusted_certificate_gets_no_password_and_mail_waits(
    tmp_path: Path,
    trust: Certificates,
    stranger: Certificates,
    dovecot: Dovecot,
    make_sink: Callable[..., SmtpSink],
    monkeypatch: pytest.MonkeyPatch,
    implicit_tls: bool,
) -> None:
    sink = make_sink(
        tls_context=stranger.server_context(),
        implicit_tls=implicit_tls,
        auth=(SMTP_USER, SMTP_PASSWORD),
        require_auth=True,
    )
    monkeypatch.setenv("CAREDESK_SMTP_PASSWORD", SMTP_PASSWORD)
    dovecot.append(mailfactory.complaint())
    config = config_file(
        tmp_path, mailbox_url=dovecot.url, smtp_url=sink.url, smtp=f'username = "{SMTP_USER}"'
    )

    run_once(config)

    assert len(tickets(database(tmp_path))) == 1
    states = [row.state for row in outbound(database(tmp_path))]
    assert "retry" in states and set(states) <= {"retry", "pending"}
    assert sink.messages == []
    assert sink.login_attempts == []


def test_smtp_in_plain_text_is_refused_towards_a_host_that_is_not_loopback(
    make_sink: Callable[..., SmtpSink],
) -> None:
    """A sink at 127.0.0.2 without STARTTLS, driven through the transport itself:
    neither the password nor the mail goes out in plain text."""
    sink = make_sink(host=NOT_LOOPBACK, auth=(SMTP_USER, SMTP_PASSWORD))
    settings = SmtpConfig(
        url=sink.url,
        username=SMTP_USER,
        password=SMTP_PASSWORD,
        timeout=10,
        max_attempts=3,
        retry_base_seconds=1,
    )

    with SmtpTransport(settings) as transport, pytest.raises(TemporaryFailure, match="STARTTLS"):
        transport.send(CARE_ADDRESS, ["budi@example.net"], mailfactory.complaint(), "probe")

    assert sink.login_attempts == []
    assert sink.messages == []


def test_smtp_starttls_towards_a_host_that_is_not_loopback_delivers(
    trust: Certificates, make_sink: Callable[..., SmtpSink]
) -> None:
    """The counterpart of the test above: at the same address, with STARTTLS, it goes."""
    sink = make_sink(host=NOT_LOOPBACK, tls_context=trust.server_context(), auth=(SMTP_USER, SMTP_PASSWORD))
    settings = SmtpConfig(
        url=sink.url,
        username=SMTP_USER,
        password=SMTP_PASSWORD,
        timeout=10,
        max_attempts=3,
        retry_base_seconds=1,
    )

    with SmtpTransport(settings) as transport:
        transport.send(CARE_ADDRESS, ["budi@example.net"], mailfactory.complaint(), "probe")

    [received] = sink.wait_for(1)
    assert received.encrypted
    assert sink.login_attempts == [(SMTP_USER, True)]


# -- IMAP servers without MOVE or UIDPLUS --------------------------------------


def test_rawlog_lists_commands_and_not_the_text_of_appended_mail(
    make_dovecot: Callable[..., Dovecot],
) -> None:
    """The record the next tests rely on: a mail whose text has a line that looks
    like a command must not show up as one."""
    dovecot = make_dovecot(rawlog=True)
    raw = b"Subject: tricky\r\n\r\na1 EXPUNGE\r\nb2 CLOSE\r\n"
    dovecot.append(raw)

    commands = dovecot.client_commands()

    assert commands == [f'APPEND "INBOX" () {{{len(raw)}}}', "LOGOUT"]


def test_without_move_mail_is_copied_then_uid_expunged_never_plain_expunged(
    tmp_path: Path, make_dovecot: Callable[..., Dovecot], smtp_sink: SmtpSink
) -> None:
    """A server with UIDPLUS but no MOVE: COPY, STORE \\Deleted, UID EXPUNGE.

    Proof that only our own UIDs are expunged, two ways. Behaviour: mail B was
    flagged \\Deleted by a person before the run, and the batch size is 1, so B
    is still unread in INBOX when mail A is disposed of; a plain EXPUNGE (or a
    CLOSE) at that moment would destroy B before it was ever ingested. B must
    still become a ticket. Wire: Dovecot's rawlog of every command the daemon
    sent holds `UID EXPUNGE <uid>` for each mail and no `EXPUNGE`, no `CLOSE`.
    """
    dovecot = make_dovecot(capabilities=[c for c in DOVECOT_CAPABILITIES if c != "MOVE"], rawlog=True)
    dovecot.append(mailfactory.complaint(1, sender="a@example.net"))
    dovecot.append(mailfactory.complaint(2, sender="b@example.net"), flags=[r"\Deleted"])
    config = config_file(tmp_path, mailbox_url=dovecot.url, smtp_url=smtp_sink.url, mailbox="batch_size = 1")

    run_once(config)

    commands = dovecot.client_commands()
    assert sorted(t.customer_email for t in tickets(database(tmp_path))) == ["a@example.net", "b@example.net"]
    assert dovecot.count("INBOX") == 0
    assert dovecot.count("Processed") == 2
    for uid in (1, 2):
        copy, flag, expunge = (
            commands.index(f'UID COPY {uid} "Processed"'),
            commands.index(f"UID STORE {uid} +FLAGS.SILENT (\\Deleted)"),
            commands.index(f"UID EXPUNGE {uid}"),
        )
        assert copy < flag < expunge
    # The premise of the behavioural check: B was read only after A was expunged.
    assert commands.index("UID EXPUNGE 1") < commands.index("UID FETCH 2 (BODY.PEEK[])")
    assert [c for c in commands if c.split(" ")[0] in ("EXPUNGE", "CLOSE")] == []
    assert [c for c in commands if "MOVE" in c] == []


def test_without_move_or_uidplus_originals_stay_flagged_and_a_second_run_adds_nothing(
    tmp_path: Path, make_dovecot: Callable[..., Dovecot], smtp_sink: SmtpSink
) -> None:
    """Without UID EXPUNGE the only way to remove our copies would be a plain
    EXPUNGE, which also destroys what a person flagged: the originals stay in
    INBOX, marked `$CaredeskProcessed`, and nothing is ever expunged."""
    hidden = ("MOVE", "UIDPLUS")
    dovecot = make_dovecot(capabilities=[c for c in DOVECOT_CAPABILITIES if c not in hidden], rawlog=True)
    dovecot.append(mailfactory.complaint(1, sender="a@example.net"))
    dovecot.append(mailfactory.complaint(2, sender="b@example.net"))
    config = config_file(tmp_path, mailbox_url=dovecot.url, smtp_url=smtp_sink.url)

    run_once(config)
    run_once(config)

    assert len(tickets(database(tmp_path))) == 2
    assert dovecot.count("Processed") == 2
    assert dovecot.count("INBOX") == 2
    with dovecot.connection() as client:
        client.select_folder("INBOX", readonly=True)
        flags = client.get_flags(client.search("ALL"))
    assert all(b"$CaredeskProcessed" in set(f) for f in flags.values()), flags
    assert all(b"\\Deleted" not in set(f) for f in flags.values()), flags
    commands = dovecot.client_commands()
    assert [c for c in commands if "EXPUNGE" in c or c.startswith("CLOSE")] == []
    assert len(smtp_sink.wait_for(4)) == 4

    dovecot.append(mailfactory.complaint(3, sender="c@example.net"))
    run_once(config)

    assert [t.customer_email for t in tickets(database(tmp_path))] == [
        "a@example.net",
        "b@example.net",
        "c@example.net",
    ]
    assert dovecot.count("Processed") == 3


# -- servers that accept and never answer -------------------------------------


@pytest.mark.parametrize("scheme", ["imap", "imaps"])
def test_silent_imap_server_is_given_up_within_the_mailbox_timeout(
    tmp_path: Path, silent_server: SilentServer, scheme: str, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"{scheme}://care@127.0.0.1:{silent_server.port}/INBOX"
    config = config_file(tmp_path, mailbox_url=url, smtp_url="file:outbox", mailbox=f"timeout = {TIMEOUT}")

    elapsed = run_once(config)

    assert silent_server.accepted, "the daemon never connected"
    assert elapsed < TIMEOUT + SLACK, elapsed
    waited = waited_on_server(caplog, "unavailable")
    assert TIMEOUT * 0.9 <= waited < TIMEOUT + STEP_SLACK, waited
    assert "unavailable" in caplog.text
    assert "timed out" in caplog.text


@pytest.mark.parametrize("scheme", ["smtp", "smtps"])
def test_silent_smtp_server_defers_delivery_within_the_smtp_timeout(
    tmp_path: Path,
    silent_server: SilentServer,
    dovecot: Dovecot,
    scheme: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    dovecot.append(mailfactory.complaint())
    config = config_file(
        tmp_path,
        mailbox_url=dovecot.url,
        smtp_url=f"{scheme}://127.0.0.1:{silent_server.port}",
        smtp=f"timeout = {TIMEOUT}",
    )
    caplog.set_level(logging.INFO)

    elapsed = run_once(config)

    assert silent_server.accepted, "the daemon never connected"
    assert elapsed < TIMEOUT + SLACK, elapsed
    waited = waited_on_server(caplog, "mail server unavailable")
    assert TIMEOUT * 0.9 <= waited < TIMEOUT + STEP_SLACK, waited
    assert len(tickets(database(tmp_path))) == 1
    assert dovecot.count("Processed") == 1
    rows = outbound(database(tmp_path))
    assert rows[0].state == "retry"
    assert {row.state for row in rows} <= {"retry", "pending"}
    assert "timed out" in (rows[0].last_error or "")
    assert "mail server unavailable" in caplog.text
