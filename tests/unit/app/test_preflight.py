"""The start-up template check: a missing or broken template is a configuration error with file and line."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from daemon import shipped
from daemon.app.preflight import INCLUDED_TEMPLATES, check_templates, required_templates
from daemon.config import ConfigError
from daemon.outbox.compose import Renderer


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    folder = tmp_path / "templates"
    shutil.copytree(shipped.templates(), folder)
    return folder


def test_shipped_templates_pass() -> None:
    check_templates(shipped.templates())


def test_every_template_the_daemon_sends_is_required() -> None:
    names = required_templates()
    assert "acknowledgement.txt" in names
    assert "department_notice.txt" in names
    assert "escalation.txt" in names
    assert len(names) + len(INCLUDED_TEMPLATES) == len(list(shipped.templates().glob("*.txt")))


def test_a_template_the_site_lacks_is_the_shipped_one(
    templates: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A site that copied the templates before an upgrade added one still starts.
    (templates / "acknowledgement.txt").unlink()
    (templates / "survey.txt").write_text(
        "{% block subject %}Our own survey{% endblock %}{% block body %}b{% endblock %}\n", encoding="utf-8"
    )
    with caplog.at_level(logging.INFO, logger="caredesk.templates"):
        check_templates(templates)
    assert f"acknowledgement.txt is not in {templates}; the shipped one is used" in caplog.text
    renderer = Renderer(templates)
    ack = renderer.environment.get_template("acknowledgement.txt")
    assert ack.filename == str(shipped.templates() / "acknowledgement.txt")
    assert renderer.render("survey.txt", {}).subject == "Our own survey"  # the site's own still wins


def test_syntax_error_names_file_and_line(templates: Path) -> None:
    path = templates / "department_notice.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines.insert(2, "{% if broken %}never closed")
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        check_templates(templates)
    assert str(caught.value).startswith(f"{path}:")
    assert "endif" in str(caught.value) or "end of template" in str(caught.value)


def test_template_without_subject_block_is_refused(templates: Path) -> None:
    (templates / "survey.txt").write_text("{% block body %}hello{% endblock %}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"survey\.txt.*no block 'subject'"):
        check_templates(templates)


def test_unknown_filter_is_refused(templates: Path) -> None:
    (templates / "resolution.txt").write_text(
        "{% block subject %}x{% endblock %}{% block body %}{{ ticket.reference | shout }}{% endblock %}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"resolution\.txt:1:.*shout"):
        check_templates(templates)


def test_runtime_error_in_template_is_refused(templates: Path) -> None:
    (templates / "escalation.txt").write_text(
        "{% block subject %}{{ 1 / 0 }}{% endblock %}{% block body %}b{% endblock %}\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=r"escalation\.txt.*ZeroDivisionError"):
        check_templates(templates)


def test_folder_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is not a folder"):
        check_templates(tmp_path / "nope")


def test_missing_commands_help_is_the_shipped_one(templates: Path) -> None:
    (templates / "commands_help.txt").unlink()
    check_templates(templates)
    assert Renderer(templates).environment.get_template("commands_help.txt").filename == str(
        shipped.templates() / "commands_help.txt"
    )


def test_broken_commands_help_names_file_and_line(templates: Path) -> None:
    (templates / "commands_help.txt").write_text("#status\n{% if x %}never closed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"commands_help\.txt:2:"):
        check_templates(templates)
