"""Customer care's answers in the Sent folder, arrival times, and what staff are told (issue 12, 4 and 12).

Over real IMAP (Dovecot) and SMTP (aiosmtpd), on SQLite and PostgreSQL, with
the daemon's clock injected, on the rules of `test_staff_workflow_sla`:

* an answer customer care sends from the mailbox, found in its Sent folder,
  meets the first response; the folder is only read, and nothing else there
  becomes a ticket or gets an answer;
* a ticket is received when the server received its mail (INTERNALDATE), not
  when caredesk got round to it; an arrival time in the future is not believed;
* a resolution without a target date for the corrective action is refused,
  and the confirmation says what to add;
* the confirmation points staff at the published command guide, or lists the
  commands, never at a file of the source tree;
* a complaint opened from a survey answer is named with the customer's words.
"""

from __future__ import annotations

import email
import email.policy
import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

import pytest

from daemon.app.service import Daemon
from daemon.config import load_config
from daemon.store.models import InboundMessage
from tests.clockpin import SteppedClock, config_variables
from tests.integration.helpers import CARE_ADDRESS, TRUST_OUR_MX, inbound, outbound, tickets, write_config
from tests.integration.test_staff_workflow_sla import (
    CIRCULATION,
    MEMBER,
    RULES,
    _complaint,
    _events,
    _reply,
    _sent,
    _ticket,
    wib,
)

pytestmark = pytest.mark.integration

CUSTOMER = "dewi.lestari81@gmail.com"
HELP_URL = "https://intranet.example.co.id/caredesk/perintah"

Desk = Callable[..., AbstractContextManager[dict[str, Any]]]


@pytest.fixture
def open_desk(
    tmp_path: Path, database_url: str, dovecot: Any, smtp_sink: Any, monkeypatch: pytest.MonkeyPatch
) -> Desk:
    """Starts the daemon on this test's servers, with extra top-level and `[mailbox]` settings."""
    for name in config_variables():
        monkeypatch.delenv(name)
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)

    @contextmanager
    def start(top: str = "", mailbox: str = "") -> Iterator[dict[str, Any]]:
        path = write_config(
            tmp_path,
            database_url=database_url,
            mailbox_url=dovecot.url,
            smtp_url=smtp_sink.url,
            rules=rules,
            extra=f"{top}\n{TRUST_OUR_MX}",
        )
        path.write_text(path.read_text().replace("[mailbox]\n", f"[mailbox]\n{mailbox}\n"))
        clock = SteppedClock(wib(7, 21, 10))
        with Daemon(load_config(path), clock=clock) as daemon:
            yield {"daemon": daemon, "clock": clock, "imap": dovecot, "smtp": smtp_sink, "url": database_url}

    return start


def _run_at(desk: dict[str, Any], moment: datetime) -> None:
    desk["clock"].now = moment
    desk["daemon"].run_once()


def _append(desk: dict[str, Any], raw: bytes, folder: str = "INBOX", at: datetime | None = None) -> None:
    """APPEND a mail as the server would have received it at `at` (its INTERNALDATE)."""
    with desk["imap"].connection() as client:
        client.append(folder, raw, msg_time=at)


def _sent_from_mailbox(to: str, subject: str, body: str, in_reply_to: str | None, at: datetime) -> bytes:
    """A mail customer care wrote in their mail program, From the shared mailbox, as it is kept in Sent."""
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = f"Customer Care <{CARE_ADDRESS}>"
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="example.co.id")
    message["Date"] = format_datetime(at)
    message["User-Agent"] = "Mozilla Thunderbird"
    if in_reply_to:
        message["In-Reply-To"] = message["References"] = in_reply_to
    message.set_content(body)
    return message.as_bytes()


def _flags(desk: dict[str, Any], folder: str) -> list[tuple[bytes, ...]]:
    with desk["imap"].connection() as client:
        client.select_folder(folder, readonly=True)
        fetched = client.fetch(client.search("ALL"), ["FLAGS"])
        return [tuple(fetched[uid][b"FLAGS"]) for uid in sorted(fetched)]


def _all_sent(desk: dict[str, Any], kind: str) -> list[EmailMessage]:
    messages = [email.message_from_bytes(m.data, policy=email.policy.default) for m in desk["smtp"].messages]
    return [m for m in messages if f".{kind}@" in str(m["Message-ID"])]  # type: ignore[misc]


def _rows_from(desk: dict[str, Any], prefix: str) -> list[InboundMessage]:
    return [row for row in inbound(desk["url"]) if row.source.startswith(prefix)]


# --- point 4: the Sent folder ---------------------------------------------------------------


