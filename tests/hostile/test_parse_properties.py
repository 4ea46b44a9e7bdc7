"""Properties of the parse stage on bytes nobody would write: it never raises out of the stage.

Whatever the input (random bytes, real mails damaged byte by byte, generated
MIME trees with colliding boundaries, lying charsets and bad encodings),
`parse()` returns an `InboundMail` that is safe to display and within every
limit, or raises `ParseError`; any other exception would crash the stage. And
the pre-scan that enforces the part and depth limits never counts fewer parts
or levels than the parsers then build, so no bomb can slip past it.

Runs derandomized, so CI sees the same examples every time.
"""

from __future__ import annotations

import email
import email.policy
import re
from email.message import Message
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daemon.parse import limits as parse_stage
from daemon.parse.message import InboundMail
from daemon.parse.parser import ParseError, parse
from daemon.parse.prescan import LimitExceeded, check_structure
from daemon.parse.sanitize import ALLOWED_TAGS

TESTS = Path(__file__).resolve().parents[1]
SEEDS = sorted(
    path.read_bytes()
    for path in [*(TESTS / "data").glob("*.eml"), *(TESTS / "hostile" / "data").glob("*.eml")]
    if 0 < path.stat().st_size < 64 * 1024
)
PROPERTIES = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --- what every parsed mail must satisfy ---------------------------------------------------

_UNDISPLAYABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2028\u2029\u2066-\u2069\ufeff]")
_TAG = re.compile(r"</?([a-zA-Z][a-zA-Z0-9]*)")
_EVENT_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)


def _assert_safe(mail: InboundMail) -> None:
    assert isinstance(mail, InboundMail)
    for line in (mail.subject, mail.from_name, *(a.filename for a in mail.attachments)):
        assert not _UNDISPLAYABLE.search(line), repr(line)
        line.encode("utf-8")
    for text in (mail.message_id, mail.from_address, mail.text, mail.new_text, mail.html, *mail.defects):
        text.encode("utf-8")
    for name, value in mail.headers:
        assert "\r" not in value and "\n" not in value
        (name + value).encode("utf-8")
    assert mail.message_id.startswith("<") and mail.message_id.endswith(">")
    assert len(mail.message_id) <= 998 and len(mail.subject) <= 998
    assert "\r" not in mail.text and len(mail.text) <= parse_stage.TEXT_LIMIT
    assert len(mail.html) <= parse_stage.HTML_DISPLAY_LIMIT
    assert set(_TAG.findall(mail.html)) <= ALLOWED_TAGS
    assert not _EVENT_HANDLER.search(mail.html)
    assert len(mail.attachments) <= parse_stage.ATTACHMENT_COUNT_LIMIT
    for attachment in mail.attachments:
        name = attachment.filename
        assert name and name not in (".", "..") and len(name) <= 255
        assert not {"/", "\\", "\x00"} & set(name)
        assert attachment.size == len(attachment.payload) <= parse_stage.ATTACHMENT_SIZE_LIMIT
    assert sum(a.size for a in mail.attachments) <= parse_stage.ATTACHMENT_TOTAL_LIMIT
    assert mail.date is None or mail.date.tzinfo is not None


def _parses_or_refuses(raw: bytes) -> None:
    try:
        mail = parse(raw, own_addresses=("care@example.co.id",))
    except ParseError:
        return
    _assert_safe(mail)


def _shape(message: Message, depth: int = 0) -> tuple[int, int]:
    """(entities, deepest level) of a parsed message tree, as `walk()` would visit it."""
    parts, deepest = 1, depth
    if message.is_multipart():
        for child in message.get_payload():
            child_parts, child_depth = _shape(child, depth + 1)
            parts, deepest = parts + child_parts, max(deepest, child_depth)
    return parts, deepest


def _assert_prescan_is_an_upper_bound(raw: bytes) -> None:
    try:
        shape = check_structure(raw)
    except LimitExceeded:
        return
    # compat32: the policy mail-parser and the fallback parser both read with.
    parts, depth = _shape(email.message_from_bytes(raw, policy=email.policy.compat32))
    assert parts <= shape.parts and depth <= shape.depth, (parts, depth, shape)


