"""Authenticating a department's reply from the receiving server's Authentication-Results.

The headers are shaped like the ones Gmail / Google Workspace, Microsoft 365
and Postfix with OpenDKIM + OpenDMARC really write, folded as they arrive,
and go through the parse stage the pipeline uses.
"""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from daemon.classify.authres import (
    NOBODY_TRUSTED,
    NOT_CHECKED,
    TOPMOST_WITHOUT_ID,
    Report,
    Result,
    Verdict,
    parse,
    sender_refusal,
    sender_verified,
    verify_sender,
)
from daemon.config import SecurityConfig
from daemon.parse.parser import parse as parse_mail

SENDER = "ani.rahmawati@example.co.id"


def headers_of(*authentication: str, above: str = "") -> tuple[tuple[str, str], ...]:
    """The headers of a reply carrying these A-R headers (folded as written), through the parse stage."""
    raw = (
        above
        + "".join(f"Authentication-Results: {value}\r\n" for value in authentication)
        + "Received: from mail-sor-f41.google.com (mail-sor-f41.google.com [209.85.220.41])\r\n"
        "        by mx.example.co.id (Postfix) with ESMTPS id 4Xk2Lq0abcz9s\r\n"
        "        for <care@example.co.id>; Mon, 23 Nov 2026 09:12:01 +0700 (WIB)\r\n"
        f"From: Ani Rahmawati <{SENDER}>\r\n"
        "To: care+t.cc-2026-000123.k3j9x2m4q8zt@example.co.id\r\n"
        "Subject: RE: [CC-2026-000123] Keluhan baru / New complaint: Koran tidak datang\r\n"
        "Message-ID: <CAF=ani-001@mail.gmail.com>\r\n"
        "Date: Mon, 23 Nov 2026 09:11:58 +0700\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        "#status resolved\r\n"
    ).encode()
    return parse_mail(raw).headers


def verify(headers: tuple[tuple[str, str], ...], trusted: tuple[str, ...] = ("mx.example.co.id",)) -> tuple:
    verdict = sender_verified(headers, SENDER, trusted_authserv_ids=trusted)
    return verdict.verified, verdict.reason


GMAIL = (
    "mx.google.com;\r\n"
    '       dkim=pass header.i=@example.co.id header.s=google header.b="Xk3/pQ+a";\r\n'
    "       arc=pass (i=1 spf=pass spfdomain=example.co.id dkim=pass dkdomain=example.co.id dmarc=pass "
    "fromdomain=example.co.id);\r\n"
    "       spf=pass (google.com: domain of ani.rahmawati@example.co.id designates 209.85.220.41 "
    "as permitted sender) smtp.mailfrom=ani.rahmawati@example.co.id;\r\n"
    "       dmarc=pass (p=QUARANTINE sp=QUARANTINE dis=NONE) header.from=example.co.id"
)
MICROSOFT = (
    "spf=pass (sender IP is 209.85.222.48)\r\n smtp.mailfrom=example.co.id;"
    " dkim=pass (signature was verified)\r\n header.d=example.co.id;dmarc=pass action=none"
    " header.from=example.co.id;compauth=pass\r\n reason=100"
)
OPENDKIM = (
    "mx.example.co.id;\r\n"
    "\tdkim=pass (2048-bit key; unprotected) header.d=example.co.id header.i=@example.co.id\r\n"
    "\theader.a=rsa-sha256 header.s=default header.b=AbC1+/23"
)
OPENDMARC = "mx.example.co.id; dmarc=pass (p=none dis=none) header.from=example.co.id"


def test_gmail_dmarc_pass_verifies_the_sender() -> None:
    assert verify(headers_of(GMAIL), ("mx.google.com",)) == (
        True,
        "dmarc=pass header.from=example.co.id (mx.google.com)",
    )


