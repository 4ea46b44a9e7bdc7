"""Waking the service loop when mail arrives, instead of sleeping out the poll interval.

The loop calls `wait(timeout)` between polls; it returns True when new mail may
have come (poll now), False when the time ran out or the stop event was set.
`timeout` is what the loop would otherwise sleep, so the poll interval stays the
fallback and the periodic jobs keep their times.

* `ImapIdle`: a connection of its own, the intake folder selected read-only, in
  IDLE (RFC 2177). An `EXISTS` above the count it knows (or a `RECENT` above 0)
  wakes the loop. The IDLE goes on through the poll that follows, on the other
  connection, so mail that lands during a poll is seen too; it is ended and
  begun again every `REISSUE_SECONDS` (the RFC asks for less than 29 minutes).
  A server that does not advertise IDLE is polled as before.
* `MaildirWatch`: a look at the Maildir's `new/` every `STEP_SECONDS`, waking
  on a file name it has not seen there before: no inotify, one directory
  listing a second, which a local folder answers at once.
* `Sleeper`: `[mailbox] idle = false`, or a source with no way to watch it.

A watch that starts (the first wait, or the first after its connection was
lost) wakes the loop once, so the mail that came while nothing watched is
polled for at once. A lost IDLE connection (a server restarting says BYE) is
opened again after `FIRST_RETRY_SECONDS`, then after doubling waits up to the
poll interval, and meanwhile the loop polls on its interval; a poll that fails
goes through the daemon's backoff, and the service does not wait in IDLE while
the mailbox is failing. Every wait looks at the stop
event at least every `STEP_SECONDS`: a SIGTERM ends it, and with systemd's
watchdog each look is a sign of life (`daemon.app.sdnotify.LiveStop`).
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from daemon.config import MailboxConfig
from daemon.fetch.imap import ImapMailbox
from daemon.fetch.mailbox import Mailbox
from daemon.fetch.maildir import MaildirMailbox

log = logging.getLogger("caredesk.idle")

STEP_SECONDS = 1.0
"""How often a wait looks at the stop event (and a Maildir's new/)."""
REISSUE_SECONDS = 10 * 60
"""How long one IDLE command lasts before it is ended and begun again."""
FIRST_RETRY_SECONDS = 1
"""After a lost IDLE connection or a failed start: the first wait before the next try (doubling,
at most the poll interval); the polls go on meanwhile, with their own backoff."""
CLOSE_TIMEOUT_SECONDS = 5
"""How long ending the IDLE and logging out may take when the daemon stops."""
EMPTY_READS = 3
"""Readable with nothing to read this many times in a row: the server closed the connection."""
WATCH_ERRORS = (imaplib.IMAP4.error, IMAPClientError, OSError, ConnectionError)


class Waiter(Protocol):
    """What the service loop waits on between polls."""

    def wait(self, timeout: float) -> bool:
        """Wait at most `timeout` seconds; True when new mail may be there (poll now)."""

    def close(self) -> None:
        """Let go of whatever the watch holds open (a connection); waiting again reopens it."""


class Sleeper:
    """No watch: sleep on the stop event, as plain polling does."""

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop

    def wait(self, timeout: float) -> bool:
        self.stop.wait(max(0.0, timeout))
        return False

    def close(self) -> None:
        return None


def watch(
    mailbox: Mailbox, settings: MailboxConfig, stop: threading.Event, *, step: float | None = None
) -> Waiter:
    """The waiter for `mailbox` that `[mailbox] idle` asks for.

    `step`: look at the stop event at least this often (systemd's watchdog interval),
    and at least every `STEP_SECONDS`.
    """
    if not settings.idle:
        return Sleeper(stop)
    every = min(STEP_SECONDS, step) if step else STEP_SECONDS
    if isinstance(mailbox, ImapMailbox):
        return ImapIdle(mailbox, stop, step=every)
    if isinstance(mailbox, MaildirMailbox):
        return MaildirWatch(mailbox.path, stop, step=every)
    return Sleeper(stop)


def news(responses: Iterable[Sequence[Any]], exists: int) -> tuple[bool, int]:
    """Whether these IDLE responses announce new mail, and the message count after them.

    `EXISTS` gives the folder's new count; only a count above the one we knew is
    new mail (a server may repeat it after an expunge). `RECENT` above 0 is too;
    Dovecot says `0 RECENT` after our own poll moved mail out. A `BYE` means the
    server is ending the session: `ConnectionError`.
    """
    woke = False
    for response in responses:
        if not response:
            continue
        head, kind = response[0], response[1] if len(response) > 1 else b""
        if head == b"BYE":
            raise ConnectionError(f"server said BYE during IDLE: {_text(response[1:])}")
        if not isinstance(head, int):
            continue  # "* OK Still here" and other status lines
        if kind == b"EXPUNGE":
            exists = max(0, exists - 1)
        elif kind == b"EXISTS":
            woke = woke or head > exists
            exists = head
        elif kind == b"RECENT" and head > 0:
            woke = True
    return woke, exists


class ImapIdle:
    """IMAP IDLE on the intake folder, over a connection of its own (see the module's docstring)."""

    def __init__(
        self,
        mailbox: ImapMailbox,
        stop: threading.Event,
        *,
        step: float = STEP_SECONDS,
        reissue: float = REISSUE_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.mailbox = mailbox
        self.stop = stop
        self.step = step
        self.reissue = reissue
        self._monotonic = monotonic
        self._client: IMAPClient | None = None
        self._exists = 0
        self._since = 0.0
        self._empty = 0
        self._retry_at = float("-inf")
        """After a failed start: not before this monotonic time (polling goes on meanwhile)."""
        self.supported = True
        """False once the server was seen not to offer IDLE: plain polling from then on."""
        self._failures = 0

    @property
    def idling(self) -> bool:
        return self._client is not None

    def wait(self, timeout: float) -> bool:
        deadline = self._monotonic() + max(0.0, timeout)
        client = self._client
        if client is None:
            if self.supported and self._monotonic() >= self._retry_at and self._start():
                return True  # a new watch: poll for what came while nothing watched
            return self._sleep(deadline)
        try:
            return self._watch(client, deadline)
        except WATCH_ERRORS as error:
            # A server restarting says BYE: begin again in a moment, and poll once that worked.
            log.warning(
                "IDLE on %s ended (%s: %s): waiting in IDLE again in %ss",
                self.mailbox.identity,
                type(error).__name__,
                _first_line(error),
                FIRST_RETRY_SECONDS,
            )
            self._client = None
            self._retry_at = self._monotonic() + FIRST_RETRY_SECONDS
            with contextlib.suppress(Exception):
                client.shutdown()
            return self._sleep(deadline)

    def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        with contextlib.suppress(Exception):
            # A stop must not wait out the read timeout of a server that went silent.
            client.socket().settimeout(CLOSE_TIMEOUT_SECONDS)
            client.idle_done()
        _logout(client)

    def _sleep(self, deadline: float) -> bool:
        self.stop.wait(max(0.0, deadline - self._monotonic()))
        return False

    def _start(self) -> bool:
        """Log in, select the folder read-only and begin IDLE; False (and polling) when that fails."""
        try:
            client = self.mailbox.login()
        except Exception as error:  # the poll has its own errors and backoff; this is only a wake-up
            self._start_failed(error)
            return False
        try:
            if not client.has_capability("IDLE"):
                self.supported = False
                log.info(
                    "%s does not offer IDLE: polling every %ss",
                    self.mailbox.host,
                    self.mailbox.settings.poll_interval,
                )
                _logout(client)
                return False
            info = client.select_folder(self.mailbox.folder, readonly=True)
            self._exists = int(info.get(b"EXISTS", 0))
            client.idle()
        except Exception as error:
            _logout(client)
            self._start_failed(error)
            return False
        self._client, self._since, self._empty = client, self._monotonic(), 0
        log.info("waiting in IDLE on %s between polls", self.mailbox.identity)
        self._failures = 0
        return True

    def _start_failed(self, error: Exception) -> None:
        self._failures += 1
        interval = self.mailbox.settings.poll_interval
        hold = min(FIRST_RETRY_SECONDS * 2 ** min(self._failures - 1, 16), max(interval, FIRST_RETRY_SECONDS))
        self._retry_at = self._monotonic() + hold
        report = log.warning if self._failures == 1 else log.debug
        report(
            "cannot wait in IDLE on %s (%s: %s): polling every %ss, IDLE tried again in %ss",
            self.mailbox.identity,
            type(error).__name__,
            _first_line(error),
            self.mailbox.settings.poll_interval,
            hold,
        )

    def _watch(self, client: IMAPClient, deadline: float) -> bool:
        while not self.stop.is_set():
            now = self._monotonic()
            if now - self._since >= self.reissue and self._begin_again(client):
                return True
            remaining = deadline - now
            if remaining <= 0:
                return False
            step = min(self.step, remaining)
            responses = client.idle_check(step)
            if not responses and step >= 0.1 and self._monotonic() - now < step / 2:
                # Readable, yet nothing came: at the end of the stream imapclient returns [].
                self._empty += 1
                if self._empty >= EMPTY_READS:
                    raise ConnectionError("the server closed the connection")
                continue
            self._empty = 0
            woke, self._exists = news(responses, self._exists)
            if woke:
                return True
        return False

    def _begin_again(self, client: IMAPClient) -> bool:
        """End the IDLE and start a new one (RFC 2177); True when news came in between."""
        _text_done, late = client.idle_done()
        _text_noop, pending = client.noop()
        woke, self._exists = news([*late, *pending], self._exists)
        client.idle()
        self._since = self._monotonic()
        return woke


class MaildirWatch:
    """A look at `new/` every `step` seconds; a file name not there at the last look wakes the loop.

    A file the poll leaves behind (a mail still waiting) counts once: after the
    look that found it, it is among the names known.
    """

    def __init__(
        self,
        path: Path,
        stop: threading.Event,
        *,
        step: float = STEP_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.new = path / "new"
        self.stop = stop
        self.step = step
        self._monotonic = monotonic
        self._known: set[str] | None = None

    def wait(self, timeout: float) -> bool:
        deadline = self._monotonic() + max(0.0, timeout)
        if self._known is None:
            self._known = self._names()
            return True  # a new watch: poll for what came while nothing watched
        while True:
            names = self._names()
            arrived = names - self._known
            self._known = names
            if arrived:
                return True
            remaining = deadline - self._monotonic()
            if remaining <= 0 or self.stop.wait(min(self.step, remaining)):
                return False

    def close(self) -> None:
        self._known = None

    def _names(self) -> set[str]:
        try:
            return {entry.name for entry in os.scandir(self.new) if not entry.name.startswith(".")}
        except OSError:
            return set()  # not made yet (the first poll makes it), or gone: the poll will say


def _text(parts: Sequence[Any]) -> str:
    return " ".join(p.decode("utf-8", "replace") if isinstance(p, bytes) else str(p) for p in parts)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:300] if text else type(error).__name__


def _logout(client: IMAPClient) -> None:
    try:
        client.logout()
    except Exception:
        with contextlib.suppress(Exception):
            client.shutdown()
