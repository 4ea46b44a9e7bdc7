"""The automated mail that comes from a real return address is never answered; people's mail still is.

Each `tests/data/auto_*.eml` imitates one shape issue 14 found acknowledged:
a list server's digest and loop alert, feedback and abuse reports, security
gateways' notices, a non-delivery report without a DSN part, localised
non-delivery and auto-reply subjects, and challenge-response robots.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.classify.automated import automated_reason
from daemon.classify.kinds import Kind, classify
from daemon.parse.message import InboundMail
from daemon.parse.parser import parse

DATA = Path(__file__).resolve().parents[2] / "data"
OWN = ("cs@example.co.id", "bounces@example.co.id")

NAMED = {
    "auto_mailman_digest": "mailing list: x-mailman-version",
    "auto_mailman_moderation_notice": "mailing list: x-mailman-version",
    "auto_loop_alert": "list server notice: loop alert subject",
    "auto_arf_feedback_report": "abuse report: feedback-report (ARF)",
    "auto_abuse_plaintext": "abuse report subject",
    "auto_gateway_quarantine": "security gateway notice subject",
    "auto_gateway_message_held": "security gateway notice subject",
    "auto_exim_ndr_no_dsn": "automated sender: ndr@mail.hosting-awan.example",
    "auto_fr_non_remis": "non-delivery subject",
    "auto_de_unzustellbar": "non-delivery subject",
    "auto_id_tidak_terkirim": "non-delivery subject",
    "auto_zh_tuixin": "non-delivery subject",
    "auto_ja_jidou_outou": "out-of-office subject",
    "auto_challenge_response": "challenge-response subject",
    "auto_challenge_tmda": "auto-submitted: auto-replied",
}


def _parse(path: Path) -> InboundMail:
    return parse(path.read_bytes(), own_addresses=OWN)


def _names(*patterns: str) -> list[str]:
    return sorted(path.stem for pattern in patterns for path in DATA.glob(pattern))


@pytest.mark.parametrize(("sample", "reason"), sorted(NAMED.items()))
def test_each_named_automated_mail_gives_the_reason_that_decided_it(sample: str, reason: str) -> None:
    assert automated_reason(_parse(DATA / f"{sample}.eml"), OWN) == reason


@pytest.mark.parametrize("sample", _names("auto_*.eml"))
def test_every_automated_sample_is_never_answered(sample: str) -> None:
    mail = _parse(DATA / f"{sample}.eml")

    assert automated_reason(mail, OWN) is not None
    kind = classify(mail, own_addresses=OWN, thread_ticket_id=None).kind
    assert kind in {Kind.AUTOMATED, Kind.BOUNCE}


def test_every_named_sample_exists() -> None:
    assert set(NAMED) <= set(_names("auto_*.eml"))


@pytest.mark.parametrize("sample", _names("complaint_*.eml", "reply_*.eml", "duplicate_*.eml"))
def test_complaints_and_replies_in_tests_data_are_not_automated(sample: str) -> None:
    assert automated_reason(_parse(DATA / f"{sample}.eml"), OWN) is None
