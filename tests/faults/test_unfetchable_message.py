"""A message the IMAP server cannot hand over holds back nothing but itself (issue 16, point 9).

The message file is made unreadable in Dovecot's Maildir: Dovecot then fails the
FETCH with an internal error and ends the session, for the whole batch. The
daemon fetches that batch one message at a time, stores the mail behind it in
the same poll, records the failed UID, skips it after three tries with one
quarantine report to the admin, and fetches it once it can, an hour later.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest

from daemon import clock
from daemon.store.models import UnfetchedMessage
from tests.clockpin import pin_clock
from tests.faults.harness import Corpus, fault_config, folder_test_ids, id_of, run_once
from tests.integration.helpers import inbound, outbound, table, tickets
from tests.servers import Dovecot, SmtpSink

pytestmark = pytest.mark.integration

ADMIN = "admin@example.co.id"


def _database(folder: Path) -> str:
    return f"sqlite:///{folder}/caredesk.db"


def _unreadable(dovecot: Dovecot, test_id: str) -> Path:
    """Make the message file of `test_id` unreadable for Dovecot; returns its path."""
    for sub in ("new", "cur"):
        for path in (dovecot.maildir / sub).iterdir():
            if id_of(path.read_bytes()) == test_id:
                path.chmod(0)
                return path
    raise AssertionError(f"no message file for {test_id}")


def _readable_again(dovecot: Dovecot) -> None:
    """Every message file readable again (Dovecot may have moved one from new/ to cur/)."""
    for sub in ("new", "cur"):
        for path in (dovecot.maildir / sub).iterdir():
            os.chmod(path, 0o600)


def _digests(sink: SmtpSink) -> list[str]:
    return [
        received.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        for received in sink.messages
        if ADMIN in received.rcpt_tos
    ]


def test_message_server_cannot_deliver_does_not_block_the_mail_behind_it(
    tmp_path: Path, dovecot: Dovecot, smtp_sink: SmtpSink
) -> None:
    database = _database(tmp_path)
    corpus = Corpus()
    dovecot.append_many(corpus.complaint_mails(6))
    _unreadable(dovecot, "c1")
    config = fault_config(tmp_path, database_url=database, mailbox_url=dovecot.url, smtp_url=smtp_sink.url)

    output = run_once(config)

    assert "unavailable" not in output, output[-3000:]
    stored = sorted(str(id_of(row.raw)) for row in inbound(database))
    assert stored == ["c0", "c2", "c3", "c4", "c5"]
    assert len(tickets(database)) == 5
    _readable_again(dovecot)
    folders = folder_test_ids(dovecot)
    assert folders["INBOX"] == ["c1"]
    assert sorted(map(str, folders["Processed"])) == ["c0", "c2", "c3", "c4", "c5"]
    [failed] = table(database, UnfetchedMessage)
    assert (failed.uid, failed.attempts) == (2, 1)
    assert "FETCH failed" in failed.last_error


def test_unfetchable_uid_is_recorded_alerted_once_and_retried_later(
    tmp_path: Path, dovecot: Dovecot, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = _database(tmp_path)
    corpus = Corpus()
    dovecot.append_many(corpus.complaint_mails(2))
    _unreadable(dovecot, "c0")
    config = fault_config(
        tmp_path,
        database_url=database,
        mailbox_url=dovecot.url,
        smtp_url=smtp_sink.url,
        top=f'admin_address = "{ADMIN}"',
    )

    for tries in (1, 2, 3):
        run_once(config)
        [failed] = table(database, UnfetchedMessage)
        assert failed.attempts == tries
    # The mail behind it came in on the first poll; the bad one is skipped and reported.
    assert len(tickets(database)) == 1
    [held] = [row for row in inbound(database) if row.uid == 1]
    assert (held.state, held.stage, held.disposition) == ("quarantined", "fetch", "left")
    assert held.reason.startswith("unfetchable: the IMAP server failed to hand over UID 1 3 times")
    [digest] = _digests(smtp_sink)
    assert "unfetchable" in digest

    run_once(config)
    [failed] = table(database, UnfetchedMessage)
    assert failed.attempts == 3, "tried again before its hour was up"
    assert len(_digests(smtp_sink)) == 1

    # An hour later, with the file readable again, it comes in like any mail.
    _readable_again(dovecot)
    pin_clock(monkeypatch, clock.now() + timedelta(minutes=61))
    output = run_once(config)

    assert table(database, UnfetchedMessage) == []
    [held] = [row for row in inbound(database) if row.uid == 1]
    assert held.state == "processed", output[-3000:]
    assert id_of(held.raw) == "c0"
    assert len(tickets(database)) == 2
    assert folder_test_ids(dovecot)["INBOX"] == []
    assert len(_digests(smtp_sink)) == 1
    assert sum(row.kind == "ack" for row in outbound(database)) == 2
