"""Two deliveries of one mail share a content key; a resend that changed anything a person sees does not."""

from __future__ import annotations

import dataclasses
import hashlib

from daemon.parse.message import Attachment, InboundMail
from daemon.parse.parser import parse
from daemon.tickets.dedup import logical_key

OURS = ("cs@example.co.id",)
RAW = (
    b"From: budi@example.net\r\nTo: cs@example.co.id\r\nSubject: Koran basah\r\n"
    b"Message-ID: <key@example.net>\r\n\r\nKoran tidak datang.\r\n"
)


def _mail() -> InboundMail:
    return parse(RAW, own_addresses=OURS)


def _photo(content: bytes) -> Attachment:
    return Attachment("foto.jpg", "image/jpeg", len(content), hashlib.sha256(content).hexdigest(), content)


def test_a_second_delivery_to_another_recipient_is_the_same_mail() -> None:
    again = parse(RAW.replace(b"To: cs@", b"To: other@"), own_addresses=OURS)
    assert logical_key(again) == logical_key(_mail())


def test_folding_whitespace_in_the_subject_does_not_make_a_new_mail() -> None:
    refolded = dataclasses.replace(_mail(), subject="Koran   basah ")
    assert logical_key(refolded) == logical_key(_mail())


def test_a_changed_body_is_a_new_mail() -> None:
    assert logical_key(dataclasses.replace(_mail(), body_sha256="0" * 64)) != logical_key(_mail())


def test_a_resend_under_the_same_message_id_with_a_new_subject_is_a_new_mail() -> None:
    corrected = dataclasses.replace(_mail(), subject="Koran basah lagi")
    assert logical_key(corrected) != logical_key(_mail())


def test_a_resend_with_an_attachment_added_is_a_new_mail() -> None:
    with_photo = dataclasses.replace(_mail(), attachments=(_photo(b"jpeg bytes"),))
    assert logical_key(with_photo) != logical_key(_mail())
    other_photo = dataclasses.replace(_mail(), attachments=(_photo(b"another picture"),))
    assert logical_key(other_photo) != logical_key(with_photo)


def test_the_order_of_the_attachments_does_not_matter() -> None:
    first, second = _photo(b"one"), _photo(b"two")
    forwards = dataclasses.replace(_mail(), attachments=(first, second))
    backwards = dataclasses.replace(_mail(), attachments=(second, first))
    assert logical_key(forwards) == logical_key(backwards)