def test_reply_sent_from_mailbox_counts_as_first_response(open_desk: Desk) -> None:
    with open_desk(mailbox='sent_folder = "Sent"') as desk:
        desk["imap"].create_folder("Sent")
        # Sent before caredesk read the folder: not caredesk's to count. Mail in Sent carries
        # no Authentication-Results (it never passed a receiving server): none is needed there.
        old = _sent_from_mailbox(
            "supplier@example.org", "Pesanan kertas", "Mohon dikirim.", None, wib(7, 1, 9)
        )
        _append(desk, old, "Sent", wib(7, 1, 9))
        complaint = _complaint(CUSTOMER, "Dewi Lestari")
        _append(desk, complaint, at=wib(7, 21, 9, 59))
        _run_at(desk, wib(7, 21, 10))
        ticket = _ticket(desk, CUSTOMER)
        assert ticket.first_responded_at is None
        assert _rows_from(desk, "sent:") == []

        complaint_id = str(email.message_from_bytes(complaint)["Message-ID"])
        answer = _sent_from_mailbox(
            f"Dewi Lestari <{CUSTOMER}>",
            "Re: Koran langganan tidak diantar sejak Senin",
            "Yth. Ibu Dewi,\n\nKoran Ibu diantar ulang hari ini paling lambat pukul 14.00.\n\nRina\n",
            complaint_id,
            wib(7, 21, 11, 3),
        )
        other = _sent_from_mailbox(
            "agen.sukamaju@example.net", "Pengantaran Jl. Kenanga", "Tolong antar.", None, wib(7, 21, 11, 4)
        )
        _append(desk, answer, "Sent", wib(7, 21, 11, 3))
        _append(desk, other, "Sent", wib(7, 21, 11, 4))
        before = _flags(desk, "Sent")
        _run_at(desk, wib(7, 21, 11, 10))
        _run_at(desk, wib(7, 21, 11, 20))  # read once: the folder's own checkpoint

        ticket = _ticket(desk, CUSTOMER)
        assert ticket.first_responded_at == wib(7, 21, 11, 3)
        [care] = [e for e in _events(desk, ticket) if e.action == "care-answer"]
        assert care.actor == CARE_ADDRESS and "diantar ulang hari ini" in (care.new_value or "")
        assert "in the Sent folder" in care.reason
        rows = _rows_from(desk, "sent:")
        assert [(row.state, row.ticket_id) for row in rows] == [("processed", ticket.id), ("ignored", None)]
        assert all(row.source.endswith("/Sent") and row.disposition == "done" for row in rows)
        # Never answered, never a ticket; the folder is as care left it.
        assert [m for m in outbound(desk["url"]) if m.cause_inbound_id in {row.id for row in rows}] == []
        assert len(tickets(desk["url"])) == 1
        assert _flags(desk, "Sent") == before and len(before) == 3
        assert desk["imap"].count("Sent") == 3


# --- point 12d: received when the server received it ----------------------------------------


def test_ticket_received_at_is_server_arrival_time(open_desk: Desk) -> None:
    with open_desk() as desk:
        # The server took it on Monday at 16:00; caredesk was down and processes it on Tuesday at 10:00.
        _append(desk, _complaint(CUSTOMER, "Dewi Lestari"), at=wib(7, 20, 16))
        # A server clock a day ahead is not believed: processing time instead.
        _append(desk, _complaint("budi@example.net", "Budi"), at=wib(7, 22, 10))
        _run_at(desk, wib(7, 21, 10))

        early, ahead = _ticket(desk, CUSTOMER), _ticket(desk, "budi@example.net")
        assert early.received_at == wib(7, 20, 16)
        # The SLA clock started at arrival: one working day from Monday 16:00 ends on Tuesday,
        # not on Wednesday as it would from the processing time.
        assert early.first_response_due is not None and early.first_response_due <= wib(7, 21, 17)
        assert ahead.first_response_due is not None and ahead.first_response_due > wib(7, 22, 0)
        assert ahead.received_at == wib(7, 21, 10)
        rows = {row.ticket_id: row for row in inbound(desk["url"])}
        assert rows[early.id].arrived_at == wib(7, 20, 16)
        assert rows[ahead.id].arrived_at == rows[ahead.id].received_at == wib(7, 21, 10)


# --- point 12e: no resolution without a target date -----------------------------------------


def test_resolution_without_target_date_is_refused(open_desk: Desk) -> None:
    with open_desk() as desk:
        _append(desk, _complaint(CUSTOMER, "Dewi Lestari"))
        _run_at(desk, wib(7, 21, 10))
        [notice] = _sent(desk, CIRCULATION, "notice")
        body = "#root-cause Agen libur tanpa pengganti\n#action Koran diantar agen Depok\n#status resolved"
        _append(desk, _reply(MEMBER, notice, body))
        _run_at(desk, wib(7, 21, 11))

        ticket = _ticket(desk, CUSTOMER)
        assert (ticket.status, ticket.root_cause) == ("in-progress", "Agen libur tanpa pengganti")
        assert _sent(desk, CUSTOMER, "resolution") == []
        [confirmation] = _sent(desk, MEMBER, "confirmation")
        text = confirmation.get_content()
        assert "cannot resolve: the target date of the corrective action is missing" in text
        assert "#target <date>" in text and "1 ditolak / refused" in str(confirmation["Subject"])

        _append(desk, _reply(MEMBER, notice, "#target 31-07-2026\n#status resolved"))
        _run_at(desk, wib(7, 21, 12))
        assert _ticket(desk, CUSTOMER).status == "resolved"
        assert len(_sent(desk, CUSTOMER, "resolution")) == 1


