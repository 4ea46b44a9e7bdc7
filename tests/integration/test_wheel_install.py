"""The way a first user installs caredesk: a wheel in a new venv, `caredesk init`, `caredesk run --once`.

Nothing here may come from the checkout: the wheel is built from it, then
installed into a virtualenv in a temporary folder, and every command runs from a
site folder outside the source tree. A template or rules file that only the
checkout has would make the acknowledgement go missing here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from email import message_from_bytes
from pathlib import Path

import pytest
from filelock import FileLock

from tests import mailfactory
from tests.integration.helpers import PROJECT

pytestmark = pytest.mark.integration

INSTALL_TIMEOUT = 420
# What the wheel build does not read: the tests, tools' state, earlier builds.
_NOT_PART_OF_THE_BUILD = shutil.ignore_patterns(
    ".git",
    ".venv",
    "build",
    "dist",
    "var",
    "tests",
    "bench",
    "__pycache__",
    "*.egg-info",
    ".*cache",
    ".hypothesis",
)


def _env() -> dict[str, str]:
    # The pinned test clock passes through; every other caredesk setting is the site's own.
    keep = {"CAREDESK_TESTING", "CAREDESK_TEST_CLOCK"}
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREDESK_") or k in keep}
    env.pop("PYTHONPATH", None)
    return env


def _run(args: list[str | Path], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin/ folder of a new venv with the wheel built from this checkout installed.

    The pytest-xdist workers of one run share it: the first to get here builds
    it under a file lock in the run's temp folder, the others wait and reuse it
    (three builds at once would each take minutes on two cores). The build runs
    on a copy of the sources, so it writes no build/ folder into the checkout,
    where a concurrent run's build (or a stale file in it) would mix in.
    """
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        # Each worker's basetemp is <run>/popen-gwN; the run's folder is common to all.
        shared = shared.parent
    root = shared / "wheel-install"
    bin_dir = root / "venv" / "bin"
    with FileLock(shared / "wheel-install.lock", timeout=3 * INSTALL_TIMEOUT):
        if not (root / "ready").exists():
            shutil.rmtree(root, ignore_errors=True)
            _build_and_install(root)
            (root / "ready").touch()
    return bin_dir


def _build_and_install(root: Path) -> None:
    source = root / "source"
    shutil.copytree(PROJECT, source, ignore=_NOT_PART_OF_THE_BUILD)
    dist = root / "dist"
    built = _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", dist, source],
        cwd=root,
        timeout=INSTALL_TIMEOUT,
    )
    assert built.returncode == 0, built.stderr
    [wheel] = dist.glob("caredesk-*-py3-none-any.whl")
    venv.create(root / "venv", with_pip=True)
    bin_dir = root / "venv" / "bin"
    pip = _run([bin_dir / "python", "-m", "pip", "install", "-q", wheel], cwd=root, timeout=INSTALL_TIMEOUT)
    assert pip.returncode == 0, pip.stderr


def test_wheel_carries_templates_and_example_rules(installed: Path) -> None:
    found = _run(
        [
            installed / "python",
            "-c",
            "import daemon.shipped as s; print(s.templates()); print(s.example_rules())",
        ],
        cwd=installed,
    )
    assert found.returncode == 0, found.stderr
    templates, rules = (Path(line) for line in found.stdout.split())
    assert "site-packages" in str(templates) and PROJECT not in templates.parents
    assert (templates / "acknowledgement.txt").is_file()
    assert rules.is_file()


def test_wheel_carries_the_web_views_layouts_and_stylesheet(installed: Path) -> None:
    script = (
        "from importlib.resources import files; from jinja2 import Environment, PackageLoader;"
        "env = Environment(loader=PackageLoader('daemon.web', 'layouts'));"
        "print(sorted(env.list_templates())); print((files('daemon.web') / 'static' / 'style.css').is_file())"
    )
    found = _run([installed / "python", "-c", script], cwd=installed)
    assert found.returncode == 0, found.stderr
    layouts, stylesheet = found.stdout.splitlines()
    assert "'register.html'" in layouts and "'complaint.html'" in layouts
    assert stylesheet == "True"


def test_init_then_run_once_acknowledges_a_complaint(installed: Path, tmp_path: Path) -> None:
    caredesk = installed / "caredesk"
    version = _run([caredesk, "--version"], cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("caredesk "), version

    init = _run([caredesk, "init", "mysite"], cwd=tmp_path)
    assert init.returncode == 0, init.stderr
    site = tmp_path / "mysite"
    assert {p.name for p in site.iterdir()} == {"caredesk.toml", "rules.yaml", "templates", "var"}
    again = _run([caredesk, "init", "mysite"], cwd=tmp_path)
    assert again.returncode == 1 and "nothing was written" in again.stderr

    new = site / "var" / "mail" / "new"
    assert new.is_dir(), "init makes the Maildir the hint tells to drop a complaint into"
    (new / "1700000000.M1P1.host").write_bytes(mailfactory.complaint(sender="budi@example.net"))
    run = _run([caredesk, "run", "--once"], cwd=site)
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr

    outbox = sorted((site / "var" / "outbox").glob("*.eml"))
    recipients = sorted(message_from_bytes(p.read_bytes())["To"] for p in outbox)
    kinds = sorted(name for p in outbox for name in ("ack", "notice") if f"-{name}-" in p.name)
    assert kinds == ["ack", "notice"], [p.name for p in outbox]
    assert "budi@example.net" in recipients
    listed = _run([caredesk, "tickets", "list"], cwd=site)
    assert listed.returncode == 0 and "CC-" in listed.stdout, listed


def test_broken_template_refuses_to_start_with_exit_78(installed: Path, tmp_path: Path) -> None:
    caredesk = installed / "caredesk"
    assert _run([caredesk, "init", "site"], cwd=tmp_path).returncode == 0
    site = tmp_path / "site"
    (site / "templates" / "acknowledgement.txt").write_text("{% block subject %}{% if %}{% endblock %}")
    run = _run([caredesk, "run", "--once"], cwd=site)
    assert run.returncode == 78, run
    assert "acknowledgement.txt:1:" in run.stderr
    # Refused before anything was migrated or fetched: no database was made.
    assert not (site / "var" / "caredesk.db").exists()
