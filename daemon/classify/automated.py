"""Automated mail: what must never be answered or turned into a complaint.

This module owns the RFC 3834 checks (see research/reliability.md §2.5) and
the order in which every robot signal is asked: auto-replies, bounces and
delivery reports, mailing-list and bulk mail, mail from robot senders
(`daemon.classify.robots`) and our own mail coming back, and the automatic
mail that comes from a real return address with none of those marks: abuse
complaints and feedback reports (`daemon.classify.feedback`), list servers'
digests and loop alerts, security gateways' notices and challenge-response robots
(`daemon.classify.notices`), and localised auto-reply and non-delivery
subjects (`daemon.classify.subjects`). Every hit is reported as a short reason
naming the header or pattern that decided it, so the decision can be recorded
and explained. Answering any of these mails is how ticket systems end up in
mail loops and bounce storms.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from daemon.classify.feedback import abuse_report_reason
from daemon.classify.notices import challenge_response, gateway_notice, list_server_notice
from daemon.classify.robots import addr_spec, looks_automated_sender
from daemon.classify.subjects import non_delivery_subject, out_of_office_subject
from daemon.parse.message import InboundMail

LOOP_HEADER = "X-Caredesk-Loop"
"""The header every mail we send carries, so our own mail is recognised when it comes back."""

_LIST_HEADERS = (
    "list-id",
    "list-unsubscribe",
    "list-post",
    "list-help",
    "list-owner",
    "list-archive",
    "mailing-list",
    "x-mailing-list",
    # The list servers' own headers: Mailman sends digests and notices without List-*.
    "x-mailman-version",
    "x-beenthere",
    "x-list-administrivia",
    "x-listserver",
    "x-listprocessor-version",
    "x-ml-name",
)
_AUTOREPLY_HEADERS = ("x-autoreply", "x-autorespond")
_BULK_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply", "auto-reply"})

_BOUNCE_SENDER = re.compile(r"(?:^|[^a-z0-9])(?:mailer[-_]?daemon|post[-_]?master)@", re.IGNORECASE)
_REPORT_TYPE = re.compile(r"""report-type\s*=\s*"?([\w.-]+)""", re.IGNORECASE)


def automated_reason(mail: InboundMail, own_addresses: Iterable[str] = ()) -> str | None:
    """Why `mail` is automated and must never be answered, or None for mail from a person.

    `own_addresses` are the addresses the daemon receives and sends mail as.
    """
    own = {address.strip().lower() for address in own_addresses}
    checks: tuple[Callable[[InboundMail], str | None], ...] = (
        lambda m: _own_mail(m, own),
        abuse_report_reason,
        _delivery_report,
        _auto_submitted,
        _null_return_path,
        _failed_recipients,
        _mailing_list,
        list_server_notice,
        _robot_sender,
        _precedence,
        _autoreply_header,
        _bulk_sender,
        challenge_response,
        gateway_notice,
        _out_of_office_subject,
        _non_delivery_subject,
    )
    for check in checks:
        reason = check(mail)
        if reason is not None:
            return reason
    return None


def is_bounce(mail: InboundMail) -> bool:
    """Whether `mail` reports that a message could not be delivered."""
    if _report_type(mail) == "delivery-status":
        return True
    if mail.header("x-failed-recipients") is not None:
        return True
    if _BOUNCE_SENDER.search(mail.from_address):
        return True
    # A null return-path alone is every auto-reply; with a daemon Sender it is a bounce.
    sender = (mail.header("sender") or "").lower()
    return mail.return_path == "" and bool(_BOUNCE_SENDER.search(sender))


def _own_mail(mail: InboundMail, own: set[str]) -> str | None:
    if mail.from_address and mail.from_address in own:
        return "our own mail"
    if mail.header(LOOP_HEADER) is not None:
        return "our own mail"
    return None


def _report_type(mail: InboundMail) -> str | None:
    if mail.content_type != "multipart/report":
        return None
    match = _REPORT_TYPE.search(mail.header("content-type") or "")
    return match.group(1).lower() if match else "unknown"


def _delivery_report(mail: InboundMail) -> str | None:
    report_type = _report_type(mail)
    return None if report_type is None else f"delivery report: {report_type}"


def _auto_submitted(mail: InboundMail) -> str | None:
    value = mail.header("auto-submitted")
    if value is None:
        return None
    # RFC 3834 §5: the keyword may carry comments and parameters after it.
    keyword = value.split(";", 1)[0].split("(", 1)[0].strip().lower()
    return None if keyword == "no" else f"auto-submitted: {keyword or '(empty)'}"


def _null_return_path(mail: InboundMail) -> str | None:
    return "null return-path" if mail.return_path == "" else None


def _failed_recipients(mail: InboundMail) -> str | None:
    return "bounce: x-failed-recipients" if mail.header("x-failed-recipients") else None


def _robot_sender(mail: InboundMail) -> str | None:
    candidates = (mail.from_address, mail.header("sender") or "", mail.return_path or "")
    for address in candidates:
        if address and looks_automated_sender(address) is not None:
            return f"automated sender: {addr_spec(address)}"
    return None


def _mailing_list(mail: InboundMail) -> str | None:
    for name in _LIST_HEADERS:
        if mail.header(name) is not None:
            return f"mailing list: {name}"
    return None


def _precedence(mail: InboundMail) -> str | None:
    value = (mail.header("precedence") or "").strip().lower()
    return f"precedence: {value}" if value in _BULK_PRECEDENCE else None


def _autoreply_header(mail: InboundMail) -> str | None:
    for name in _AUTOREPLY_HEADERS:
        if mail.header(name) is not None:
            return f"auto-reply header: {name}"
    return None


def _bulk_sender(mail: InboundMail) -> str | None:
    return "bulk sender: feedback-id" if mail.header("feedback-id") is not None else None


def _out_of_office_subject(mail: InboundMail) -> str | None:
    return "out-of-office subject" if out_of_office_subject(mail.subject) else None


def _non_delivery_subject(mail: InboundMail) -> str | None:
    return "non-delivery subject" if non_delivery_subject(mail.subject) else None
