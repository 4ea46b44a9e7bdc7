"""The ordinary customer mail the classify tests vary one field at a time."""

from __future__ import annotations

from daemon.parse.message import InboundMail

PERSON = InboundMail(
    message_id="<1@pelanggan.id>",
    message_id_synthetic=False,
    from_address="budi@pelanggan.id",
    from_name="Budi",
    to=("cs@example.co.id",),
    cc=(),
    reply_to=(),
    return_path="budi@pelanggan.id",
    subject="Keluhan pengiriman",
    date=None,
    text="Paket saya belum sampai.",
    new_text="Paket saya belum sampai.",
    content_type="text/plain",
    headers=(),
)
