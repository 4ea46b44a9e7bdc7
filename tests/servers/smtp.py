"""An in-process SMTP server that records what it is sent, for integration tests.

Owns one aiosmtpd server on 127.0.0.1 running in its own thread: the list of
accepted messages, the faults planned for coming transactions, and the
optional AUTH credentials.  It is a real SMTP server on a real socket, so the
daemon's sender is tested over the wire, with its SMTP client library.

Faults are planned per *transaction* (a MAIL FROM ... DATA sequence), which is
how a mail sender retries: ``fail_next`` answers a stage with an error,
``disconnect_after_data_next`` takes the message and drops the connection
instead of answering ``250`` (the client cannot know the mail went through).

TLS, for the transport tests: ``tls_context=`` offers STARTTLS (and with
``require_starttls`` refuses mail before it), ``implicit_tls=True`` speaks
TLS from the first byte (``smtps://``); each ``Received`` says whether it came
over an encrypted connection.  ``host=`` binds another loopback address.
``oauth=`` offers AUTH XOAUTH2, asking that function whether a user's bearer
token is good (the loopback OAuth server's ``valid_for``).

Runs clean under ``-W error``: aiosmtpd 1.4.6 warns only for options this
module does not use - ``auth_required=True`` without TLS (UserWarning; AUTH
is required in ``handle_MAIL`` instead), ``server_kwargs=``, the old
``process_message``/``ehlo_hook`` APIs (DeprecationWarnings) - so no
``filterwarnings`` entry is needed in pyproject.toml.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
import socket
import ssl
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import MISSING, SMTP, AuthResult, Envelope, LoginPassword, Session

Stage = Literal["mail", "rcpt", "data"]

STOP_TIMEOUT = 5.0


class _DropLoginDataDeprecation(logging.Filter):
    """Drop aiosmtpd's own "Session.login_data is deprecated" log line.

    aiosmtpd 1.4 sets the deprecated ``Session.login_data`` itself after every
    successful AUTH, and that setter logs a warning (a log line, not a Python
    warning). Nothing on our side can avoid it, so only that line is filtered.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Session.login_data is deprecated")


_aiosmtpd_log = logging.getLogger("mail.log")
if not any(isinstance(f, _DropLoginDataDeprecation) for f in _aiosmtpd_log.filters):
    _aiosmtpd_log.addFilter(_DropLoginDataDeprecation())


