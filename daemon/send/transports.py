"""Where outgoing mail goes: an SMTP server, or `.eml` files in a folder.

A transport only delivers bytes it is given and says how it went, as one of three
outcomes a caller can act on: delivered, a temporary failure (retry later), a
permanent failure (do not retry), or an uncertain outcome (the connection died
after the message data was sent, so the server may have queued it).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import smtplib
import ssl
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

from daemon import private
from daemon.config import SmtpConfig
from daemon.oauth import sasl
from daemon.send.redirect import RedirectingTransport

if TYPE_CHECKING:
    # authlib and requests only when SMTP logs in with OAuth2 (issue 17: memory).
    from daemon.oauth.tokens import TokenSource

log = logging.getLogger("caredesk.transport")

LOOPBACK_HOSTS = {"127.0.0.1", "::1", "localhost"}


class DeliveryError(Exception):
    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class TemporaryFailure(DeliveryError):
    """Try again later: 4xx, a timeout, a refused connection."""


class ServerUnavailable(TemporaryFailure):
    """Nobody answered: the server could not be reached, or never greeted us."""


class PermanentFailure(DeliveryError):
    """Do not try again: the server answered 5xx."""


class UncertainOutcome(DeliveryError):
    """The connection was lost after the data went out: it may have been delivered."""


class Transport(Protocol):
    def __enter__(self) -> Transport: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def send(self, envelope_from: str, recipients: list[str], raw: bytes, name: str) -> None:
        """Deliver `raw`; raise a DeliveryError subclass when it did not (surely) go."""


class FileTransport:
    """Writes each mail to `<folder>/<name>.eml`, atomically (the embedded default)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __enter__(self) -> FileTransport:
        private.private_directory(self.folder)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def send(self, envelope_from: str, recipients: list[str], raw: bytes, name: str) -> None:
        target = self.folder / f"{name}.eml"
        temporary = self.folder / f".{name}.tmp"
        try:
            # 0600 from the start: a queued mail is a customer's words and address.
            with os.fdopen(private.open_private(temporary), "wb") as handle:
                handle.write(raw)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, target)
        except OSError as error:
            raise TemporaryFailure(f"cannot write {target}: {error.strerror}") from error


