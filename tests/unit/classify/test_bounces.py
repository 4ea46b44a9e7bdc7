"""Reading bounces: a DSN and a plain-text bounce give the same values, tied by what they quote."""

from __future__ import annotations

import base64
import time
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import pytest

from daemon.classify.bounces import DeliveryReport, Failure, read_report

DATA = Path(__file__).resolve().parents[2] / "data"


def _report(name: str) -> DeliveryReport:
    return read_report((DATA / f"{name}.eml").read_bytes())


# sample, the Message-ID of the returned original, (recipient, action, status) per failure
PLAIN_SAMPLES = [
    (
        "bounce_plain_exim",
        "<179610443000.48213.11926372093617528114.ack@example.co.id>",
        [("dewi.lestari@tokobaju.example.id", "failed", "5.1.1")],
    ),
    (
        "bounce_plain_qmail",
        "<179610550100.48213.6620184757270153301.ack@example.co.id>",
        [("agus@kopisusu.example.net", "failed", "5.1.1")],
    ),
    (
        "bounce_plain_postfix_nodsn",
        "<179610632100.48213.2794430116643305551.ack@example.co.id>",
        [("sri.wahyuni@rumahsakit.example.org", "failed", "5.1.1")],
    ),
    (
        "bounce_plain_exchange_text",
        "<179611443300.48213.9014721106523381942.ack@example.co.id>",
        [("hendra.gunawan@sinarjaya.example.com", "failed", "5.1.1")],
    ),
    (
        "bounce_plain_null_from",
        "<179611692100.48213.15803960074127701229.ack@example.co.id>",
        [("yanti@koperasi.example.or.id", "failed", "5.1.1")],
    ),
    (
        "bounce_plain_localized_de",
        "<179611920900.48213.4417926501190282315.ack@example.co.id>",
        [("klaus.becker@firma.example.de", "failed", "5.1.1")],
    ),
    (
        "bounce_plain_localized_fr",
        "<179612383700.48213.12071830265593311770.ack@example.co.id>",
        [("marie.dupont@cabinet.example.fr", "failed", "5.1.1")],
    ),
    (
        "bounce_plain_lotus",
        "<179612105500.48213.7360155271940416682.ack@example.co.id>",
        [("rina.amelia@pusat.asuransi.example.com", "failed", "5.1.1")],
    ),
    (
        "bounce_plain_sendmail",
        "<179612560100.48213.3385027716409861123.ack@example.co.id>",
        [("prof.hadi@fisika.universitas.example.ac.id", "failed", "5.1.1")],
    ),
    (
        "bounce_plain_exim_ndr",
        None,
        [
            ("purchasing@pabrikroti.example.com", "failed", "5.1.2"),
            ("rudi.hartono@pabrikroti.example.com", "failed", "5.1.1"),
        ],
    ),
    (
        "bounce_plain_delayed_exim",
        None,
        [("bambang@tokoelektronik.example.id", "delayed", "4.3.0")],
    ),
]


@pytest.mark.parametrize(("sample", "original", "failures"), PLAIN_SAMPLES)
def test_a_plain_text_bounce_names_the_returned_mail_and_who_failed(
    sample: str, original: str | None, failures: list[tuple[str, str, str]]
) -> None:
    report = _report(sample)
    assert report.plain
    assert report.original_message_id == original
    if original is not None:
        assert report.message_ids[0] == original
    assert [(f.recipient, f.action, f.status) for f in report.failures] == failures
    assert all(isinstance(f, Failure) for f in report.failures)


@pytest.mark.parametrize(
    "sample",
    [
        s
        for s, _, failures in PLAIN_SAMPLES
        if failures[0][1] == "failed" and failures[0][2].startswith("5.1.")
    ],
)
def test_a_permanent_plain_text_failure_is_an_address_problem_as_in_a_dsn(sample: str) -> None:
    assert all(f.permanent and f.address_problem for f in _report(sample).failures)


def test_a_delay_warning_is_not_permanent() -> None:
    [failure] = _report("bounce_plain_delayed_exim").failures
    assert not failure.permanent and not failure.address_problem


def test_the_failed_recipients_are_never_our_address_the_reporter_or_the_message_id() -> None:
    for sample, *_ in PLAIN_SAMPLES:
        recipients = {f.recipient for f in _report(sample).failures}
        assert "care@example.co.id" not in recipients
        assert not any(r.startswith(("mailer-daemon@", "postmaster@")) for r in recipients)
        assert not any(".ack@" in r for r in recipients)


@pytest.mark.parametrize(
    ("sample", "original", "recipient", "status"),
    [
        ("bounce_dsn_postfix", "<ack.130.461.d00d@example.co.id>", "pelanggan.lama@tokomaju.id", "5.1.1"),
        ("bounce_exchange", "<ack.131.462.abba@example.co.id>", "andi.w@sinarabadi.co.id", "5.1.10"),
    ],
)
def test_a_dsn_reads_as_before(sample: str, original: str, recipient: str, status: str) -> None:
    report = _report(sample)
    assert not report.plain
    assert report.original_message_id == original
    assert [(f.recipient, f.action, f.status) for f in report.failures] == [(recipient, "failed", status)]


