"""An IMAP folder as the intake, with imapclient.

UIDs only, validated by UIDVALIDITY; bodies fetched with `BODY.PEEK[]` so a
person's unread marks are left alone; a batch of UIDs per FETCH, never a round
trip per mail. Messages are moved with `MOVE` when the server has it, otherwise
COPY + `\\Deleted` + `UID EXPUNGE` of our own UIDs only. A plain EXPUNGE or CLOSE
would also remove mail a person marked deleted that we never ingested.
"""

from __future__ import annotations

import contextlib
import dataclasses
import imaplib
import logging
import ssl
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from imapclient import IMAPClient
from imapclient.exceptions import LoginError
from imapclient.util import to_bytes

from daemon.config import MailboxConfig, imap_login
from daemon.fetch.mailbox import Batch, SentRead, Unfetched, sent_source
from daemon.store.queries import Fetched

if TYPE_CHECKING:
    # authlib and requests only when a mailbox logs in with OAuth2 (issue 17: memory).
    from daemon.oauth.tokens import TokenSource

log = logging.getLogger("caredesk.imap")

CONNECT_TIMEOUT = 15
# Where a password may go in plain text (no STARTTLS offered): nobody can listen in.
LOOPBACK_HOSTS = {"127.0.0.1", "::1", "localhost"}
HEADER_ONLY = b"BODY[HEADER]"
FETCH_ERRORS = (imaplib.IMAP4.error, OSError)
"""What a FETCH raises when the server fails it (NO, BAD, BYE, a cut or silent connection)."""
HARD_MAX_MESSAGE_BYTES = 50 * 1024 * 1024
"""Mail up to this size (or `max_message_bytes`, if larger) is fetched whole, even above the limit.

Above `max_message_bytes` a mail is quarantined, but with all its bytes: raise the
limit and `caredesk quarantine replay` it. Only a mail above this cap is stored as
its headers and left in the intake folder, where a person can still read it.
A Maildir (and `caredesk ingest`) hands over whole files: no limit applies there.
"""


def hard_cap(max_message_bytes: int) -> int:
    """The largest mail fetched whole: the fixed cap, or the configured limit when that is larger."""
    return max(HARD_MAX_MESSAGE_BYTES, max_message_bytes)


def oversize_note(size: int, max_message_bytes: int, folder: str) -> str:
    """Why a mail of `size` bytes will be held, for its record; "" for a mail within the limit.

    The note starts with `oversize:`, which is how processing knows to check the
    size against the limit in force when it runs (`daemon.tickets.processing`).
    """
    cap = hard_cap(max_message_bytes)
    if size > cap:
        return (
            f"oversize: {size} bytes, over the fetch cap of {cap} bytes; only the headers "
            f"were stored and the mail was left in {folder}"
        )
    if size > max_message_bytes:
        return f"oversize: {size} bytes, over mailbox.max_message_bytes ({max_message_bytes}) when fetched"
    return ""


