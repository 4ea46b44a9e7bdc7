"""The words of a bounce: where the report ends, which status an SMTP code means, who failed."""

from __future__ import annotations

import pytest

from daemon.classify.bounce_text import (
    ReportText,
    addresses_in,
    dsn_fields_in_text,
    failures_in,
    header_message_ids,
    prose_message_ids,
    refine,
    smtp_status,
    split_original,
    status_in,
)


@pytest.mark.parametrize(
    ("code", "wording", "status"),
    [
        (550, "550 User unknown", "5.1.1"),
        (550, "550 <x@example.net>... No such user here", "5.1.1"),
        (550, "550 Requested action not taken: mailbox unavailable", "5.1.1"),
        (550, "550 Message rejected as spam", "5.7.1"),
        (550, "550 Relaying denied", "5.7.1"),
        (550, "550 Administrative prohibition", "5.0.0"),
        (554, "554 delivery error: dd This user doesn't have an account", "5.1.1"),
        (554, "554 Transaction failed", "5.0.0"),
        (554, "554 Recipient address rejected", "5.1.1"),
        (551, "551 User not local; please try <x@example.org>", "5.1.6"),
        (552, "552 Requested mail action aborted: exceeded storage allocation", "5.2.2"),
        (553, "553 Requested action not taken: mailbox name not allowed", "5.1.3"),
        (553, "553 sorry, that domain isn't in my list of allowed rcpthosts", "5.7.1"),
        (452, "452 Insufficient system storage", "4.2.2"),
        (450, "450 Mailbox busy", "4.0.0"),
        (421, "421 Service not available", "4.0.0"),
    ],
)
def test_an_smtp_code_without_an_enhanced_code_is_mapped(code: int, wording: str, status: str) -> None:
    assert smtp_status(code, wording) == status


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("Remote host said: 550 5.1.1 <x@y.example>... User unknown", "5.1.1"),
        ("<mx.example.net #5.1.1 smtp;550 5.1.1 RESOLVER.ADR.RecipNotFound>", "5.1.1"),
        ("Sorry, no mailbox here by that name. (#5.1.1)", "5.1.1"),
        ("503 5.0.0 Need RCPT (recipient) then 550 5.1.1 User unknown", "5.1.1"),
        ("550 User unknown", "5.1.1"),
        ("User rina (rina@x.example) not listed in Domino Directory", "5.1.1"),
        ("Unrouteable address", "5.1.2"),
        ("The recipient's mailbox is full", "5.2.2"),
        ("451 4.3.0 Temporary lookup failure", "4.3.0"),
        ("connected to 10.4.5.6 and 192.0.2.5 but no answer", None),
        ("Exim 4.97.1 at host 203.0.113.10", None),
        ("Rp 550.000 total", None),
    ],
)
def test_the_status_a_text_gives(text: str, status: str | None) -> None:
    assert status_in(text) == status


def test_a_vague_status_gives_way_to_a_precise_one_of_the_same_class() -> None:
    assert refine("5.0.0", "said: 550 5.1.1 user unknown") == "5.1.1"
    assert refine("5.0.0", "said: 451 4.3.0 try later") == "5.0.0"
    assert refine("5.7.1", "550 5.1.1") == "5.7.1"


@pytest.mark.parametrize(
    "marker",
    [
        "------ This is a copy of the message, including all the headers. ------",
        "------ This is a copy of the body of the message, without the headers. ------",
        "--- Below this line is a copy of the message.",
        "   ----- Unsent message follows -----",
        "   ----- Original message follows -----",
        "Original message headers:",
        "Ursprüngliche Nachrichtenkopfzeilen:",
        "--- The header of the original message is following. ---",
    ],
)
def test_the_report_ends_where_the_returned_original_begins(marker: str) -> None:
    report, original = split_original(f"<lia@example.net>: 550 5.1.1\n\n{marker}\n\nTo: rudi@example.net\n")
    assert "lia@example.net" in report and "rudi@example.net" not in report
    assert original.lstrip().startswith(marker.strip()[:10])


def test_banners_inside_the_report_do_not_end_it() -> None:
    text = (
        "The original message was received at Mon, 23 Nov 2026 14:02:10 +0700\n"
        "   ----- The following addresses had permanent fatal errors -----\n<lia@example.net>\n"
        "   ----- Transcript of session follows -----\n550 5.1.1 <lia@example.net>... User unknown\n"
    )
    assert split_original(text) == (text, "")


