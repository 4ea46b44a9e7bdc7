"""`caredesk tickets attachments`: writing a ticket's attachments into a folder, and never outside it."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from daemon.commands import UserError
from daemon.commands.ticket_attachments import write_attachments
from daemon.commands.tickets import attachment_lines
from daemon.parse.message import Attachment
from daemon.tickets.mail_attachments import TicketAttachment

AT = datetime(2026, 7, 21, 3, 0, tzinfo=UTC)


def _item(name: str, payload: bytes = b"content", content_type: str = "image/jpeg") -> TicketAttachment:
    sha = hashlib.sha256(payload).hexdigest()
    return TicketAttachment(
        Attachment(name, content_type, len(payload), sha, payload), 7, "rina@example.id", AT
    )


def test_each_attachment_is_written_under_its_safe_name(tmp_path: Path) -> None:
    out = tmp_path / "out" / "CC-1"  # made when missing

    written = write_attachments([_item("foto.jpg", b"jpeg"), _item("nul.txt", b"text")], out)

    assert [w.path.name for w in written] == ["foto.jpg", "_nul.txt"]
    assert (out / "foto.jpg").read_bytes() == b"jpeg" and (out / "_nul.txt").read_bytes() == b"text"
    assert [w.named for w in written] == ["foto.jpg", "nul.txt"]


def test_same_names_get_numbers_and_case_only_differences_count_as_the_same(tmp_path: Path) -> None:
    items = [_item("foto.jpg", b"1"), _item("foto.jpg", b"2"), _item("FOTO.jpg", b"3")]

    written = write_attachments(items, tmp_path)

    assert [w.path.name for w in written] == ["foto.jpg", "foto (2).jpg", "FOTO (3).jpg"]
    assert [w.path.read_bytes() for w in written] == [b"1", b"2", b"3"]


def test_an_existing_file_is_never_overwritten(tmp_path: Path) -> None:
    (tmp_path / "foto.jpg").write_bytes(b"mine")
    (tmp_path / "foto (2).jpg").write_bytes(b"mine too")

    (written,) = write_attachments([_item("foto.jpg", b"theirs")], tmp_path)

    assert written.path.name == "foto (3).jpg"
    assert (tmp_path / "foto.jpg").read_bytes() == b"mine"
    assert (tmp_path / "foto (2).jpg").read_bytes() == b"mine too"


def test_a_symbolic_link_in_the_folder_is_never_written_through(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.txt"
    target.write_bytes(b"untouched")
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").symlink_to(target)
    (out / "dangling.txt").symlink_to(tmp_path / "nowhere.txt")

    written = write_attachments([_item("notes.txt"), _item("dangling.txt")], out)

    assert [w.path.name for w in written] == ["notes (2).txt", "dangling (2).txt"]
    assert target.read_bytes() == b"untouched" and not (tmp_path / "nowhere.txt").exists()


def test_hostile_names_land_inside_the_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    names = ["../../etc/passwd", "/abs/evil", "..", ".", "C:\\x\\y.dll", "a" * 400 + ".pdf"]

    written = write_attachments([_item(name) for name in names], out)

    assert len({w.path for w in written}) == len(names)
    assert all(w.path.parent == out.resolve() and w.path.is_file() for w in written)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_file_in_place_of_the_folder_is_a_user_error(tmp_path: Path) -> None:
    (tmp_path / "out").write_text("a file")

    with pytest.raises(UserError, match="out"):
        write_attachments([_item("foto.jpg")], tmp_path / "out")


def test_show_lists_name_type_size_hash_and_the_mail() -> None:
    entry = _item("foto.jpg", b"x" * 2048).as_dict()

    (line,) = attachment_lines([entry])

    assert line == (
        f"  foto.jpg  image/jpeg  2 KB  sha256 {entry['sha256']}  from rina@example.id (inbound #7)"
    )
    assert entry == {
        "filename": "foto.jpg",
        "content_type": "image/jpeg",
        "size": 2048,
        "sha256": hashlib.sha256(b"x" * 2048).hexdigest(),
        "inbound_id": 7,
        "from": "rina@example.id",
        "received_at": "2026-07-21T03:00:00+00:00",
    }
