"""Whether a mail's From domain was authenticated by our own receiving server.

This module owns `sender_verified`: it reads the `Authentication-Results`
headers (RFC 8601) of a mail, keeps only those written by a server we trust
(its authserv-id is configured in `[security] trusted_authserv_ids`), and
decides whether DMARC passed for the From domain or a DKIM signature aligned
with it passed. A department's reply changes a ticket only when this says so
(and the sender is on the allow-list); see reliability.md §4.

Why the trust filter matters: anyone can write `Authentication-Results:
mx.example.co.id; dmarc=pass` into a mail they send. Only the receiving
server's own stamp counts. RFC 8601 §5 asks a border server to delete headers
that claim its authserv-id on the way in, but not every server does, so this
module does not rely on it: our servers prepend their stamps above everything
the sender wrote, so only the topmost `[security] authserv_header_count`
headers (default 1) that carry a trusted id are read, and every header with a
trusted id below them is ignored, whatever it claims. A site whose receiving
server writes more than one header per mail (Postfix with the OpenDKIM and
OpenDMARC milters writes one each) sets the count to that number.

`verify_sender` applies the `[security]` settings on top: with no trusted id
configured nobody is verified, and only `trust = "none"` (a lab) believes
every sender; `sender_refusal` says why a sender may change nothing. Staff
commands, customer care's copies and branch recaps all go through these two.

Microsoft 365 (Exchange Online) writes its header without an authserv-id
(`Authentication-Results: spf=pass (sender IP is ...) smtp.mailfrom=...;
dkim=pass ... header.d=...;dmarc=pass action=none header.from=...`), so no id
can name it. The reserved id `TOPMOST_WITHOUT_ID` ("!topmost-without-id")
trusts such a header by position instead: only the first (topmost)
Authentication-Results header of the mail, and only when it has no authserv-id.
Exchange Online prepends its stamp above anything the sender wrote; use the
reserved id only for a mailbox that Exchange Online delivers to.

The parser is written here rather than taken from the `authres` package:
authres (1.2.0, 2019) parses well-formed headers correctly but raises on every
Microsoft 365 header (no authserv-id, properties split off by stray
semicolons), and those are a large share of what Indonesian organisations
receive. This one is tolerant: comments and quoted strings are honoured,
unknown parts are skipped, and it never raises.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from email.utils import parseaddr
from itertools import islice

from daemon.config import SecurityConfig

TOPMOST_WITHOUT_ID = "!topmost-without-id"
"""A trusted id meaning "the topmost Authentication-Results header when it has no authserv-id"."""

_HEADER = "authentication-results"

# RFC 8601 and the IANA registry's method names. A `name=value` pair whose
# name is one of these starts a new result even where a sender forgot the
# semicolon before it; any other undotted name (Microsoft's `action=`,
# `reason=`) is a property of the result before it.
_METHODS = frozenset(
    {
        "auth",
        "dkim",
        "domainkeys",
        "sender-id",
        "spf",
        "iprev",
        "dmarc",
        "arc",
        "rrvs",
        "smime",
        "vbr",
        "dnswl",
        "dkim-adsp",
        "dkim-atps",
        "bimi",
        "compauth",
    }
)


@dataclass(frozen=True)
class Verdict:
    """Whether the sender's domain was authenticated, and the evidence for the log and the ticket."""

    verified: bool
    reason: str


@dataclass(frozen=True)
class Result:
    """One `method=result` with its properties (`header.from` -> `example.co.id`)."""

    method: str
    result: str
    properties: tuple[tuple[str, str], ...]

    def get(self, name: str) -> str | None:
        return next((value for key, value in self.properties if key == name), None)


@dataclass(frozen=True)
class Report:
    """One Authentication-Results header: who wrote it and what it found."""

    authserv_id: str | None
    results: tuple[Result, ...]


NOT_CHECKED = 'not checked: [security] trust = "none"'
NOBODY_TRUSTED = "no [security] trusted_authserv_ids configured, so nobody is verified"


def verify_sender(headers: Sequence[tuple[str, str]], from_address: str, security: SecurityConfig) -> Verdict:
    """The mail's sender verdict under the `[security]` settings.

    `trust = "none"` believes everyone; otherwise the trusted servers'
    Authentication-Results decide, and with no trusted server nobody is verified.
    """
    if not security.checks_senders:
        return Verdict(True, NOT_CHECKED)
    if not security.trusted_authserv_ids:
        return Verdict(False, NOBODY_TRUSTED)
    return sender_verified(
        headers,
        from_address,
        trusted_authserv_ids=security.trusted_authserv_ids,
        header_count=security.authserv_header_count,
    )