def test_a_dsn_names_its_signed_return_path_among_the_addresses() -> None:
    assert "bounces+ack.130.461@example.co.id" in _report("bounce_dsn_postfix").addresses


def test_a_vague_dsn_status_gives_way_to_the_precise_code_in_its_diagnostic() -> None:
    raw = (DATA / "bounce_dsn_postfix.eml").read_bytes().replace(b"Status: 5.1.1", b"Status: 5.0.0")
    [failure] = read_report(raw).failures
    assert failure.status == "5.1.1"


def _plain(body: str, **headers: str) -> bytes:
    message = EmailMessage(policy=SMTP)
    message["From"] = headers.pop("From", "MAILER-DAEMON@mx.example.net")
    message["To"] = headers.pop("To", "care@example.co.id")
    message["Subject"] = headers.pop("Subject", "failure notice")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message.as_bytes()


def test_the_bounces_own_in_reply_to_is_a_candidate_after_the_quoted_original() -> None:
    raw = _plain(
        "Delivery has failed to these recipients or groups:\n\nlia@example.net\n"
        "The e-mail address you entered couldn't be found. 550 5.1.1\n",
        In_Reply_To="<ours.1@example.co.id>",
        References="<theirs@example.net> <ours.1@example.co.id>",
    )
    report = read_report(raw)
    assert report.original_message_id is None
    assert report.message_ids[:2] == ("<ours.1@example.co.id>", "<theirs@example.net>")
    assert [(f.recipient, f.status) for f in report.failures] == [("lia@example.net", "5.1.1")]


def test_a_message_id_quoted_anywhere_is_a_candidate() -> None:
    raw = _plain(
        "Your message <179600000000.1.2.ack@example.co.id> to <lia@example.net> could not be\n"
        "delivered: 550 5.1.1 user unknown\n"
    )
    report = read_report(raw)
    assert report.message_ids[0] == "<179600000000.1.2.ack@example.co.id>"
    assert [f.recipient for f in report.failures] == ["lia@example.net"]


def test_a_signed_return_path_quoted_in_the_text_is_a_candidate_address() -> None:
    raw = _plain(
        "I'm afraid I wasn't able to deliver your message to the following addresses.\n\n"
        "<lia@example.net>:\n550 5.1.1 no such user\n\n--- Below this line is a copy of the message.\n\n"
        "Return-Path: <care+b.42.abcdefghij@example.co.id>\nSubject: [CC-2026-000001] Keluhan\n"
    )
    report = read_report(raw)
    assert "care+b.42.abcdefghij@example.co.id" in report.addresses
    assert [f.recipient for f in report.failures] == ["lia@example.net"]


def test_a_bounce_with_only_an_html_part_is_read_from_it() -> None:
    message = EmailMessage(policy=SMTP)
    message["From"] = "postmaster@mx.example.net"
    message["To"] = "care@example.co.id"
    message["Subject"] = "Undeliverable: [CC-2026-000009] Keluhan"
    message.set_content(
        "<p>Delivery has failed to these recipients:</p>"
        "<p><a href='mailto:lia@example.net'>lia@example.net</a></p>"
        "<p>Remote server returned '550 5.1.1 User unknown'</p>",
        subtype="html",
    )
    [failure] = read_report(message.as_bytes()).failures
    assert (failure.recipient, failure.status) == ("lia@example.net", "5.1.1")


def test_a_bounce_returning_a_large_attachment_is_read_quickly() -> None:
    message = EmailMessage(policy=SMTP)
    message["From"] = "MAILER-DAEMON@mx.example.net"
    message["To"] = "care@example.co.id"
    message["Subject"] = "Undelivered Mail Returned to Sender"
    message.set_content("<lia@example.net>: host mx.example.net said: 552 5.2.2 mailbox full\n")
    original = EmailMessage(policy=SMTP)
    original["From"] = "care@example.co.id"
    original["To"] = "lia@example.net"
    original["Message-ID"] = "<big.1@example.co.id>"
    original.set_content("Terlampir.\n")
    original.add_attachment(base64.b64encode(b"a" * 3_000_000).decode(), subtype="plain", filename="x.txt")
    message.add_attachment(original)
    started = time.process_time()
    report = read_report(message.as_bytes())
    assert time.process_time() - started < 5
    assert report.original_message_id == "<big.1@example.co.id>"
    assert [(f.recipient, f.status, f.address_problem) for f in report.failures] == [
        ("lia@example.net", "5.2.2", False)
    ]


def test_a_bounce_that_names_nobody_reports_no_failure() -> None:
    report = read_report(_plain("Your message could not be delivered.\n"))
    assert report.failures == ()
    assert report.plain
