"""Fixtures of the fault-injection suite: TCP proxies in front of the test servers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.faults.proxy import TcpProxy
from tests.servers import Dovecot, SmtpSink


@pytest.fixture
def imap_proxy(dovecot: Dovecot) -> Iterator[TcpProxy]:
    """A proxy in front of the test's Dovecot; the daemon connects to ``imap_url(proxy)``."""
    with TcpProxy(dovecot.host, dovecot.port) as proxy:
        yield proxy


@pytest.fixture
def smtp_proxy(smtp_sink: SmtpSink) -> Iterator[TcpProxy]:
    """A proxy in front of the test's SMTP sink; the daemon sends to ``smtp_url(proxy)``."""
    with TcpProxy(smtp_sink.host, smtp_sink.port) as proxy:
        yield proxy
