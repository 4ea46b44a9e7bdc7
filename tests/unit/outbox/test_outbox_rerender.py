"""A mail whose template fails is kept with what it takes to render it again; `retry` does so.

The pure parts (the stored JSON, rendering a row again) and the outbox `retry`
on a SQLite file: a failed rendering keeps its Message-ID through the retry, a
still-broken template keeps the row failed, a failed delivery is due again.
"""

from __future__ import annotations

import email
import email.policy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlmodel import col

from daemon.config import Config, load_config
from daemon.outbox.compose import Renderer, TemplateFailure
from daemon.outbox.enqueue import AUTO_REPLIED, Mailer, NotRebuildable, Outgoing, render_record
from daemon.send import requeue
from daemon.store import db
from daemon.store.models import OutboundMessage, Ticket, TicketEvent
from daemon.tickets.lifecycle import Change

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
TEMPLATE = (
    "{% block subject %}[{{ ticket.reference }}] {{ ticket.subject }}{% endblock %}"
    "{% block body %}{{ ticket.description }}\n"
    "{% for change in changes %}{{ change.field }}: {{ change.new }}\n{% endfor %}"
    "received {{ received }}{% endblock %}"
)


@dataclass(frozen=True)
class Step:
    name: str
    when: datetime


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    folder = tmp_path / "templates"
    folder.mkdir()
    return folder


@pytest.fixture
def config(tmp_path: Path, templates: Path) -> Config:
    path = tmp_path / "caredesk.toml"
    path.write_text(
        f'address = "care@example.co.id"\nname = "Customer Care"\ntemplates = "{templates}"\n'
        '[mailbox]\nurl = "maildir:mail"\n[smtp]\nurl = "file:outbox"\n'
        f'[database]\nurl = "sqlite:///{tmp_path / "caredesk.db"}"\n'
    )
    return load_config(path, environ={})


@pytest.fixture
def engine(config: Config) -> Iterator[Engine]:
    engine = db.make_engine(config.database_url)
    db.create_schema(engine)
    try:
        yield engine
    finally:
        engine.dispose()


def _context() -> dict[str, object]:
    return {
        "ticket": {"reference": "CC-2026-000001", "subject": "Koran basah", "description": "Basah lagi."},
        "changes": (Change("status", "assigned", "in-progress"),),
        "received": NOW,
    }


def _ticket(session: Any) -> Ticket:
    ticket = Ticket(
        reference="CC-2026-000001",
        department="sirkulasi",
        customer_email="budi@example.net",
        received_at=NOW,
    )
    session.add(ticket)
    session.flush()
    return ticket


def _events(session: Any) -> list[tuple[str, str, str]]:
    found = session.execute(select(TicketEvent).order_by(col(TicketEvent.id))).scalars()
    return [(event.actor, event.action, event.reason) for event in found]


# --- the stored JSON ---------------------------------------------------------


def test_the_render_record_turns_what_json_lacks_into_what_templates_can_show() -> None:
    record = render_record(
        Outgoing(
            kind="acknowledgement",
            recipient="a@example.net",
            template="acknowledgement.txt",
            context={
                "when": NOW,
                "day": date(2026, 11, 23),
                "step": Step("reminder", NOW),
                "tags": {"b", "a"},
            },
            auto_submitted=AUTO_REPLIED,
            in_reply_to="<m1@example.net>",
            language="en",
            attachments=[("laporan.xlsx", "application/vnd.ms-excel", b"\x00\xffbytes")],
        ),
        "care+x@example.co.id",
    )
    assert record is not None
    loaded = json.loads(record)
    assert loaded["context"] == {
        "when": "2026-11-23T02:00:00+00:00",
        "day": "2026-11-23",
        "step": {"name": "reminder", "when": "2026-11-23T02:00:00+00:00"},
        "tags": ["a", "b"],
    }
    assert (loaded["auto_submitted"], loaded["reply_to"], loaded["in_reply_to"], loaded["language"]) == (
        AUTO_REPLIED,
        "care+x@example.co.id",
        "<m1@example.net>",
        "en",
    )
    assert loaded["attachments"][0]["filename"] == "laporan.xlsx"


def test_a_context_json_cannot_hold_is_not_stored_rather_than_failing_the_change() -> None:
    record = render_record(
        Outgoing(kind="x", recipient="a@example.net", template="x.txt", context={"by_pair": {(1, 2): "x"}}),
        None,
    )
    assert record is None


# --- rendering a row again -----------------------------------------------------


def test_a_failed_row_is_rendered_again_with_its_own_message_id_and_envelope(
    config: Config, templates: Path
) -> None:
    mailer = Mailer(config, Renderer(templates), lambda: NOW)
    row = OutboundMessage(
        kind="ack",
        recipient="budi@example.net",
        envelope_from="care@example.co.id",
        message_id="<kept.ack@example.co.id>",
        raw=b"",
        state="failed",
        template="ack.txt",
        render_context=render_record(
            Outgoing(
                kind="acknowledgement",
                recipient="a@example.net",
                template="ack.txt",
                context=_context(),
                auto_submitted=AUTO_REPLIED,
                in_reply_to="<m1@example.net>",
                language="id",
                attachments=[("a.txt", "text/plain", b"lampiran")],
            ),
            "care@example.co.id",
        ),
    )
    with pytest.raises(TemplateFailure, match=r"ack\.txt"):
        mailer.rerender(row, NOW)

    (templates / "ack.txt").write_text(TEMPLATE)
    subject, raw = mailer.rerender(row, NOW)
    assert subject == "[CC-2026-000001] Koran basah"
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message["Message-ID"] == "<kept.ack@example.co.id>"
    assert message["In-Reply-To"] == "<m1@example.net>"
    assert message["Auto-Submitted"] == AUTO_REPLIED
    assert message["Reply-To"] == "care@example.co.id"
    body = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    # The dataclass came back as an object with the same fields; the datetime as ISO text.
    assert "status: in-progress" in body and "received 2026-11-23T02:00:00+00:00" in body
    assert [part.get_filename() for part in message.iter_attachments()] == ["a.txt"]