def test_gmail_aligned_dkim_signature_verifies_without_dmarc() -> None:
    header = "mx.google.com; dkim=pass header.i=@mail.example.co.id header.s=s1 header.b=Zz9; dmarc=none"
    assert verify(headers_of(header), ("mx.google.com",)) == (
        True,
        "dkim=pass header.d=mail.example.co.id (mx.google.com)",
    )


def test_postfix_with_opendkim_and_opendmarc_headers_verifies() -> None:
    assert verify(headers_of(OPENDMARC, OPENDKIM)) == (
        True,
        "dmarc=pass header.from=example.co.id (mx.example.co.id)",
    )
    assert verify(headers_of(OPENDKIM)) == (True, "dkim=pass header.d=example.co.id (mx.example.co.id)")


def test_microsoft_365_header_has_no_authserv_id_and_is_trusted_only_by_position() -> None:
    headers = headers_of(MICROSOFT)
    assert verify(headers, (TOPMOST_WITHOUT_ID,)) == (
        True,
        "dmarc=pass header.from=example.co.id (topmost, no authserv-id)",
    )
    assert verify(headers, ("mx.example.co.id",)) == (
        False,
        "no Authentication-Results from a trusted server",
    )


def test_microsoft_365_header_with_stray_semicolons_still_reads() -> None:
    header = (
        "spf=pass (sender IP is 209.85.222.48); smtp.mailfrom=example.co.id; "
        "dkim=pass (signature was verified); header.d=example.co.id;dmarc=fail action=oreject; "
        "header.from=example.co.id;compauth=fail reason=000"
    )
    assert verify(headers_of(header), (TOPMOST_WITHOUT_ID,)) == (
        False,
        "dmarc=fail header.from=example.co.id (topmost, no authserv-id)",
    )


def test_microsoft_best_guess_pass_is_not_a_dmarc_pass() -> None:
    header = (
        "spf=pass (sender IP is 1.2.3.4) smtp.mailfrom=example.co.id; dkim=none (message not signed) "
        "header.d=none;dmarc=bestguesspass action=none header.from=example.co.id;compauth=pass reason=109"
    )
    verified, reason = verify(headers_of(header), (TOPMOST_WITHOUT_ID,))
    assert not verified
    assert reason.startswith("no dmarc=pass or aligned dkim=pass for example.co.id: spf=pass")
    assert "dmarc=bestguesspass header.from=example.co.id (topmost, no authserv-id)" in reason


def test_an_id_less_header_below_the_topmost_one_is_the_senders_and_does_not_count() -> None:
    forged = "dmarc=pass action=none header.from=example.co.id"
    real = (
        "spf=fail (sender IP is 6.6.6.6) smtp.mailfrom=evil.example; dkim=none;"
        " dmarc=none header.from=example.co.id"
    )
    assert not verify(headers_of(real, forged), (TOPMOST_WITHOUT_ID,))[0]
    # A header with an authserv-id on top means the mailbox is not Exchange's: the id-less one is not read.
    assert not verify(headers_of(OPENDMARC.replace("pass", "none"), forged), (TOPMOST_WITHOUT_ID,))[0]


def test_a_forged_header_from_an_untrusted_server_does_not_count() -> None:
    forged = "evil; dmarc=pass header.from=example.co.id; dkim=pass header.d=example.co.id"
    assert verify(headers_of(forged)) == (False, "no Authentication-Results from a trusted server")


def test_a_forged_header_with_our_id_below_our_real_stamp_is_not_read() -> None:
    # The sender wrote the second header; our server's own verdict on DMARC and DKIM is above it.
    real = "mx.example.co.id; dkim=none (no signature); dmarc=none (p=none) header.from=example.co.id"
    forged = "mx.example.co.id; dkim=pass header.d=example.co.id; dmarc=pass header.from=example.co.id"
    verified, reason = verify(headers_of(real, forged))
    assert not verified
    assert reason == (
        "no dmarc=pass or aligned dkim=pass for example.co.id: dkim=none (mx.example.co.id); "
        "dmarc=none header.from=example.co.id (mx.example.co.id)"
    )