# --- point 12g: the command guide -----------------------------------------------------------


def _confirmation_text(desk: dict[str, Any]) -> str:
    _append(desk, _complaint(CUSTOMER, "Dewi Lestari"))
    _run_at(desk, wib(7, 21, 10))
    [notice] = _sent(desk, CIRCULATION, "notice")
    _append(desk, _reply(MEMBER, notice, "#note dicek besok pagi"))
    _run_at(desk, wib(7, 21, 11))
    [confirmation] = _sent(desk, MEMBER, "confirmation")
    return str(confirmation.get_content())


@pytest.mark.parametrize("help_url", [HELP_URL, ""], ids=["published", "unset"])
def test_department_confirmation_links_help_not_repo_docs(open_desk: Desk, help_url: str) -> None:
    with open_desk(top=f'help_url = "{help_url}"') as desk:
        text = _confirmation_text(desk)
    assert "docs/departments.md" not in text
    if help_url:
        assert HELP_URL in text and "#tenggat" not in text
    else:
        # The short list itself, every command with its Indonesian spelling.
        for command in ("#status", "#akar-masalah", "#tindakan", "#tenggat", "#efektif", "#balas"):
            assert command in text


# --- point 12c: the survey's complaint in the customer's words --------------------------------


def test_survey_complaint_uses_customers_words(open_desk: Desk) -> None:
    with open_desk() as desk:
        _append(desk, _complaint(CUSTOMER, "Dewi Lestari"))
        _run_at(desk, wib(7, 21, 10))
        first = _ticket(desk, CUSTOMER)
        [notice] = _sent(desk, CIRCULATION, "notice")
        body = (
            "#root-cause Agen libur\n#action Agen pengganti\n#target 31-07-2026\n#effective yes sudah diantar"
        )
        _append(desk, _reply(MEMBER, notice, body))
        _run_at(desk, wib(7, 21, 11))
        [survey] = _sent(desk, CUSTOMER, "survey")
        words = "Koran masih sering datang siang, dan agennya tidak ramah kepada kami sekeluarga setiap pagi"
        _append(desk, _reply(CUSTOMER, survey, f"2\n{words}"))
        _run_at(desk, wib(7, 21, 13))

        [opened] = [t for t in tickets(desk["url"]) if t.id != first.id]
        assert opened.subject.startswith("Koran masih sering datang siang, dan agennya tidak ramah")
        assert opened.subject.endswith("…") and len(opened.subject) <= 81
        assert "Survei" not in opened.subject and first.reference not in opened.subject
        assert opened.related_ticket_id == first.id
        [second] = [m for m in _all_sent(desk, "notice") if opened.reference in str(m["Subject"])]
        assert "Koran masih sering datang siang" in str(second["Subject"])
        assert f"satisfaction survey of ticket {first.reference}" in second.get_content()


def test_maildir_sent_folder_answer_and_file_time_arrival(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same on a Maildir: a `.Sent` subfolder, read only, and the file's time as the arrival."""
    for name in config_variables():
        monkeypatch.delenv(name)
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    maildir = tmp_path / "mail"
    (maildir / "new").mkdir(parents=True)
    path = write_config(
        tmp_path,
        database_url=database_url,
        mailbox_url=f"maildir:{maildir}",
        smtp_url=f"file:{tmp_path / 'outbox'}",
        rules=rules,
        extra=TRUST_OUR_MX,
    )
    path.write_text(path.read_text().replace("[mailbox]\n", '[mailbox]\nsent_folder = "Sent"\n'))
    complaint = _complaint(CUSTOMER, "Dewi Lestari")
    dropped = maildir / "new" / "1784599200.M1P1.host"
    dropped.write_bytes(complaint)
    arrived = wib(7, 20, 16)
    os.utime(dropped, (arrived.timestamp(), arrived.timestamp()))
    clock = SteppedClock(wib(7, 21, 10))
    with Daemon(load_config(path), clock=clock) as daemon:
        daemon.poll_mailbox()
        assert (maildir / ".Sent" / "new").is_dir()  # made for customer care's mail program
        answer = _sent_from_mailbox(
            CUSTOMER,
            "Re: Koran langganan tidak diantar sejak Senin",
            "Koran Ibu diantar ulang hari ini.\n",
            str(email.message_from_bytes(complaint)["Message-ID"]),
            wib(7, 21, 11, 3),
        )
        kept = maildir / ".Sent" / "cur" / "1784606580.M2P1.host:2,S"
        kept.write_bytes(answer)
        clock.now = wib(7, 21, 11, 10)
        daemon.poll_mailbox()
        daemon.poll_mailbox()
    [ticket] = tickets(database_url)
    assert ticket.received_at == arrived
    assert ticket.first_responded_at is not None and ticket.first_responded_at <= wib(7, 21, 11, 10)
    [row] = [row for row in inbound(database_url) if row.source.startswith("sent:")]
    assert (row.state, row.ticket_id, row.source) == (
        "processed",
        ticket.id,
        f"sent:maildir:{maildir / '.Sent'}",
    )
    assert kept.read_bytes() == answer  # never moved or renamed