def test_a_failed_row_without_a_stored_context_cannot_be_rebuilt(config: Config, templates: Path) -> None:
    mailer = Mailer(config, Renderer(templates), lambda: NOW)
    row = OutboundMessage(
        id=7, kind="ack", recipient="a@example.net", envelope_from="c@x.id", message_id="<m>", raw=b""
    )
    with pytest.raises(NotRebuildable, match="cannot be rendered again"):
        mailer.rerender(row, NOW)


# --- queue and retry on a database ----------------------------------------------


def test_a_broken_template_is_a_failed_row_a_failed_event_and_a_retry_later(
    config: Config, templates: Path, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    mailer = Mailer(config, Renderer(templates), lambda: NOW)
    with db.session(engine) as session:
        ticket = _ticket(session)
        queued = mailer.queue(
            session,
            Outgoing(
                kind="ack",
                recipient="Budi@Example.net",
                template="ack.txt",
                context=_context(),
                auto_submitted=AUTO_REPLIED,
                ticket=ticket,
                in_reply_to="<m1@example.net>",
            ),
        )
        session.commit()
        assert queued is not None and queued.state == "failed"
        assert queued.error is not None and "ack.txt" in queued.error
        row = session.get(OutboundMessage, queued.id)
        assert row is not None
        assert (row.state, row.raw, row.template) == ("failed", b"", "ack.txt")
        assert json.loads(row.render_context or "")["in_reply_to"] == "<m1@example.net>"
        message_id = row.message_id
        [(actor, action, reason)] = _events(session)
        assert (actor, action) == ("caredesk", "failed-ack")
        assert reason.startswith("to budi@example.net: not rendered: template ack.txt")
    assert any(
        record.levelname == "ERROR" and "template ack.txt" in record.getMessage() for record in caplog.records
    )

    with db.session(engine) as session:
        still = requeue.retry(session, mailer, queued.id, actor="sari", now=NOW)
        session.commit()
    assert not still.ok and not still.queued
    assert "still cannot be rendered, stays failed" in still.what

    (templates / "ack.txt").write_text(TEMPLATE)
    with db.session(engine) as session:
        assert requeue.failed_ids(session) == [queued.id]
        done = requeue.retry(session, mailer, queued.id, actor="sari", now=NOW)
        session.commit()
        assert done.ok and done.queued
        label = f"#{queued.id} ack to budi@example.net (CC-2026-000001)"
        assert done.what == f"{label}: rendered again with the current templates"
        row = session.get(OutboundMessage, queued.id)
        assert row is not None
        assert (row.state, row.attempts, row.last_error, row.render_context) == ("pending", 0, None, None)
        assert row.message_id == message_id
        assert email.message_from_bytes(row.raw)["Message-ID"] == message_id
        assert [(actor, action) for actor, action, _ in _events(session)] == [
            ("caredesk", "failed-ack"),
            ("sari", "retried-ack"),
            ("sari", "retried-ack"),
        ]
        assert requeue.failed_ids(session) == []

    with db.session(engine) as session:
        again = requeue.retry(session, mailer, queued.id, actor="sari", now=NOW)
        unknown = requeue.retry(session, mailer, 99999, actor="sari", now=NOW)
    assert again.ok and not again.queued and again.what.endswith("pending, nothing to retry")
    assert not unknown.ok and unknown.what == "#99999: no such outgoing mail"


def test_a_failed_delivery_is_due_again_with_its_attempts_reset(config: Config, engine: Engine) -> None:
    mailer = Mailer(config, Renderer(config.templates), lambda: NOW)
    with db.session(engine) as session:
        ticket = _ticket(session)
        row = OutboundMessage(
            kind="notice",
            ticket_id=ticket.id,
            recipient="sirkulasi@example.co.id",
            envelope_from="care@example.co.id",
            message_id="<n1@example.co.id>",
            raw=b"Subject: x\r\n\r\nbody\r\n",
            state="failed",
            attempts=8,
            last_code=550,
            last_error="550 mailbox unavailable",
            template="department_notice.txt",
        )
        session.add(row)
        session.commit()
        done = requeue.retry(session, mailer, row.id or 0, actor="sari", now=NOW)
        session.commit()
        session.refresh(row)
    assert done.ok and done.queued and "failed delivery set back to pending" in done.what
    assert (row.state, row.attempts, row.last_code, row.next_attempt_at) == ("pending", 0, None, NOW)
    assert row.raw == b"Subject: x\r\n\r\nbody\r\n"
    with db.session(engine) as session:
        [(actor, action, reason)] = _events(session)
    assert (actor, action) == ("sari", "retried-notice")
    assert reason.endswith("earlier: 550 mailbox unavailable")