# --- damaged real mail ------------------------------------------------------------------------

_TOKENS = (
    b"\r\n",
    b"\n",
    b"\r",
    b"\x00",
    b"--",
    b"\r\n\r\n",
    b":",
    b"=",
    b"=?utf-8?q?=0D=0ABcc=3A_x=40y?=",
    b"=?x-bogus?b?AAAA?=",
    b"Content-Type: multipart/mixed; boundary=x\r\n",
    b"Content-Type: message/rfc822\r\n",
    b"Content-Type: message/delivery-status\r\n",
    b"Content-Transfer-Encoding: base64\r\n",
    b"charset=utf-7",
    b"\xff\xfe",
    b"\xe9",
    b"<script>alert(1)</script>",
    b'filename="../../x"',
    b"\r\n--x\r\n",
    b"\r\n--x--\r\n",
)

_MUTATION = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 1 << 20), st.integers(1, 255)),
    st.tuples(st.just("truncate"), st.integers(0, 1 << 20)),
    st.tuples(st.just("duplicate line"), st.integers(0, 1 << 20), st.integers(1, 300)),
    st.tuples(st.just("remove line"), st.integers(0, 1 << 20)),
    st.tuples(st.just("insert"), st.integers(0, 1 << 20), st.sampled_from(_TOKENS) | st.binary(max_size=16)),
    st.tuples(
        st.just("boundary"),
        st.integers(0, 1 << 20),
        st.sampled_from(["drop", "close", "open", "repeat part", "garble"]),
    ),
)


def _mutate(raw: bytes, mutation: tuple[Any, ...]) -> bytes:
    """`raw` with one mutation applied; `where` picks a byte or a line, modulo the length."""
    kind, where, *rest = mutation
    lines = raw.splitlines(keepends=True) or [b""]
    line = where % len(lines)
    if kind == "flip" and raw:
        position = where % len(raw)
        return raw[:position] + bytes([raw[position] ^ rest[0]]) + raw[position + 1 :]
    if kind == "truncate":
        return raw[: where % (len(raw) + 1)]
    if kind == "duplicate line":
        return b"".join(lines[:line] + [lines[line]] * rest[0] + lines[line:])
    if kind == "remove line":
        return b"".join(lines[:line] + lines[line + 1 :])
    if kind == "insert":
        position = where % (len(raw) + 1)
        return raw[:position] + rest[0] + raw[position:]
    if kind == "boundary":
        return _damage_boundary(lines, where, rest[0])
    return raw


def _damage_boundary(lines: list[bytes], where: int, how: str) -> bytes:
    delimiters = [index for index, line in enumerate(lines) if line.startswith(b"--")]
    if not delimiters:
        return b"".join(lines)
    index = delimiters[where % len(delimiters)]
    line = lines[index].rstrip(b"\r\n")
    ending = lines[index][len(line) :]
    if how == "drop":
        lines[index] = b""
    elif how == "close":
        lines[index] = line + b"--" + ending
    elif how == "open":
        lines[index] = line.removesuffix(b"--") + ending
    elif how == "repeat part":
        following = [i for i in delimiters if i > index]
        end = following[0] if following else len(lines)
        lines[index:end] = lines[index:end] * 3
    else:
        lines[index] = line[:-1] + bytes([line[-1] ^ 1]) + ending
    return b"".join(lines)


@st.composite
def damaged_mails(draw: st.DrawFn) -> bytes:
    raw = draw(st.sampled_from(SEEDS))
    for mutation in draw(st.lists(_MUTATION, min_size=1, max_size=8)):
        raw = _mutate(raw, mutation)
    return raw


# --- generated MIME trees --------------------------------------------------------------------

