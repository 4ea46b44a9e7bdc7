"""A throw-away Dovecot IMAP server on loopback, for integration tests.

Owns one Dovecot instance: its generated configuration, its state directory
(config, passwd-file, Maildir, sockets, log) and its process.  Nothing outside
the state directory is read or written: every ``dovecot``/``doveconf`` call gets
``-c`` (otherwise they fall back to ``/etc/dovecot`` and ``/run/dovecot``).

The test helpers (``append``, ``uids``, ``messages`` ...) go through real IMAP
with imapclient, so they exercise the same server paths as the daemon under
test.  The one exception is ``append_many(..., direct=True)``, which drops
files straight into the Maildir because APPENDing tens of thousands of
messages one by one is too slow for benchmarks.

Options for the transport tests: ``tls=(cert, key)`` turns on STARTTLS on the
plain port and adds an implicit-TLS listener (``imaps_url``), with
``require_tls`` refusing a login before TLS; ``capabilities`` replaces what
the server advertises (to hide ``MOVE`` or ``UIDPLUS``); ``rawlog`` records
every command clients send after login (``client_commands``); ``host`` picks
another loopback address; ``oauth2_introspection`` adds Dovecot's ``oauth2``
passdb, asking that introspection URL about the tokens of AUTHENTICATE XOAUTH2
and OAUTHBEARER (the password login of the helpers keeps working).

See /work/shared/research/dovecot.md for the reasoning behind the config lines
(pitfalls D1-D7 are referred to by name in the comments below).
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from imapclient import IMAPClient

from .owner import claim, owner_alive

# Debian installs the binaries under /usr/sbin, which is not on a non-root PATH.
_SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"])

# Dovecot refuses to run mail processes as uid 0 (pitfall D2), so as root the
# mail files belong to this numeric uid/gid; it need not exist in /etc/passwd.
# It must be >= first_valid_uid (500 by default).
ROOT_MAIL_UID = 10143
ROOT_MAIL_GID = 10143

START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0

# A rawlog line starts with "<seconds>.<microseconds> "; a command line that
# announces a literal ends with "{<size>}" (or "{<size>+}", LITERAL+).
_RAWLOG_STAMP = re.compile(rb"^\d+\.\d+ ")
_LITERAL = re.compile(rb"\{(\d+)\+?\}$")

# What Dovecot 2.3.19 advertises after login (read with CAPABILITY), as a base
# for ``Dovecot(capabilities=...)``: a test removes what the server should lack.
DOVECOT_CAPABILITIES: tuple[str, ...] = (
    "IMAP4rev1", "SASL-IR", "LOGIN-REFERRALS", "ID", "ENABLE", "IDLE", "SORT", "SORT=DISPLAY",
    "THREAD=REFERENCES", "THREAD=REFS", "THREAD=ORDEREDSUBJECT", "MULTIAPPEND", "URL-PARTIAL",
    "CATENATE", "UNSELECT", "CHILDREN", "NAMESPACE", "UIDPLUS", "LIST-EXTENDED", "I18NLEVEL=1",
    "CONDSTORE", "QRESYNC", "ESEARCH", "ESORT", "SEARCHRES", "WITHIN", "CONTEXT=SEARCH",
    "LIST-STATUS", "BINARY", "MOVE", "SNIPPET=FUZZY", "PREVIEW=FUZZY", "PREVIEW", "STATUS=SIZE",
    "SAVEDATE", "LITERAL+", "NOTIFY",
)  # fmt: skip


def find_dovecot() -> str | None:
    """Return the path of the ``dovecot`` binary, or None when it is not installed."""
    return shutil.which("dovecot", path=_SEARCH_PATH)


def free_port(host: str = "127.0.0.1") -> int:
    """Ask the kernel for a free TCP port on ``host``.

    The port is released before Dovecot binds it, so another process could
    take it in between; ``Dovecot.start`` retries with a new port when the
    bind fails for that reason.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def reap_orphans(max_age: float = 600.0) -> int:
    """Kill test Dovecots whose test process died, remove their stale state dirs.

    A test run killed with SIGKILL cannot stop its servers. Every state dir
    names its owner, the test process (an xdist worker, or pytest itself)
    that made it, by PID and start time (``owner``); a master is killed and
    its dir removed only when that owner is gone. Servers of live test
    processes - other xdist workers of this run, other people's runs on the
    same machine - are never touched, however old. A dir from before owners
    were recorded counts as orphaned when its master was re-parented to PID 1,
    or, without a master, once it is older than ``max_age`` seconds.
    Returns the number of masters killed.
    """
    killed = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        ours = len(cmdline) > 3 and cmdline[1:3] == [b"-F", b"-c"] and cmdline[3].startswith(b"/tmp/cd-dv-")
        if not ours:
            continue
        owner = owner_alive(Path(os.fsdecode(cmdline[3])).parent)
        if owner is False or (owner is None and ppid == 1):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(entry.name), signal.SIGKILL)
                killed += 1
    now = time.time()
    for state in Path("/tmp").glob("cd-dv-*"):
        with contextlib.suppress(OSError):
            owner = owner_alive(state)
            if owner is True or _master_alive(state):
                continue
            if owner is False or now - state.stat().st_mtime > max_age:
                shutil.rmtree(state, ignore_errors=True)
    return killed


