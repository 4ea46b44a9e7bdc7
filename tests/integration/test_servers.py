"""Sanity tests of the test servers and fixtures themselves (Dovecot, SMTP sink, databases)."""

from __future__ import annotations

import smtplib
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
import sqlalchemy
from imapclient.exceptions import IMAPClientError
from sqlalchemy import text

from tests import mailfactory
from tests.servers import Dovecot, SmtpSink
from tests.servers.smtp import Stage

pytestmark = pytest.mark.integration


def _message_ids(raws: list[bytes]) -> list[str]:
    parser = BytesParser(policy=policy.default)
    return [str(parser.parsebytes(raw)["Message-ID"]) for raw in raws]


# -- Dovecot ------------------------------------------------------------------


def test_appended_complaint_is_fetched_back_unchanged(dovecot: Dovecot) -> None:
    raw = mailfactory.complaint(attachment=("foto.jpg", b"\xff\xd8\xff\xe0" * 64, "image/jpeg"))

    uid = dovecot.append(raw)

    assert dovecot.uids() == [uid] == [1]
    assert dovecot.messages() == [raw]
    assert dovecot.count() == 1


def test_messages_are_fetched_without_marking_them_seen(dovecot: Dovecot) -> None:
    dovecot.append(mailfactory.complaint())

    dovecot.messages()

    with dovecot.connection() as client:
        client.select_folder("INBOX", readonly=True)
        assert client.search("UNSEEN") == [1]


def test_folders_are_created_and_listed(dovecot: Dovecot) -> None:
    dovecot.create_folder("Processed")
    dovecot.append(mailfactory.complaint(), folder="Processed", flags=[r"\Seen"])

    assert dovecot.folders() == ["INBOX", "Processed"]
    assert dovecot.count("Processed") == 1
    assert dovecot.count("INBOX") == 0


@pytest.mark.parametrize("direct", [False, True], ids=["imap-append", "maildir-drop"])
def test_append_many_keeps_order_in_uids(dovecot: Dovecot, direct: bool) -> None:
    raws = [mailfactory.complaint(n, sender=f"customer{n}@example.net") for n in range(60)]

    assert dovecot.append_many(raws, direct=direct) == 60

    assert dovecot.uids() == list(range(1, 61))
    assert _message_ids(dovecot.messages()) == _message_ids(raws)


def test_restart_keeps_mail_and_port_and_drops_clients(dovecot: Dovecot) -> None:
    dovecot.append(mailfactory.complaint(0))
    port, validity = dovecot.port, dovecot.uidvalidity()

    with dovecot.connection() as client:
        client.select_folder("INBOX")
        dovecot.restart()
        with pytest.raises((OSError, IMAPClientError)):
            client.fetch([1], ["BODY.PEEK[]"])

    assert dovecot.port == port
    assert dovecot.uidvalidity() == validity
    assert dovecot.count() == 1
    dovecot.append(mailfactory.complaint(1))
    assert dovecot.uids() == [1, 2]


def test_reset_uidvalidity_gives_a_new_validity_and_keeps_messages(dovecot: Dovecot) -> None:
    raws = [mailfactory.complaint(n) for n in range(3)]
    dovecot.append_many(raws)
    before = dovecot.uidvalidity()

    dovecot.reset_uidvalidity()

    assert dovecot.uidvalidity() != before
    assert _message_ids(dovecot.messages()) == _message_ids(raws)


def test_stop_ends_every_process_and_removes_the_state(dovecot: Dovecot) -> None:
    state = dovecot.state
    with dovecot.connection() as client:
        client.select_folder("INBOX")
        dovecot.stop()

    assert not state.exists()
    assert not _processes_mentioning(state.name)


