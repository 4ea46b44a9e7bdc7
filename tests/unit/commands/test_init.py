"""`caredesk init DIR` and the site folder it makes: the config in the working directory is used."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon import shipped
from daemon.cli import main
from daemon.config import load_config


def test_init_writes_config_rules_and_templates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = tmp_path / "a" / "mysite"
    assert main(["init", str(site)]) == 0
    assert (site / "caredesk.toml").read_bytes() == shipped.site_config().read_bytes()
    assert (site / "rules.yaml").read_bytes() == shipped.example_rules().read_bytes()
    shipped_names = sorted(p.name for p in shipped.templates().iterdir())
    assert sorted(p.name for p in (site / "templates").iterdir()) == shipped_names
    assert "cd " in capsys.readouterr().out


@pytest.mark.parametrize("existing", ["caredesk.toml", "rules.yaml", "templates"])
def test_init_never_overwrites_and_writes_nothing(
    tmp_path: Path, existing: str, capsys: pytest.CaptureFixture[str]
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / existing).write_text("mine\n")
    assert main(["init", str(site)]) == 1
    assert sorted(p.name for p in site.iterdir()) == [existing]
    assert (site / existing).read_text() == "mine\n"
    assert "not overwriting" in capsys.readouterr().err


def test_site_config_in_working_directory_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["init", str(tmp_path / "site")]) == 0
    site = tmp_path / "site"
    text = (site / "caredesk.toml").read_text().replace('name = "Customer Care"', 'name = "Care Site"')
    (site / "caredesk.toml").write_text(text)
    monkeypatch.delenv("CAREDESK_CONFIG", raising=False)
    monkeypatch.chdir(site)
    config = load_config(environ={})
    assert config.name == "Care Site"
    assert config.source.endswith("caredesk.toml")
    assert config.templates == site / "templates"
    assert config.rules == site / "rules.yaml"
    assert config.database_url == f"sqlite:///{site / 'var' / 'caredesk.db'}"
    # The Maildir it reads is there before the first run, so a complaint can be dropped in at once.
    assert config.mailbox.url == f"maildir:{site / 'var' / 'mail'}"
    folders = [site / "var" / "mail" / name for name in ("new", "cur", "tmp")]
    assert [folder.is_dir() for folder in folders] == [True, True, True]


def test_named_config_wins_over_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "caredesk.toml").write_text('name = "Here"\n')
    other = tmp_path / "other.toml"
    other.write_text('name = "Named"\n')
    monkeypatch.chdir(tmp_path)
    assert load_config(environ={}).name == "Here"
    assert load_config(environ={"CAREDESK_CONFIG": str(other)}).name == "Named"
    assert load_config(other, environ={}).name == "Named"


def test_without_any_config_the_embedded_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(environ={})
    assert config.source == "embedded defaults"
    assert config.templates == shipped.templates()
