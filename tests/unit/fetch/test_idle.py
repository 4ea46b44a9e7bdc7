"""The wait between polls (`daemon.fetch.idle`): which waiter a mailbox gets, what IDLE news is,
and a Maildir's new/ looked at, without servers (the IMAP side is tests/integration/test_imap_idle.py)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from daemon.config import load_config
from daemon.fetch.idle import ImapIdle, MaildirWatch, Sleeper, news, watch
from daemon.fetch.imap import ImapMailbox
from daemon.fetch.maildir import MaildirMailbox


def test_idle_is_on_by_default_and_can_be_turned_off() -> None:
    on = load_config(None, environ={}).mailbox
    assert on.idle is True
    off = load_config(None, environ={"CAREDESK_MAILBOX_IDLE": "false"}).mailbox
    assert off.idle is False


def test_each_mailbox_gets_its_waiter(tmp_path: Path) -> None:
    stop = threading.Event()
    imap = load_config(None, environ={"CAREDESK_MAILBOX_URL": "imap://care@127.0.0.1:1143/INBOX"}).mailbox
    maildir = load_config(None, environ={}).mailbox
    assert isinstance(watch(ImapMailbox(imap), imap, stop), ImapIdle)
    assert isinstance(watch(MaildirMailbox(tmp_path), maildir, stop), MaildirWatch)
    off = load_config(None, environ={"CAREDESK_MAILBOX_IDLE": "0"}).mailbox
    assert isinstance(watch(MaildirMailbox(tmp_path), off, stop), Sleeper)


def test_the_watchdog_interval_bounds_each_look_at_the_stop_event(tmp_path: Path) -> None:
    settings = load_config(None, environ={}).mailbox
    waiter = watch(MaildirMailbox(tmp_path), settings, threading.Event(), step=0.25)
    assert isinstance(waiter, MaildirWatch)
    assert waiter.step == 0.25
    slow = watch(MaildirMailbox(tmp_path), settings, threading.Event(), step=30.0)
    assert isinstance(slow, MaildirWatch)
    assert slow.step == 1.0


@pytest.mark.parametrize(
    ("responses", "exists", "woke", "after"),
    [
        ([(1, b"EXISTS"), (1, b"RECENT")], 0, True, 1),
        ([(b"OK", b"Still here")], 3, False, 3),
        # Our own poll moved the mail out: Dovecot says EXPUNGE, then "0 RECENT".
        ([(1, b"EXPUNGE"), (0, b"RECENT")], 1, False, 0),
        # A server that repeats the count after an expunge: not new mail.
        ([(2, b"EXPUNGE"), (2, b"EXISTS")], 3, False, 2),
        ([(2, b"EXPUNGE"), (3, b"EXISTS")], 3, True, 3),
        ([(4, b"FETCH", (b"FLAGS", (b"\\Seen",)))], 4, False, 4),
        ([], 2, False, 2),
    ],
)
def test_news_is_a_count_above_the_one_known(
    responses: list[tuple[object, ...]], exists: int, woke: bool, after: int
) -> None:
    assert news(responses, exists) == (woke, after)


def test_bye_ends_the_watch() -> None:
    with pytest.raises(ConnectionError, match="Server shutting down"):
        news([(b"BYE", b"Server shutting down.")], 0)


def test_a_maildir_wakes_on_a_file_it_has_not_seen(tmp_path: Path) -> None:
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "left.eml").write_bytes(b"a mail the poll left waiting")
    waiter = MaildirWatch(tmp_path, threading.Event(), step=0.01)
    assert waiter.wait(0.05) is True  # a new watch: poll once
    assert waiter.wait(0.05) is False  # the file left behind does not wake it again
    (tmp_path / "new" / "new.eml").write_bytes(b"a new mail")
    assert waiter.wait(0.05) is True
    (tmp_path / "new" / "new.eml").unlink()  # the poll took it
    assert waiter.wait(0.05) is False


def test_a_stop_ends_a_maildir_wait(tmp_path: Path) -> None:
    stop = threading.Event()
    waiter = MaildirWatch(tmp_path, stop)
    assert waiter.wait(0) is True
    stop.set()
    assert waiter.wait(60) is False