def _processes_mentioning(marker: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmdline:
            found.append(cmdline.decode(errors="replace"))
    return found


# -- SMTP sink ----------------------------------------------------------------


def test_sink_records_a_message_sent_with_smtplib(smtp_sink: SmtpSink) -> None:
    raw = mailfactory.complaint()
    with smtplib.SMTP(smtp_sink.host, smtp_sink.port, timeout=10) as client:
        client.sendmail("care@example.co.id", ["budi.santoso@example.net", "qa@example.co.id"], raw)

    [received] = smtp_sink.wait_for(1)

    assert received.mail_from == "care@example.co.id"
    assert received.rcpt_tos == ["budi.santoso@example.net", "qa@example.co.id"]
    assert received.data == raw
    assert received.message["Subject"] == "Pesanan INV-202400000 belum sampai"
    assert received.acknowledged


def test_wait_for_reports_what_arrived_on_timeout(smtp_sink: SmtpSink) -> None:
    with pytest.raises(AssertionError, match=r"expected 1 message\(s\).*got 0"):
        smtp_sink.wait_for(1, timeout=0.2)


@pytest.mark.parametrize(
    ("stage", "error"),
    [
        ("mail", smtplib.SMTPSenderRefused),
        ("rcpt", smtplib.SMTPRecipientsRefused),
        ("data", smtplib.SMTPDataError),
    ],
)
def test_fail_next_refuses_the_next_transaction_then_accepts(
    smtp_sink: SmtpSink, stage: Stage, error: type[smtplib.SMTPException]
) -> None:
    smtp_sink.fail_next(1, code=451, message="4.3.0 try later", stage=stage)
    raw = mailfactory.complaint()

    with smtplib.SMTP(smtp_sink.host, smtp_sink.port, timeout=10) as client:
        with pytest.raises(error) as refused:
            client.sendmail("care@example.co.id", ["budi@example.net"], raw)
        assert "451" in str(refused.value)
        client.rset()
        client.sendmail("care@example.co.id", ["budi@example.net"], raw)

    assert len(smtp_sink.wait_for(1)) == 1


def test_disconnect_after_data_keeps_the_mail_but_never_answers(smtp_sink: SmtpSink) -> None:
    smtp_sink.disconnect_after_data_next(1)
    client = smtplib.SMTP(smtp_sink.host, smtp_sink.port, timeout=10)
    try:
        with pytest.raises(smtplib.SMTPServerDisconnected):
            client.sendmail("care@example.co.id", ["budi@example.net"], mailfactory.complaint())
    finally:
        client.close()

    [received] = smtp_sink.wait_for(1)
    assert not received.acknowledged


def test_sink_with_auth_records_the_login_and_refuses_anonymous_mail() -> None:
    with SmtpSink(auth=("care", "s3cret"), require_auth=True) as sink:
        with smtplib.SMTP(sink.host, sink.port, timeout=10) as client:
            with pytest.raises(smtplib.SMTPSenderRefused) as refused:
                client.sendmail("care@example.co.id", ["budi@example.net"], b"Subject: x\r\n\r\n")
            assert refused.value.smtp_code == 530
        with smtplib.SMTP(sink.host, sink.port, timeout=10) as client:
            client.login("care", "s3cret")
            client.sendmail("care@example.co.id", ["budi@example.net"], mailfactory.complaint())

        [received] = sink.wait_for(1)
        assert received.login == "care"
        assert sink.login_attempts == [("care", True)]


def test_stopped_sink_refuses_connections_and_restarts_on_its_port(smtp_sink: SmtpSink) -> None:
    port = smtp_sink.port
    smtp_sink.stop()
    with pytest.raises(OSError):
        smtplib.SMTP(smtp_sink.host, port, timeout=2)

    smtp_sink.start()

    assert smtp_sink.port == port
    with smtplib.SMTP(smtp_sink.host, port, timeout=10) as client:
        client.sendmail("care@example.co.id", ["budi@example.net"], mailfactory.complaint())
    smtp_sink.wait_for(1)


# -- databases ----------------------------------------------------------------


def test_database_url_gives_an_empty_working_database(database_url: str) -> None:
    engine = sqlalchemy.create_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE probe (id INTEGER PRIMARY KEY, note TEXT)"))
            conn.execute(text("INSERT INTO probe (id, note) VALUES (1, 'ok')"))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT note FROM probe")).scalar_one() == "ok"
            if engine.dialect.name == "postgresql":
                schema = conn.execute(text("SELECT current_schema()")).scalar_one()
                assert schema.startswith("t_")
                # The table went into the test's own schema, not into public.
                tables = conn.execute(
                    text("SELECT table_schema FROM information_schema.tables WHERE table_name = 'probe'")
                ).scalars()
                assert schema in set(tables)
    finally:
        engine.dispose()


def test_database_url_schemas_are_not_shared_between_tests(database_url: str) -> None:
    # Runs after the test above created "probe" in its own database: a fresh
    # database must not see it.
    engine = sqlalchemy.create_engine(database_url)
    try:
        assert "probe" not in sqlalchemy.inspect(engine).get_table_names()
    finally:
        engine.dispose()
