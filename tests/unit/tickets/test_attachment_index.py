"""The attachment list kept on each inbound row: written as the parser found them, listed back the same.

A row whose list is missing (a mail stored before revision 0010) or unreadable is
parsed again from its raw mail; a row with its list is never read for its raw mail.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from daemon.parse.parser import parse
from daemon.tickets.attachment_index import Listed, index_text, listed_attachments, read_index
from daemon.tickets.mail_attachments import attachments_of_mails
from tests import mailfactory

AT = datetime(2026, 11, 2, 3, 4, tzinfo=UTC)
SENDER = "budi@example.net"
PHOTO = b"\xff\xd8\xff\xe0 not really a jpeg"


def _mail(name: str, payload: bytes) -> bytes:
    return mailfactory.complaint(
        sender=SENDER,
        subject="Foto kerusakan",
        body="Terlampir fotonya.",
        attachment=(name, payload, "image/jpeg"),
    )


class _NoRaw(SimpleNamespace):
    """A row with its list: reading its raw mail would be a needless parse."""

    @property
    def raw(self) -> bytes:
        raise AssertionError("the raw mail was read although the row has its list")


def test_the_list_is_the_parsers_attachments_in_order() -> None:
    mail = parse(_mail("foto kerusakan – 1.jpg", PHOTO))
    text = index_text(mail.attachments)
    assert read_index(text) == tuple(
        Listed(item.filename, item.content_type, item.size, item.sha256) for item in mail.attachments
    )
    assert read_index(text) == (
        Listed("foto kerusakan – 1.jpg", "image/jpeg", len(PHOTO), hashlib.sha256(PHOTO).hexdigest()),
    )
    assert read_index(index_text([])) == ()


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "{",
        '{"filename": "a"}',
        '["a"]',
        '[{"filename": "a", "content_type": "image/png", "size": "12", "sha256": "00"}]',
        '[{"filename": "a", "content_type": "image/png", "size": -1, "sha256": "00"}]',
        '[{"filename": "a", "content_type": "image/png", "size": true, "sha256": "00"}]',
        '[{"filename": 3, "content_type": "image/png", "size": 1, "sha256": "00"}]',
        '[{"content_type": "image/png", "size": 1, "sha256": "00"}]',
    ],
)
def test_a_missing_or_misshapen_list_is_not_read(text: str | None) -> None:
    assert read_index(text) is None


def test_rows_with_and_without_a_list_are_listed_alike_and_once_per_file() -> None:
    first = _mail("foto.jpg", PHOTO)
    again = _mail("foto.jpg", PHOTO)  # the same file sent twice: listed once, from the first mail
    receipt = _mail("kuitansi.jpg", b"receipt")
    plain = [
        SimpleNamespace(
            id=number, raw=raw, from_address="budi@example.net", received_at=AT, attachment_list=None
        )
        for number, raw in ((1, first), (2, again), (3, receipt))
    ]
    kept = [
        _NoRaw(
            id=row.id,
            from_address=row.from_address,
            received_at=row.received_at,
            attachment_list=index_text(parse(row.raw).attachments),
        )
        for row in plain
    ]
    expected = [item.as_dict() for item in attachments_of_mails(plain, "CC-2026-000001")]
    assert [entry["filename"] for entry in expected] == ["foto.jpg", "kuitansi.jpg"]
    assert [item.as_dict() for item in listed_attachments(plain, "CC-2026-000001")] == expected
    assert [item.as_dict() for item in listed_attachments(kept, "CC-2026-000001")] == expected
    mixed = [plain[0], kept[1], kept[2]]
    assert [item.as_dict() for item in listed_attachments(mixed, "CC-2026-000001")] == expected
    assert [entry["inbound_id"] for entry in expected] == [1, 3]