def _master_alive(state: Path) -> bool:
    try:
        pid = int((state / "run" / "master.pid").read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    return True


class DovecotError(RuntimeError):
    """Dovecot could not be configured, started or stopped; the message has its log."""


class Dovecot:
    """One Dovecot IMAP server with one Maildir user, in its own temp state dir.

    Use as a context manager, or call ``start()`` and make sure ``stop()`` runs
    (the ``dovecot`` fixture does both).

    ``tls=(cert_path, key_path)``: STARTTLS on ``port`` and implicit TLS on
    ``imaps_port``; with ``require_tls`` a login before STARTTLS is refused
    (``ssl = required``). Dovecot counts a connection whose client and server
    address are equal (127.0.0.1 to 127.0.0.1) as secure and lets it log in
    without TLS anyway, so a server that must refuse plain text listens on
    another loopback address: ``host="127.0.0.2"`` (Linux routes all of
    127.0.0.0/8 to ``lo``; the client's address stays 127.0.0.1).
    ``capabilities`` replaces the advertised list (``imap_capability``);
    start from ``DOVECOT_CAPABILITIES``. Dovecot still executes a command it
    no longer advertises: hiding ``MOVE`` tests the *client's* fallback.
    ``rawlog`` keeps a copy of what every client sends after login
    (``client_commands``).
    """

    host = "127.0.0.1"

    def __init__(
        self,
        user: str = "care",
        password: str = "carepass",
        *,
        host: str | None = None,
        tls: tuple[Path, Path] | None = None,
        require_tls: bool = False,
        capabilities: Sequence[str] | None = None,
        rawlog: bool = False,
        oauth2_introspection: str | None = None,
        settings: Sequence[str] = (),
    ) -> None:
        if require_tls and tls is None:
            raise ValueError("require_tls needs tls=(cert_path, key_path)")
        if capabilities is not None and not capabilities:
            raise ValueError("capabilities must name at least IMAP4rev1")
        self.user = user
        self.password = password
        if host is not None:
            self.host = host
        self.tls = (Path(tls[0]), Path(tls[1])) if tls is not None else None
        self.require_tls = require_tls
        self.capabilities = tuple(capabilities) if capabilities is not None else None
        self.rawlog = rawlog
        self.oauth2_introspection = oauth2_introspection
        # More dovecot.conf lines, written after the mail settings (benchmarks).
        self.settings = tuple(settings)
        self.port = 0
        self.imaps_port = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._binary = find_dovecot()
        self._doveconf = shutil.which("doveconf", path=_SEARCH_PATH)
        if self._binary is None or self._doveconf is None:
            raise DovecotError("dovecot is not installed (apt-get install dovecot-imapd)")
        # Unix socket paths must stay below 108 bytes, so the state dir lives
        # directly under /tmp with a short name rather than under pytest's
        # deeply nested tmp_path.
        self.state = Path(tempfile.mkdtemp(prefix="cd-dv-", dir="/tmp"))
        self._claim_state()
        self._as_root = os.geteuid() == 0
        if self._as_root:
            self.mail_uid, self.mail_gid = ROOT_MAIL_UID, ROOT_MAIL_GID
        else:
            self.mail_uid, self.mail_gid = os.geteuid(), os.getegid()
        # Numbers the files of direct Maildir drops, in order (see append_many).
        self._drop_seq = 0

    def _claim_state(self) -> None:
        # Whose the state dir is, so reap_orphans leaves it (and its server)
        # alone while this process lives, also from another worker or run.
        claim(self.state)

    # -- paths and properties -------------------------------------------------

    @property
    def conf_path(self) -> Path:
        return self.state / "dovecot.conf"

    @property
    def log_path(self) -> Path:
        return self.state / "log" / "dovecot.log"

    @property
    def home(self) -> Path:
        return self.state / "home" / self.user

    @property
    def maildir(self) -> Path:
        return self.home / "Maildir"

    @property
    def url(self) -> str:
        return f"imap://{self.user}@{self.host}:{self.port}/INBOX"

    @property
    def imaps_url(self) -> str:
        """The implicit-TLS URL (only with ``tls=``)."""
        if self.tls is None:
            raise DovecotError("this Dovecot has no imaps listener; pass tls=(cert, key)")
        return f"imaps://{self.user}@{self.host}:{self.imaps_port}/INBOX"

    @property
    def rawlog_dir(self) -> Path:
        return self.home / "rawlog"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def folder_path(self, folder: str) -> Path:
        """The Maildir++ directory of ``folder`` (INBOX is the Maildir root)."""
        if folder.upper() == "INBOX":
            return self.maildir
        return self.maildir / f".{folder}"

    def log(self) -> str:
        """The server log so far (for assertion messages)."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    # -- lifecycle ------------------------------------------------------------

    def __enter__(self) -> Dovecot:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        """Write the config (first start only), start Dovecot and wait for its greeting."""
        if self.running:
            return
        # After stop() removed the state this is a fresh server again (empty
        # mailbox, new port); after stop(remove_state=False) it keeps both.
        first_start = not self.conf_path.exists()
        if first_start:
            self.state.mkdir(mode=0o700, exist_ok=True)
            self._claim_state()
        # On the first start a port can be stolen between free_port() and
        # Dovecot's bind; then try another one. A restart must keep its port.
        for _attempt in range(3 if first_start else 1):
            if first_start:
                self.port = free_port(self.host)
                if self.tls is not None:
                    self.imaps_port = free_port(self.host)
                self._prepare_state()
            try:
                self._launch()
                return
            except DovecotError as error:
                self._kill_leftovers()
                if not (first_start and "Address already in use" in str(error)):
                    raise
        raise DovecotError(f"no free port for dovecot after 3 attempts\n{self.log()}")

    def stop(self, *, remove_state: bool = True) -> None:
        """Stop Dovecot and, by default, remove the state dir.

        Logged-in clients are disconnected at once, as by ``systemctl stop``.
        Safe to call twice and after a failed start.
        """
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            # SIGTERM to the master (run/master.pid is our child's PID) ends
            # the login, auth and helper processes, but it only sends SIGQUIT
            # ("finish your clients") to imap processes: measured on 2.3.19, a
            # logged-in session then lives on ~10 s after the master exited.
            # systemd would SIGTERM the whole cgroup, so do that for imap.
            proc.send_signal(signal.SIGTERM)
            for pid, title in _living_children(proc.pid):
                if title.endswith("/imap"):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGTERM)
            self._wait_for_shutdown(proc)
        self._kill_leftovers()
        if remove_state:
            shutil.rmtree(self.state, ignore_errors=True)

    def _wait_for_shutdown(self, proc: subprocess.Popen[bytes]) -> None:
        """Wait until every process that touches mail has exited, then end the master.

        After reaping its children, Dovecot 2.3's master sends SIGQUIT to its
        log process and sleeps a fixed second so the log can be flushed
        (strace: ``kill(log, SIGQUIT); clock_nanosleep(1s); unlink(master.pid)``).
        Waiting out that sleep would add a second to every test (stop takes
        ~0.07 s instead of ~1.1 s), so once the log process is the only living
        child - every process that touches mail has exited - the master is
        killed and ``_kill_leftovers`` ends the log process.
        """
        deadline = time.monotonic() + STOP_TIMEOUT
        while proc.poll() is None and time.monotonic() < deadline:
            # An empty list counts too: the log process may already be gone.
            if all(title.endswith("/log") for _pid, title in _living_children(proc.pid)):
                # Give the log process a moment to write lines still in its pipe.
                time.sleep(0.05)
                break
            time.sleep(0.01)
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=STOP_TIMEOUT)

    def restart(self) -> None:
        """Stop and start again on the same port and state; the mail is kept.

        Connected clients are disconnected, as with a real server restart.
        """
        self.stop(remove_state=False)
        self._launch()

    def _launch(self) -> None:
        assert self._binary is not None
        stderr_path = self.state / "log" / "stderr.log"
        with open(stderr_path, "ab") as stderr:
            # -F keeps the master in the foreground as our child: we can then
            # wait() for it on stop. A daemonised master is re-parented to PID 1,
            # which in some containers never reaps it, so "wait until the PID is
            # gone" would hang on a zombie.
            self._proc = subprocess.Popen(
                [self._binary, "-F", "-c", str(self.conf_path)],
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
                start_new_session=True,
            )
        self._wait_for_greeting(stderr_path)

    def _wait_for_greeting(self, stderr_path: Path) -> None:
        # A listening socket alone proves nothing (pitfall D7: with a broken
        # login process the master accepts and closes), so wait for "* OK".
        deadline = time.monotonic() + START_TIMEOUT
        last_error = ""
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                details = stderr_path.read_text(errors="replace") + self.log()
                self._proc = None
                raise DovecotError(f"dovecot exited during start-up:\n{details}")
            try:
                with socket.create_connection((self.host, self.port), timeout=1.0) as conn:
                    greeting = conn.recv(200)
                if greeting.startswith(b"* OK"):
                    return
                last_error = f"unexpected greeting {greeting!r}"
            except OSError as error:
                last_error = str(error)
            time.sleep(0.02)
        self.stop(remove_state=False)
        raise DovecotError(
            f"dovecot did not greet on {self.host}:{self.port} within {START_TIMEOUT}s "
            f"({last_error})\n{self.log()}"
        )

    def _kill_leftovers(self) -> None:
        """SIGKILL any process still running from this instance.

        Normally the master has already taken its children down; this is the
        "kill if needed" net for a master that died without doing so. Our
        processes are recognised by the instance name in their title.
        """
        # "<state name>/" is in the master's config path and in every child's
        # title ("dovecot-<instance>/imap"); mkdtemp names have a fixed length,
        # so no other instance's name can contain ours.
        marker = f"{self._instance_name()}/".encode()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if marker in cmdline:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(int(entry.name), signal.SIGKILL)

    def _instance_name(self) -> str:
        # Process titles become "dovecot-<instance>/imap" etc.; the unique
        # state dir name tells ours apart from a system Dovecot and from other
        # test instances, so _kill_leftovers can never hit someone else's.
        return self.state.name

    # -- configuration --------------------------------------------------------

    def _prepare_state(self) -> None:
        for sub in ("run", "lib", "log"):
            (self.state / sub).mkdir(exist_ok=True)
        # The auth process (user dovecot) reads the passwd-file and the imap
        # processes (mail uid) open the home below; mkdtemp's 0700 would lock
        # both out, so let everyone traverse (but not list) the state dir.
        self.state.chmod(0o711)
        (self.state / "home").mkdir(exist_ok=True)
        (self.state / "home").chmod(0o711)
        for sub in ("cur", "new", "tmp"):
            (self.maildir / sub).mkdir(parents=True, exist_ok=True)
        for path in (self.home, self.maildir, *(self.maildir / s for s in ("cur", "new", "tmp"))):
            self._chown_to_mail_user(path)
            path.chmod(0o700)
        self._write_users_file()
        if self.tls is not None:
            self._copy_tls_files(*self.tls)
        if self.rawlog:
            self.rawlog_dir.mkdir(exist_ok=True)
            self._chown_to_mail_user(self.rawlog_dir)
            self.rawlog_dir.chmod(0o700)
        if self.oauth2_introspection is not None:
            self._write_oauth2_file(self.oauth2_introspection)
        self.conf_path.write_text(self._config())
        self._check_config()

    def _write_users_file(self) -> None:
        users = self.state / "users"
        users.write_text(
            f"{self.user}:{{PLAIN}}{self.password}:{self.mail_uid}:{self.mail_gid}::{self.home}::\n"
        )
        if self._as_root:
            # The auth process runs as user dovecot, not root (pitfall D3).
            os.chown(users, 0, _group_id("dovecot"))
            users.chmod(0o640)
        else:
            users.chmod(0o600)

    def _write_oauth2_file(self, introspection_url: str) -> None:
        # Read by the auth process (user dovecot when we are root); nothing secret in it.
        path = self.state / "dovecot-oauth2.conf.ext"
        path.write_text(
            "\n".join(
                [
                    "introspection_mode = post",
                    f"introspection_url = {introspection_url}",
                    "username_attribute = username",
                    "active_attribute = active",
                    "active_value = true",
                    "timeout_msecs = 5000",
                    "",
                ]
            )
        )
        path.chmod(0o644)

    def _oauth2_lines(self) -> list[str]:
        if self.oauth2_introspection is None:
            return ["auth_mechanisms = plain login"]
        # A token fails the passwd-file check (it is not the password) and goes on to
        # the oauth2 passdb; no failure delay, so a refused token costs no seconds.
        return [
            "auth_mechanisms = plain login xoauth2 oauthbearer",
            "auth_failure_delay = 0",
            "passdb {",
            "  driver = oauth2",
            "  mechanisms = xoauth2 oauthbearer",
            f"  args = {self.state}/dovecot-oauth2.conf.ext",
            "}",
        ]

    def _copy_tls_files(self, cert: Path, key: Path) -> None:
        # Copies inside the state dir keep the "nothing outside it is read"
        # promise and survive the caller's temp dir; the config process reads
        # them (as root, or as us when rootless), so 0600 is enough.
        folder = self.state / "tls"
        folder.mkdir(mode=0o700, exist_ok=True)
        for source, name in ((cert, "server.pem"), (key, "server.key")):
            shutil.copyfile(source, folder / name)
            (folder / name).chmod(0o600)

    def _tls_lines(self) -> list[str]:
        if self.tls is None:
            # Without a certificate, ssl=yes still starts and advertises
            # STARTTLS, then fails the handshake (pitfall D1).
            return ["ssl = no", "disable_plaintext_auth = no"]
        folder = self.state / "tls"
        return [
            # "required": no login of any kind before TLS (where the connection
            # is not already counted as secure, see the class docstring).
            f"ssl = {'required' if self.require_tls else 'yes'}",
            f"ssl_cert = <{folder}/server.pem",
            f"ssl_key = <{folder}/server.key",
            f"disable_plaintext_auth = {'yes' if self.require_tls else 'no'}",
        ]

    def _config(self) -> str:
        state = self.state
        lines = [
            f"instance_name = {self._instance_name()}",
            f"base_dir = {state}/run",
            f"state_dir = {state}/lib",
            "protocols = imap",
            f"listen = {self.host}",
            f"log_path = {self.log_path}",
            f"info_log_path = {self.log_path}",
            *self._tls_lines(),
            "mail_location = maildir:~/Maildir",
            # Tests need no crash safety; skipping fsync makes APPEND faster.
            "mail_fsync = never",
            # Fault and concurrency tests open more than the default 10.
            "mail_max_userip_connections = 100",
            *self.settings,
            "passdb {",
            "  driver = passwd-file",
            f"  args = scheme=PLAIN username_format=%u {state}/users",
            "}",
            *self._oauth2_lines(),
            "userdb {",
            "  driver = passwd-file",
            f"  args = username_format=%u {state}/users",
            "}",
            "service imap-login {",
            "  inet_listener imap {",
            f"    address = {self.host}",
            f"    port = {self.port}",
            "  }",
            *self._imaps_listener_lines(),
            "}",
        ]
        if self.capabilities is not None:
            lines.append(f"imap_capability = {' '.join(self.capabilities)}")
        if self.rawlog:
            # Post-login traffic of every session, decrypted, one .in/.out pair
            # per connection (rawlog_dir, Dovecot >= 2.2.26).
            lines.append(f"rawlog_dir = {self.rawlog_dir}")
        if not self._as_root:
            lines += self._rootless_lines()
        return "\n".join(lines) + "\n"

    def _imaps_listener_lines(self) -> list[str]:
        if self.tls is None:
            # port = 0 disables the default imaps listener on 993.
            return ["  inet_listener imaps {", "    port = 0", "  }"]
        return [
            "  inet_listener imaps {",
            f"    address = {self.host}",
            f"    port = {self.imaps_port}",
            "    ssl = yes",
            "  }",
        ]

    @staticmethod
    def _rootless_lines() -> list[str]:
        user = pwd.getpwuid(os.geteuid()).pw_name
        group = grp.getgrgid(os.getegid()).gr_name
        return [
            f"default_internal_user = {user}",
            f"default_internal_group = {group}",
            f"default_login_user = {user}",
            # chroot() needs root: without these the login and anvil
            # processes die in a loop while the port still accepts (D7).
            "service anvil {",
            "  chroot =",
            "}",
            "service imap-login {",
            "  chroot =",
            "}",
        ]

    def _check_config(self) -> None:
        assert self._doveconf is not None
        result = subprocess.run(
            [self._doveconf, "-c", str(self.conf_path), "-n"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if result.returncode != 0:
            raise DovecotError(f"doveconf rejected {self.conf_path}:\n{result.stderr}")

    def _chown_to_mail_user(self, path: Path) -> None:
        if self._as_root:
            os.chown(path, self.mail_uid, self.mail_gid)

    # -- IMAP helpers ---------------------------------------------------------

    @contextlib.contextmanager
    def connection(self, timeout: float = 10.0) -> Iterator[IMAPClient]:
        """A logged-in IMAPClient; logged out (or at least closed) on exit.

        With ``tls=`` it logs in after STARTTLS, so it also works when the
        server requires TLS.
        """
        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=timeout)
        try:
            if self.tls is not None:
                client.starttls(_harness_tls_context())
            client.login(self.user, self.password)
            yield client
        finally:
            try:
                client.logout()
            except Exception:
                # The server may be gone (restart tests); just drop the socket.
                with contextlib.suppress(Exception):
                    client.shutdown()

    def append(self, raw: bytes, folder: str = "INBOX", flags: Sequence[str | bytes] = ()) -> int | None:
        """APPEND one message; returns its UID (from UIDPLUS) when the server says it."""
        with self.connection() as client:
            return _appended_uid(client.append(folder, raw, flags=tuple(flags)))

    def append_many(self, raws: Iterable[bytes], folder: str = "INBOX", *, direct: bool = False) -> int:
        """Store many messages in order; returns how many.

        By default they are APPENDed over one IMAP connection (a few ms each).
        With ``direct=True`` the files are written straight into the folder's
        Maildir ``new/`` (for thousands of messages), owned by the mail uid
        (pitfall D2) and named ``<time>.M<seq>P<pid>Q<seq>.<host>`` because
        Dovecot hands out UIDs in the order of the time and microsecond parts
        of the name (D5); a read-write SELECT then makes Dovecot index them
        and move them to ``cur/`` so the daemon under test does not pay for it.
        """
        if direct:
            return self._drop_into_maildir(raws, folder)
        count = 0
        with self.connection() as client:
            for raw in raws:
                client.append(folder, raw)
                count += 1
        return count

    def _drop_into_maildir(self, raws: Iterable[bytes], folder: str) -> int:
        target = self.folder_path(folder)
        if not target.is_dir():
            raise DovecotError(f"folder {folder!r} does not exist; create_folder() it first")
        base = int(time.time())
        pid = os.getpid()
        count = 0
        for raw in raws:
            self._drop_seq += 1
            seq = self._drop_seq
            if seq >= 1_000_000:
                raise DovecotError("direct drops keep order only below 10**6 messages")
            name = f"{base}.M{seq:06d}P{pid}Q{seq}.caredesk-test"
            tmp_file = target / "tmp" / name
            # Maildir files conventionally use LF line ends; Dovecot serves CRLF.
            data = raw.replace(b"\r\n", b"\n")
            fd = os.open(tmp_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, data)
                if self._as_root:
                    os.fchown(fd, self.mail_uid, self.mail_gid)
            finally:
                os.close(fd)
            # Maildir delivery: write in tmp/, rename into new/ (atomic).
            tmp_file.rename(target / "new" / name)
            count += 1
        with self.connection() as client:
            client.select_folder(folder)
        return count

    def client_commands(self) -> list[str]:
        """Every command clients sent after login, without tags (needs ``rawlog=True``).

        The server's own record of the wire, so a test can prove what a client
        did *not* send (a plain ``EXPUNGE``, a ``CLOSE``). Sessions are listed
        in the order their files sort (start time, then process id).
        """
        if not self.rawlog:
            raise DovecotError("client_commands() needs Dovecot(rawlog=True)")
        commands = []
        for path in sorted(self.rawlog_dir.glob("*.in")):
            for command in _split_commands(_strip_timestamps(path.read_bytes())):
                _tag, _, rest = command.partition(b" ")
                commands.append((rest or command).decode(errors="replace"))
        return commands

    def uids(self, folder: str = "INBOX") -> list[int]:
        with self.connection() as client:
            client.select_folder(folder, readonly=True)
            return sorted(int(uid) for uid in client.search("ALL"))

    def messages(self, folder: str = "INBOX") -> list[bytes]:
        """All messages of ``folder`` in UID order, fetched without setting \\Seen."""
        with self.connection() as client:
            client.select_folder(folder, readonly=True)
            uids = client.search("ALL")
            if not uids:
                return []
            fetched = client.fetch(uids, [b"BODY.PEEK[]"])
            return [fetched[uid][b"BODY[]"] for uid in sorted(fetched)]

    def count(self, folder: str = "INBOX") -> int:
        with self.connection() as client:
            status = client.folder_status(folder, [b"MESSAGES"])
            return int(status[b"MESSAGES"])

    def uidvalidity(self, folder: str = "INBOX") -> int:
        with self.connection() as client:
            status = client.folder_status(folder, [b"UIDVALIDITY"])
            return int(status[b"UIDVALIDITY"])

    def folders(self) -> list[str]:
        with self.connection() as client:
            return sorted(str(name) for _flags, _delim, name in client.list_folders())

    def create_folder(self, name: str) -> None:
        with self.connection() as client:
            client.create_folder(name)

    def reset_uidvalidity(self, folder: str = "INBOX") -> None:
        """Make Dovecot give ``folder`` a new UIDVALIDITY, keeping its messages.

        Dovecot keeps a Maildir's UIDVALIDITY and UID map in
        ``dovecot-uidlist`` and in the ``dovecot.index*`` files. With the
        server stopped, those are deleted; on the next access Dovecot rebuilds
        them from the message files with a *new* UIDVALIDITY (taken from the
        per-user ``dovecot-uidvalidity`` counter, so it differs even within
        the same second) and numbers the messages from UID 1 again.
        The server is restarted, so open connections are dropped.

        (Renaming the folder away and back was also tried: Dovecot moves the
        index along with the folder, so the UIDVALIDITY stays the same.)
        """
        target = self.folder_path(folder)
        if not target.is_dir():
            raise DovecotError(f"folder {folder!r} does not exist")
        self.stop(remove_state=False)
        for path in target.iterdir():
            if path.name == "dovecot-uidlist" or path.name.startswith("dovecot.index"):
                path.unlink()
        self._launch()


def _living_children(pid: int) -> list[tuple[int, str]]:
    """(PID, process title) of the living children of ``pid``, from /proc.

    Zombies are left out: they are dead already, the master just has not
    reaped them yet (it reaps in passes, so one can stay a zombie through its
    final one-second sleep).
    """
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            # After the ")" that closes the command name (which may contain
            # spaces) come "state ppid ...".
            state, ppid = stat.rsplit(")", 1)[1].split()[:2]
            if int(ppid) == pid and state not in ("Z", "X"):
                title = (entry / "cmdline").read_bytes().rstrip(b"\0")
                children.append((int(entry.name), title.decode(errors="replace")))
        except (OSError, IndexError, ValueError):
            continue
    return children


def _strip_timestamps(rawlog: bytes) -> bytes:
    """The client's byte stream from a rawlog file, whose lines each start with a time stamp."""
    lines = rawlog.split(b"\n")
    if lines and not lines[-1]:
        lines.pop()
    stripped = [_RAWLOG_STAMP.sub(b"", line, count=1) for line in lines]
    return b"".join(line + b"\n" for line in stripped)


def _split_commands(stream: bytes) -> list[bytes]:
    """IMAP commands in a client stream, each literal's data left out (``{N}`` stays).

    The data of a literal (an APPENDed message) can hold any text, also a line
    that looks like a command, so it is skipped by its announced length.
    """
    commands = []
    current = b""
    position = 0
    while position < len(stream):
        end = stream.find(b"\r\n", position)
        if end < 0:
            current += stream[position:]
            break
        line = stream[position:end]
        current += line
        position = end + 2
        literal = _LITERAL.search(line)
        if literal:
            position += int(literal.group(1))
            continue
        commands.append(current)
        current = b""
    if current:
        commands.append(current)
    return commands


def _harness_tls_context() -> ssl.SSLContext:
    """TLS for the fixture's own helper connections: encrypted, not verified.

    The helpers talk to the server this class started, also in tests where
    that server's certificate is deliberately untrusted; what is verified is
    the daemon under test, which always uses ``ssl.create_default_context()``.
    """
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _appended_uid(response: bytes | str) -> int | None:
    # UIDPLUS answers "[APPENDUID <uidvalidity> <uid>] Append completed."
    text = response.decode() if isinstance(response, bytes) else response
    if text.startswith("[APPENDUID "):
        return int(text.split()[2].rstrip("]"))
    return None


def _group_id(group: str) -> int:
    """The gid of ``group`` (the passwd-file must be readable by Dovecot's group)."""
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError as error:
        raise DovecotError(f"group {group!r} missing; is dovecot-core installed?") from error


__all__ = [
    "DOVECOT_CAPABILITIES",
    "ROOT_MAIL_GID",
    "ROOT_MAIL_UID",
    "Dovecot",
    "DovecotError",
    "find_dovecot",
    "free_port",
]
