"""SMTP faults: an outage, 4xx and 5xx answers, a connection lost after DATA, a server that stalls.

The outbox must deliver every mail exactly once when it can, retry what is
temporary, give up on what is permanent and say so, and never resend an
acknowledgement whose fate is unknown (reliability.md §2.2), while a department
notice or an escalation in that state is resent with the identical bytes and
Message-ID: a duplicate beats a lost escalation.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.faults.harness import (
    Corpus,
    DaemonProcess,
    check_invariants,
    fault_config,
    kinds_of,
    recover,
    run_once,
    settled,
    smtp_url,
    states,
    wait_until,
)
from tests.faults.proxy import TcpProxy
from tests.integration.helpers import outbound, tickets
from tests.servers import Dovecot, SmtpSink

pytestmark = pytest.mark.integration

OUTAGE_SECONDS = 60
OUTAGE_LINE = "mail server unavailable"


def _database(folder: Path) -> str:
    return f"sqlite:///{folder}/caredesk.db"


def _config(folder: Path, dovecot: Dovecot, smtp: str, extra: str = "") -> Path:
    return fault_config(
        folder, database_url=_database(folder), mailbox_url=dovecot.url, smtp_url=smtp, smtp=extra
    )


def _copies(sink: SmtpSink, message_id: str) -> list[bytes]:
    return [r.data for r in sink.messages if str(r.message["Message-ID"]).strip() == message_id]


def test_smtp_outage_of_a_minute_is_logged_once_and_every_mail_goes_out_once_after(
    tmp_path: Path, dovecot: Dovecot, smtp_sink: SmtpSink
) -> None:
    """The server is down for 60 s while mail keeps coming in.

    ``max_attempts = 3`` with 1 s retries is as much patience as the default
    settings have over two hours: an outage must not use up the mails' attempts
    (nobody answered; that is not the mail's fault), or they would all end
    `failed` when the server comes back.
    """
    database = _database(tmp_path)
    config = _config(tmp_path, dovecot, smtp_sink.url, "max_attempts = 3")
    corpus = Corpus()
    smtp_sink.stop()
    down_since = time.monotonic()
    dovecot.append_many(corpus.complaint_mails(3))
    with DaemonProcess(config) as daemon:
        daemon.wait_for(OUTAGE_LINE)
        daemon.wait_for("ticket CC-", 3)
        dovecot.append_many(corpus.complaint_mails(3))
        daemon.wait_for("ticket CC-", 6)
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down_since)))

        assert len(tickets(database)) == 6
        during = states(outbound(database))
        # Nothing went out or used up its tries; one row may be mid-probe.
        assert set(during) <= {"pending", "retry", "sending"}, during
        assert during["sending"] <= 1, during
        # The row being probed is `retry` between tries and `sending` during one.
        assert during["retry"] + during["sending"] >= 1, during
        assert daemon.count(OUTAGE_LINE) == 1, daemon.output
        assert daemon.process.poll() is None

        smtp_sink.start()
        back = time.monotonic()
        daemon.wait_for("mail server reachable again")
        wait_until(lambda: settled(database, dovecot), 30, "every mail delivered")
        delivered_after = time.monotonic() - back
        assert daemon.terminate() == 0

    state = check_invariants(corpus, database, dovecot, smtp_sink, final=True)
    assert states(state.outbox) == {"sent": 12}
    assert len(smtp_sink.messages) == 12
    assert daemon.count(OUTAGE_LINE) == 1
    # Nothing waits out a backoff that grew during the outage: the next polls send it.
    assert delivered_after < 10, f"took {delivered_after:.1f}s after the server came back"


def test_temporary_refusals_at_mail_rcpt_and_data_are_retried_and_delivered_once(
    tmp_path: Path, dovecot: Dovecot, smtp_sink: SmtpSink
) -> None:
    database = _database(tmp_path)
    corpus = Corpus()
    dovecot.append(corpus.complaint("c0", "siti@example.net"))
    # Per transaction, in order: the ack (MAIL), the notice (RCPT), the ack again (DATA).
    smtp_sink.fail_next(1, code=451, stage="mail")
    smtp_sink.fail_next(1, code=452, message="4.2.2 mailbox busy", stage="rcpt")
    smtp_sink.fail_next(1, code=451, message="4.3.0 queue full", stage="data")

    outputs = recover(_config(tmp_path, dovecot, smtp_sink.url), database, dovecot)

    state = check_invariants(corpus, database, dovecot, smtp_sink, final=True)
    assert states(state.outbox) == {"sent": 2}
    assert sorted(row.attempts for row in state.outbox) == [2, 3]
    assert len(smtp_sink.messages) == 2
    log = "".join(outputs)
    assert log.count("deferred") == 3, log


def test_permanent_refusal_fails_that_mail_tells_the_operator_and_leaves_the_ticket(
    tmp_path: Path, dovecot: Dovecot, smtp_sink: SmtpSink
) -> None:
    database = _database(tmp_path)
    corpus = Corpus()
    dovecot.append(corpus.complaint("c0", "nobody-here@example.net"))
    smtp_sink.fail_next(1, code=550, message="5.1.1 <nobody-here@example.net>: user unknown", stage="rcpt")
    config = _config(tmp_path, dovecot, smtp_sink.url)

    output = run_once(config)
    output += run_once(config)

    state = check_invariants(corpus, database, dovecot, smtp_sink, final=True)
    ack, notice = sorted(state.outbox, key=lambda row: row.kind)
    assert (ack.kind, ack.state, ack.last_code, ack.attempts) == ("ack", "failed", 550, 1)
    assert notice.state == "sent"
    assert [line for line in output.splitlines() if "failed permanently" in line and ack.recipient in line]
    [ticket] = tickets(database)
    assert ticket.status == "assigned"
    assert kinds_of(database, [mid for mid, _ in state.sent]) == ["notice"]


def test_acknowledgement_lost_after_data_is_uncertain_and_never_resent(
    tmp_path: Path, dovecot: Dovecot, smtp_sink: SmtpSink
) -> None:
    database = _database(tmp_path)
    corpus = Corpus()
    dovecot.append(corpus.complaint("c0", "rina@example.net"))
    smtp_sink.disconnect_after_data_next(1)
    config = _config(tmp_path, dovecot, smtp_sink.url)

    run_once(config)
    time.sleep(2)  # past any 1 s retry the row could have been given
    run_once(config)

    state = check_invariants(corpus, database, dovecot, smtp_sink, final=True)
    by_kind = {row.kind: row for row in state.outbox}
    assert by_kind["ack"].state == "uncertain"
    assert by_kind["notice"].state == "sent"
    [copy] = [r for r in smtp_sink.messages if "rina@example.net" in r.rcpt_tos]
    assert copy.acknowledged is False


def test_notice_and_escalation_lost_after_data_are_resent_with_the_same_message_id(
    tmp_path: Path, dovecot: Dovecot, smtp_sink: SmtpSink
) -> None:
    database = _database(tmp_path)
    corpus = Corpus()
    dovecot.append(corpus.complaint("c0", "hendra@example.net", major=True))
    # The ack is put off with a 451, so the next two transactions are the notice
    # and the escalation; both lose their connection after the data went out.
    smtp_sink.fail_next(1, code=451, stage="mail")
    smtp_sink.disconnect_after_data_next(2)

    recover(_config(tmp_path, dovecot, smtp_sink.url), database, dovecot)

    state = check_invariants(corpus, database, dovecot, smtp_sink, final=True)
    assert {row.kind: row.state for row in state.outbox} == {
        "ack": "sent",
        "notice": "sent",
        "escalation": "sent",
    }
    for row in state.outbox:
        copies = _copies(smtp_sink, row.message_id)
        if row.kind == "ack":
            assert len(copies) == 1
        else:
            assert len(copies) == 2, f"{row.kind}: {len(copies)} copies"
            assert copies[0] == copies[1], f"{row.kind} was resent with other bytes"


def test_smtp_server_that_stalls_beyond_the_timeout(
    tmp_path: Path, dovecot: Dovecot, smtp_sink: SmtpSink, smtp_proxy: TcpProxy
) -> None:
    """Through the proxy, with ``[smtp] timeout = 2``: first the server's answer
    to the acknowledgement's data is held back (the mail arrived, the client
    cannot know), then no greeting comes at all. Each wait ends after the
    timeout; the ack is left uncertain, the notice is delivered once the server
    answers again."""
    database = _database(tmp_path)
    corpus = Corpus()
    dovecot.append(corpus.complaint("c0", "agus@example.net"))
    stalled_at: list[float] = []

    def stall() -> None:
        stalled_at.append(time.monotonic())
        smtp_proxy.stall("down")

    held = smtp_proxy.when_client_sends(b"\r\n.\r\n", stall)
    config = _config(tmp_path, dovecot, smtp_url(smtp_proxy), "timeout = 2")

    with DaemonProcess(config) as daemon:
        line = daemon.wait_for("uncertain")
        assert held.is_set()
        daemon.wait_for(OUTAGE_LINE)
        stalled_for = time.monotonic() - stalled_at[0]
        smtp_proxy.resume()
        wait_until(lambda: settled(database, dovecot), 30, "the notice delivered")
        assert daemon.terminate() == 0

    assert "agus@example.net" in line
    state = check_invariants(corpus, database, dovecot, smtp_sink, final=True)
    assert {row.kind: row.state for row in state.outbox} == {"ack": "uncertain", "notice": "sent"}
    assert [r.acknowledged for r in smtp_sink.messages if "agus@example.net" in r.rcpt_tos] == [True]
    # From the held answer to the outage line: two waits of 2 s, bounded by the
    # timeout, not by the server (which would stall until resumed).
    assert stalled_for < 12, f"{stalled_for:.1f}s"
