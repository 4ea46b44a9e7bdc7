"""SMTP PIPELINING (RFC 2920): MAIL, RCPT and DATA in one write where the server offers it.

Driven through `SmtpTransport` against the loopback aiosmtpd sink, once
announcing PIPELINING and once not. The sink counts the command lines that were
already waiting when it answered MAIL FROM, which is how a test sees the client
did not wait for each reply. The outcomes must be the same either way: the same
bytes delivered, the same failure classes, and a connection that stays in step
for the next mail after any refusal.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from daemon.config import SmtpConfig
from daemon.send.transports import PermanentFailure, SmtpTransport, TemporaryFailure, UncertainOutcome
from tests.integration.helpers import CARE_ADDRESS
from tests.servers import SmtpSink

pytestmark = pytest.mark.integration

BUDI = "budi@example.net"
SITI = "siti@example.net"
# A line that is a lone dot, one that starts with a dot, and no line break at the end:
# the text must be dot-stuffed and ended the way smtplib's data() does it.
RAW = (
    b"From: Budi <budi@example.net>\r\nTo: care@example.com\r\nSubject: dots\r\n"
    b"Message-ID: <dots@example.net>\r\n\r\nfirst\r\n.\r\n.hidden line\r\nlast"
)


def _transport(sink: SmtpSink) -> SmtpTransport:
    settings = SmtpConfig(
        url=sink.url, username="", password="", timeout=10, max_attempts=3, retry_base_seconds=1
    )
    return SmtpTransport(settings)


@pytest.fixture(params=[True, False], ids=["pipelining", "one-by-one"])
def sink(request: pytest.FixtureRequest) -> Iterator[SmtpSink]:
    with SmtpSink(pipelining=request.param, smtputf8=True) as server:
        yield server


def test_one_recipient_goes_in_one_write_and_arrives_byte_for_byte(sink: SmtpSink) -> None:
    with _transport(sink) as transport:
        transport.send(CARE_ADDRESS, [BUDI], RAW, "dots")
        transport.send(CARE_ADDRESS, [SITI], RAW, "dots-again")

    first, second = sink.wait_for(2)
    # RCPT TO and DATA were behind MAIL FROM when the server read it, or nothing was.
    assert (first.commands_ahead, second.commands_ahead) == ((2, 2) if sink.pipelining else (0, 0))
    assert first.rcpt_tos == [BUDI] and second.rcpt_tos == [SITI]
    # aiosmtpd undoes the dot-stuffing; the text ends with the line break the client added.
    assert first.data == RAW + b"\r\n"
    assert first.message["Subject"] == "dots"
    # Else Nagle holds the sink's second reply of a pipelined group for the client's
    # delayed ACK (40 ms a mail), which no real server costs.
    assert first.nodelay and second.nodelay


def test_several_recipients_wait_for_their_replies_before_data(sink: SmtpSink) -> None:
    with _transport(sink) as transport:
        transport.send(CARE_ADDRESS, [BUDI, SITI], RAW, "two")

    [received] = sink.wait_for(1)
    assert received.rcpt_tos == [BUDI, SITI]
    # Both RCPT TOs came with MAIL FROM; DATA did not.
    assert received.commands_ahead == (2 if sink.pipelining else 0)
    assert received.data == RAW + b"\r\n"


@pytest.mark.parametrize(
    ("stage", "code", "failure", "step"),
    [
        ("mail", 451, TemporaryFailure, "MAIL FROM"),
        ("mail", 550, PermanentFailure, "MAIL FROM"),
        ("rcpt", 450, TemporaryFailure, f"RCPT TO {BUDI}"),
        ("rcpt", 550, PermanentFailure, f"RCPT TO {BUDI}"),
        ("data", 554, PermanentFailure, "DATA"),
    ],
)
def test_a_refusal_fails_that_mail_alone_and_the_next_one_goes(
    sink: SmtpSink, stage: str, code: int, failure: type[Exception], step: str
) -> None:
    sink.fail_next(code=code, message="refused here", stage=stage)  # type: ignore[arg-type]
    with _transport(sink) as transport:
        with pytest.raises(failure, match=f"^{step} answered {code} refused here$") as refused:
            transport.send(CARE_ADDRESS, [BUDI], RAW, "refused")
        assert getattr(refused.value, "code", None) == code
        # The replies of the whole group were read and the transaction reset:
        # the same connection carries the next mail.
        connection = transport.connection
        assert connection is not None
        transport.send(CARE_ADDRESS, [SITI], RAW, "next")
        assert transport.connection is connection

    [delivered] = sink.wait_for(1)
    assert delivered.rcpt_tos == [SITI]


def test_refused_recipients_of_several_send_no_data(sink: SmtpSink) -> None:
    sink.fail_next(code=550, message="5.1.1 unknown", stage="rcpt")
    with _transport(sink) as transport:
        with pytest.raises(PermanentFailure, match=f"^RCPT TO {BUDI} answered 550"):
            transport.send(CARE_ADDRESS, [BUDI, SITI], RAW, "two")
        transport.send(CARE_ADDRESS, [SITI], RAW, "next")

    [delivered] = sink.wait_for(1)
    assert delivered.rcpt_tos == [SITI]


def test_a_server_that_takes_data_after_refusing_the_recipient_gets_no_text() -> None:
    """RFC 2920 3.1: the client must read DATA's reply too; after a 354 a lone dot ends it."""
    with SmtpSink(pipelining=True) as sink:
        sink.refuse_recipient_but_take_data_next()
        with _transport(sink) as transport:
            with pytest.raises(PermanentFailure, match=f"^RCPT TO {BUDI} answered 550"):
                transport.send(CARE_ADDRESS, [BUDI], RAW, "refused")
            transport.send(CARE_ADDRESS, [SITI], RAW, "next")

        empty, delivered = sink.wait_for(2)
    # What the careless server took in the refused transaction: nothing of the mail.
    assert empty.data == b""
    assert delivered.rcpt_tos == [SITI] and delivered.data == RAW + b"\r\n"


def test_connection_lost_after_the_text_is_uncertain(sink: SmtpSink) -> None:
    sink.disconnect_after_data_next()
    with _transport(sink) as transport:
        with pytest.raises(UncertainOutcome):
            transport.send(CARE_ADDRESS, [BUDI], RAW, "lost")
        assert transport.connection is None
        transport.send(CARE_ADDRESS, [SITI], RAW, "after")

    lost, after = sink.wait_for(2)
    assert not lost.acknowledged and lost.data == RAW + b"\r\n"
    assert after.acknowledged and after.rcpt_tos == [SITI]


def test_utf8_address_is_pipelined_with_smtputf8_and_the_next_mail_is_ascii_again(sink: SmtpSink) -> None:
    jose = "josé@example.com"
    with _transport(sink) as transport:
        transport.send(CARE_ADDRESS, [jose], RAW, "utf8")
        transport.send(CARE_ADDRESS, [BUDI], RAW, "ascii")
        connection = transport.connection
        assert connection is not None and connection.command_encoding == "ascii"

    to_jose, to_budi = sink.wait_for(2)
    assert to_jose.rcpt_tos == [jose] and "SMTPUTF8" in to_jose.mail_options
    assert to_budi.rcpt_tos == [BUDI] and "SMTPUTF8" not in to_budi.mail_options
