"""Robot sender addresses: the local parts only software sends from.

This module owns one pure question, `looks_automated_sender(address)`: does an
address belong to a robot? It is asked of From, Sender and Return-Path by
`daemon.classify.automated`, and of a sender recovered from a damaged header
before anything is answered. The answer is a short label naming the pattern,
or None for an address a person may use.

The patterns are matched on the local part, lower case, with quotes removed, a
`+tag` sub-address cut off and an SRS-rewritten address (a forwarder's
`SRS0=hash=tt=domain=local@…`) turned back into the original local part:

- mail systems: `mailer-daemon`, `postmaster`, `ndr` (Exchange and hosting
  providers' non-delivery reports);
- list servers: `*-request`, `*-admin`, `*-bounce(s)`, `*-owner`, `owner-*`,
  and the list managers' own mailboxes (`listserv`, `majordomo`, `mailman`…);
- bounce handlers (VERP): `bounce`/`bounces` alone or followed by a digit or
  one of `-`, `+`, `_`, `=`, or by a dot and a digit. A dot and a word is how
  people write names (`bounce.fan`), so it stays a person, as do `bouncer` and
  `bouncehouse`;
- no-reply senders in their spellings (`noreply`, `no-reply`, `no_reply`,
  `no.reply`, `noreplies`, `donotreply`, `do-not-reply`, `do_not_reply`,
  `do-not-respond`, `dontreply`) anywhere in the local part, so `shop-noreply`,
  `tokonoreply` and `noreply-invoices` count; a spelling with a separator must
  start a word, so `bruno.reply` and `arno-reply` stay people; and the same in
  the languages of the subjects (`jangan-dibalas`, `nepasrepondre`,
  `nicht-antworten`, `no-responder`, `non-rispondere`, `niet-antwoorden`,
  `nao-responda`);
- auto-responders, abuse desks (`abuse` as a word), quarantine notifiers
  (`quarantine` anywhere), TMDA confirmation addresses
  (`name-confirm-1795412345.28011.9f3c2a`) and the challenge-response services'
  own domains.
"""

from __future__ import annotations

import re

_SRS0 = re.compile(r"^srs0[=+-][^=]+=[^=]+=[^=]+=(?P<local>.+)$")
_SRS1 = re.compile(r"^srs1[=+-][^=]+=[^=]+==[^=]+=[^=]+=[^=]+=(?P<local>.+)$")

_WORD_START = r"(?:^|[^a-z])"
_WORD_END = r"(?:$|[^a-z])"

# (label, pattern) on the whole local part, sub-address included.
_WHOLE_LOCAL_PART: tuple[tuple[str, re.Pattern[str]], ...] = (
    # Written together the words are no name; written apart, "no" may end one (bruno.reply).
    ("no-reply address", re.compile(r"norepl(?:y|ies)|donot(?:reply|respond)|dontreply")),
    (
        "no-reply address",
        re.compile(
            _WORD_START + r"(?:no[-_.]repl(?:y|ies)|do[-_.]?not[-_.]?(?:reply|respond)|dont[-_.]reply)"
        ),
    ),
    (
        "no-reply address",
        re.compile(
            _WORD_START
            + r"(?:jangan[-_.]?(?:di)?balas|ne[-_.]?pas[-_.]?r[eé]pondre|nicht[-_.]?antworten"
            + r"|no[-_.]?responder|non[-_.]?rispondere|niet[-_.]?antwoorden|nao[-_.]?respond(?:a|er))"
            + _WORD_END
        ),
    ),
    ("TMDA confirmation address", re.compile(r"-confirm-\d+\.\d+\.[0-9a-f]+$")),
    ("quarantine notifier", re.compile(r"quarantine")),
    ("abuse desk", re.compile(_WORD_START + r"abuse" + _WORD_END)),
)

# (label, pattern) on the local part without its `+tag` sub-address.
_BASE_LOCAL_PART: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("mail system", re.compile(r"^(?:mailer[-_.]?daemon|post[-_.]?master|ndr)$")),
    ("bounce handler", re.compile(r"^bounces?(?:$|[-_=\d]|\.\d)")),
    ("list server", re.compile(r"-(?:request|admin|bounces?|owner)$|^owner-.")),
    ("list server", re.compile(r"^(?:listserv|majordomo|mailman|sympa|ezmlm|listproc|lyris)$")),
    ("auto-responder", re.compile(r"^auto[-_.]?(?:reply|replies|responder|response)$")),
)

_ROBOT_DOMAINS = {
    "boxbe.com": "challenge-response service",
    "spamarrest.com": "challenge-response service",
}


def looks_automated_sender(address: str) -> str | None:
    """A short label for the robot pattern `address` matches, or None for an address a person may use.

    `address` may be a bare addr-spec or a header value such as
    `Mail Delivery System <MAILER-DAEMON@mx.example>`; case does not matter.
    """
    local, _, domain = addr_spec(address).rpartition("@")
    if not local:
        local, domain = domain, ""
    local = _original_local_part(local.replace('"', "").strip())
    if not local:
        return None
    for label, pattern in _WHOLE_LOCAL_PART:
        if pattern.search(local):
            return label
    base = local.split("+", 1)[0]
    for label, pattern in _BASE_LOCAL_PART:
        if pattern.search(base):
            return label
    return _robot_domain(domain)


def addr_spec(value: str) -> str:
    """The bare address in a header value such as `Mail Delivery <MAILER-DAEMON@x>`, lower case."""
    start, end = value.rfind("<"), value.rfind(">")
    if 0 <= start < end:
        value = value[start + 1 : end]
    return value.strip().lower()


def _original_local_part(local: str) -> str:
    """The local part a forwarder's SRS rewriting hides, or `local` itself."""
    for pattern in (_SRS0, _SRS1):
        match = pattern.match(local)
        if match:
            return match.group("local")
    return local


def _robot_domain(domain: str) -> str | None:
    domain = domain.rstrip(".")
    for robot, label in _ROBOT_DOMAINS.items():
        if domain == robot or domain.endswith("." + robot):
            return label
    return None