_CONTENT_TYPES = (
    "text/plain",
    "text/html",
    "application/pdf",
    "image/jpeg",
    "message/rfc822",
    "message/delivery-status",
    "application/ms-tnef",
)
_CHARSETS = ("utf-8", "us-ascii", "iso-8859-1", "utf-7", "x-unknown-bogus", "utf-16", "", "utf\x008")
_ENCODINGS = ("7bit", "8bit", "base64", "quoted-printable", "x-uuencode", "binary", "bogus")
_NAMES = (None, "a.pdf", "../../etc/passwd", "C:\\x\\y.exe", "nul\x00.txt", "=?utf-8?q?=0D=0Ax?=", "x" * 300)
_BOUNDARIES = ("b", "b1", "bb", "=_x", 'b"q', "b b")
_BODIES = st.sampled_from(
    [
        b"Keluhan pesanan.",
        b"<p onclick=x()>hi<script>alert(1)</script></p>",
        b"+ADw-script+AD4-",
        b"=\r\n=ZZ",
        b"!!!",
    ]
) | st.binary(max_size=200)


def _leaf(content_type: str, charset: str, encoding: str, name: str | None, body: bytes) -> bytes:
    header = f"Content-Type: {content_type}"
    header += f"; charset={charset}" if charset else ""
    header += f"\r\nContent-Transfer-Encoding: {encoding}\r\n"
    if name is not None:
        header += f'Content-Disposition: attachment; filename="{name}"\r\n'
    return header.encode() + b"\r\n" + body


def _multipart(subtype: str, boundary: str, children: list[bytes], closed: bool, preamble: bytes) -> bytes:
    separator = boundary.encode()
    quoted = separator if b" " not in separator else b'"' + separator + b'"'
    body = b"".join(b"\r\n--" + separator + b"\r\n" + child for child in children)
    ending = b"\r\n--" + separator + b"--\r\nepilog\r\n" if closed else b""
    return (
        b"Content-Type: multipart/"
        + subtype.encode()
        + b"; boundary="
        + quoted
        + b"\r\n\r\n"
        + preamble
        + body
        + ending
    )


_PARTS = st.recursive(
    st.builds(
        _leaf,
        st.sampled_from(_CONTENT_TYPES),
        st.sampled_from(_CHARSETS),
        st.sampled_from(_ENCODINGS),
        st.sampled_from(_NAMES),
        _BODIES,
    ),
    lambda children: st.builds(
        _multipart,
        st.sampled_from(["mixed", "alternative", "related", "digest", "report"]),
        st.sampled_from(_BOUNDARIES),
        st.lists(children, max_size=5),
        st.booleans(),
        st.sampled_from([b"", b"preamble\r\n", b"--b\r\n"]),
    ),
    max_leaves=40,
)


@st.composite
def generated_mails(draw: st.DrawFn) -> bytes:
    head = b"From: Pelanggan <p@contoh.id>\r\nTo: care@example.co.id\r\nSubject: Keluhan\r\n"
    return head + b"MIME-Version: 1.0\r\n" + draw(_PARTS)


# --- the properties ----------------------------------------------------------------------------


@settings(PROPERTIES, max_examples=300)
@given(st.binary(max_size=4096))
def test_arbitrary_bytes_give_a_safe_mail_or_a_parse_error(raw: bytes) -> None:
    _parses_or_refuses(raw)


@settings(PROPERTIES, max_examples=500)
@given(damaged_mails())
def test_damaged_real_mails_give_a_safe_mail_or_a_parse_error(raw: bytes) -> None:
    _parses_or_refuses(raw)


@settings(PROPERTIES, max_examples=300)
@given(generated_mails())
def test_generated_mime_trees_give_a_safe_mail_or_a_parse_error(raw: bytes) -> None:
    _parses_or_refuses(raw)


@settings(PROPERTIES, max_examples=300)
@given(damaged_mails() | generated_mails())
def test_the_prescan_never_counts_fewer_parts_or_levels_than_a_parser_builds(raw: bytes) -> None:
    _assert_prescan_is_an_upper_bound(raw)
