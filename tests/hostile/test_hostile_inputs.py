"""The hostile corpus through the real daemon: every bad input reaches its expected end state.

One daemon run (`caredesk run --once` on a Maildir, SQLite and a `file:` outbox)
takes the whole corpus, committed files and generated ones alike; then a few of
them are handed over again through `caredesk ingest`. Each file's end state is
checked against expected.toml, and across the corpus: the run exits 0 having
settled every mail, nothing is lost or altered, no automated sender is
answered, and no outgoing mail carries a header we did not set.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from daemon.cli import main
from daemon.commands.run import INGEST_SOURCE
from daemon.parse.parser import parse
from daemon.store.models import InboundMessage, OutboundMessage, Ticket
from tests.hostile.generate import generate
from tests.integration.helpers import CARE_ADDRESS, inbound, outbound, tickets, write_config

HERE = Path(__file__).resolve().parent
EXPECTED: dict[str, dict[str, Any]] = tomllib.loads((HERE / "expected.toml").read_text(encoding="utf-8"))
INGESTED_AGAIN = (
    "01_empty_file.eml",
    "05_rfc2047_crlf_subject.eml",
    "13_mime_depth_5000.eml",
    "17_header_bomb_5000_fields.eml",
    "30_html_only_script_iframe_pixel.eml",
    "31_auto_submitted_auto_replied.eml",
)
OUR_HEADERS = frozenset(
    {
        "from",
        "to",
        "subject",
        "date",
        "message-id",
        "reply-to",
        "in-reply-to",
        "references",
        "auto-submitted",
        "x-auto-response-suppress",
        "x-caredesk-loop",
        "content-language",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
    }
)
"""Every header `daemon.outbox.compose.compose` writes; anything else in an outgoing mail was injected."""


def end_state(row: InboundMessage) -> tuple[str, str]:
    """The end state of one inbound row as expected.toml names it, and its recorded reason.

    A mail that failed a stage is 'quarantined'. While a retry with backoff is
    pending it is 'retry' (or still 'stored'), with the failed stage and the
    error recorded: the same end state, waiting for another try.
    """
    if row.state == "processed" and row.ticket_id is not None:
        return "ticket", row.reason
    if row.state == "quarantined" or (_retry_pending(row) and row.stage and row.error):
        return "quarantined", row.error or row.reason
    return row.state, row.reason


def _retry_pending(row: InboundMessage) -> bool:
    return row.state in ("stored", "retry")


@dataclass
class Round:
    """What the database and the outbox folder held after one round."""

    rows: dict[str, InboundMessage]
    """Inbound rows by corpus file name."""
    outbound: list[OutboundMessage]
    tickets: dict[int, Ticket]
    outbox_files: list[Path]


@dataclass
class Run:
    folder: Path
    sources: dict[str, bytes]
    run_exit_code: int
    ingest_exit_code: int
    first: Round
    second: Round
    """After the `ingest` round: only the rows `caredesk ingest` stored."""

    @property
    def maildir(self) -> Path:
        return self.folder / "mail"


def _maildir_name(position: int, name: str) -> str:
    # Maildir names start with the delivery time: name order is processing order.
    return f"{1_700_000_000 + position}.M{position}P1.{Path(name).stem}"


def _snapshot(url: str, folder: Path, names_by_key: dict[str, str], source: str | None) -> Round:
    rows = {
        names_by_key[row.source_key]: row
        for row in inbound(url)
        if (source is None and row.source != INGEST_SOURCE) or row.source == source
    }
    return Round(
        rows=rows,
        outbound=outbound(url),
        tickets={ticket.id: ticket for ticket in tickets(url) if ticket.id is not None},
        outbox_files=sorted((folder / "outbox").glob("*.eml")),
    )


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    folder = tmp_path_factory.mktemp("hostile")
    sources = {path.name: path.read_bytes() for path in sorted((HERE / "data").glob("*.eml"))}
    sources.update({path.name: path.read_bytes() for path in generate(folder / "generated")})
    new = folder / "mail" / "new"
    new.mkdir(parents=True)
    for position, name in enumerate(sorted(sources)):
        (new / _maildir_name(position, name)).write_bytes(sources[name])
    url = f"sqlite:///{folder}/caredesk.db"
    config = write_config(
        folder,
        database_url=url,
        mailbox_url=f"maildir:{folder / 'mail'}",
        smtp_url=f"file:{folder / 'outbox'}",
    )
    again = folder / "again"
    again.mkdir()
    for name in INGESTED_AGAIN:
        (again / name).write_bytes(sources[name])
    with pytest.MonkeyPatch.context() as env:
        for variable in list(os.environ):
            if variable.startswith("CAREDESK_"):
                env.delenv(variable)
        run_exit_code = main(["--config", str(config), "run", "--once"])
        names = {_maildir_name(position, name): name for position, name in enumerate(sorted(sources))}
        first = _snapshot(url, folder, names, None)
        ingest_exit_code = main(
            ["--config", str(config), "ingest", *(str(again / n) for n in INGESTED_AGAIN)]
        )
        hashes = {hashlib.sha256(sources[name]).hexdigest(): name for name in INGESTED_AGAIN}
        second = _snapshot(url, folder, hashes, INGEST_SOURCE)
    return Run(folder, sources, run_exit_code, ingest_exit_code, first, second)


# --- the corpus as a whole ---------------------------------------------------------------


def test_expected_states_cover_every_corpus_file(run: Run) -> None:
    assert set(EXPECTED) == set(run.sources)
    assert len(EXPECTED) >= 40
    assert {entry["state"] for entry in EXPECTED.values()} == {
        "ticket",
        "ignored",
        "quarantined",
        "duplicate",
    }


def test_one_run_takes_the_whole_corpus_and_exits_cleanly(run: Run) -> None:
    assert run.run_exit_code == 0
    assert set(run.first.rows) == set(run.sources)
    for name, row in run.first.rows.items():
        assert not _retry_pending(row) or end_state(row)[0] == "quarantined", f"{name} was never processed"


def _maildir_keys(folder: Path) -> list[str]:
    return sorted(path.name.split(":")[0] for path in folder.iterdir()) if folder.exists() else []


def test_no_mail_is_lost_or_altered(run: Run) -> None:
    for name, row in run.first.rows.items():
        assert row.raw == run.sources[name], name
        assert row.size == len(run.sources[name]), name
    everywhere = [key for folder in run.maildir.glob("**/cur") for key in _maildir_keys(folder)]
    everywhere += _maildir_keys(run.maildir / "new")
    assert sorted(everywhere) == sorted(row.source_key for row in run.first.rows.values())
    settled = [row for row in run.first.rows.values() if not _retry_pending(row)]
    assert all(row.disposition == "done" for row in settled)
    assert _maildir_keys(run.maildir / ".Quarantine" / "cur") == sorted(
        row.source_key for row in settled if row.state == "quarantined"
    )
    assert _maildir_keys(run.maildir / ".Processed" / "cur") == sorted(
        row.source_key for row in settled if row.state != "quarantined"
    )
    pending = {row.source_key for row in run.first.rows.values() if _retry_pending(row)}
    assert set(_maildir_keys(run.maildir / "new")) <= pending


def test_no_automated_sender_is_ever_answered(run: Run) -> None:
    answered = {mail.recipient for mail in run.first.outbound if mail.kind == "ack"}
    for name, row in run.first.rows.items():
        state, _ = end_state(row)
        caused = [mail for mail in run.first.outbound if mail.cause_inbound_id == row.id]
        if state != "ticket":
            assert caused == [], f"{name} ({state}) caused outgoing mail"
        if state == "ignored":
            assert row.from_address not in answered, name


def test_outgoing_mail_carries_only_the_headers_we_set(run: Run) -> None:
    sent = [mail for mail in run.first.outbound if mail.state == "sent"]
    assert len(run.first.outbox_files) == len(sent) > 0
    for path in run.first.outbox_files:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        names = [name.lower() for name in message]
        assert set(names) <= OUR_HEADERS, f"{path.name}: {set(names) - OUR_HEADERS}"
        assert len(names) == len(set(names)), f"{path.name}: a header twice"
        assert len(message["To"].addresses) == 1, path.name
        assert all("\r" not in str(v) and "\n" not in str(v) for v in message.values()), path.name


def test_mail_handed_over_again_by_ingest_is_recognised(run: Run) -> None:
    assert run.ingest_exit_code == 0
    assert set(run.second.rows) == set(INGESTED_AGAIN)
    for name, row in run.second.rows.items():
        first, _ = end_state(run.first.rows[name])
        state, reason = end_state(row)
        if first == "quarantined":
            assert (state, row.stage) == ("quarantined", EXPECTED[name].get("stage", "parse")), name
            assert EXPECTED[name]["reason"] in reason
        else:
            assert state == "duplicate", f"{name}: {state} ({reason})"
    assert len(run.second.outbound) == len(run.first.outbound)
    assert run.second.outbox_files == run.first.outbox_files


# --- each file --------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_bad_input_reaches_its_expected_end_state(run: Run, name: str) -> None:
    expected = EXPECTED[name]
    row = run.first.rows[name]
    state, reason = end_state(row)

    assert state == expected["state"], f"{name}: {state} ({reason})"
    assert expected.get("reason", "") in reason
    if "stage" in expected:
        assert row.stage == expected["stage"]
    if state == "ticket":
        _check_ticket(run, row, expected)
    if state != "quarantined":
        _check_parsed(row, expected)


def _check_ticket(run: Run, row: InboundMessage, expected: dict[str, Any]) -> None:
    assert row.ticket_id is not None
    ticket = run.first.tickets[row.ticket_id]
    if "customer" in expected:
        assert ticket.customer_email == expected["customer"]
    if "subject" in expected:
        assert ticket.subject == expected["subject"]
    for fragment in expected.get("absent", []):
        assert fragment not in ticket.subject and fragment not in ticket.description
    acks = [
        m
        for m in run.first.outbound
        if m.cause_inbound_id == row.id and m.kind == "ack" and m.state == "sent"
    ]
    assert len(acks) == (1 if expected["ack"] else 0)
    for ack in acks:
        assert ack.recipient == ticket.customer_email
        message = email.message_from_bytes(ack.raw, policy=email.policy.default)
        assert expected.get("ack_subject_contains", "") in message["Subject"]
        assert "bcc" not in {name.lower() for name in message}


def _check_parsed(row: InboundMessage, expected: dict[str, Any]) -> None:
    if not {"defects", "attachments", "absent"} & set(expected):
        return
    mail = parse(row.raw, own_addresses=(CARE_ADDRESS,))
    for defect in expected.get("defects", []):
        assert any(defect in found for found in mail.defects), f"{defect!r} not in {mail.defects}"
    if "attachments" in expected:
        names = [attachment.filename for attachment in mail.attachments]
        assert len(names) == len(expected["attachments"]), names
        for pattern, found in zip(expected["attachments"], names, strict=True):
            assert re.fullmatch(pattern, found), f"{found!r} does not match {pattern!r}"
    for fragment in expected.get("absent", []):
        assert fragment not in mail.html and fragment not in mail.subject and fragment not in mail.text