def must_verify(reason: str, security: SecurityConfig) -> bool:
    """Whether a sender whose verdict has this reason must have passed to change anything.

    Always, unless `require_authenticated_senders = false` with trusted servers
    configured: then only a trusted server's explicit fail counts against the
    sender. `trust = "none"` checks nobody.
    """
    if not security.checks_senders:
        return False
    if security.require_authenticated_senders or not security.trusted_authserv_ids:
        return True
    return "fail" in reason


def sender_refusal(verdict: Verdict, security: SecurityConfig) -> str | None:
    """Why this sender's mail may change nothing (it is kept as unverified), or None when it may."""
    if must_verify(verdict.reason, security) and not verdict.verified:
        return f"sender not authenticated: {verdict.reason}"
    return None


def sender_verified(
    headers: Sequence[tuple[str, str]],
    from_address: str,
    *,
    trusted_authserv_ids: Collection[str],
    header_count: int = 1,
) -> Verdict:
    """Whether DMARC, or a DKIM signature aligned with the From domain, passed at a trusted server.

    `headers` are the mail's headers, top to bottom, as (name, value). Only
    the topmost `header_count` Authentication-Results headers with a trusted
    id are read (RFC 8601 §5: ours are on top); any below them are the
    sender's. A trusted `dmarc=fail` for the From domain outweighs any DKIM pass.
    """
    domain = _domain(from_address) if "@" in from_address else ""
    if not domain:
        return Verdict(False, f"no domain in the From address {from_address!r}")
    trusted = {i.strip().lower() for i in trusted_authserv_ids}
    reports = list(islice(_trusted_reports(headers, trusted), max(1, header_count)))
    if not reports:
        return Verdict(False, "no Authentication-Results from a trusted server")
    results = list(_topmost_per_method(reports))
    for server, result in results:
        if result.method == "dmarc" and result.result == "fail" and _about(result, domain):
            return Verdict(False, f"dmarc=fail header.from={domain} ({server})")
    for server, result in results:
        if result.method == "dmarc" and result.result == "pass" and _about(result, domain, strict=True):
            return Verdict(True, f"dmarc=pass header.from={domain} ({server})")
    for server, result in results:
        signer = _domain(result.get("header.d") or result.get("header.i") or "")
        if result.method == "dkim" and result.result == "pass" and signer and _aligned(signer, domain):
            return Verdict(True, f"dkim=pass header.d={signer} ({server})")
    evidence = "; ".join(f"{_describe(result)} ({server})" for server, result in results) or "no results"
    return Verdict(False, f"no dmarc=pass or aligned dkim=pass for {domain}: {evidence}")


def _about(result: Result, domain: str, *, strict: bool = False) -> bool:
    """Whether a DMARC result is about `domain`; without header.from it is about the From, unless strict."""
    from_domain = _domain(result.get("header.from") or "")
    return from_domain == domain or (not from_domain and not strict)


def _topmost_per_method(reports: list[Report]) -> Iterator[tuple[str, Result]]:
    """(server, result) for each method, from the topmost trusted header that reports that method.

    `reports` are only our servers' own stamps (the topmost trusted headers);
    when they report a method twice, the upper one is the later verdict.
    """
    owner: dict[str, int] = {}
    for position, report in enumerate(reports):
        for result in report.results:
            if owner.setdefault(result.method, position) == position:
                yield _server(report), result


def _aligned(signer: str, domain: str) -> bool:
    """The same domain, or one a subdomain of the other (DMARC's relaxed alignment, simplified).

    Without the public-suffix list a signer like `co.id` would align with
    every `*.co.id`; that is harmless, because a signature for `co.id` needs a
    key published in `co.id` itself, which no sender controls.
    """
    return signer == domain or signer.endswith("." + domain) or domain.endswith("." + signer)


def _trusted_reports(headers: Sequence[tuple[str, str]], trusted: set[str]) -> Iterator[Report]:
    """The Authentication-Results headers with a trusted id (or the trusted id-less topmost), top down."""
    first = True
    for name, value in headers:
        if name.strip().lower() != _HEADER:
            continue
        report = parse(str(value))
        if report.authserv_id is None:
            if first and TOPMOST_WITHOUT_ID in trusted:
                yield report
        elif report.authserv_id in trusted:
            yield report
        first = False


def _server(report: Report) -> str:
    return report.authserv_id or "topmost, no authserv-id"


