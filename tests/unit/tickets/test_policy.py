"""The ticket stage's decisions: who may write and command, acknowledgements, watchers, surveys."""

from __future__ import annotations

import dataclasses
import email.policy
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from daemon.classify.authres import Verdict, must_verify
from daemon.config import SecurityConfig
from daemon.parse.message import InboundMail
from daemon.parse.parser import parse
from daemon.route.loader import parse_rules
from daemon.tickets.policy import (
    NOT_A_PARTICIPANT,
    Parties,
    acknowledgement_withheld,
    asks_for_no_auto_reply,
    creation_reason,
    department_or_none,
    is_backlog,
    role_of,
    staff_refusal,
    survey_comment,
    survey_complaint_reason,
    survey_score,
    watchers,
)

CARE = "cs@example.co.id"
DATA = Path(__file__).resolve().parents[2] / "data"
RULES = parse_rules(
    """\
departments:
  - {id: customer-care, name: Customer Care, email: care.team@example.co.id,
     members: [ani@example.co.id]}
  - {id: koran, name: Sirkulasi Koran, email: sirkulasi@example.co.id,
     members: [budi.staf@example.co.id], manager: manajer@example.co.id,
     general_manager: gm@example.co.id}
default: {department: customer-care, severity: minor}
rules: []
""",
    "policy-rules.yaml",
)
ON_KORAN = Parties("pelanggan@example.net", "teman@example.net, Istri@Example.net", "koran")
TRUSTED = SecurityConfig(trusted_authserv_ids=("mx.example.co.id",), require_authenticated_senders=True)
LENIENT = SecurityConfig(trusted_authserv_ids=("mx.example.co.id",), require_authenticated_senders=False)
NOBODY_TRUSTED = SecurityConfig(trusted_authserv_ids=(), require_authenticated_senders=True)
LAB = SecurityConfig(trusted_authserv_ids=(), trust="none")


def mail(*headers: tuple[str, str], sender: str = "pelanggan@example.net", to: str = CARE) -> InboundMail:
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = sender
    message["To"] = to
    message["Subject"] = "Koran tidak datang"
    message["Message-ID"] = "<policy@example.net>"
    for name, value in headers:
        message[name] = value
    message.set_content("Sudah tiga hari koran tidak datang.\n")
    return parse(message.as_bytes(), own_addresses=(CARE,))


# --- who is writing -------------------------------------------------------------


@pytest.mark.parametrize(
    ("sender", "role"),
    [
        ("pelanggan@example.net", "customer"),
        ("PELANGGAN+tiket@example.net", "customer"),
        ("istri@example.net", "customer"),
        ("sirkulasi@example.co.id", "department"),
        ("budi.staf@example.co.id", "department"),
        ("care.team@example.co.id", "care"),
        ("ani@example.co.id", "care"),
        ("gm@example.co.id", "gm"),
        ("manajer@example.co.id", "gm"),
        ("orang.lain@example.net", None),
    ],
)
def test_the_sender_role_comes_from_the_ticket_and_the_rules(sender: str, role: str | None) -> None:
    assert role_of(sender, ON_KORAN, RULES) == role


def test_staff_the_customer_copied_are_staff_not_customers() -> None:
    copied = Parties("pelanggan@example.net", "budi.staf@example.co.id, ani@example.co.id", "koran")
    assert role_of("budi.staf@example.co.id", copied, RULES) == "department"
    assert role_of("ani@example.co.id", copied, RULES) == "care"


def test_a_department_the_rules_no_longer_have_leaves_only_customer_and_care() -> None:
    gone = Parties("pelanggan@example.net", "", "percetakan")
    assert role_of("pelanggan@example.net", gone, RULES) == "customer"
    assert role_of("ani@example.co.id", gone, RULES) == "care"
    assert role_of("gm@example.co.id", gone, RULES) is None
    assert department_or_none(RULES, "percetakan") is None


# --- whether staff mail may command the ticket ------------------------------------


def test_without_trusted_servers_nobody_is_verified() -> None:
    lax = dataclasses.replace(NOBODY_TRUSTED, require_authenticated_senders=False)
    for security in (NOBODY_TRUSTED, lax):
        assert must_verify("no [security] trusted_authserv_ids configured", security) is True
        assert staff_refusal(Verdict(False, "no ids"), security) == "sender not authenticated: no ids"


def test_only_trust_none_believes_every_sender() -> None:
    assert must_verify("dmarc=fail header.from=example.co.id", LAB) is False
    assert staff_refusal(Verdict(False, "dmarc=fail header.from=example.co.id"), LAB) is None


def test_with_authenticated_senders_required_an_unverified_staff_mail_only_notes() -> None:
    verdict = Verdict(False, "no Authentication-Results from a trusted server")
    assert staff_refusal(verdict, TRUSTED) == (
        "sender not authenticated: no Authentication-Results from a trusted server"
    )
    assert staff_refusal(Verdict(True, "dmarc=pass header.from=example.co.id"), TRUSTED) is None


def test_without_the_requirement_only_an_explicit_fail_refuses() -> None:
    assert staff_refusal(Verdict(False, "no Authentication-Results from a trusted server"), LENIENT) is None
    refused = staff_refusal(Verdict(False, "dmarc=fail header.from=example.co.id (mx)"), LENIENT)
    assert refused == "sender not authenticated: dmarc=fail header.from=example.co.id (mx)"


def test_the_non_participant_reason_names_the_ticket() -> None:
    assert NOT_A_PARTICIPANT == "the sender is not a participant of this ticket"


# --- acknowledging a new complaint ------------------------------------------------


