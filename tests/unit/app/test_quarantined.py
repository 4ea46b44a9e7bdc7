"""Reading a quarantined mail again: its sender and subject, how much to parse, who is told it arrived."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.app.quarantined import (
    acknowledgement_refused,
    first_line,
    header_block,
    read_mail,
    sender_and_subject,
)
from daemon.parse.parser import parse
from tests import mailfactory

DATA = Path(__file__).resolve().parents[2] / "data"
OWN = ("care@example.co.id",)
PHOTOS = (DATA / "complaint_outlook_large_photos.eml").read_bytes()
INVOICE = (DATA / "auto_noreply_invoice_large.eml").read_bytes()


def test_the_header_block_ends_at_the_first_blank_line() -> None:
    assert header_block(b"From: a@example.net\r\nSubject: x\r\n\r\nbody\r\n\r\nmore") == (
        b"From: a@example.net\r\nSubject: x\r\n\r\n"
    )
    assert header_block(b"From: a@example.net\n\nbody") == b"From: a@example.net\n\n"
    assert header_block(b"From: a@example.net\r\n") == b"From: a@example.net\r\n"


def test_the_sender_of_a_mail_that_was_never_parsed_is_read_from_its_headers() -> None:
    assert sender_and_subject(PHOTOS) == (
        "dewi.anggraini@mitrasentosa.co.id",
        "Koran langganan tidak diantar 3 hari, foto terlampir",
    )
    # What the parse stage stored wins.
    assert sender_and_subject(PHOTOS, "x@example.net", "stored") == ("x@example.net", "stored")


def test_a_header_block_no_parser_takes_still_gives_its_first_from_address() -> None:
    bomb = b"From: Rudi <rudi@example.net>\r\n" + b"X-Filler: y\r\n" * 5000 + b"\r\nbody"
    assert sender_and_subject(bomb) == ("rudi@example.net", "")
    assert sender_and_subject(b"no headers at all") == ("", "")
    assert sender_and_subject(b"From: undisclosed-recipients:;\r\n\r\n")[0] == ""


@pytest.mark.parametrize(
    ("stage", "whole"),
    [("route", True), ("conversation", True), ("fetch", False), ("process", False)],
)
def test_a_mail_is_parsed_again_only_as_far_as_is_safe(stage: str, whole: bool) -> None:
    mail = read_mail(PHOTOS, stage)
    assert mail is not None and mail.from_address == "dewi.anggraini@mitrasentosa.co.id"
    assert bool(mail.attachments) is whole


def test_a_mail_that_broke_a_parse_limit_is_not_parsed_again() -> None:
    assert read_mail(PHOTOS, "parse") is None
    deep = b"From: a@example.net\r\n" + b"".join(
        f"Content-Type: multipart/mixed; boundary=b{n}\r\n\r\n--b{n}\r\n".encode() for n in range(30)
    )
    assert read_mail(deep, "route") is None  # fails again: no mail, no error


def test_the_error_is_shown_by_its_first_line() -> None:
    assert first_line("RuntimeError: boom\nTraceback ...") == "RuntimeError: boom"
    assert first_line(None) == first_line("  ") == ""
    long = first_line("x" * 1000)
    assert len(long) == 300 and long.endswith("…")


def test_a_person_is_told_their_quarantined_mail_arrived() -> None:
    mail = read_mail(PHOTOS, "fetch")
    assert mail is not None
    assert acknowledgement_refused(mail, OWN, backlog=False) is None


def test_robots_automated_mail_and_old_mail_are_not_told() -> None:
    invoice = read_mail(INVOICE, "fetch")
    assert invoice is not None
    refused = acknowledgement_refused(invoice, OWN, backlog=False)
    assert refused == "the sender looks automated (no-reply address)"
    auto = parse(
        mailfactory.complaint(1, sender="rina@example.net", extra_headers={"Auto-Submitted": "auto-replied"})
    )
    assert (acknowledgement_refused(auto, OWN, backlog=False) or "").startswith("automated mail")
    ours = parse(mailfactory.complaint(1, sender="care@example.co.id"))
    assert acknowledgement_refused(ours, OWN, backlog=False) is not None
    person = parse(mailfactory.complaint(1, sender="rina@example.net"))
    assert acknowledgement_refused(person, OWN, backlog=True) == "mail older than the backlog limit"
    nobody = parse(b"Subject: hello\r\n\r\ntext")
    assert acknowledgement_refused(nobody, OWN, backlog=False) == "no usable sender address"