class SmtpTransport:
    """SMTP with STARTTLS (`smtp://`) or implicit TLS (`smtps://`), one connection per batch.

    The transaction is driven step by step (MAIL, RCPT, DATA) so that a failure
    before DATA is known to be safe to retry, and a lost connection during DATA is
    reported as uncertain instead of being retried blindly into a duplicate. A
    server that offers PIPELINING (Postfix, Exchange Online and Gmail do) gets
    MAIL, RCPT and DATA in one write: two round trips a mail instead of four, and
    the message text still goes only after the 354.
    """

    def __init__(self, settings: SmtpConfig, tokens: TokenSource | None = None) -> None:
        self.settings = settings
        self.tokens = tokens
        """The access tokens of `[smtp] auth = "oauth2"` (None: log in with the password)."""
        parts = urlsplit(settings.url)
        self.host = parts.hostname or "localhost"
        self.implicit_tls = parts.scheme == "smtps"
        self.port = parts.port or (465 if self.implicit_tls else 587)
        self.username = settings.username or (parts.username or "")
        self.connection: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpTransport:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self.connection is None:
            return
        try:
            self.connection.quit()
        except (smtplib.SMTPException, OSError):
            self.connection.close()
        self.connection = None

    def _connect(self) -> smtplib.SMTP:
        if self.connection is not None:
            return self.connection
        try:
            connection = self._open()
        except smtplib.SMTPAuthenticationError as error:
            # Wrong credentials stop every mail alike: pause sending (an outage, logged
            # once) instead of spending each mail's attempts on it.
            raise ServerUnavailable(f"SMTP login refused: {error.smtp_code}", error.smtp_code) from error
        except self._token_errors() as error:
            # No token, no sending: an outage like a refused password (the mailbox side alerts).
            raise ServerUnavailable(f"SMTP OAuth2 login: {error}") from error
        except (smtplib.SMTPException, OSError) as error:
            raise ServerUnavailable(f"cannot connect to {self.host}:{self.port}: {error}") from error
        self.connection = connection
        return connection

    def _token_errors(self) -> tuple[type[Exception], ...]:
        """What a failed OAuth2 token refresh raises; none without tokens (and no authlib loaded)."""
        if self.tokens is None:
            return ()
        from daemon.oauth.tokens import ReauthorizationNeeded, TokenUnavailable

        return (ReauthorizationNeeded, TokenUnavailable)

    def _open(self) -> smtplib.SMTP:
        """Connect, encrypt and log in; on any failure the socket is closed again."""
        timeout = self.settings.timeout
        if self.implicit_tls:
            connection: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            connection = smtplib.SMTP(self.host, self.port, timeout=timeout)
        try:
            connection.ehlo()
            if not self.implicit_tls:
                if connection.has_extn("starttls"):
                    # Made only for a server that encrypts: loading the system's CAs
                    # costs 17 ms, once a delivery round.
                    connection.starttls(context=ssl.create_default_context())
                    connection.ehlo()
                elif self.host not in LOOPBACK_HOSTS:
                    raise TemporaryFailure(f"{self.host} does not offer STARTTLS; refusing plain text")
            if self.tokens is not None:
                self._token_login(connection, self.tokens)
            elif self.username:
                connection.login(self.username, self.settings.password)
        except BaseException:
            # A refused STARTTLS, certificate or login left the socket open for the
            # garbage collector (a ResourceWarning, and a leak in a long-running daemon).
            connection.close()
            raise
        return connection

    def _token_login(self, connection: smtplib.SMTP, tokens: TokenSource) -> None:
        """AUTH XOAUTH2 / OAUTHBEARER as `username`; a refused token is refreshed and tried once more."""
        mechanism = tokens.settings.mechanism.upper()
        for attempt in (1, 2):
            response = sasl.initial_response(tokens.settings.mechanism, self.username, tokens.access_token())

            def answer(challenge: bytes | None = None, response: str = response) -> str:
                # After a refusal the server sends an error challenge; an empty line ends the exchange.
                return response if challenge is None else ""

            try:
                connection.auth(mechanism, answer, initial_response_ok=True)
                return
            except smtplib.SMTPAuthenticationError:
                tokens.invalidate()
                if attempt == 2:
                    raise

    def send(self, envelope_from: str, recipients: list[str], raw: bytes, name: str) -> None:
        connection = self._connect()
        options = self._mail_options(connection, envelope_from, recipients, raw)
        data_accepted = False
        try:
            if connection.has_extn("pipelining"):
                data_accepted = self._pipelined_envelope(connection, envelope_from, options, recipients)
            else:
                self._expect(connection.mail(envelope_from, options), "MAIL FROM")
                for recipient in recipients:
                    self._expect(connection.rcpt(recipient), f"RCPT TO {recipient}")
        except (smtplib.SMTPException, OSError) as error:
            self._drop()
            raise TemporaryFailure(f"SMTP conversation failed before DATA: {error}") from error
        except DeliveryError:
            self._reset()
            raise
        except BaseException:
            # Anything else leaves the conversation in a state nobody knows: the
            # next mail starts on a new connection.
            self._drop()
            raise
        try:
            code, reply = _message_text(connection, raw) if data_accepted else connection.data(raw)
        except (smtplib.SMTPServerDisconnected, OSError) as error:
            self._drop()
            raise UncertainOutcome(f"connection lost during DATA: {error}") from error
        except smtplib.SMTPResponseException as error:
            self._reset()
            raise _classify(error.smtp_code, error.smtp_error, "DATA") from error
        except BaseException:
            self._drop()
            raise
        finally:
            # smtplib keeps speaking UTF-8 after an SMTPUTF8 transaction until RSET.
            if self.connection is not None:
                self.connection.command_encoding = "ascii"
        if code != 250:
            self._reset()
            raise _classify(code, reply, "DATA")

    def _pipelined_envelope(
        self, connection: smtplib.SMTP, envelope_from: str, options: list[str], recipients: list[str]
    ) -> bool:
        """MAIL FROM, the RCPT TOs and, for one recipient, DATA in one write (RFC 2920); then their replies.

        Returns True when DATA went with them and was answered 354: the message text
        comes next. Every reply of the group is read before a failure is raised, so the
        connection stays in step for RSET and the next mail. With several recipients
        DATA waits for their replies: a server that took some of them and then DATA
        would deliver whatever followed to those, even a lone dot.
        """
        with_data = len(recipients) == 1
        if "SMTPUTF8" in options:
            # What smtplib's mail() does for SMTPUTF8; `send` puts it back to ASCII.
            connection.command_encoding = "utf-8"
        parameters = "".join(f" {option}" for option in options)
        commands = [f"MAIL FROM:{smtplib.quoteaddr(envelope_from)}{parameters}"]
        commands += [f"RCPT TO:{smtplib.quoteaddr(recipient)}" for recipient in recipients]
        if with_data:
            commands.append("DATA")
        connection.send("".join(f"{command}\r\n" for command in commands))
        failure: DeliveryError | None = None
        for step in ("MAIL FROM", *(f"RCPT TO {recipient}" for recipient in recipients)):
            code, reply = connection.getreply()
            if code not in (250, 251) and failure is None:
                failure = _classify(code, reply, step)
        if not with_data:
            if failure is not None:
                raise failure
            return False
        code, reply = connection.getreply()
        if code != 354:
            raise failure or _classify(code, reply, "DATA")
        if failure is not None:
            # RFC 2920 3.1: a server may take DATA although it took no recipient;
            # a lone dot then ends a message that goes nowhere.
            connection.send(b".\r\n")
            connection.getreply()
            raise failure
        return True

    def _mail_options(
        self, connection: smtplib.SMTP, envelope_from: str, recipients: list[str], raw: bytes
    ) -> list[str]:
        """The MAIL FROM parameters this mail needs; PermanentFailure when the server lacks them.

        An address or header in UTF-8 (`josé@example.com`) needs SMTPUTF8
        (RFC 6531); without it smtplib cannot even write the command. 8-bit
        content is announced as BODY=8BITMIME when the server takes it.
        """
        options = []
        needs = needs_smtputf8(envelope_from, recipients, raw)
        if needs:
            if not connection.has_extn("smtputf8"):
                raise PermanentFailure(f"{needs} needs SMTPUTF8, which {self.host} does not offer")
            options.append("SMTPUTF8")
        if not raw.isascii() and connection.has_extn("8bitmime"):
            options.append("BODY=8BITMIME")
        return options

    def _expect(self, answer: tuple[int, bytes], step: str) -> None:
        code, reply = answer
        if code not in (250, 251):
            raise _classify(code, reply, step)

    def _reset(self) -> None:
        if self.connection is None:
            return
        try:
            self.connection.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()

    def _drop(self) -> None:
        if self.connection is not None:
            self.connection.close()
        self.connection = None


