"""Real servers for integration tests, started on loopback by the tests themselves."""

from .dovecot import Dovecot, DovecotError, find_dovecot, free_port, reap_orphans
from .smtp import Received, SmtpSink

__all__ = ["Dovecot", "DovecotError", "Received", "SmtpSink", "find_dovecot", "free_port", "reap_orphans"]
