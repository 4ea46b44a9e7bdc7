"""Template rendering: customer text is data, never template source; HTML templates escape it."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from jinja2.sandbox import ImmutableSandboxedEnvironment

from daemon.outbox.compose import Envelope, Renderer, TemplateFailure, compose

TEMPLATES = Path(__file__).resolve().parents[3] / "templates"


def _ack_context(subject: str, description: str = "Koran tidak datang.") -> dict[str, Any]:
    return {
        "org": {"name": "Customer Care", "address": "care@example.co.id"},
        "ticket": {
            "reference": "CC-2026-000042",
            "subject": subject,
            "description": description,
            "customer_name": "{{ org.address }}",
            "customer_email": "budi@example.net",
            "pic_phone": "",
            "pic_email": "budi@example.net",
            "severity": "minor",
            "product": None,
            "department": "Sirkulasi",
            "received": "02-11-2026 10:00 WIB",
        },
        "department": {"id": "sirkulasi", "name": "Sirkulasi"},
        "language": "id",
        "missing_contact": False,
        "routing": [],
        "major_reason": "",
    }


def _html_renderer(tmp_path: Path) -> Renderer:
    (tmp_path / "notice.html").write_text(
        "{% block subject %}[{{ ticket.reference }}] {{ ticket.subject }}{% endblock %}"
        "{% block body %}<p>{{ ticket.description }}</p>{% endblock %}"
    )
    (tmp_path / "notice.txt").write_text(
        "{% block subject %}{{ ticket.subject }}{% endblock %}"
        "{% block body %}{{ ticket.description }}{% endblock %}"
    )
    return Renderer(tmp_path)


def test_templates_run_in_the_immutable_sandbox() -> None:
    assert isinstance(Renderer(TEMPLATES).environment, ImmutableSandboxedEnvironment)


@pytest.mark.parametrize(
    "subject",
    ["{{ 7*7 }}", "{% for x in range(3) %}loop{% endfor %}", "{% for %}", "${7*7} #{7*7} {{ config }}"],
)
def test_customer_subject_is_rendered_literally_never_evaluated(subject: str) -> None:
    rendered = Renderer(TEMPLATES).render("acknowledgement.txt", _ack_context(subject))

    assert rendered.subject.endswith(": " + subject)
    assert "49" not in rendered.subject and "looploop" not in rendered.subject


def test_customer_body_and_name_are_rendered_literally() -> None:
    context = _ack_context("Keluhan", description="{{ org.address }} {% raw %}")

    rendered = Renderer(TEMPLATES).render("acknowledgement.txt", context)

    # The customer's name is "{{ org.address }}": shown as written, not our address.
    assert "Yth. {{ org.address }}," in rendered.body
    assert "Yth. care@example.co.id" not in rendered.body


def test_html_template_escapes_customer_text(tmp_path: Path) -> None:
    context = _ack_context('<script>alert("x")</script>', description="<img src=x onerror=alert(1)> & co")

    rendered = _html_renderer(tmp_path).render("notice.html", context)

    assert rendered.body == "<p>&lt;img src=x onerror=alert(1)&gt; &amp; co</p>\n"
    assert "<script>" not in rendered.subject
    assert rendered.subject == "[CC-2026-000042] &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"


def test_text_template_keeps_customer_text_as_written(tmp_path: Path) -> None:
    context = _ack_context("<b>tagihan</b>", description="a < b & c")

    rendered = _html_renderer(tmp_path).render("notice.txt", context)

    assert rendered.subject == "<b>tagihan</b>"
    assert rendered.body == "a < b & c\n"


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ ticket.__class__ }}{{ ticket.update({'reference': 'x'}) }}",
        "{{ ticket.subject|attr('__class__') }}",
    ],
)
def test_an_operator_template_cannot_escape_or_mutate(tmp_path: Path, source: str) -> None:
    (tmp_path / "evil.txt").write_text(
        f"{{% block subject %}}x{{% endblock %}}{{% block body %}}{source}{{% endblock %}}"
    )
    context = _ack_context("Keluhan")

    with pytest.raises(TemplateFailure, match=r"evil\.txt: SecurityError"):
        Renderer(tmp_path).render("evil.txt", context)
    assert context["ticket"]["reference"] == "CC-2026-000042"


def test_a_subject_with_a_line_break_adds_no_header() -> None:
    rendered = Renderer(TEMPLATES).render(
        "acknowledgement.txt", _ack_context("hello\r\nBcc: victim@x.example")
    )
    envelope = Envelope(
        from_name="Customer Care",
        from_address="care@example.co.id",
        to="budi@example.net",
        message_id="<ack.1@example.co.id>",
        date=datetime(2026, 11, 2, 3, 0, tzinfo=UTC),
        auto_submitted="auto-replied",
        loop_marker="caredesk",
    )

    message = email.message_from_bytes(compose(envelope, rendered), policy=email.policy.default)

    assert "Bcc" not in message
    assert message["Subject"].endswith(": hello Bcc: victim@x.example")
    assert message["To"] == "budi@example.net"