def test_dmarc_fail_outweighs_a_passing_dkim_signature() -> None:
    header = (
        "mx.example.co.id; dkim=pass header.d=example.co.id header.s=s1;\r\n"
        " dmarc=fail (p=reject dis=none) header.from=example.co.id"
    )
    assert verify(headers_of(header)) == (False, "dmarc=fail header.from=example.co.id (mx.example.co.id)")


def test_dmarc_fail_for_another_domain_is_not_about_this_sender() -> None:
    header = "mx.example.co.id; dmarc=fail header.from=lain.example; dkim=pass header.d=example.co.id"
    assert verify(headers_of(header)) == (True, "dkim=pass header.d=example.co.id (mx.example.co.id)")


def test_spf_alone_does_not_verify_the_from_address() -> None:
    header = "mx.example.co.id; spf=pass smtp.mailfrom=ani.rahmawati@example.co.id"
    assert verify(headers_of(header)) == (
        False,
        "no dmarc=pass or aligned dkim=pass for example.co.id: "
        "spf=pass smtp.mailfrom=ani.rahmawati@example.co.id (mx.example.co.id)",
    )


@pytest.mark.parametrize(
    ("signer", "aligned"),
    [
        ("example.co.id", True),
        ("EXAMPLE.CO.ID", True),
        ("mail.example.co.id", True),
        ("co.id", True),
        ("evilexample.co.id", False),
        ("example.co.id.evil.example", False),
        ("lain.co.id", False),
    ],
)
def test_dkim_passes_only_when_its_domain_is_aligned_with_the_from_domain(signer: str, aligned: bool) -> None:
    header = f"mx.example.co.id; dkim=pass header.d={signer} header.s=s1"
    assert verify(headers_of(header))[0] is aligned


def test_a_failing_dkim_signature_does_not_verify() -> None:
    header = 'mx.example.co.id; dkim=fail reason="signature verification failed" header.d=example.co.id'
    assert not verify(headers_of(header))[0]


def test_a_trusted_header_below_other_servers_headers_still_counts_by_its_id() -> None:
    relay = "relay.example.net; dkim=fail header.d=example.co.id"
    assert verify(headers_of(relay, OPENDMARC))[0]


def test_authserv_id_and_header_names_compare_without_case() -> None:
    headers = (("AUTHENTICATION-RESULTS", "MX.Example.CO.ID; DMARC=PASS header.from=Example.CO.ID"),)
    assert sender_verified(
        headers, "Ani <Ani@EXAMPLE.co.id>", trusted_authserv_ids=("mx.example.co.id",)
    ).verified


def test_folded_values_that_were_not_unfolded_are_read() -> None:
    headers = (
        ("Authentication-Results", "mx.example.co.id;\r\n\tdmarc=pass\r\n\theader.from=example.co.id"),
    )
    assert sender_verified(headers, SENDER, trusted_authserv_ids={"mx.example.co.id"}).verified


def test_an_internationalised_from_domain_matches_its_ascii_form() -> None:
    headers = (("authentication-results", "mx.example.co.id; dmarc=pass header.from=xn--bcher-kva.example"),)
    verdict = sender_verified(headers, "info@bücher.example", trusted_authserv_ids=("mx.example.co.id",))
    assert verdict.verified


def test_arc_and_other_lookalike_headers_are_not_authentication_results() -> None:
    arc = "i=1; mx.google.com; dmarc=pass header.from=example.co.id"
    headers = (("arc-authentication-results", arc), ("authentication-results-original", OPENDMARC))
    assert not sender_verified(headers, SENDER, trusted_authserv_ids=("mx.example.co.id",)).verified


