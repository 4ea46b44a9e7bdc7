"""The fault proxy itself: it forwards, and it cuts, stalls and refuses when told to.

The fault tests trust it to break connections at the moment they choose; these
tests make sure it does, in front of the SMTP sink, with smtplib as the client.
"""

from __future__ import annotations

import smtplib
import socket
import time

import pytest

from tests.faults.proxy import TcpProxy
from tests.servers import SmtpSink

pytestmark = pytest.mark.integration


def _client(proxy: TcpProxy, timeout: float = 5.0) -> smtplib.SMTP:
    return smtplib.SMTP(proxy.host, proxy.port, local_hostname="client.test", timeout=timeout)


def test_forwards_a_whole_smtp_transaction_and_counts_the_bytes(
    smtp_proxy: TcpProxy, smtp_sink: SmtpSink
) -> None:
    with _client(smtp_proxy) as client:
        client.sendmail("a@example.net", ["b@example.net"], b"Subject: hi\r\n\r\nhello\r\n")
    assert [r.rcpt_tos for r in smtp_sink.wait_for(1)] == [["b@example.net"]]
    assert smtp_proxy.stats.connections == 1
    assert smtp_proxy.stats.bytes_up > 0 and smtp_proxy.stats.bytes_down > 0


def test_refuse_closes_the_listener_and_accept_opens_it_again_on_the_same_port(
    smtp_proxy: TcpProxy, smtp_sink: SmtpSink
) -> None:
    port = smtp_proxy.port
    smtp_proxy.refuse()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((smtp_proxy.host, port), timeout=2).close()
    smtp_proxy.accept()
    assert smtp_proxy.port == port
    with _client(smtp_proxy) as client:
        assert client.noop()[0] == 250


def test_cut_ends_open_connections_and_a_byte_trigger_fires_once(
    smtp_proxy: TcpProxy, smtp_sink: SmtpSink
) -> None:
    fired = smtp_proxy.when_server_sent(0, smtp_proxy.cut)
    with pytest.raises(smtplib.SMTPServerDisconnected):
        _client(smtp_proxy)  # the greeting is the first byte: cut before it arrives
    assert fired.is_set()
    assert smtp_proxy.stats.cuts == 1
    with _client(smtp_proxy) as client:  # one-shot: the next connection is left alone
        assert client.noop()[0] == 250


def test_stall_holds_the_answers_until_resumed(smtp_proxy: TcpProxy, smtp_sink: SmtpSink) -> None:
    client = _client(smtp_proxy, timeout=1)
    try:
        smtp_proxy.stall("down")
        started = time.monotonic()
        with pytest.raises(smtplib.SMTPServerDisconnected, match="timed out"):
            client.noop()
        assert 0.9 < time.monotonic() - started < 3
    finally:
        client.close()
    smtp_proxy.resume()
    with _client(smtp_proxy) as again:
        assert again.noop()[0] == 250


def test_client_marker_trigger_sees_a_marker_split_over_two_writes(
    smtp_proxy: TcpProxy, smtp_sink: SmtpSink
) -> None:
    fired = smtp_proxy.when_client_sends(b"NOOP", lambda: None)
    with socket.create_connection((smtp_proxy.host, smtp_proxy.port), timeout=5) as raw:
        raw.recv(1024)  # greeting
        raw.sendall(b"NO")
        time.sleep(0.2)  # two separate reads on the proxy side
        assert not fired.is_set()
        raw.sendall(b"OP\r\n")
        assert raw.recv(1024).startswith(b"250")
    assert fired.is_set()


def test_timed_stall_resumes_by_itself(smtp_proxy: TcpProxy, smtp_sink: SmtpSink) -> None:
    with _client(smtp_proxy) as client:
        smtp_proxy.stall("both", seconds=1.0)
        started = time.monotonic()
        assert client.noop()[0] == 250
        assert 0.9 < time.monotonic() - started < 3
