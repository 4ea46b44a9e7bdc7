"""The intake folder is selected once a session; what arrives later is still read.

A SELECT makes the server read the whole folder's index (0.29 s for a Dovecot
Maildir of 20,000 mails). UIDs do not change during a session (RFC 3501,
2.3.1.1), so the daemon selects the folder once per connection and asks with a
NOOP for what came meanwhile. Dovecot's own record of the wire (rawlog) shows
which commands were sent.
"""

from __future__ import annotations

from pathlib import Path

from daemon.config import load_config
from daemon.fetch.imap import ImapMailbox
from tests import mailfactory
from tests.integration.helpers import inbound, run_cli, tickets, write_config
from tests.servers import Dovecot, SmtpSink

SELECT_INBOX = 'SELECT "INBOX"'


def _config(tmp_path: Path, dovecot: Dovecot, smtp_url: str, batch_size: int) -> Path:
    return write_config(
        tmp_path,
        database_url=f"sqlite:///{tmp_path / 'caredesk.db'}",
        mailbox_url=dovecot.url,
        smtp_url=smtp_url,
        batch_size=batch_size,
    )


def test_a_poll_of_many_batches_selects_the_inbox_once(tmp_path: Path, smtp_sink: SmtpSink) -> None:
    with Dovecot(rawlog=True) as dovecot:
        dovecot.append_many(mailfactory.complaint(n, sender=f"c{n}@example.net") for n in range(25))
        config = _config(tmp_path, dovecot, smtp_sink.url, batch_size=10)

        assert run_cli("--config", str(config), "run", "--once") == 0

        commands = dovecot.client_commands()
        assert dovecot.count("INBOX") == 0
        assert dovecot.count("Processed") == 25
    assert len(tickets(f"sqlite:///{tmp_path / 'caredesk.db'}")) == 25
    # Three batches of 10, 10 and 5 moved, and one empty search that ends the poll.
    assert len([c for c in commands if c.startswith("UID MOVE")]) == 3
    assert commands.count(SELECT_INBOX) == 1
    assert commands.count("NOOP") >= 6


def test_mail_that_arrives_while_the_folder_stays_selected_is_fetched(tmp_path: Path) -> None:
    with Dovecot(rawlog=True) as dovecot:
        dovecot.create_folder("Processed")
        dovecot.append(mailfactory.complaint(1, sender="a@example.net"))
        config = _config(tmp_path, dovecot, f"file:{tmp_path / 'outbox'}", batch_size=10)
        settings = load_config(config, environ={}).mailbox
        with ImapMailbox(settings) as box:
            first = box.fetch_new(None, 10)
            assert [m.uid for m in first.messages] == [1]
            # Another client delivers while our session has the folder selected.
            dovecot.append(mailfactory.complaint(2, sender="b@example.net"))
            second = box.fetch_new(first.checkpoint, 10)
            assert [m.uid for m in second.messages] == [2]
            assert box.dispose({"Processed": [m.key for m in first.messages + second.messages]}) == {
                m.key for m in first.messages + second.messages
            }
        commands = dovecot.client_commands()
        assert dovecot.count("Processed") == 2
    assert commands.count(SELECT_INBOX) == 1
    assert [c for c in commands if c.startswith("UID MOVE")] == ['UID MOVE 1,2 "Processed"']


def test_a_new_session_selects_the_folder_again(tmp_path: Path, smtp_sink: SmtpSink) -> None:
    """Each poll is a session of its own: its first batch SELECTs anew and sees the current UIDVALIDITY."""
    with Dovecot(rawlog=True) as dovecot:
        dovecot.append(mailfactory.complaint(1, sender="a@example.net"))
        config = _config(tmp_path, dovecot, smtp_sink.url, batch_size=10)
        assert run_cli("--config", str(config), "run", "--once") == 0
        dovecot.reset_uidvalidity("INBOX")
        dovecot.append(mailfactory.complaint(2, sender="b@example.net"))
        assert run_cli("--config", str(config), "run", "--once") == 0
        commands = dovecot.client_commands()
        assert dovecot.count("Processed") == 2
    assert commands.count(SELECT_INBOX) == 2
    rows = inbound(f"sqlite:///{tmp_path / 'caredesk.db'}")
    processed = sorted(r.from_address for r in rows if r.state == "processed")
    assert processed == ["a@example.net", "b@example.net"]
    assert len({r.uidvalidity for r in rows}) == 2