def test_an_ordinary_complaint_is_acknowledged() -> None:
    assert acknowledgement_withheld(mail(), backlog=False) is None


def test_a_backlog_mail_is_not_acknowledged() -> None:
    assert acknowledgement_withheld(mail(), backlog=True) == "mail older than the backlog limit"


@pytest.mark.parametrize("value", ["All", "OOF, AutoReply", " autoreply "])
def test_x_auto_response_suppress_withholds_the_acknowledgement(value: str) -> None:
    asked = mail(("X-Auto-Response-Suppress", value))
    assert asks_for_no_auto_reply(asked)
    assert acknowledgement_withheld(asked, backlog=False) == "the sender asked for no automatic replies"


def test_x_auto_response_suppress_for_other_kinds_does_not() -> None:
    assert not asks_for_no_auto_reply(mail(("X-Auto-Response-Suppress", "DR, RN, NRN")))


def test_a_mail_with_two_from_headers_is_not_acknowledged() -> None:
    raw = (
        b"From: pelanggan@example.net\r\nFrom: lain@example.net\r\nTo: cs@example.co.id\r\n"
        b"Subject: x\r\nMessage-ID: <two@example.net>\r\n\r\nIsi.\r\n"
    )
    forged = parse(raw, own_addresses=(CARE,))
    assert acknowledgement_withheld(forged, backlog=False) == "the mail has more than one From header"


def test_a_recovered_sender_that_looks_automated_is_not_acknowledged() -> None:
    robot = parse((DATA / "sender_recovered_robot.eml").read_bytes(), own_addresses=(CARE,))

    assert robot.sender_source == "sender"
    assert acknowledgement_withheld(robot, backlog=False) == (
        "the recovered sender baca-bounces@lists.komunitas-baca.or.id looks automated (list server); "
        "sender taken from Sender: From was unusable"
    )


@pytest.mark.parametrize(
    ("source", "address"),
    [
        ("from (recovered: no angle brackets)", "noreply@toko.example"),
        ("reply-to", "mailer-daemon@mx.example.net"),
        ("return-path", "bounces+1234-abcd@mail.example.net"),
    ],
)
def test_no_recovered_robot_is_acknowledged(source: str, address: str) -> None:
    recovered = dataclasses.replace(mail(), from_address=address, sender_source=source)

    assert (acknowledgement_withheld(recovered, backlog=False) or "").startswith(
        f"the recovered sender {address} looks automated"
    )


@pytest.mark.parametrize(
    "name",
    ["sender_from_without_angle_brackets", "sender_reply_to_fallback", "sender_quoted_local_part"],
)
def test_a_recovered_sender_that_is_a_person_is_acknowledged(name: str) -> None:
    person = parse((DATA / f"{name}.eml").read_bytes(), own_addresses=(CARE,))

    assert acknowledgement_withheld(person, backlog=False) is None


def test_a_robot_address_in_a_plain_from_is_left_to_classification() -> None:
    # classify ignores automated mail before it is a complaint; a plain From is not second-guessed here.
    plain = dataclasses.replace(mail(), from_address="noreply@toko.example")

    assert acknowledgement_withheld(plain, backlog=False) is None


def test_the_created_entry_says_where_the_sender_came_from() -> None:
    assert creation_reason(mail()) == "complaint received by email"
    fallback = parse((DATA / "sender_reply_to_fallback.eml").read_bytes(), own_addresses=(CARE,))
    assert creation_reason(fallback) == (
        "complaint received by email; sender taken from Reply-To: From was unusable"
    )
    brackets = parse((DATA / "sender_from_without_angle_brackets.eml").read_bytes(), own_addresses=(CARE,))
    assert creation_reason(brackets) == (
        "complaint received by email; sender recovered from From (no angle brackets)"
    )


def test_the_backlog_is_measured_from_the_server_arrival_time() -> None:
    now = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    assert is_backlog(now - timedelta(hours=73), now, 72)
    assert not is_backlog(now - timedelta(hours=71), now, 72)
    assert not is_backlog(None, now, 72)


# --- who else may follow up -------------------------------------------------------


def test_watchers_are_the_copied_people_not_us_nor_the_sender() -> None:
    copied = mail(("Cc", "teman@example.net, cs+tiket@example.co.id, pelanggan@example.net"))
    assert watchers(copied, (CARE,)) == ["teman@example.net"]


def test_watchers_are_capped() -> None:
    crowd = ", ".join(f"orang{n}@example.net" for n in range(30))
    assert len(watchers(mail(("Cc", crowd)), (CARE,))) == 20


# --- the satisfaction survey -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "score"),
    [
        ("4", 4),
        ("\n\n  5\nTerima kasih", 5),
        ("Nilai: 2\nlambat", 2),
        ("score = 3/5", 3),
        ("rating 1", 1),
        ("Terima kasih\n5", None),
        ("6", None),
        ("", None),
    ],
)
def test_the_score_is_read_from_the_first_line(text: str, score: int | None) -> None:
    assert survey_score(text) == score


def test_the_comment_is_the_answer_without_its_score() -> None:
    assert survey_comment("Nilai: 2\nKoran masih sering terlambat.") == "Koran masih sering terlambat."


def test_a_score_under_the_standard_is_a_new_complaint() -> None:
    assert survey_complaint_reason(2, "", 3) == "score 2 under the standard 3"
    assert survey_complaint_reason(3, "oke", 3) is None


def test_a_negative_comment_is_a_new_complaint_whatever_the_score() -> None:
    assert survey_complaint_reason(5, "Saya kecewa dengan pelayanannya", 3) == "a negative comment"
    assert survey_complaint_reason(1, "very bad", 3) == "a negative comment"