def _describe(result: Result) -> str:
    keys = ("header.from", "header.d", "header.i", "smtp.mailfrom")
    detail = " ".join(f"{key}={value}" for key, value in result.properties if key in keys)
    return f"{result.method}={result.result}" + (f" {detail}" if detail else "")


def _domain(address: str) -> str:
    """The lower-case ASCII domain of an address, `@domain` or bare domain (as in `header.d`); '' if none."""
    address = address.strip()
    if "<" in address:
        address = parseaddr(address)[1]
    domain = address.rpartition("@")[2].strip().rstrip(".").lower()
    if not domain or any(ch.isspace() for ch in domain):
        return ""
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return domain


# ---------------------------------------------------------------------------
# The header's grammar (RFC 8601 §2.2), read tolerantly.
# ---------------------------------------------------------------------------


def parse(value: str) -> Report:
    """Parse one Authentication-Results header value; unknown parts are skipped, never raised on."""
    segments = list(_segments(value))
    if not segments:
        return Report(None, ())
    authserv_id: str | None = None
    head = segments[0]
    if head and "=" not in head:
        # `mx.google.com` or `mx.example.co.id 1` (a version after the id).
        authserv_id = head[0].lower()
        segments = segments[1:]
    # Results are built as (method, result, properties) with a growing list,
    # then frozen: a hostile header with thousands of properties stays linear.
    drafts: list[tuple[str, str, list[tuple[str, str]]]] = []
    for segment in segments:
        _read_resinfo(segment, drafts)
    results = tuple(Result(method, result, tuple(properties)) for method, result, properties in drafts)
    return Report(authserv_id, results)


def _read_resinfo(tokens: list[str], drafts: list[tuple[str, str, list[tuple[str, str]]]]) -> None:
    pairs = list(_pairs(tokens))
    if not pairs:
        return  # `none`, or debris such as Microsoft's `header.d=a.com;b.com;`
    method, result = pairs[0]
    if "." in method:
        # Microsoft splits a result from its properties with semicolons:
        # `dkim=pass (signature was verified); header.d=example.co.id`.
        if drafts:
            drafts[-1][2].extend(pairs)
        return
    # `dkim/1=pass` names the method's version; a name that is only a version (`/1=pass`) is
    # debris, and so are the properties after it, up to the next known method.
    name = method.partition("/")[0]
    properties: list[tuple[str, str]] | None = None
    if name:
        drafts.append((name, result.lower(), properties := []))
    for key, value in pairs[1:]:
        if key in _METHODS:
            drafts.append((key, value.lower(), properties := []))
        elif properties is not None:
            properties.append((key, value))


def _pairs(tokens: list[str]) -> Iterator[tuple[str, str]]:
    """`name = value` triples of tokens as (lower-case name, value); lone words are skipped."""
    index = 0
    while index < len(tokens):
        if (
            index + 2 < len(tokens)
            and tokens[index + 1] == "="
            and "=" not in (tokens[index], tokens[index + 2])
        ):
            yield tokens[index].lower(), tokens[index + 2]
            index += 3
        else:
            index += 1


def _segments(value: str) -> Iterator[list[str]]:
    """The header split at `;` into lists of tokens: words, quoted strings and `=`; comments dropped."""
    tokens: list[str] = []
    for token in _tokens(value):
        if token == ";":
            yield tokens
            tokens = []
        else:
            tokens.append(token)
    yield tokens


def _tokens(value: str) -> Iterator[str]:
    index, length = 0, len(value)
    while index < length:
        char = value[index]
        if char.isspace():
            index += 1
        elif char == "(":
            index = _after_comment(value, index)
        elif char in ";=":
            yield char
            index += 1
        elif char == '"':
            text, index = _quoted(value, index)
            yield text
        else:
            start = index
            while index < length and not value[index].isspace() and value[index] not in ';="(':
                index += 1
            yield value[start:index]


def _after_comment(value: str, index: int) -> int:
    """The index after the comment opening at `index`; comments nest and may escape with `\\`."""
    depth = 0
    while index < len(value):
        char = value[index]
        if char == "\\":
            index += 2
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index + 1
        index += 1
    return index


def _quoted(value: str, index: int) -> tuple[str, int]:
    """The text of the quoted string opening at `index`, and the index after it."""
    text: list[str] = []
    index += 1
    while index < len(value):
        char = value[index]
        if char == "\\" and index + 1 < len(value):
            text.append(value[index + 1])
            index += 2
            continue
        if char == '"':
            return "".join(text), index + 1
        text.append(char)
        index += 1
    return "".join(text), index