class ImapMailbox:
    def __init__(self, settings: MailboxConfig, tokens: TokenSource | None = None) -> None:
        parts = urlsplit(settings.url)
        self.settings = settings
        self.tokens = tokens
        """The access tokens of `[mailbox] auth = "oauth2"` (None: log in with the password)."""
        self.ssl = parts.scheme == "imaps"
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (993 if self.ssl else 143)
        self.user, self.folder = imap_login(settings.url)
        self.account = f"{parts.scheme}://{self.user}@{self.host}:{self.port}"
        self.identity = f"{self.account}/{self.folder}"
        self.client: IMAPClient | None = None
        self.uidvalidity: int | None = None
        self.selected = False
        """Whether this session has the intake folder selected read-write (`_select`)."""

    def __enter__(self) -> ImapMailbox:
        client = self._login()
        try:
            for folder in (self.settings.processed_folder, self.settings.quarantine_folder):
                if not client.folder_exists(folder):
                    client.create_folder(folder)
                    log.info("created folder %r", folder)
        except BaseException:
            _close_quietly(client)
            raise
        self.client = client
        self.selected = False
        return self

    def login(self) -> IMAPClient:
        """A connection of its own, logged in as the intake's is (`daemon.fetch.idle` waits on one)."""
        return self._login()

    def _login(self) -> IMAPClient:
        """A new connection, encrypted and logged in; closed again if any step fails."""
        timeout: Any = _timeouts(self.settings.timeout)
        context = ssl.create_default_context() if self.ssl else None
        client = IMAPClient(self.host, port=self.port, ssl=self.ssl, ssl_context=context, timeout=timeout)
        # Keep INTERNALDATE's zone instead of converting it to naive local time.
        client.normalise_times = False
        try:
            if not self.ssl:
                self._starttls(client)
            if self.tokens is not None:
                self._token_login(client, self.tokens)
            else:
                client.login(self.user, self.settings.password)
        except BaseException:
            _close_quietly(client)
            raise
        return client

    def _token_login(self, client: IMAPClient, tokens: TokenSource) -> None:
        """AUTHENTICATE with the access token; a refused one is refreshed and tried once more."""
        for attempt in (1, 2):
            token = tokens.access_token()
            try:
                if tokens.settings.mechanism == "oauthbearer":
                    client.oauthbearer_login(self.user, token)
                else:
                    client.oauth2_login(self.user, token)
                return
            except LoginError:
                # Revoked early, or our clock is behind the server's: a new token, once.
                tokens.invalidate()
                if attempt == 2:
                    raise

    def _reconnect(self, folder: str, uidvalidity: int) -> None:
        """A fresh session on `folder` after a failed FETCH (Dovecot ends the session then).

        Raises when the server cannot be reached again: then it is the server that
        failed, not the message, and the poll fails as a whole.
        """
        if self.client is not None:
            _close_quietly(self.client)
            self.client = None
        self.selected = False
        self.client = self._login()
        info = self.client.select_folder(folder, readonly=folder != self.folder)
        if int(info[b"UIDVALIDITY"]) != uidvalidity:
            raise ConnectionError(f"UIDVALIDITY of {folder} changed while fetching from it")
        self.selected = folder == self.folder

    def _starttls(self, client: IMAPClient) -> None:
        """Encrypt a plain connection, or refuse to log in over it to a host that is not loopback."""
        if b"STARTTLS" in client.capabilities():
            client.starttls(ssl.create_default_context())
        elif self.host not in LOOPBACK_HOSTS:
            # The same rule as the SMTP transport: without it an imap:// URL to a
            # server that lacks STARTTLS sent the password across the network.
            raise ConnectionError(f"{self.host} does not offer STARTTLS; refusing to log in in plain text")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.client is not None:
            _close_quietly(self.client)
            self.client = None
        self.selected = False

    def _select(self) -> int:
        """Select the intake folder read-write once a session; its UIDVALIDITY.

        UIDs do not change during a session (RFC 3501, 2.3.1.1), so while the
        folder stays selected a NOOP is enough to have the server report what
        arrived meanwhile, and the UIDs fetched stay the ones to move. A SELECT
        costs the server a read of the folder's whole index: 0.29 s for a
        Dovecot Maildir of 20,000 mails, against 0.3 ms for a NOOP, and the
        intake asks twice a batch (docs/performance.md).
        """
        assert self.client is not None
        if self.selected and self.uidvalidity is not None:
            self.client.noop()
            return self.uidvalidity
        info = self.client.select_folder(self.folder)
        uidvalidity = int(info[b"UIDVALIDITY"])
        if self.uidvalidity is not None and uidvalidity != self.uidvalidity:
            log.warning(
                "UIDVALIDITY of %s changed from %s to %s",
                self.identity,
                self.uidvalidity,
                uidvalidity,
            )
        self.uidvalidity = uidvalidity
        self.selected = True
        return uidvalidity

    def fetch_new(
        self,
        checkpoint: tuple[int, int] | None,
        limit: int,
        stored: Callable[[Collection[str]], set[str]] | None = None,
    ) -> Batch:
        """The next `limit` UIDs past the checkpoint (`stored` is for a Maildir: IMAP has its checkpoint)."""
        assert self.client is not None
        uidvalidity = self._select()
        last_uid = 0
        if checkpoint is not None:
            if checkpoint[0] == uidvalidity:
                last_uid = checkpoint[1]
            else:
                # Every UID may now name another message: read everything again and
                # let content dedup collapse the ones we already have.
                log.warning("UIDVALIDITY changed for %s: re-scanning the whole folder", self.identity)
        found = self.client.search(["UID", f"{last_uid + 1}:*"])
        # "n:*" always matches the highest UID, even when it is below n.
        uids = sorted(uid for uid in found if uid > last_uid)[:limit]
        return self._fetch(uids, uidvalidity, self.folder)

    def _fetch(self, uids: list[int], uidvalidity: int, folder: str) -> Batch:
        """The messages of `uids` in the selected folder, with the checkpoint after them."""
        assert self.client is not None
        if not uids:
            return Batch(messages=[], checkpoint=None)
        sizes = self.client.fetch(uids, ["RFC822.SIZE", "INTERNALDATE"])
        limit_bytes = self.settings.max_message_bytes
        cap = hard_cap(limit_bytes)
        small = [uid for uid in uids if sizes.get(uid, {}).get(b"RFC822.SIZE", 0) <= cap]
        big = [uid for uid in uids if uid not in set(small)]
        bodies, failed = self._bodies(small, folder, uidvalidity)
        assert self.client is not None
        heads = self.client.fetch(big, ["BODY.PEEK[HEADER]"]) if big else {}
        messages = []
        failures = []
        for uid in uids:
            if uid in failed:
                failures.append(Unfetched(uidvalidity, uid, failed[uid]))
                continue
            key = f"{uidvalidity}:{uid}"
            # The server's arrival time: the ticket's SLA clock starts there (intake checks it).
            arrived = _aware(sizes.get(uid, {}).get(b"INTERNALDATE"))
            size = int(sizes.get(uid, {}).get(b"RFC822.SIZE", 0))
            note = oversize_note(size, limit_bytes, folder)
            if uid in bodies and b"BODY[]" in bodies[uid]:
                raw = bodies[uid][b"BODY[]"]
                over = size if note else None
                whole = Fetched(key, raw, uidvalidity, uid, oversize=over, arrived_at=arrived, reason=note)
                messages.append(whole)
            elif uid in heads:
                raw = heads[uid].get(HEADER_ONLY, b"")
                log.warning("UID %s of %s: %s", uid, folder, note)
                head = Fetched(key, raw, uidvalidity, uid, oversize=size, arrived_at=arrived, reason=note)
                head = dataclasses.replace(head, headers_only=True)
                messages.append(head)
            else:
                # Gone between SEARCH and FETCH (someone moved it): stop here, so the
                # checkpoint never passes a message we did not store.
                break
        # The checkpoint passes a message the server failed to hand over: it is
        # recorded with the batch (`daemon.fetch.unfetched`) and tried again.
        top = max([m.uid for m in messages if m.uid] + [f.uid for f in failures], default=None)
        return Batch(messages=messages, checkpoint=(uidvalidity, top) if top else None, failures=failures)

    def fetch_again(self, uidvalidity: int, uids: Sequence[int]) -> Batch:
        assert self.client is not None
        if self._select() != uidvalidity or not uids:
            return Batch(messages=[])
        # Only those still there: one moved away in the meantime is gone, not failed.
        present = set(self.client.search(["UID", ",".join(str(uid) for uid in sorted(uids))]))
        batch = self._fetch(sorted(set(uids) & present), uidvalidity, self.folder)
        return dataclasses.replace(batch, checkpoint=None)

    def _bodies(
        self, uids: list[int], folder: str, uidvalidity: int
    ) -> tuple[dict[int, Any], dict[int, str]]:
        """`BODY.PEEK[]` of `uids` in one FETCH; when that fails, one by one: (bodies, errors by UID).

        A server that cannot read one message fails the whole FETCH (Dovecot
        answers with an internal error and ends the session), which held back
        every mail behind it. After each failure the session is opened again; when
        that fails too it is the server that is down, and that error is raised.
        """
        assert self.client is not None
        if not uids:
            return {}, {}
        try:
            return dict(self.client.fetch(uids, ["BODY.PEEK[]"])), {}
        except FETCH_ERRORS as error:
            try:
                self._reconnect(folder, uidvalidity)
            except Exception as again:
                # The server is gone, not one message: the poll fails with what broke it.
                raise error from again
            log.warning(
                "FETCH of %d mail(s) from %s failed (%s); fetching them one at a time",
                len(uids),
                folder,
                _first_line(error),
            )
        bodies: dict[int, Any] = {}
        failed: dict[int, str] = {}
        for uid in uids:
            assert self.client is not None
            try:
                bodies.update(self.client.fetch([uid], ["BODY.PEEK[]"]))
            except FETCH_ERRORS as error:
                failed[uid] = f"{type(error).__name__}: {_first_line(error)}"
                self._reconnect(folder, uidvalidity)
        return bodies, failed

    def sent_identity(self, folder: str) -> str:
        return sent_source(f"{self.account}/{folder}")

    def fetch_sent(self, read: SentRead) -> Batch:
        """New mail in the Sent folder, selected read-only (EXAMINE): nothing there is ever changed."""
        assert self.client is not None
        if not self.client.folder_exists(read.folder):
            _warn_once(f"[mailbox] sent_folder {read.folder!r} does not exist on {self.host}: not read")
            return Batch(messages=[])
        self.selected = False
        info = self.client.select_folder(read.folder, readonly=True)
        uidvalidity = int(info[b"UIDVALIDITY"])
        if read.checkpoint is None or read.checkpoint[0] != uidvalidity:
            # From now on: what was sent before caredesk read the folder is not an answer
            # it has to count, and a Sent folder of years would be fetched whole.
            if read.checkpoint is not None:
                log.warning("UIDVALIDITY of %s changed: reading it from its end on", read.folder)
            top = int(info.get(b"UIDNEXT", 1)) - 1
            return Batch(messages=[], checkpoint=(uidvalidity, max(top, 0)))
        last_uid = read.checkpoint[1]
        found = self.client.search(["UID", f"{last_uid + 1}:*"])
        uids = sorted(uid for uid in found if uid > last_uid)[: read.limit]
        return self._fetch(uids, uidvalidity, read.folder)

    def dispose(self, moves: Mapping[str, Sequence[str]]) -> set[str]:
        assert self.client is not None
        uidvalidity = self._select()
        settled: set[str] = set()
        for folder, keys in moves.items():
            current = [key for key in keys if key.startswith(f"{uidvalidity}:")]
            # Keys from an older UIDVALIDITY no longer name anything we can move.
            settled.update(key for key in keys if key not in current)
            uids = [int(key.partition(":")[2]) for key in current]
            if uids:
                self._move(uids, folder)
                settled.update(current)
        return settled

    def _move(self, uids: list[int], folder: str) -> None:
        assert self.client is not None
        if self.client.has_capability("MOVE"):
            self.client.move(uids, folder)
            return
        self.client.copy(uids, folder)
        if self.client.has_capability("UIDPLUS"):
            self.client.add_flags(uids, [b"\\Deleted"], silent=True)
            self.client.uid_expunge(uids)
        else:
            # Without UID EXPUNGE we could only expunge everything marked deleted,
            # including mail a person flagged; leave the originals and mark them.
            self.client.add_flags(uids, [to_bytes("$CaredeskProcessed")], silent=True)


_warned: set[str] = set()


def _warn_once(message: str) -> None:
    """A setting that cannot work is said once per process, not on every poll."""
    if message not in _warned:
        _warned.add(message)
        log.warning("%s", message)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:500] if text else type(error).__name__


def _aware(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _timeouts(read_seconds: int) -> Any:
    from imapclient import SocketTimeout

    # imaplib reads the greeting (and imaps does its TLS handshake) under the
    # connect timeout, so a server that accepts and then stays silent held us
    # for CONNECT_TIMEOUT whatever [mailbox] timeout said; never wait longer.
    return SocketTimeout(connect=min(CONNECT_TIMEOUT, read_seconds), read=read_seconds)


def _close_quietly(client: IMAPClient) -> None:
    # The connection may already be dead; closing it must never raise.
    try:
        client.logout()
    except Exception:
        with contextlib.suppress(Exception):
            client.shutdown()
