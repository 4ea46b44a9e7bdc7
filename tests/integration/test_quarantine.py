"""A mail that fails is retried with backoff, then held for a person; it never
blocks the mail behind it and is never lost. `caredesk quarantine` shows, replays
and discards it."""

from __future__ import annotations

import email
import email.message
import email.policy
import getpass
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from daemon.app.service import Daemon
from daemon.cli import main
from daemon.config import load_config
from daemon.tickets import processing
from daemon.tickets.complaints import NewComplaints
from tests import mailfactory
from tests.clockpin import config_variables
from tests.integration.helpers import inbound, outbound, tickets, write_config

REAL_ROUTE = processing.route


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 09:00 in Jakarta

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def setup(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    for name in config_variables():
        monkeypatch.delenv(name)
    maildir = tmp_path / "mail"
    (maildir / "new").mkdir(parents=True)
    config_path = write_config(
        tmp_path,
        database_url=database_url,
        mailbox_url=f"maildir:{maildir}",
        smtp_url=f"file:{tmp_path / 'out'}",
    )
    yield {"config": config_path, "maildir": maildir, "url": database_url}


def _drop(maildir: Path, name: str, raw: bytes) -> None:
    (maildir / "new" / name).write_bytes(raw)


def _break_routing_for(monkeypatch: pytest.MonkeyPatch, word: str) -> None:
    real_route = processing.route

    def route(mail: Any, *args: Any, **kwargs: Any) -> Any:
        if word in mail.subject:
            raise RuntimeError("routing exploded")
        return real_route(mail, *args, **kwargs)

    monkeypatch.setattr(processing, "route", route)


def test_failing_mail_is_retried_with_backoff_then_quarantined_without_blocking_others(
    setup: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _break_routing_for(monkeypatch, "BOOM")
    _drop(setup["maildir"], "1.eml", mailfactory.complaint(1, sender="a@example.net", subject="BOOM please"))
    _drop(setup["maildir"], "2.eml", mailfactory.complaint(2, sender="b@example.net"))
    clock = Clock()
    with Daemon(load_config(setup["config"]), clock=clock) as daemon:
        daemon.run_once()
        [bad, good] = inbound(setup["url"])
        assert good.state == "processed"
        assert bad.state == "retry"
        assert bad.stage == "route" and "routing exploded" in (bad.error or "")
        assert bad.next_attempt_at == clock.now + timedelta(minutes=2)
        # Not settled: it stays in the intake until it is processed or held.
        assert [p.name for p in (setup["maildir"] / "new").iterdir()] == ["1.eml"]

        daemon.run_once()  # not due yet
        assert inbound(setup["url"])[0].attempts == 1
        clock.now += timedelta(minutes=3)
        daemon.run_once()
        assert inbound(setup["url"])[0].state == "retry"
        clock.now += timedelta(minutes=16)
        daemon.run_once()
    [bad, _good] = inbound(setup["url"])
    assert bad.state == "quarantined"
    assert bad.attempts == 3
    assert bad.traceback and "RuntimeError" in bad.traceback
    assert len(tickets(setup["url"])) == 1
    assert list((setup["maildir"] / "new").iterdir()) == []
    assert len(list((setup["maildir"] / ".Quarantine" / "cur").iterdir())) == 1


def test_a_mail_failing_after_its_ticket_was_stored_leaves_no_ticket_and_the_next_mail_gets_one(
    setup: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The failed mail's SAVEPOINT takes its ticket back, and the session forgets it:
    the next complaint of the same batch is made a ticket, with the same id on SQLite."""
    real_notify = NewComplaints.notify

    def notify(self: NewComplaints, session: Any, complaint: Any, ticket: Any) -> None:
        if "BOOM" in complaint.mail.subject:
            raise RuntimeError("notify exploded")
        real_notify(self, session, complaint, ticket)

    monkeypatch.setattr(NewComplaints, "notify", notify)
    _drop(setup["maildir"], "1.eml", mailfactory.complaint(1, sender="a@example.net", subject="BOOM please"))
    _drop(setup["maildir"], "2.eml", mailfactory.complaint(2, sender="b@example.net"))
    with Daemon(load_config(setup["config"]), clock=Clock()) as daemon:
        daemon.run_once()
    bad, good = inbound(setup["url"])
    assert (bad.state, bad.stage, bad.ticket_id) == ("retry", "notify", None)
    assert "notify exploded" in (bad.error or "")
    assert good.state == "processed" and good.error is None
    [made] = tickets(setup["url"])
    assert (made.id, made.customer_email) == (good.ticket_id, "b@example.net")


def test_unparseable_mail_is_quarantined_at_once(setup: dict[str, Any]) -> None:
    depth = 5000
    bomb = b"From: x@example.net\r\nSubject: deep\r\n" + b"".join(
        f"Content-Type: multipart/mixed; boundary=b{n}\r\n\r\n--b{n}\r\n".encode() for n in range(depth)
    )
    _drop(setup["maildir"], "bomb.eml", bomb)
    assert main(["--config", str(setup["config"]), "run", "--once"]) == 0
    [row] = inbound(setup["url"])
    assert row.state == "quarantined"
    assert row.stage == "parse"
    assert row.attempts == 1


def test_quarantine_commands_list_show_replay_and_discard(
    setup: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    config = str(setup["config"])
    real_route = processing.route
    _break_routing_for(monkeypatch, "BOOM")
    _drop(setup["maildir"], "1.eml", mailfactory.complaint(1, sender="a@example.net", subject="BOOM one"))
    _drop(setup["maildir"], "2.eml", mailfactory.complaint(2, sender="b@example.net", subject="BOOM two"))
    assert main(["--config", config, "run", "--once"]) == 0
    capsys.readouterr()

    assert main(["--config", config, "quarantine", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [item["stage"] for item in listed] == ["route", "route"]
    first, second = listed[0]["id"], listed[1]["id"]

    assert main(["--config", config, "quarantine", "show", str(first)]) == 0
    shown = capsys.readouterr().out
    assert "routing exploded" in shown and "Subject: BOOM one" in shown and "RuntimeError" in shown

    # The bug is fixed. Only routing is restored: monkeypatch.undo() would unpin the
    # clock too, and on the real date the second mail's retry would be long due.
    monkeypatch.setattr(processing, "route", real_route)
    assert main(["--config", config, "quarantine", "replay", str(first)]) == 0
    assert f"#{first}: processed" in capsys.readouterr().out
    assert [t.customer_email for t in tickets(setup["url"])] == ["a@example.net"]

    assert main(["--config", config, "quarantine", "discard", str(second), "--reason", "spam"]) == 0
    rows = {row.id: row for row in inbound(setup["url"])}
    assert rows[second].state == "discarded"
    assert "spam" in rows[second].notes and rows[second].raw  # kept on record
    assert "replayed by" in rows[first].notes

    assert main(["--config", config, "quarantine", "show", str(first)]) == 1
    assert "not quarantined" in capsys.readouterr().err


class ProcessDied(BaseException):
    """Stands in for the process dying mid-batch: no handler in the daemon catches it."""


def test_a_mail_that_kills_the_process_is_quarantined_alone(
    setup: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    real_route = processing.route

    def route(mail: Any, *args: Any, **kwargs: Any) -> Any:
        if "POISON" in mail.subject:
            raise ProcessDied
        return real_route(mail, *args, **kwargs)

    monkeypatch.setattr(processing, "route", route)
    for n in range(5):
        subject = "POISON pill" if n == 2 else f"Keluhan {n}"
        _drop(
            setup["maildir"],
            f"{n}.eml",
            mailfactory.complaint(n, sender=f"c{n}@example.net", subject=subject),
        )
    with Daemon(load_config(setup["config"]), clock=Clock()) as daemon:
        restarts = 0
        for _run in range(8):  # each ProcessDied is a crash followed by a restart
            try:
                daemon.run_once()
            except ProcessDied:
                restarts += 1
    rows = inbound(setup["url"])
    states = {row.source_key: row.state for row in rows}
    assert states.pop("2.eml") == "quarantined"
    assert set(states.values()) == {"processed"}  # the neighbours were not dragged along
    poison = next(row for row in rows if row.source_key == "2.eml")
    assert "stopped the daemon" in (poison.error or "")
    assert restarts == 3
    assert max(row.attempts for row in rows if row.source_key != "2.eml") <= 2
    assert len(tickets(setup["url"])) == 4


# --- what people hear about quarantined mail, over real IMAP and SMTP ---------------------

DATA = Path(__file__).resolve().parents[1] / "data"
ADMIN = "it.admin@example.co.id"
LIMIT = 20_000  # bytes: the photos of the Outlook complaint take it over
PHOTOS = "complaint_outlook_large_photos.eml"  # 32 KB, from a customer
INVOICE = "auto_noreply_invoice_large.eml"  # 35 KB, from a no-reply billing robot
CUSTOMER = "dewi.anggraini@mitrasentosa.co.id"


@pytest.fixture
def desk(
    tmp_path: Path, database_url: str, dovecot: Any, smtp_sink: Any, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    for name in config_variables():
        monkeypatch.delenv(name)
    monkeypatch.setenv("CAREDESK_MAILBOX_MAX_MESSAGE_BYTES", str(LIMIT))
    config = write_config(
        tmp_path,
        database_url=database_url,
        mailbox_url=dovecot.url,
        smtp_url=smtp_sink.url,
        extra=f'admin_address = "{ADMIN}"',
    )
    return {"config": str(config), "url": database_url, "imap": dovecot, "smtp": smtp_sink}


def _data(name: str) -> bytes:
    return (DATA / name).read_bytes()


def _mime_bomb(sender: str) -> bytes:
    """Small, but nested one level per part 25 deep: the parse stage refuses it."""
    head = f"From: {sender}\r\nTo: care@example.co.id\r\nSubject: Keluhan berlapis\r\nMIME-Version: 1.0\r\n"
    return head.encode() + b"".join(
        f"Content-Type: multipart/mixed; boundary=b{n}\r\n\r\n--b{n}\r\n".encode() for n in range(25)
    )


def _cli(desk: dict[str, Any], *args: str) -> int:
    return main(["--config", desk["config"], *args])


def _sent_to(desk: dict[str, Any], recipient: str) -> list[email.message.EmailMessage]:
    found = []
    for received in desk["smtp"].messages:
        if recipient in [r.lower() for r in received.rcpt_tos]:
            found.append(email.message_from_bytes(received.data, policy=email.policy.default))
    return found


def _row(desk: dict[str, Any], needle: str) -> Any:
    [row] = [row for row in inbound(desk["url"]) if needle.encode() in row.raw[:4096]]
    return row


def _folder(desk: dict[str, Any], folder: str) -> list[bytes]:
    with desk["imap"].connection() as client:
        client.select_folder(folder, readonly=True)
        uids = client.search(["ALL"])
        fetched = client.fetch(uids, ["BODY.PEEK[]"]) if uids else {}
    return [fetched[uid][b"BODY[]"] for uid in uids]


@pytest.mark.integration
def test_admin_gets_one_digest_of_what_was_quarantined(desk: dict[str, Any]) -> None:
    desk["imap"].append(_data(PHOTOS))
    desk["imap"].append(_mime_bomb("rudi@example.net"))
    desk["imap"].append(mailfactory.complaint(1, sender="budi@example.net"))
    assert _cli(desk, "run", "--once") == 0

    [digest] = _sent_to(desk, ADMIN)
    assert "2 mail quarantined" in str(digest["Subject"])
    body = digest.get_content()
    photos, bomb = _row(desk, "Dewi Anggraini"), _row(desk, "rudi@example.net")
    for row, stage, error, sender in (
        (photos, "fetch", f"oversize: {photos.size} bytes", CUSTOMER),
        (bomb, "parse", "MIME parts nested deeper than 20 levels", "rudi@example.net"),
    ):
        assert f"#{row.id}  tahap / stage: {stage}" in body
        assert error in body and sender in body
        assert f"caredesk quarantine show {row.id}" in body
    assert "Koran langganan tidak diantar 3 hari" in body
    assert "budi@example.net" not in body  # it became a ticket

    # Each quarantined mail is reported once; a poll that quarantines nothing sends nothing.
    assert _cli(desk, "run", "--once") == 0
    desk["imap"].append(mailfactory.complaint(2, sender="sari@example.net"))
    assert _cli(desk, "run", "--once") == 0
    assert len(_sent_to(desk, ADMIN)) == 1

    # The next poll that quarantines a mail sends the next digest, with that mail only.
    desk["imap"].append(_data(INVOICE))
    assert _cli(desk, "run", "--once") == 0
    digests = _sent_to(desk, ADMIN)
    assert len(digests) == 2 and "1 mail quarantined" in str(digests[1]["Subject"])
    later = digests[1].get_content()
    assert "noreply@tagihan.paketdata.co.id" in later and f"#{photos.id} " not in later


@pytest.mark.integration
def test_customer_of_a_quarantined_mail_hears_it_was_received(desk: dict[str, Any]) -> None:
    original = _data(PHOTOS)
    desk["imap"].append(original)
    desk["imap"].append(_data(INVOICE))
    desk["imap"].append(_mime_bomb("rudi@example.net"))
    assert _cli(desk, "run", "--once") == 0

    [ack] = _sent_to(desk, CUSTOMER)
    assert ack["Subject"] == (
        "Email Anda telah kami terima / We have received your email: "
        "Koran langganan tidak diantar 3 hari, foto terlampir"
    )
    assert ack["Auto-Submitted"] == "auto-replied"
    assert ack["In-Reply-To"] == email.message_from_bytes(original)["Message-ID"]
    text = " ".join(ack.get_content().split())
    assert "petugas kami sedang memeriksanya" in text and "a member of our staff is looking at it" in text
    assert "[CC-" not in str(ack["Subject"])  # no ticket was opened
    # Never to a robot, never for mail the parse stage refused.
    assert _sent_to(desk, "noreply@tagihan.paketdata.co.id") == []
    assert _sent_to(desk, "rudi@example.net") == []

    # Never twice for the same mail: not on the next poll, not after a replay that fails again.
    assert _cli(desk, "run", "--once") == 0
    row = _row(desk, "Dewi Anggraini")
    assert _cli(desk, "quarantine", "replay", str(row.id)) != 0
    assert _cli(desk, "run", "--once") == 0
    assert len(_sent_to(desk, CUSTOMER)) == 1
    [queued] = [m for m in outbound(desk["url"]) if m.recipient == CUSTOMER]
    assert queued.automatic and queued.cause_inbound_id == row.id  # counted against the limits


@pytest.mark.integration
def test_quarantine_list_names_the_sender(
    desk: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    _break_routing_for(monkeypatch, "BOOM")
    desk["imap"].append(mailfactory.complaint(1, sender="a@example.net", subject="BOOM please"))
    desk["imap"].append(_data(PHOTOS))
    assert _cli(desk, "run", "--once") == 0
    capsys.readouterr()

    assert _cli(desk, "quarantine", "list") == 0
    lines = capsys.readouterr().out.splitlines()[1:]
    assert [line.split()[4] for line in lines] == ["a@example.net", CUSTOMER]
    assert _cli(desk, "quarantine", "list", "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(item["from"], item["stage"]) for item in listed] == [
        ("a@example.net", "route"),
        (CUSTOMER, "fetch"),
    ]
    assert listed[1]["subject"] == "Koran langganan tidak diantar 3 hari, foto terlampir"


@pytest.mark.integration
def test_replay_that_fails_again_says_so(
    desk: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    desk["imap"].append(_data(PHOTOS))
    assert _cli(desk, "run", "--once") == 0
    row = _row(desk, "Dewi Anggraini")
    assert row.state == "quarantined"
    capsys.readouterr()

    # Nothing changed: the mail is still too big.
    assert _cli(desk, "quarantine", "replay", str(row.id)) == 65
    out, err = capsys.readouterr()
    assert f"#{row.id}: quarantined (fetch: oversize" in out
    assert f"failed again: #{row.id}" in err

    # One of several failing again is enough for the exit code.
    _break_routing_for(monkeypatch, "BOOM")
    desk["imap"].append(mailfactory.complaint(1, sender="a@example.net", subject="BOOM please"))
    assert _cli(desk, "run", "--once") == 0
    assert _cli(desk, "quarantine", "replay", "--all") == 65
    out, _err = capsys.readouterr()
    assert "retry (route: RuntimeError: routing exploded)" in out

    monkeypatch.setattr(processing, "route", REAL_ROUTE)
    monkeypatch.setenv("CAREDESK_MAILBOX_MAX_MESSAGE_BYTES", str(10 * LIMIT))
    assert _cli(desk, "quarantine", "replay", "--all") == 0
    assert {t.customer_email for t in tickets(desk["url"])} == {"a@example.net", CUSTOMER}


@pytest.mark.integration
def test_oversize_mail_can_be_replayed_after_raising_the_limit(
    desk: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    original = _data(PHOTOS)
    desk["imap"].append(original)
    assert _cli(desk, "run", "--once") == 0
    row = _row(desk, "Dewi Anggraini")
    assert (row.state, row.stage, row.headers_only) == ("quarantined", "fetch", False)
    assert f"over mailbox.max_message_bytes ({LIMIT})" in (row.error or "")
    assert row.raw == original  # every byte, photos included
    assert tickets(desk["url"]) == []

    monkeypatch.setenv("CAREDESK_MAILBOX_MAX_MESSAGE_BYTES", str(10 * LIMIT))
    capsys.readouterr()
    assert _cli(desk, "quarantine", "replay", str(row.id)) == 0
    assert f"#{row.id}: processed" in capsys.readouterr().out
    [ticket] = tickets(desk["url"])
    assert ticket.customer_email == CUSTOMER
    [ack] = [m for m in _sent_to(desk, CUSTOMER) if ".ack@" in str(m["Message-ID"])]
    assert ticket.reference in str(ack["Subject"])


@pytest.mark.integration
def test_mail_over_the_fetch_cap_stays_in_the_mailbox_and_says_so(
    desk: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    from daemon.fetch import imap

    monkeypatch.setattr(imap, "HARD_MAX_MESSAGE_BYTES", 33_000)  # the invoice is 35 KB
    invoice, photos = _data(INVOICE), _data(PHOTOS)
    desk["imap"].append(invoice)
    desk["imap"].append(photos)
    assert _cli(desk, "run", "--once") == 0
    big, kept = _row(desk, "Tagihan Langganan"), _row(desk, "Dewi Anggraini")
    assert big.state == kept.state == "quarantined"
    assert big.headers_only and big.size == len(invoice) and len(big.raw) < 4096
    assert "only the headers were stored and the mail was left in INBOX" in (big.error or "")
    # Only the mail over the cap stays where it arrived; the other one is moved as usual.
    assert _folder(desk, "INBOX") == [invoice]
    assert _folder(desk, "Quarantine") == [photos]

    capsys.readouterr()
    assert _cli(desk, "quarantine", "show", str(big.id)) == 0
    shown = capsys.readouterr().out
    assert "left in the intake folder" in shown and "only the headers were stored" in shown
    # Raising the limit cannot bring back bytes that were never fetched: the replay says so.
    monkeypatch.setenv("CAREDESK_MAILBOX_MAX_MESSAGE_BYTES", str(10 * LIMIT))
    assert _cli(desk, "quarantine", "replay", str(big.id)) == 65
    assert _cli(desk, "run", "--once") == 0
    assert _folder(desk, "INBOX") == [invoice]


@pytest.mark.integration
def test_discarded_mail_shows_who_and_why(
    desk: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setattr(getpass, "getuser", lambda: "rahmat")
    desk["imap"].append(_data(PHOTOS))
    assert _cli(desk, "run", "--once") == 0
    row = _row(desk, "Dewi Anggraini")
    reason = "photos re-sent as a smaller mail, handled in CC-2026-000031"
    assert _cli(desk, "quarantine", "discard", str(row.id), "--reason", reason) == 0
    capsys.readouterr()

    assert _cli(desk, "quarantine", "show", str(row.id)) == 0
    shown = capsys.readouterr().out
    [line] = [line for line in shown.splitlines() if line.startswith("discarded ")]
    assert line.split()[1:3] == ["by", "rahmat"] and line.endswith(reason)
    assert "oversize" in shown and CUSTOMER in shown and "Subject: Koran langganan" in shown

    assert _cli(desk, "quarantine", "show", str(row.id), "--json") == 0
    shown_json = json.loads(capsys.readouterr().out)
    assert shown_json["state"] == "discarded"
    assert shown_json["discarded"]["by"] == "rahmat" and shown_json["discarded"]["reason"] == reason
    assert shown_json["discarded"]["at"].startswith("2026-07-21T")
    # Only held and discarded mail is shown; it stays out of the list of what waits for a person.
    assert _cli(desk, "quarantine", "list", "--json") == 0
    assert json.loads(capsys.readouterr().out) == []
