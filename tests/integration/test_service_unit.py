"""deploy/caredesk.service: what CI checks of it, and caredesk working inside its sandbox.

There is no systemd as PID 1 here, so the unit is checked with systemd-analyze
(scripts/check-unit, which .ci/run calls too), and its sandbox is rebuilt from
the unit file by tests/servicesandbox.py (seccomp filters, no capabilities,
read-only system, private /dev, /proc with hidepid). Inside it, the daemon turns
a mail into a ticket and headless Chromium prints the ticket's complaint form.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests import mailfactory
from tests.clockpin import daemon_environment
from tests.conftest import _unavailable
from tests.integration.helpers import PROJECT, write_config

pytestmark = pytest.mark.integration

UNIT = PROJECT / "deploy" / "caredesk.service"
CHECK = PROJECT / "scripts" / "check-unit"


def _check(*args: str) -> subprocess.CompletedProcess[str]:
    if shutil.which("systemd-analyze") is None:
        _unavailable("systemd-analyze not found: sudo apt-get install systemd")
    return subprocess.run(["bash", str(CHECK), *args], capture_output=True, text=True, timeout=120)


def test_the_unit_verifies_and_rates_three_or_better() -> None:
    done = _check("--threshold", "3.0", str(UNIT))
    assert done.returncode == 0, done.stderr
    rating = re.search(r"Overall exposure level for caredesk\.service: (\d+\.\d)", done.stdout)
    assert rating and float(rating.group(1)) <= 3.0, done.stdout


def test_the_check_refuses_a_key_systemd_would_ignore(tmp_path: Path) -> None:
    broken = tmp_path / "caredesk.service"
    broken.write_text(UNIT.read_text().replace("UMask=0077", "UMask=0077\nProtectKernelTunable=true"))
    done = _check(str(broken))
    assert done.returncode == 1
    assert "Unknown key 'ProtectKernelTunable'" in done.stderr
    assert "systemd-analyze verify found problems" in done.stderr


def test_the_check_refuses_a_unit_without_the_sandbox(tmp_path: Path) -> None:
    bare = tmp_path / "caredesk.service"
    bare.write_text(UNIT.read_text().split("# The sandbox.")[0] + "\n[Install]\nWantedBy=multi-user.target\n")
    done = _check("--threshold", "3.0", str(bare))
    assert done.returncode == 1
    assert "exposure above 3.0" in done.stderr
    assert "PrivateDevices=" in done.stderr  # the settings that cost it are listed


def _sandboxed(
    *command: str, writable: Path, check: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """`command` inside the unit's sandbox, with `writable` as its state folder."""
    if os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("systemd-analyze") is None:
        _unavailable("the unit's sandbox needs root, unshare (util-linux) and systemd-analyze")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.servicesandbox",
            str(UNIT),
            "--writable",
            str(writable),
            "--",
            *command,
        ],
        cwd=PROJECT,
        # HOME is the state folder, as the caredesk user's is; temporary files go to the private /tmp.
        env={k: v for k, v in daemon_environment().items() if k != "TMPDIR"} | {"HOME": str(writable)},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check:
        assert done.returncode == 0, f"{command} failed inside the sandbox:\n{done.stdout}\n{done.stderr}"
    return done


PROBE = """
import ctypes, errno, json, os, socket
libc = ctypes.CDLL(None, use_errno=True)
def fails(result):
    return errno.errorcode.get(ctypes.get_errno()) if result == -1 else "allowed"
def socket_fails(family):
    try:
        socket.socket(family, socket.SOCK_RAW if family == socket.AF_NETLINK else socket.SOCK_STREAM).close()
    except OSError as error:
        return errno.errorcode[error.errno]
    return "allowed"
def write_fails(path):
    try:
        open(path, "w").close()
    except OSError as error:
        return errno.errorcode[error.errno]
    return "allowed"
print(json.dumps({
    "user namespace": fails(libc.unshare(0x10000000)),
    "mount": fails(libc.mount(b"none", b"/mnt", b"tmpfs", 0, None)),
    "chown": fails(libc.chown(os.environ["HOME"].encode(), 1, 1)),
    "netlink": socket_fails(socket.AF_NETLINK),
    "inet": socket_fails(socket.AF_INET),
    "system files": write_fails("/etc/caredesk-sandbox-test"),
    "state folder": write_fails(os.path.join(os.environ["HOME"], "written")),
    "devices": sorted(os.listdir("/dev")),
    "processes": [name for name in os.listdir("/proc") if name.isdigit()],
}))
"""


def test_the_rebuilt_sandbox_refuses_what_the_unit_forbids(tmp_path: Path) -> None:
    """So that what works inside it below would work under systemd too."""
    done = _sandboxed(sys.executable, "-c", PROBE, writable=tmp_path)
    seen = json.loads(done.stdout)
    assert seen["user namespace"] == "EPERM"  # RestrictNamespaces=true
    assert seen["mount"] == "EPERM"  # SystemCallFilter=@system-service
    assert seen["chown"] == "EPERM"  # ~@privileged
    assert seen["netlink"] == "EAFNOSUPPORT" and seen["inet"] == "allowed"  # RestrictAddressFamilies=
    assert seen["system files"] == "EROFS" and seen["state folder"] == "allowed"  # ProtectSystem=strict
    assert seen["devices"] == ["full", "null", "ptmx", "pts", "random", "shm", "tty", "urandom", "zero"]
    assert seen["processes"] == ["1"]  # a pid namespace of its own, /proc with hidepid
    assert not (Path("/etc") / "caredesk-sandbox-test").exists()


def test_the_daemon_and_the_pdf_printing_work_inside_the_sandbox(tmp_path: Path) -> None:
    state = tmp_path / "state"
    (state / "mail" / "new").mkdir(parents=True)
    config = write_config(
        state,
        database_url=f"sqlite:///{state / 'caredesk.db'}",
        mailbox_url=f"maildir:{state / 'mail'}",
        smtp_url=f"file:{state / 'outbox'}",
    )
    (state / "mail" / "new" / "1.eml").write_bytes(mailfactory.complaint(sender="budi@example.net"))
    caredesk = [sys.executable, "-m", "daemon", "--config", str(config)]

    _sandboxed(*caredesk, "run", "--once", writable=state)
    listed = _sandboxed(*caredesk, "tickets", "list", "--json", writable=state)
    tickets = json.loads(listed.stdout)
    assert len(tickets) == 1
    assert len(list((state / "outbox").glob("*.eml"))) == 2  # the acknowledgement and the notice

    # Headless Chromium, with --no-sandbox inside the unit's sandbox (daemon/report/pdf.py).
    form = state / "form.pdf"
    _sandboxed(
        *caredesk,
        "tickets",
        "show",
        tickets[0]["reference"],
        "--format",
        "pdf",
        "--out",
        str(form),
        writable=state,
    )
    assert form.read_bytes().startswith(b"%PDF-")
