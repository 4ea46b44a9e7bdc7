"""The command line itself: `--version`, `--config` at any level, a group's own help,
and which database URLs are accepted (tests/integration/test_cli_database.py has
what happens with the database, and a closed pipe)."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest

from daemon.cli import EX_CONFIG, build_parser, main
from daemon.config import ConfigError
from daemon.store import db
from tests.clockpin import config_variables

PROJECT = Path(__file__).resolve().parents[2]
GROUPS = ("tickets", "rules", "quarantine", "report", "recap", "db")


@pytest.fixture(autouse=True)
def _no_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in config_variables():
        monkeypatch.delenv(name)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def site(folder: Path, name: str) -> Path:
    """A config file of its own whose rules file is named after it, to tell which one was read."""
    folder.mkdir()
    rules = folder / f"{name}-rules.yaml"
    rules.write_text((PROJECT / "rules.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    config = folder / "caredesk.toml"
    config.write_text(f'rules = "{rules}"\n[database]\nurl = "sqlite:///{folder}/caredesk.db"\n')
    return config


def test_version_prints_the_installed_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--version"])
    assert stopped.value.code == 0
    assert capsys.readouterr().out == f"caredesk {importlib.metadata.version('caredesk')}\n"


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        (("--config", "{a}", "rules", "check"), "a"),
        (("rules", "check", "--config", "{a}"), "a"),
        (("rules", "--config", "{a}", "check"), "a"),
        (("--config", "{a}", "rules", "check", "--config", "{b}"), "b"),
        (("--config", "{b}", "rules", "--config", "{a}", "check"), "a"),
    ],
)
def test_config_is_taken_before_or_after_the_sub_command_and_the_last_one_wins(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], where: tuple[str, ...], expected: str
) -> None:
    paths = {"a": str(site(tmp_path / "a", "a")), "b": str(site(tmp_path / "b", "b"))}
    args = [arg.format(**paths) for arg in where]

    code, out, _ = run(capsys, *args)

    assert code == 0
    assert out.startswith(f"{tmp_path / expected / expected}-rules.yaml: ok")


def test_a_config_named_after_the_sub_command_is_the_one_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("colour = 'blue'\n")
    code, _, err = run(capsys, "tickets", "list", "--config", str(broken))
    assert code == EX_CONFIG
    assert "unknown key 'colour'" in err


@pytest.mark.parametrize("group", GROUPS)
def test_a_group_without_a_sub_command_prints_its_own_help(
    capsys: pytest.CaptureFixture[str], group: str
) -> None:
    code, out, _ = run(capsys, group)
    assert code == 1
    assert out.startswith(f"usage: caredesk {group} ")
    assert "commands:" not in out  # the title of the top-level list of commands


def test_no_command_at_all_prints_the_top_level_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys)
    assert code == 1
    assert out.startswith("usage: caredesk ")
    assert "commands:" in out and "tickets" in out


def test_every_command_takes_config() -> None:
    parser = build_parser()
    for argv in (["run", "--once"], ["db", "status"], ["tickets", "show", "CC-1"], ["calendar"]):
        assert parser.parse_args([*argv, "--config", "x.toml"]).config == "x.toml"
        assert parser.parse_args(argv).config is None


# ---------------------------------------------------------------------------
# Which database URLs caredesk accepts.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///var/caredesk.db",
        "sqlite+pysqlite:////abs/caredesk.db",
        "postgresql+psycopg://care@db:5432/care",
        "postgresql://care@db/care",
    ],
)
def test_supported_database_urls(url: str) -> None:
    assert db.check_url(url).get_backend_name() in ("sqlite", "postgresql")


def test_postgresql_without_a_driver_means_psycopg() -> None:
    assert db.check_url("postgresql://care@db/care").drivername == "postgresql+psycopg"


@pytest.mark.parametrize(
    "url",
    [
        "mysql://care:pw@db/care",
        "mysql+pymysql://care:pw@db/care",
        "postgresql+psycopg2://care:pw@db/care",
        "foo://x",
        "not a url",
        "postgres://care:pw@db/care",
    ],
)
def test_unsupported_database_urls_are_configuration_errors(url: str) -> None:
    with pytest.raises(ConfigError, match=r"^database_url \(\[database\] url\): ") as refused:
        db.check_url(url)
    assert "sqlite:///PATH or postgresql+psycopg://" in str(refused.value)
    assert ":pw@" not in str(refused.value)


def test_the_password_is_masked_in_the_authority_and_the_query() -> None:
    assert db.public_database_url("postgresql+psycopg://u:pw@h:1/x") == "postgresql+psycopg://u:***@h:1/x"
    assert "pw" not in db.public_database_url("postgresql+psycopg://u@h/x?password=pw")


def test_a_sqlite_error_of_the_plain_reader_is_one_line_not_a_traceback() -> None:
    """`tickets list`/`show` read through sqlite3 itself (daemon.store.rawread), not SQLAlchemy."""
    import sqlite3

    from daemon.cli import _failure

    assert _failure(sqlite3.OperationalError("database is locked")) == (
        "database unreachable: database is locked",
        69,
    )
    assert _failure(sqlite3.IntegrityError("UNIQUE constraint failed")) is None


def test_public_holidays_that_cannot_be_read_stop_a_command_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The child that reads the `holidays` package cannot start: one line naming the years, exit 69."""
    from daemon import shipped
    from daemon.sla import public_days

    monkeypatch.chdir(tmp_path)
    (tmp_path / "rules.yaml").write_bytes(shipped.example_rules().read_bytes())
    monkeypatch.setattr(public_days, "_known", {})
    monkeypatch.setattr(public_days.sys, "executable", str(tmp_path / "no-python"))
    assert main(["calendar", "--month", "2031-01"]) == 69
    error = capsys.readouterr().err
    assert error.startswith("caredesk: cannot work out the public holidays of ID for "), error
    assert "no-python" in error
    assert "Traceback" not in error and error.count("\n") == 1
