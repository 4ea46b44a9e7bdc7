"""Throw-away TLS certificates for the test servers, made at test time with ``openssl``.

Owns one small PKI per call of ``make_certificates``: a certificate authority
and a server certificate it signed, for ``127.0.0.1`` (an IP SAN) and
``localhost``, written as PEM files into a folder the caller gives (a pytest
``tmp_path``).  Nothing is installed system-wide: a test trusts the CA by
pointing ``SSL_CERT_FILE`` at ``Certificates.ca``, which
``ssl.create_default_context()`` honours, so the daemon's clients keep
certificate *and* host-name verification on.

The ``openssl`` command-line tool is used because the ``cryptography``
package is not a dependency of this project; EC P-256 keys make a whole set
in about 40 ms.  The extensions are the ones strict verifiers (Python 3.13's
``VERIFY_X509_STRICT``) want: a critical CA basic constraint with key usage
on the CA, key identifiers on both, ``serverAuth`` on the leaf.
"""

from __future__ import annotations

import ipaddress
import secrets
import shutil
import ssl
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# Certificates only live as long as a test session; a day covers any run.
VALID_DAYS = 1
OPENSSL_TIMEOUT = 30.0

_EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


class TlsError(RuntimeError):
    """The certificates could not be made; the message has openssl's output."""


@dataclass(frozen=True)
class Certificates:
    """The PEM files of one test PKI."""

    ca: Path
    """The CA certificate: what a client trusts (``SSL_CERT_FILE``)."""
    ca_key: Path
    """The CA's private key (``issue`` signs more server certificates with it)."""
    cert: Path
    """The server certificate, signed by the CA."""
    key: Path
    """The server's private key, unencrypted."""
    hosts: tuple[str, ...]
    """The names and addresses the server certificate is valid for."""

    def issue(self, folder: Path, hosts: Sequence[str]) -> Certificates:
        """Another server certificate from the same CA, for other ``hosts``.

        ``folder`` must be a folder of its own: the files have fixed names.
        """
        cert, key = _issue(folder, self.ca, self.ca_key, hosts)
        return Certificates(ca=self.ca, ca_key=self.ca_key, cert=cert, key=key, hosts=tuple(hosts))

    def server_context(self) -> ssl.SSLContext:
        """A TLS server context presenting the server certificate (for aiosmtpd)."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A verifying client context that trusts only this CA (for test helpers)."""
        return ssl.create_default_context(cafile=str(self.ca))


def find_openssl() -> str | None:
    """The path of the ``openssl`` binary, or None when it is not installed."""
    return shutil.which("openssl")


def make_certificates(
    folder: Path,
    *,
    hosts: Sequence[str] = ("127.0.0.1", "localhost"),
    authority: str = "caredesk test CA",
) -> Certificates:
    """Create a CA and a server certificate for ``hosts`` in ``folder``.

    Each call makes a new CA, so two calls give two PKIs that do not trust
    each other (a test of an untrusted server certificate uses that).
    """
    folder.mkdir(parents=True, exist_ok=True)
    ca_key, ca = folder / "ca.key", folder / "ca.pem"
    _openssl(
        "req", "-x509", *_EC_KEY, "-keyout", str(ca_key), "-out", str(ca),
        "-days", str(VALID_DAYS), "-subj", f"/CN={authority}",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        "-addext", "subjectKeyIdentifier=hash",
    )  # fmt: skip
    cert, key = _issue(folder, ca, ca_key, hosts)
    return Certificates(ca=ca, ca_key=ca_key, cert=cert, key=key, hosts=tuple(hosts))


def _issue(folder: Path, ca: Path, ca_key: Path, hosts: Sequence[str]) -> tuple[Path, Path]:
    """A server key and certificate for ``hosts`` signed by the CA, as PEM files in ``folder``."""
    if not hosts:
        raise ValueError("a server certificate needs at least one host")
    folder.mkdir(parents=True, exist_ok=True)
    key, request, cert = folder / "server.key", folder / "server.csr", folder / "server.pem"
    _openssl("req", "-new", *_EC_KEY, "-keyout", str(key), "-out", str(request), "-subj", f"/CN={hosts[0]}")
    extensions = folder / "server.ext"
    extensions.write_text(
        "basicConstraints = critical, CA:FALSE\n"
        "keyUsage = critical, digitalSignature\n"
        "extendedKeyUsage = serverAuth\n"
        f"subjectAltName = {_alt_names(hosts)}\n"
        "subjectKeyIdentifier = hash\n"
        "authorityKeyIdentifier = keyid:always\n"
    )
    _openssl(
        "x509", "-req", "-in", str(request), "-CA", str(ca), "-CAkey", str(ca_key),
        # A random serial: two test CAs never issue look-alike certificates.
        "-set_serial", f"0x{secrets.token_hex(8)}", "-days", str(VALID_DAYS),
        "-extfile", str(extensions), "-out", str(cert),
    )  # fmt: skip
    request.unlink()
    return cert, key


def _alt_names(hosts: Sequence[str]) -> str:
    names = []
    for host in hosts:
        try:
            ipaddress.ip_address(host)
        except ValueError:
            names.append(f"DNS:{host}")
        else:
            # An address must be an IP SAN: verifiers never match it against DNS names.
            names.append(f"IP:{host}")
    return ", ".join(names)


def _openssl(*args: str) -> None:
    binary = find_openssl()
    if binary is None:
        raise TlsError("openssl is not installed (apt-get install openssl)")
    result = subprocess.run(
        [binary, *args], capture_output=True, text=True, timeout=OPENSSL_TIMEOUT, check=False
    )
    if result.returncode != 0:
        raise TlsError(f"openssl {args[0]} failed ({result.returncode}):\n{result.stderr}")


__all__ = ["Certificates", "TlsError", "find_openssl", "make_certificates"]
