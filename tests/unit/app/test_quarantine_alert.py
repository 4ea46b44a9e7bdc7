"""The quarantine report: each quarantined mail reported once, one digest per call, robots never told."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from daemon.app.quarantine_alert import QuarantineReport, ReportSettings
from daemon.config import load_config
from daemon.outbox.compose import Renderer
from daemon.outbox.enqueue import Mailer
from daemon.store import db
from daemon.store.models import InboundMessage, OutboundMessage

NOW = datetime(2026, 7, 21, 3, 0, tzinfo=UTC)
DATA = Path(__file__).resolve().parents[2] / "data"


@dataclass
class Desk:
    engine: Engine
    report: QuarantineReport


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    path = tmp_path / "caredesk.toml"
    path.write_text(
        'admin_address = "it.admin@example.co.id"\n[mailbox]\nurl = "maildir:mail"\n'
        '[smtp]\nurl = "file:outbox"\n[database]\nurl = "sqlite:///caredesk.db"\n',
        encoding="utf-8",
    )
    config = load_config(path, environ={})
    engine = db.make_engine(config.database_url)
    db.create_schema(engine)
    mailer = Mailer(config, Renderer(config.templates), lambda: NOW)
    try:
        settings = ReportSettings.from_config(config)
        yield Desk(engine, QuarantineReport(engine, mailer, settings, clock=lambda: NOW))
    finally:
        engine.dispose()


def _hold(desk: Desk, name: str, *, stage: str = "fetch", at: datetime = NOW) -> int:
    raw = (DATA / name).read_bytes()
    with db.session(desk.engine) as session:
        row = InboundMessage(
            source="maildir:test",
            source_key=name,
            raw=raw,
            raw_sha256=hashlib.sha256(raw).hexdigest(),
            size=len(raw),
            state="quarantined",
            stage=stage,
            error=f"oversize: {len(raw)} bytes, over mailbox.max_message_bytes (20000)",
            attempts=1,
            received_at=at,
            arrived_at=at,
            processed_at=at,
        )
        session.add(row)
        session.commit()
        assert row.id is not None
        return row.id


def _outbound(desk: Desk) -> list[OutboundMessage]:
    with db.session(desk.engine) as session:
        return list(session.execute(select(OutboundMessage).order_by(OutboundMessage.id)).scalars())


def test_each_quarantined_mail_is_reported_once_in_one_digest(desk: Desk) -> None:
    photos = _hold(desk, "complaint_outlook_large_photos.eml")
    invoice = _hold(desk, "auto_noreply_invoice_large.eml")
    counts = desk.report()
    assert counts == {"quarantine_reported": 2, "quarantine_acks": 1, "quarantine_digests": 1}
    ack, digest = sorted(_outbound(desk), key=lambda row: row.kind)
    assert (ack.kind, ack.recipient, ack.cause_inbound_id) == (
        "quarantine-ack",
        "dewi.anggraini@mitrasentosa.co.id",
        photos,
    )
    assert ack.automatic
    assert (digest.kind, digest.recipient) == ("quarantine-digest", "it.admin@example.co.id")
    body = digest.raw.decode("utf-8", "replace")
    assert f"caredesk quarantine show {photos}" in body and f"caredesk quarantine show {invoice}" in body

    assert desk.report() == {}
    assert len(_outbound(desk)) == 2


def test_no_digest_without_an_admin_address_and_old_mail_is_not_reported(desk: Desk) -> None:
    desk.report.settings = replace(desk.report.settings, admin_address="")
    _hold(desk, "complaint_outlook_large_photos.eml", at=NOW - timedelta(days=3))
    assert desk.report() == {}
    _hold(desk, "auto_noreply_invoice_large.eml")
    assert desk.report() == {"quarantine_reported": 1}
    assert _outbound(desk) == []