@dataclass(frozen=True)
class Received:
    """One message the sink accepted (its DATA was complete)."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    message: EmailMessage
    # The AUTH user name when the client logged in, else None.
    login: str | None = None
    # False when disconnect_after_data_next() dropped the connection instead
    # of sending "250": the sink has the mail, the client does not know it.
    acknowledged: bool = True
    # True when the message came over TLS (STARTTLS or implicit TLS).
    encrypted: bool = False
    # The MAIL FROM parameters the client gave (``SMTPUTF8``, ``BODY=8BITMIME``).
    mail_options: tuple[str, ...] = ()
    # Command lines already waiting when MAIL FROM was answered: 0 for a client
    # that waits for each reply, the RCPT TOs (and DATA) for one that pipelines.
    commands_ahead: int = 0
    # Whether the server's side of the connection had TCP_NODELAY (see _tcp_socket).
    nodelay: bool = False


@dataclass(frozen=True)
class _Fault:
    kind: Literal["reject", "disconnect", "lenient"]
    stage: Stage = "data"
    reply: str = ""


class _Handler:
    """aiosmtpd hooks; they run on the server thread and report to the sink."""

    def __init__(self, sink: SmtpSink) -> None:
        self._sink = sink
        # The fault planned for each open transaction. Envelopes are replaced
        # on RSET and after DATA, so weak keys drop finished transactions.
        self._faults: weakref.WeakKeyDictionary[Envelope, _Fault] = weakref.WeakKeyDictionary()
        self._ahead: weakref.WeakKeyDictionary[Envelope, int] = weakref.WeakKeyDictionary()

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        # This form of the hook must name the client itself (aiosmtpd's contract).
        session.host_name = hostname
        if self._sink.pipelining:
            return [*responses[:-1], "250-PIPELINING", responses[-1]]
        return responses

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:
        """AUTH XOAUTH2 (Google's and Microsoft's SASL mechanism): user and bearer token."""
        if len(args) > 1:
            blob: bytes | object = _b64(args[1])
            if not isinstance(blob, bytes):
                return AuthResult(success=False, message="501 5.5.2 Can't decode base64")
        else:
            blob = await server.challenge_auth("")
            if not isinstance(blob, bytes):
                return AuthResult(success=False, handled=True)  # challenge_auth answered already
        fields = dict(
            part.split("=", 1) for part in blob.decode(errors="replace").split("\x01") if "=" in part
        )
        user, token = fields.get("user", ""), fields.get("auth", "").removeprefix("Bearer ")
        check = self._sink.oauth
        success = check is not None and check(user, token)
        with self._sink._changed:
            self._sink.login_attempts.append((user, success))
        if success:
            return AuthResult(success=True, auth_data=user)
        # The mechanism's error: a JSON challenge, the client's empty answer, then 535.
        error = json.dumps({"status": "401", "schemes": "bearer", "scope": "smtp"}).encode()
        await server.challenge_auth(error)
        return AuthResult(success=False, handled=False)

    async def handle_MAIL(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        # Enforced here rather than with aiosmtpd's auth_required=True,
        # which warns (UserWarning) when TLS is not required as well.
        if self._sink.require_auth and not session.authenticated:
            return "530 5.7.0 Authentication required"
        # What the client sent behind MAIL FROM without waiting for its reply
        # (asyncio's read buffer; aiosmtpd reads one line at a time from it).
        waiting = bytes(getattr(server._reader, "_buffer", b""))
        self._ahead[envelope] = waiting.count(b"\r\n")
        fault = self._sink._take_fault()
        if fault is not None:
            self._faults[envelope] = fault
            if fault.kind == "reject" and fault.stage == "mail":
                return fault.reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        fault = self._faults.get(envelope)
        if fault is not None and fault.kind == "reject" and fault.stage == "rcpt":
            return fault.reply
        if fault is not None and fault.kind == "lenient":
            # Refused, yet kept: DATA is then answered 354 (what RFC 2920 warns of).
            envelope.rcpt_tos.append(address)
            return fault.reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        fault = self._faults.pop(envelope, None)
        if fault is not None and fault.kind == "reject":
            return fault.reply
        data = envelope.original_content or b""
        login = session.auth_data if isinstance(session.auth_data, str) else None
        acknowledged = fault is None or fault.kind != "disconnect"
        # After STARTTLS the session's transport is the TLS one, so this
        # covers both ways of encrypting.
        encrypted = server.transport is not None and server.transport.get_extra_info("ssl_object") is not None
        connection = server.transport.get_extra_info("socket") if server.transport is not None else None
        nodelay = connection is not None and bool(
            connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        )
        self._sink._record(
            Received(
                mail_from=envelope.mail_from or "",
                rcpt_tos=list(envelope.rcpt_tos),
                data=data,
                message=_parse(data),
                login=login,
                acknowledged=acknowledged,
                encrypted=encrypted,
                mail_options=tuple(envelope.mail_options),
                commands_ahead=self._ahead.get(envelope, 0),
                nodelay=nodelay,
            )
        )
        if not acknowledged:
            # abort() closes the socket at once, without flushing; aiosmtpd
            # then cancels this session's task (connection_lost), which ends
            # the wait below before any reply could be written.
            assert server.transport is not None
            server.transport.abort()
            await asyncio.Event().wait()
        return "250 OK"


def _tcp_socket() -> socket.socket:
    """A listening socket whose accepted connections asyncio sets TCP_NODELAY on.

    asyncio sets it only on sockets whose `proto` is IPPROTO_TCP, and accepted
    sockets inherit the listener's. Without it Nagle holds back the second of the
    replies to a pipelined MAIL, RCPT, DATA until the client's delayed ACK, 40 ms a
    mail on Linux (which a real server, and `bench/fast_sink.py`, do not cost).
    """
    return socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)


class _SocketController(Controller):
    """A Controller that serves on a socket we bound ourselves.

    Binding port 0 first and handing the socket over avoids the race of
    "find a free port, close it, let aiosmtpd bind it".
    """

    def __init__(self, handler: _Handler, sock: socket.socket, **kwargs: Any) -> None:
        host, port = sock.getsockname()[:2]
        super().__init__(handler, hostname=host, port=port, **kwargs)
        self._sock = sock
        # Every session's protocol, so stop() can close open client
        # connections instead of leaving their transports to the GC
        # (which warns "unclosed transport" - an error under -W error).
        self.sessions: weakref.WeakSet[SMTP] = weakref.WeakSet()

    def _create_server(self) -> Any:
        # ssl_context (implicit TLS) must be passed on, as Controller does.
        return self.loop.create_server(self._factory_invoker, sock=self._sock, ssl=self.ssl_context)

    def factory(self) -> SMTP:
        smtp = super().factory()
        self.sessions.add(smtp)
        return smtp


class SmtpSink:
    """A recording SMTP server on 127.0.0.1; see the module docstring.

    ``auth=(user, password)`` offers AUTH PLAIN and LOGIN without TLS (loopback
    only); ``require_auth`` then refuses MAIL FROM until the client logged in.
    With ``tls_context`` AUTH is only offered after STARTTLS, as on a real
    submission server; ``require_starttls`` refuses MAIL FROM before it.
    ``implicit_tls`` serves TLS from the start (the ``url`` becomes ``smtps://``).
    ``smtputf8`` advertises SMTPUTF8 (RFC 6531): UTF-8 addresses and headers.
    ``pipelining`` advertises PIPELINING (RFC 2920), which aiosmtpd serves (it
    reads one command line at a time) but does not announce.
    """

    host = "127.0.0.1"

    def __init__(
        self,
        *,
        auth: tuple[str, str] | None = None,
        require_auth: bool = False,
        host: str | None = None,
        tls_context: ssl.SSLContext | None = None,
        require_starttls: bool = False,
        implicit_tls: bool = False,
        smtputf8: bool = False,
        pipelining: bool = False,
        oauth: Callable[[str, str], bool] | None = None,
    ) -> None:
        if require_auth and auth is None and oauth is None:
            raise ValueError("require_auth needs auth=(user, password) or oauth=")
        if (require_starttls or implicit_tls) and tls_context is None:
            raise ValueError("require_starttls and implicit_tls need a tls_context")
        if require_starttls and implicit_tls:
            raise ValueError("implicit TLS has no STARTTLS to require")
        self.auth = auth
        self.require_auth = require_auth
        if host is not None:
            self.host = host
        self.tls_context = tls_context
        self.require_starttls = require_starttls
        self.implicit_tls = implicit_tls
        self.smtputf8 = smtputf8
        self.pipelining = pipelining
        self.oauth = oauth
        self.port = 0
        self.login_attempts: list[tuple[str, bool]] = []
        self._received: list[Received] = []
        self.on_message: Callable[[Received], None] | None = None
        """Called on the server thread with each accepted message, before the client hears 250."""
        self._faults: deque[_Fault] = deque()
        self._changed = threading.Condition()
        self._controller: _SocketController | None = None
        # The port held while stopped, and what closes it (see _reserve_port).
        self._reserved: tuple[socket.socket, weakref.finalize[Any, Any]] | None = None

    # -- lifecycle ------------------------------------------------------------

    def __enter__(self) -> SmtpSink:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        scheme = "smtps" if self.implicit_tls else "smtp"
        return f"{scheme}://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> None:
        """Start serving; after a stop() the same port is used again."""
        if self._controller is not None:
            return
        sock = self._take_reserved_port()
        if sock is None:
            sock = _tcp_socket()
            # A restarted sink must get its old port back although connections
            # from the previous run may still be in TIME_WAIT.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
        self.port = int(sock.getsockname()[1])
        kwargs: dict[str, Any] = {
            # The default is socket.getfqdn(), a DNS lookup that can stall
            # for seconds in a container without a resolver.
            "server_hostname": "sink.caredesk.test",
            "enable_SMTPUTF8": self.smtputf8,
        }
        kwargs.update(self._tls_kwargs())
        if self.oauth is None:
            kwargs["auth_exclude_mechanism"] = ["XOAUTH2"]
        elif self.auth is None:
            kwargs["auth_exclude_mechanism"] = ["LOGIN", "PLAIN"]
        if self.auth is not None or self.oauth is not None:
            kwargs["authenticator"] = self._authenticate
            # AUTH is only offered without TLS when this is False; the sink
            # listens on loopback only, so plaintext credentials are fine.
            # With STARTTLS it waits for TLS. aiosmtpd does not count implicit
            # TLS as TLS here (it only knows its own STARTTLS), so that mode
            # must say False too; the connection is encrypted all the same.
            kwargs["auth_require_tls"] = self.tls_context is not None and not self.implicit_tls
        controller = _SocketController(_Handler(self), sock, **kwargs)
        try:
            controller.start()
        except BaseException:
            sock.close()
            raise
        self._controller = controller

    def _tls_kwargs(self) -> dict[str, Any]:
        if self.tls_context is None:
            return {}
        if self.implicit_tls:
            return {"ssl_context": self.tls_context}
        return {"tls_context": self.tls_context, "require_starttls": self.require_starttls}

    def stop(self) -> None:
        """Close open client connections, stop the server thread. Idempotent."""
        controller, self._controller = self._controller, None
        if controller is None:
            return
        future = asyncio.run_coroutine_threadsafe(_close_sessions(controller), controller.loop)
        with contextlib.suppress(Exception):
            future.result(timeout=STOP_TIMEOUT)
        controller.stop()
        self._reserve_port()

    def _reserve_port(self) -> None:
        """While stopped, hold the port with a socket that is bound but does not listen.

        A client is refused, as by a server that is down, and no other server
        (another pytest-xdist worker's) can take the port before start() serves
        on it again: bound without SO_REUSEADDR, it blocks every other bind.
        Where TIME_WAIT connections make that bind fail, the port is only
        remembered. The socket is closed when the sink is garbage-collected.
        """
        sock = _tcp_socket()
        try:
            sock.bind((self.host, self.port))
        except OSError:
            sock.close()
            return
        self._reserved = (sock, weakref.finalize(self, sock.close))

    def _take_reserved_port(self) -> socket.socket | None:
        if self._reserved is None:
            return None
        (sock, release), self._reserved = self._reserved, None
        release.detach()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        return sock

    # -- recorded messages ----------------------------------------------------

    @property
    def messages(self) -> list[Received]:
        """A snapshot of the accepted messages, in arrival order."""
        with self._changed:
            return list(self._received)

    def clear(self) -> None:
        """Forget received messages, planned faults and login attempts."""
        with self._changed:
            self._received.clear()
            self._faults.clear()
            self.login_attempts.clear()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Block until at least ``count`` messages arrived; return them all.

        Raises AssertionError listing what did arrive when time runs out.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self._received) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    arrived = [
                        f"{r.mail_from} -> {r.rcpt_tos}: {r.message.get('Subject')!r}" for r in self._received
                    ]
                    raise AssertionError(
                        f"expected {count} message(s) within {timeout}s at {self.url}, "
                        f"got {len(arrived)}: {arrived}"
                    )
                self._changed.wait(remaining)
            return list(self._received)

    # -- planned faults -------------------------------------------------------

    def fail_next(
        self,
        n: int = 1,
        code: int = 451,
        message: str = "4.3.0 try later",
        stage: Stage = "rcpt",
    ) -> None:
        """Answer ``stage`` of the next ``n`` transactions with ``code message``.

        With stage "rcpt" every RCPT TO of the transaction is refused; with
        "data" the message is refused after its content was sent (not recorded).
        """
        if stage not in ("mail", "rcpt", "data"):
            raise ValueError(f"unknown stage {stage!r}")
        fault = _Fault("reject", stage, f"{code} {message}")
        with self._changed:
            self._faults.extend([fault] * n)

    def refuse_recipient_but_take_data_next(
        self, code: int = 550, message: str = "5.1.1 no such user"
    ) -> None:
        """For the next transaction, refuse every RCPT TO and still answer DATA with 354.

        A careless server's way (RFC 2920 3.1 tells clients to expect it); whatever
        the client sends as data is recorded.
        """
        with self._changed:
            self._faults.append(_Fault("lenient", "rcpt", f"{code} {message}"))

    def disconnect_after_data_next(self, n: int = 1) -> None:
        """For the next ``n`` transactions, take the message but drop the connection
        instead of replying 250 (recorded with ``acknowledged=False``)."""
        with self._changed:
            self._faults.extend([_Fault("disconnect")] * n)

    # -- called on the server thread -----------------------------------------

    def _take_fault(self) -> _Fault | None:
        with self._changed:
            return self._faults.popleft() if self._faults else None

    def _record(self, received: Received) -> None:
        if self.on_message is not None:
            self.on_message(received)
        with self._changed:
            self._received.append(received)
            self._changed.notify_all()

    def _authenticate(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        mechanism: str,
        auth_data: Any,
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword) or self.auth is None:
            return AuthResult(success=False, handled=False)
        user = auth_data.login.decode(errors="replace")
        password = auth_data.password.decode(errors="replace")
        success = (user, password) == self.auth
        with self._changed:
            self.login_attempts.append((user, success))
        # auth_data ends up in session.auth_data (Session.login_data is
        # deprecated in aiosmtpd 1.4 and logs a warning when touched).
        return AuthResult(success=success, handled=False, auth_data=user if success else None)


async def _close_sessions(controller: _SocketController) -> None:
    for smtp in list(controller.sessions):
        if smtp.transport is not None:
            smtp.transport.close()
    # Let connection_lost run for each, so no transport outlives the loop.
    for _ in range(3):
        await asyncio.sleep(0)


def _b64(text: str) -> bytes | object:
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        return MISSING


def _parse(data: bytes) -> EmailMessage:
    message = BytesParser(policy=policy.default).parsebytes(data)
    assert isinstance(message, EmailMessage)
    return message


__all__ = ["Received", "SmtpSink", "Stage"]