def test_a_from_address_without_a_domain_is_not_verified() -> None:
    verdict = sender_verified(headers_of(OPENDMARC), "ani", trusted_authserv_ids=("mx.example.co.id",))
    assert verdict == Verdict(False, "no domain in the From address 'ani'")


def test_no_trusted_servers_configured_verifies_nobody() -> None:
    assert verify(headers_of(GMAIL), ()) == (False, "no Authentication-Results from a trusted server")


# ---------------------------------------------------------------------------
# The header grammar
# ---------------------------------------------------------------------------


def test_parse_reads_the_id_results_and_properties_and_skips_comments() -> None:
    report = parse(
        'mx.example.co.id 1 (version one; really); dkim/1=pass (key; ok) header.d=a.id header.b="x;y"'
    )
    assert report == Report(
        "mx.example.co.id", (Result("dkim", "pass", (("header.d", "a.id"), ("header.b", "x;y"))),)
    )


def test_parse_reads_nested_comments_and_escapes() -> None:
    report = parse(r"mx.a.id; spf=pass (outer (inner; x=y) \) still) smtp.mailfrom=a@b.id")
    assert report.results == (Result("spf", "pass", (("smtp.mailfrom", "a@b.id"),)),)


def test_parse_of_none_and_of_a_bare_id() -> None:
    assert parse("mx.a.id 1; none") == Report("mx.a.id", ())
    assert parse("mx.a.id") == Report("mx.a.id", ())
    assert parse("") == Report(None, ())


def test_a_method_written_without_its_semicolon_still_starts_a_new_result() -> None:
    report = parse("mx.a.id; spf=pass smtp.mailfrom=a.id dkim=pass header.d=a.id")
    assert [(result.method, result.get("header.d")) for result in report.results] == [
        ("spf", None),
        ("dkim", "a.id"),
    ]


def test_a_method_name_that_is_only_a_version_is_debris() -> None:
    # Found by the property below: `/=0` once made a result with an empty method.
    assert parse("/=0") == Report(None, ())
    report = parse("mx.a.id; /1=pass header.d=b.id spf=pass; dkim/1=pass header.d=a.id")
    assert [(result.method, result.result, result.properties) for result in report.results] == [
        ("spf", "pass", ()),
        ("dkim", "pass", (("header.d", "a.id"),)),
    ]


@example("/=0")
@given(st.text(max_size=300))
def test_parse_never_raises_on_any_text(value: str) -> None:
    report = parse(value)
    assert all(result.method for result in report.results)


@given(st.text(max_size=200), st.text(max_size=60))
def test_sender_verified_never_raises_on_any_header_or_address(value: str, address: str) -> None:
    verdict = sender_verified(
        (("authentication-results", value),),
        address,
        trusted_authserv_ids=("mx.example.co.id", TOPMOST_WITHOUT_ID),
    )
    assert verdict.reason


# ---------------------------------------------------------------------------
# RFC 8601 §5: only the topmost header(s) our own servers wrote are read
# ---------------------------------------------------------------------------


def test_a_forged_dkim_pass_with_our_id_below_a_real_stamp_that_has_no_dkim_is_ignored() -> None:
    # Our server checked SPF and DMARC only; the sender added the DKIM "result" below it.
    real = "mx.example.co.id; spf=pass smtp.mailfrom=example.co.id; dmarc=none header.from=example.co.id"
    forged = "mx.example.co.id; dkim=pass header.d=example.co.id header.s=s1"
    assert verify(headers_of(real, forged)) == (
        False,
        "no dmarc=pass or aligned dkim=pass for example.co.id: spf=pass smtp.mailfrom=example.co.id "
        "(mx.example.co.id); dmarc=none header.from=example.co.id (mx.example.co.id)",
    )


