"""Run a command inside the kernel-side sandbox of a systemd unit, without systemd.

The tests have no systemd as PID 1, so they cannot start deploy/caredesk.service.
What can break caredesk (and the headless Chromium it prints PDFs with) inside
the unit is the seccomp side of it, so this rebuilds that from the unit file
itself, with libseccomp (the library systemd uses), the way systemd does:

* `SystemCallFilter=`: an allow-list of the named groups, expanded with
  `systemd-analyze syscall-filter` (systemd's own group lists), `~` lines taken
  out, other calls failing with `SystemCallErrorNumber=` (else killed);
* `RestrictNamespaces=`: unshare(2) and clone(2) with a forbidden `CLONE_NEW*`
  flag and setns(2) fail with EPERM, clone3(2) with ENOSYS (so the C library
  falls back to clone);
* `RestrictAddressFamilies=`: socket(2) of any other family fails with
  EAFNOSUPPORT;
* `RestrictRealtime=`: no real-time scheduling;
* `NoNewPrivileges=` and the empty `CapabilityBoundingSet=`: the command runs
  without any capability and cannot gain one.

And, in a mount and pid namespace of its own (`unshare`, as root), the file
system as the unit shows it:

* `ProtectSystem=strict`: everything read-only but /dev, /proc, /sys, the
  temporary folders (`PrivateTmp=` makes them writable and private) and the
  folders named with `--writable` (what `StateDirectory=` makes writable);
* `PrivateDevices=`: a /dev with only null, zero, full, random, urandom, tty,
  the pseudo terminals and /dev/shm;
* `ProtectProc=` and `ProcSubset=`: /proc mounted with `hidepid=` and `subset=`.

Not rebuilt: `ProtectHome=` (the tests' interpreter lives under /root),
`PrivateUsers=`, and the kernel-tunable, module, log, clock and control-group
protections, which take away what caredesk never uses.

    python -m tests.servicesandbox deploy/caredesk.service [--writable DIR]... -- COMMAND ARGS...
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path

ALLOW = 0x7FFF0000
KILL_PROCESS = 0x80000000
CMP_EQ = 4
CMP_MASKED_EQ = 7

# What systemd always allows on top of an allow-list (systemd.exec(5), SystemCallFilter=).
IMPLICIT = {"execve", "exit", "exit_group", "getrlimit", "rt_sigreturn", "sigreturn"}

NAMESPACE_FLAGS = {
    "mnt": 0x00020000,
    "cgroup": 0x02000000,
    "uts": 0x04000000,
    "ipc": 0x08000000,
    "user": 0x10000000,
    "pid": 0x20000000,
    "net": 0x40000000,
}
ADDRESS_FAMILIES = {"AF_UNIX": 1, "AF_INET": 2, "AF_INET6": 10, "AF_NETLINK": 16, "AF_PACKET": 17}
AF_MAX = 46
REALTIME_POLICIES = (1, 2, 6)  # SCHED_FIFO, SCHED_RR, SCHED_DEADLINE
SCHED_RESET_ON_FORK = 0x40000000
PR_CAPBSET_DROP = 24
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
CAPABILITY_VERSION_3 = 0x20080522


class ArgCmp(ctypes.Structure):
    _fields_ = (
        ("arg", ctypes.c_uint),
        ("op", ctypes.c_int),
        ("datum_a", ctypes.c_uint64),
        ("datum_b", ctypes.c_uint64),
    )


def errno_action(number: int) -> int:
    return 0x00050000 | (number & 0xFFFF)


def service_settings(unit: Path) -> dict[str, list[str]]:
    """The [Service] section's settings, each key's values in order (an empty one resets the list)."""
    settings: dict[str, list[str]] = {}
    section = ""
    for raw in unit.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        if section != "Service":
            continue
        key, _, value = line.partition("=")
        if value.strip():
            settings.setdefault(key.strip(), []).append(value.strip())
        else:
            settings[key.strip()] = []
    return settings


@cache
def syscall_groups() -> dict[str, list[str]]:
    """systemd's system-call groups, as `systemd-analyze syscall-filter` lists them."""
    listing = subprocess.run(
        ["systemd-analyze", "syscall-filter"], capture_output=True, text=True, check=True
    ).stdout
    groups: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in listing.splitlines():
        if line.startswith("@"):
            current = groups.setdefault(line.split()[0], [])
        elif current is not None and line.startswith("    ") and not line.strip().startswith("#"):
            current.append(line.strip())
    return groups


