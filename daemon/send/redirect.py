"""`[smtp] redirect_to`: a staging desk sends every mail to one address, never to customers.

The outbox keeps each row's real recipient (a staging run then looks in the
database exactly as production would); only the delivery is turned aside. The
mail gains an `X-Caredesk-Original-To` header, so whoever reads the staging
inbox sees who would have had it.
"""

from __future__ import annotations

from email.header import Header
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from daemon.send.transports import Transport

ORIGINAL_TO = "X-Caredesk-Original-To"


def original_to_header(recipients: list[str]) -> bytes:
    """The header line naming the real recipients (RFC 2047-encoded when not ASCII)."""
    value = ", ".join(" ".join(r.split()) for r in recipients)
    if not value.isascii():
        value = Header(value, "utf-8").encode()
    return f"{ORIGINAL_TO}: {value}\r\n".encode("ascii")


class RedirectingTransport:
    """Wraps another transport: the envelope goes to `address`, the mail says to whom it was."""

    def __init__(self, inner: Transport, address: str) -> None:
        self.inner = inner
        self.address = address

    def __enter__(self) -> RedirectingTransport:
        self.inner.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.inner.__exit__(exc_type, exc, tb)

    def send(self, envelope_from: str, recipients: list[str], raw: bytes, name: str) -> None:
        self.inner.send(envelope_from, [self.address], original_to_header(recipients) + raw, name)