def test_a_milter_style_result_with_our_id_below_the_top_is_ignored() -> None:
    real = "mx.example.co.id; spf=softfail smtp.mailfrom=evil.example"
    milter = "mx.example.co.id; dmarc=pass (p=none dis=none) header.from=example.co.id"
    assert not verify(headers_of(real, milter))[0]
    # Only when the site says its server writes two stamps is the second one ours.
    assert sender_verified(
        headers_of(real, milter), SENDER, trusted_authserv_ids=("mx.example.co.id",), header_count=2
    ) == Verdict(True, "dmarc=pass header.from=example.co.id (mx.example.co.id)")


def test_postfix_with_two_milters_reads_both_stamps_and_nothing_below_them() -> None:
    opendkim_none = "mx.example.co.id; dkim=none (no signature)"
    opendmarc_none = "mx.example.co.id; dmarc=none (p=none dis=none) header.from=example.co.id"
    forged = "mx.example.co.id; dkim=pass header.d=example.co.id"
    headers = headers_of(opendkim_none, opendmarc_none, forged)
    two = sender_verified(headers, SENDER, trusted_authserv_ids=("mx.example.co.id",), header_count=2)
    assert two == Verdict(
        False,
        "no dmarc=pass or aligned dkim=pass for example.co.id: dkim=none (mx.example.co.id); "
        "dmarc=none header.from=example.co.id (mx.example.co.id)",
    )
    real = headers_of(OPENDKIM, OPENDMARC)
    assert sender_verified(real, SENDER, trusted_authserv_ids=("mx.example.co.id",), header_count=2).verified


def test_headers_of_other_servers_do_not_use_up_the_count() -> None:
    relay = "relay.example.net; dkim=pass header.d=example.co.id"
    real = "mx.example.co.id; dmarc=none header.from=example.co.id"
    forged = "mx.example.co.id; dmarc=pass header.from=example.co.id"
    assert not verify(headers_of(relay, real, forged))[0]
    assert verify(headers_of(relay, OPENDMARC, forged))[0]


def test_the_id_less_topmost_header_is_the_one_stamp_and_a_header_with_an_id_below_is_not_read() -> None:
    forged = "mx.example.co.id; dmarc=pass header.from=example.co.id"
    microsoft_fail = "spf=fail (sender IP is 6.6.6.6) smtp.mailfrom=evil.example; dkim=none; dmarc=none"
    trusted = (TOPMOST_WITHOUT_ID, "mx.example.co.id")
    assert not verify(headers_of(microsoft_fail, forged), trusted)[0]


# ---------------------------------------------------------------------------
# The [security] settings on top: closed unless told otherwise
# ---------------------------------------------------------------------------

IDS = SecurityConfig(trusted_authserv_ids=("mx.example.co.id",))


def test_without_trusted_ids_nobody_is_verified_and_the_mail_is_refused() -> None:
    nobody = SecurityConfig(trusted_authserv_ids=())
    verdict = verify_sender(headers_of(OPENDMARC), SENDER, nobody)
    assert verdict == Verdict(False, NOBODY_TRUSTED)
    assert sender_refusal(verdict, nobody) == f"sender not authenticated: {NOBODY_TRUSTED}"
    lax = SecurityConfig(trusted_authserv_ids=(), require_authenticated_senders=False)
    assert sender_refusal(verify_sender((), SENDER, lax), lax) is not None


def test_trust_none_believes_a_mail_without_any_authentication_results() -> None:
    lab = SecurityConfig(trusted_authserv_ids=(), trust="none")
    verdict = verify_sender((), SENDER, lab)
    assert verdict == Verdict(True, NOT_CHECKED)
    assert sender_refusal(verdict, lab) is None


def test_the_configured_header_count_is_applied() -> None:
    real = "mx.example.co.id; spf=pass smtp.mailfrom=example.co.id"
    headers = headers_of(real, OPENDMARC)
    assert not verify_sender(headers, SENDER, IDS).verified
    two = SecurityConfig(trusted_authserv_ids=("mx.example.co.id",), authserv_header_count=2)
    assert verify_sender(headers, SENDER, two).verified
