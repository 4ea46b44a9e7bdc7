"""Customer attachments reach staff: with the department notice, in `tickets show`, written out on demand.

Over real IMAP (Dovecot) and SMTP (aiosmtpd), on SQLite and PostgreSQL: the
notice carries the customer's files within `limits.forward_attachment_bytes`
and lists every one, with the command that writes out those it does not carry;
`tickets show` (text, JSON, the archive form) lists name, type, size and SHA-256
of the attachments of the first mail and the follow-ups; `tickets attachments`
writes them into a folder under safe names, never outside it, never over a file.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import json
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import col

from daemon.parse.parser import parse
from daemon.route.loader import load_rules
from daemon.store import db
from daemon.store.models import InboundMessage
from tests import mailfactory
from tests.integration.helpers import PROJECT, inbound, run_cli, tickets, write_config

pytestmark = pytest.mark.integration

DATA = PROJECT / "tests" / "data"
PHOTO_MAIL = DATA / "complaint_with_attachment.eml"  # a photo (283 B) and a delivery note (77 B)
HOSTILE_MAIL = DATA / "attachment_hostile_filenames.eml"


def _desk(
    tmp_path: Path, database_url: str, dovecot: Any, smtp_sink: Any, limits: str = ""
) -> dict[str, Any]:
    config = write_config(
        tmp_path,
        database_url=database_url,
        mailbox_url=dovecot.url,
        smtp_url=smtp_sink.url,
        extra=f"[limits]\n{limits}\n" if limits else "",
    )
    return {"config": config, "url": database_url, "imap": dovecot, "smtp": smtp_sink}


def _forget_list(database_url: str, inbound_id: int) -> None:
    """The row as a mail stored before revision 0010 has it: no attachment list."""
    engine = db.make_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                update(InboundMessage)
                .where(col(InboundMessage.id) == inbound_id)
                .values(attachment_list=None)
            )
    finally:
        engine.dispose()


def _run(desk: dict[str, Any]) -> None:
    assert run_cli("--config", str(desk["config"]), "run", "--once") == 0


def _cli(desk: dict[str, Any], capsys: Any, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = run_cli("--config", str(desk["config"]), *args)
    captured = capsys.readouterr()
    return code, str(captured.out), str(captured.err)


def _notices(desk: dict[str, Any]) -> list[tuple[list[str], EmailMessage]]:
    found = []
    for received in desk["smtp"].messages:
        message = email.message_from_bytes(received.data, policy=email.policy.default)
        if ".notice@" in str(message["Message-ID"]):
            assert isinstance(message, EmailMessage)
            found.append(([r.lower() for r in received.rcpt_tos], message))
    return found


def _files(message: EmailMessage) -> list[tuple[str | None, str, bytes]]:
    files = []
    for part in message.iter_attachments():
        assert isinstance(part, EmailMessage)
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        files.append((part.get_filename(), part.get_content_type(), payload))
    return files


def _text(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content()).replace("\r\n", "\n")


def _the_ticket_and_its_notice(desk: dict[str, Any]) -> tuple[Any, EmailMessage]:
    (ticket,) = tickets(desk["url"])
    (notice_to, notice), *others = _notices(desk)
    assert others == []
    department = load_rules(PROJECT / "rules.yaml").department(ticket.department)
    assert notice_to == [department.email]
    return ticket, notice


def test_department_gets_the_customers_photo_with_the_notice(
    tmp_path: Path, database_url: str, dovecot: Any, smtp_sink: Any
) -> None:
    desk = _desk(tmp_path, database_url, dovecot, smtp_sink)
    original = parse(PHOTO_MAIL.read_bytes())
    desk["imap"].append(PHOTO_MAIL.read_bytes())

    _run(desk)

    ticket, notice = _the_ticket_and_its_notice(desk)
    assert _files(notice) == [
        ("foto kerusakan – 1.jpg", "image/jpeg", original.attachments[0].payload),
        ("surat jalan № 12.pdf", "application/pdf", original.attachments[1].payload),
    ]
    text = _text(notice)
    assert "Lampiran pelanggan / Customer's attachments (2):" in text
    assert "  - foto kerusakan – 1.jpg (image/jpeg, 283 B)\n" in text
    assert "  - surat jalan № 12.pdf (application/pdf, 77 B)\n" in text
    assert "All of them are attached to this mail." in text
    assert "caredesk tickets attachments" not in text
    # The list stands above the complaint text.
    assert text.index("Customer's attachments") < text.index("--- Isi keluhan / Complaint ---")
    assert ticket.status == "assigned"


def test_attachments_over_the_limit_are_listed_with_the_command(
    tmp_path: Path, database_url: str, dovecot: Any, smtp_sink: Any, capsys: Any
) -> None:
    desk = _desk(tmp_path, database_url, dovecot, smtp_sink, limits="forward_attachment_bytes = 300")
    original = parse(PHOTO_MAIL.read_bytes())
    desk["imap"].append(PHOTO_MAIL.read_bytes())

    _run(desk)

    ticket, notice = _the_ticket_and_its_notice(desk)
    # The photo (283 B) fits within 300 bytes; the delivery note (77 B more) does not.
    assert [name for name, _type, _bytes in _files(notice)] == ["foto kerusakan – 1.jpg"]
    text = _text(notice)
    assert "  - foto kerusakan – 1.jpg (image/jpeg, 283 B)\n" in text
    assert (
        "  - surat jalan № 12.pdf (application/pdf, 77 B) -- TIDAK terlampir: melebihi batas / "
        "NOT attached: over the limit\n"
    ) in text
    assert "1 attachment(s) not attached (the limit for one mail is 300 B" in text
    command = f"caredesk tickets attachments {ticket.reference} --out DIR"
    assert f"\n  {command}\n" in text
    assert text.index(command) < text.index("--- Isi keluhan / Complaint ---")

    # The command the notice names gives Customer Care both files, whole.
    out = tmp_path / "for-the-department"
    code, printed, _ = _cli(desk, capsys, *command.removeprefix("caredesk ").split()[:-1], str(out))
    assert code == 0, printed
    assert (out / "surat jalan № 12.pdf").read_bytes() == original.attachments[1].payload
    assert (out / "foto kerusakan – 1.jpg").read_bytes() == original.attachments[0].payload


def test_staff_can_write_out_a_tickets_attachments_safely(
    tmp_path: Path, database_url: str, dovecot: Any, smtp_sink: Any, capsys: Any
) -> None:
    desk = _desk(tmp_path, database_url, dovecot, smtp_sink)
    desk["imap"].append(HOSTILE_MAIL.read_bytes())
    _run(desk)
    (ticket,) = tickets(desk["url"])
    root = tmp_path / "case"
    out = root / "files"
    out.mkdir(parents=True)
    (out / "passwd").write_bytes(b"already here")

    code, printed, err = _cli(desk, capsys, "tickets", "attachments", ticket.reference, "--out", str(out))

    assert code == 0, err
    long_name = "a" * 196 + ".pdf"  # capped at 200 bytes, the extension kept
    assert sorted(path.name for path in out.iterdir()) == sorted(
        ["passwd", "passwd (2)", "evil.dll", "invoicefdp.exe", "nulbyte name.txt", long_name, "attachment"]
    )
    assert (out / "passwd").read_bytes() == b"already here"  # never overwritten
    payload = parse(HOSTILE_MAIL.read_bytes()).attachments[0].payload
    assert all((out / name).read_bytes() == payload for name in ("passwd (2)", "evil.dll", "attachment"))
    assert sorted(path.name for path in root.iterdir()) == ["files"]  # nothing outside the folder
    assert not (tmp_path / "etc").exists()
    written = [line for line in printed.splitlines() if line.startswith("wrote ")]
    assert len(written) == 6 and all(line.startswith(f"wrote {out.resolve()}/") for line in written)
    assert (
        f"wrote {out.resolve()}/passwd (2)  application/octet-stream, 19 B  (named 'passwd' in the mail)"
        in printed
    )
    assert printed.splitlines()[-1] == f"6 attachment(s) of {ticket.reference} written to {out}"

    # Asked again, the same folder gets new copies beside the old, never over them.
    code, printed, _ = _cli(desk, capsys, "tickets", "attachments", ticket.reference, "--out", str(out))
    assert code == 0 and (out / "passwd (3)").is_file() and (out / "attachment (2)").is_file()

    code, printed, err = _cli(desk, capsys, "tickets", "attachments", "CC-2026-999999", "--out", str(out))
    assert (code, printed) == (1, "")
    assert err.strip() == "caredesk: no ticket CC-2026-999999"


def test_tickets_show_lists_the_attachments_of_the_first_mail_and_the_follow_ups(
    tmp_path: Path, database_url: str, dovecot: Any, smtp_sink: Any, capsys: Any
) -> None:
    desk = _desk(tmp_path, database_url, dovecot, smtp_sink)
    desk["imap"].append(PHOTO_MAIL.read_bytes())
    _run(desk)
    (ticket,) = tickets(desk["url"])
    receipt = b"%PDF-1.4\n% kuitansi pembayaran\n%%EOF\n"
    follow_up = mailfactory.complaint(
        sender="rina@tokobuku-sejahtera.id",
        name="Rina Wulandari",
        subject=f"Re: [{ticket.reference}] Buku pesanan rusak saat diterima",
        body="Berikut kuitansi pembayarannya.\n\nRina",
        attachment=("kuitansi.pdf", receipt, "application/pdf"),
    )
    desk["imap"].append(follow_up)
    _run(desk)
    assert len(tickets(desk["url"])) == 1, "the follow-up went onto the ticket"
    original = parse(PHOTO_MAIL.read_bytes())

    code, shown, err = _cli(desk, capsys, "tickets", "show", ticket.reference, "--json")
    assert code == 0, err
    listed = json.loads(shown)["attachments"]
    assert [(a["filename"], a["content_type"], a["size"], a["sha256"]) for a in listed] == [
        ("foto kerusakan – 1.jpg", "image/jpeg", 283, original.attachments[0].sha256),
        ("surat jalan № 12.pdf", "application/pdf", 77, original.attachments[1].sha256),
        ("kuitansi.pdf", "application/pdf", len(receipt), hashlib.sha256(receipt).hexdigest()),
    ]
    assert {a["from"] for a in listed} == {"rina@tokobuku-sejahtera.id"}
    assert listed[0]["inbound_id"] != listed[2]["inbound_id"]
    # The daemon kept each mail's list on its row when it parsed it ...
    kept = {row.id: json.loads(row.attachment_list) for row in inbound(desk["url"])}
    assert kept == {
        listed[0]["inbound_id"]: [
            {key: a[key] for key in ("filename", "content_type", "size", "sha256")} for a in listed[:2]
        ],
        listed[2]["inbound_id"]: [
            {key: listed[2][key] for key in ("filename", "content_type", "size", "sha256")}
        ],
    }
    # ... and a mail stored before it kept them is parsed again: the same listing.
    _forget_list(desk["url"], listed[0]["inbound_id"])
    code, again, err = _cli(desk, capsys, "tickets", "show", ticket.reference, "--json")
    assert code == 0, err
    assert json.loads(again)["attachments"] == listed

    code, text, _ = _cli(desk, capsys, "tickets", "show", ticket.reference)
    assert code == 0
    section = text.split("\nattachments (3):\n", 1)[1].split("\n\nhistory:\n", 1)[0].splitlines()
    assert [line.split("  ")[1:4] for line in section] == [
        ["foto kerusakan – 1.jpg", "image/jpeg", "283 B"],
        ["surat jalan № 12.pdf", "application/pdf", "77 B"],
        ["kuitansi.pdf", "application/pdf", f"{len(receipt)} B"],
    ]
    assert f"sha256 {hashlib.sha256(receipt).hexdigest()}" in section[2]

    form = tmp_path / "form.html"
    code, _, err = _cli(
        desk, capsys, "tickets", "show", ticket.reference, "--format", "html", "--out", str(form)
    )
    assert code == 0, err
    page = form.read_text()
    assert "attachments (3)" in page
    assert all(a["sha256"] in page for a in listed) and "kuitansi.pdf" in page