def needs_smtputf8(envelope_from: str, recipients: list[str], raw: bytes) -> str:
    """What in this mail needs SMTPUTF8 ("recipient address", "sender address", "header"), or ""."""
    if not all(recipient.isascii() for recipient in recipients):
        return "recipient address"
    if not envelope_from.isascii():
        return "sender address"
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    return "" if head.isascii() else "header"


def _message_text(connection: smtplib.SMTP, raw: bytes) -> tuple[int, bytes]:
    """After a pipelined DATA's 354: the dot-stuffed text and its end, as smtplib's data() sends them."""
    text = _LINE_STARTING_WITH_DOT.sub(b"..", raw)
    if not text.endswith(b"\r\n"):
        text += b"\r\n"
    connection.send(text + b".\r\n")
    return connection.getreply()


_LINE_STARTING_WITH_DOT = re.compile(rb"(?m)^\.")


def _classify(code: int, reply: bytes | str, step: str) -> DeliveryError:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    message = f"{step} answered {code} {text.strip()}"
    if 400 <= code < 500:
        return TemporaryFailure(message, code)
    return PermanentFailure(message, code)


def make_transport(settings: SmtpConfig, tokens: TokenSource | None = None) -> Transport:
    """The transport `[smtp] url` names; `tokens` for `auth = "oauth2"`."""
    transport: Transport = (
        FileTransport(settings.file_path) if settings.scheme == "file" else SmtpTransport(settings, tokens)
    )
    if settings.redirect_to:
        return RedirectingTransport(transport, settings.redirect_to)
    return transport


def file_name_for(message_id: str, kind: str, reference: str) -> str:
    """A stable, safe file name for one outgoing mail (the same on every retry)."""
    digest = hashlib.sha256(message_id.encode("utf-8")).hexdigest()[:12]
    return f"{reference or 'caredesk'}-{kind}-{digest}"