def expand(names: list[str]) -> set[str]:
    """System-call names, with each @group replaced by its members (recursively)."""
    found: set[str] = set()
    for name in names:
        if name.startswith("@"):
            found |= expand(syscall_groups()[name])
        elif name:
            found.add(name)
    return found


def allowed_syscalls(settings: dict[str, list[str]]) -> set[str]:
    lines = settings.get("SystemCallFilter", [])
    if not lines or lines[0].startswith("~"):
        raise ValueError("only an allow-list SystemCallFilter= (the first line without ~) is rebuilt")
    allowed = set(IMPLICIT)
    for line in lines:
        if line.startswith("~"):
            allowed -= expand(line[1:].split())
        else:
            allowed |= expand(line.split())
    return allowed


class Filter:
    """One seccomp filter, built with libseccomp and loaded into this process."""

    def __init__(self, library: ctypes.CDLL, default: int) -> None:
        self.lib = library
        self.ctx = library.seccomp_init(ctypes.c_uint32(default))
        if not self.ctx:
            raise OSError("seccomp_init failed")

    def rule(self, action: int, name: str, *compares: tuple[int, int, int, int]) -> None:
        number = self.lib.seccomp_syscall_resolve_name(name.encode())
        if number < 0:
            return  # not a system call of this architecture
        array = (ArgCmp * max(1, len(compares)))(*(ArgCmp(*c) for c in compares))
        result = self.lib.seccomp_rule_add_array(
            self.ctx, ctypes.c_uint32(action), number, len(compares), array
        )
        if result < 0 and result != -errno.EEXIST:
            raise OSError(-result, f"seccomp rule for {name}: {os.strerror(-result)}")

    def load(self) -> None:
        result = self.lib.seccomp_load(self.ctx)
        self.lib.seccomp_release(self.ctx)
        if result < 0:
            raise OSError(-result, f"seccomp_load: {os.strerror(-result)}")


def _library() -> ctypes.CDLL:
    name = ctypes.util.find_library("seccomp") or "libseccomp.so.2"
    library = ctypes.CDLL(name, use_errno=True)
    library.seccomp_init.restype = ctypes.c_void_p
    library.seccomp_init.argtypes = (ctypes.c_uint32,)
    library.seccomp_rule_add_array.argtypes = (
        ctypes.c_void_p,
        ctypes.c_uint32,
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.POINTER(ArgCmp),
    )
    library.seccomp_syscall_resolve_name.argtypes = (ctypes.c_char_p,)
    library.seccomp_load.argtypes = (ctypes.c_void_p,)
    library.seccomp_release.argtypes = (ctypes.c_void_p,)
    return library


def _yes(value: str) -> bool | None:
    word = value.strip().lower()
    if word in ("1", "yes", "true", "on"):
        return True
    if word in ("0", "no", "false", "off"):
        return False
    return None


def allowed_namespaces(settings: dict[str, list[str]]) -> set[str]:
    values = settings.get("RestrictNamespaces", [])
    if not values:
        return set(NAMESPACE_FLAGS)
    value = values[-1]
    if (flag := _yes(value)) is not None:
        return set() if flag else set(NAMESPACE_FLAGS)
    if value.startswith("~"):
        return set(NAMESPACE_FLAGS) - set(value[1:].split())
    return set(value.split())