def test_message_ids_are_found_quoted_and_folded() -> None:
    text = (
        "> Message-ID:\n>  <1.2.3.ack@example.co.id>\n"
        "    Message-Id: <indented@example.co.id>\n"
        "Message-ID: bare@example.co.id\n"
        "In-Reply-To: <not-this@example.net>\n"
    )
    assert header_message_ids(text) == [
        "<1.2.3.ack@example.co.id>",
        "<indented@example.co.id>",
        "<bare@example.co.id>",
    ]


def test_message_ids_written_into_the_prose_are_ids_not_addresses() -> None:
    text = "Your message <ack.7@example.co.id> to <lia@example.net> could not be delivered."
    assert prose_message_ids(text) == ["<ack.7@example.co.id>"]


def test_addresses_are_found_in_order_lower_case_without_repeats() -> None:
    text = "RCPT TO:<Lia@Example.NET>: 550 <lia@example.net>; copy to rudi@example.org."
    assert addresses_in(text) == ["lia@example.net", "rudi@example.org"]


def test_dsn_fields_sent_as_text_are_read() -> None:
    text = (
        "Reporting-MTA: dns; mx.example.net\n\n"
        "Final-Recipient: rfc822; lia@example.net\nAction: failed\nStatus: 5.0.0\n"
        "Diagnostic-Code: X-Postfix; host said: 550 5.1.1\n    <lia@example.net>... User unknown\n\n"
        "Final-Recipient: rfc822; rudi@example.net\nAction: delayed\nStatus: 4.4.1\n"
    )
    assert [(f.recipient, f.action, f.status) for f in dsn_fields_in_text(text)] == [
        ("lia@example.net", "failed", "5.1.1"),
        ("rudi@example.net", "delayed", "4.4.1"),
    ]


def _report(text: str, *, fallback: tuple[str, ...] = (), delayed: bool = False) -> ReportText:
    return ReportText(text, frozenset({"care@example.co.id"}), fallback, delayed)


def test_each_recipient_gets_the_status_written_about_it() -> None:
    text = (
        "The following address(es) failed:\n\n"
        "  lia@example.net\n    mailbox is full\n"
        "  rudi@example.net\n    SMTP error from remote mail server after RCPT TO:<rudi@example.net>:\n"
        "    550 5.1.1 <rudi@example.net>: User unknown\n"
    )
    found = [(f.recipient, f.action, f.status) for f in failures_in(_report(text))]
    assert found == [("lia@example.net", "failed", "5.2.2"), ("rudi@example.net", "failed", "5.1.1")]


def test_addresses_in_header_lines_of_a_quoted_original_did_not_fail() -> None:
    text = (
        "could not be delivered to\n  lia@example.net\n550 user unknown\n"
        "From: care@example.co.id\nCc: boss@example.net\n"
    )
    assert [f.recipient for f in failures_in(_report(text))] == ["lia@example.net"]


def test_robots_and_excluded_addresses_did_not_fail() -> None:
    text = (
        "Mail to lia@example.net failed (550 5.1.1). Contact postmaster@example.net or care@example.co.id.\n"
    )
    assert [f.recipient for f in failures_in(_report(text))] == ["lia@example.net"]


def test_the_recipients_a_header_names_come_first() -> None:
    text = "A message that you sent could not be delivered. 550 5.1.1 user unknown\n"
    [failure] = failures_in(_report(text), ["Lia@Example.net"])
    assert (failure.recipient, failure.status) == ("lia@example.net", "5.1.1")


def test_without_a_named_address_the_returned_originals_recipient_fails() -> None:
    text = "The following recipient(s) cannot be reached:\n  Lia Amelia on 23/11/2026\n  <mx #5.1.1>\n"
    [failure] = failures_in(_report(text, fallback=("lia@example.net",)))
    assert (failure.recipient, failure.status) == ("lia@example.net", "5.1.1")


def test_without_any_code_a_delay_is_temporary_and_a_failure_permanent() -> None:
    delayed = "lia@example.net: message has not yet been delivered; delivery attempts will continue\n"
    assert failures_in(_report(delayed))[0].status == "4.0.0"
    assert failures_in(_report("lia@example.net: giving up", delayed=True))[0].action == "delayed"
    assert failures_in(_report("lia@example.net: this is a permanent error"))[0].status == "5.0.0"