def load_filters(settings: dict[str, list[str]]) -> None:
    """Load the unit's seccomp filters into this process (they stack, as systemd's do)."""
    library = _library()
    forbidden = [flag for name, flag in NAMESPACE_FLAGS.items() if name not in allowed_namespaces(settings)]
    if forbidden:
        namespaces = Filter(library, ALLOW)
        for flag in forbidden:
            for call in ("unshare", "clone"):
                namespaces.rule(errno_action(errno.EPERM), call, (0, CMP_MASKED_EQ, flag, flag))
        namespaces.rule(errno_action(errno.EPERM), "setns")
        namespaces.rule(errno_action(errno.ENOSYS), "clone3")
        namespaces.load()

    families = " ".join(settings.get("RestrictAddressFamilies", [])).split()
    if families:
        allowed = {ADDRESS_FAMILIES[name] for name in families}
        sockets = Filter(library, ALLOW)
        for family in range(AF_MAX):
            if family not in allowed:
                sockets.rule(errno_action(errno.EAFNOSUPPORT), "socket", (0, CMP_EQ, family, 0))
        sockets.load()

    if _yes((settings.get("RestrictRealtime") or ["no"])[-1]):
        realtime = Filter(library, ALLOW)
        for policy in REALTIME_POLICIES:
            for value in (policy, policy | SCHED_RESET_ON_FORK):
                realtime.rule(errno_action(errno.EPERM), "sched_setscheduler", (1, CMP_EQ, value, 0))
        realtime.load()

    numbers = {"EPERM": errno.EPERM, "EACCES": errno.EACCES, "ENOSYS": errno.ENOSYS}
    error = settings.get("SystemCallErrorNumber", [])
    default = errno_action(numbers[error[-1]]) if error else KILL_PROCESS
    # Last, as systemd does: the allow-list would refuse the seccomp(2) calls that load the others.
    syscalls = Filter(library, default)
    for name in sorted(allowed_syscalls(settings)):
        syscalls.rule(ALLOW, name)
    syscalls.load()


def drop_capabilities() -> None:
    """Lose every capability for good, as an empty `CapabilityBoundingSet=` does.

    The user stays (root, on the test machines): another one could not reach the
    interpreter under /root. Without capabilities root passes only the owner's
    permission checks, and with an empty bounding set no exec gives any back.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in range(64):
        if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0 and ctypes.get_errno() == errno.EINVAL:
            break  # past the kernel's last capability
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = (ctypes.c_uint32 * 2)(CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()
    if libc.capset(header, data) != 0:
        raise OSError(ctypes.get_errno(), "capset")


def mount_sandbox(settings: dict[str, list[str]], writable: list[str]) -> None:
    """The unit's file-system side; only inside a mount and pid namespace of our own."""

    def mount(*args: str) -> None:
        subprocess.run(["mount", *args], check=True)

    def last(key: str, default: str) -> str:
        return (settings.get(key) or [default])[-1].strip().lower()

    proc = [f"hidepid={last('ProtectProc', 'default')}"]
    if last("ProcSubset", "all") == "pid":
        proc.append("subset=pid")
    mount("-t", "proc", "-o", ",".join(proc), "proc", "/proc")
    if _yes(last("PrivateDevices", "no")):
        staging = Path(tempfile.mkdtemp(prefix="servicesandbox-dev-"))
        mount("-t", "tmpfs", "-o", "mode=0755", "tmpfs", str(staging))
        for name in ("null", "zero", "full", "random", "urandom", "tty"):
            (staging / name).touch()
            mount("--bind", f"/dev/{name}", str(staging / name))
        for name in ("shm", "pts"):
            (staging / name).mkdir()
            mount("--bind", f"/dev/{name}", str(staging / name))
        (staging / "ptmx").symlink_to("pts/ptmx")
        mount("--move", str(staging), "/dev")
        staging.rmdir()
    if last("ProtectSystem", "no") == "strict":
        temporary = ["/tmp", "/var/tmp"] if _yes(last("PrivateTmp", "no")) else []
        for folder in (*temporary, *writable):
            mount("--bind", folder, folder)  # a mount of its own keeps its write access
        mount("-o", "remount,bind,ro", "/")


def main(argv: list[str]) -> None:
    inside = argv[:1] == ["--inside"]
    arguments = argv[1:] if inside else argv
    if "--" not in arguments or not arguments or arguments[0].startswith("-"):
        raise SystemExit("usage: python -m tests.servicesandbox UNIT [--writable DIR]... -- COMMAND ARGS...")
    split = arguments.index("--")
    unit, options, command = Path(arguments[0]), arguments[1:split], arguments[split + 1 :]
    settings = service_settings(unit)
    if settings.get("CapabilityBoundingSet") != []:
        raise SystemExit(f"{unit}: rebuilds only an empty CapabilityBoundingSet=")
    if not inside:
        # PID 1 of a new pid namespace (for its own /proc), in a mount namespace of its own.
        unshare = ["unshare", "--mount", "--pid", "--kill-child", "--propagation", "private"]
        os.execvp(
            unshare[0], [*unshare, sys.executable, "-m", "tests.servicesandbox", "--inside", *arguments]
        )
    writable = [options[i + 1] for i, option in enumerate(options) if option == "--writable"]
    mount_sandbox(settings, writable)
    drop_capabilities()
    load_filters(settings)
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
