"""The ticket stage's decisions, as pure functions: values in, values out.

* who is writing about a ticket (`role_of`), and whether staff mail may command
  it (`staff_refusal`: the Authentication-Results check);
* whether a new complaint is acknowledged automatically (`acknowledgement_withheld`);
* what the `created` history entry says of where the sender came from
  (`creation_reason`);
* who else may follow up on a new complaint (`watchers`);
* what a survey answer scores, and whether it is a new complaint
  (`survey_score`, `survey_comment`, `survey_complaint_reason`).

Nothing here reads the database, the clock or the configuration file: the
processing stage (`daemon.tickets.processing`, `daemon.tickets.conversation`)
gathers the values, asks, and does what the answer says.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from daemon.classify.authres import Verdict, sender_refusal
from daemon.classify.robots import looks_automated_sender
from daemon.config import SecurityConfig
from daemon.outbox.compose import without_tag
from daemon.parse.message import InboundMail
from daemon.parse.sender import describe_source, is_recovered
from daemon.route.rules import Department, Rules

STAFF_ROLES = ("department", "care", "gm")
NOT_A_PARTICIPANT = "the sender is not a participant of this ticket"
MAX_WATCHERS = 20

_SCORE = re.compile(r"^\s*(?:(?:nilai|skor|score|rating)\s*[:=]?\s*)?([1-5])(?:\s*/\s*5)?\b", re.I)
_NEGATIVE = re.compile(
    r"\b(kecewa|tidak puas|buruk|jelek|parah|lambat sekali|mengecewakan|disappointed|"
    r"dissatisfied|terrible|awful|unacceptable|very bad|poor service)\b",
    re.I,
)


@dataclass(frozen=True)
class Parties:
    """Who is on a ticket: its customer, the people they copied, and the owning department."""

    customer_email: str
    watchers: str
    """Comma-separated, as the ticket stores them."""
    department: str


# --- who is writing, and what they may do -----------------------------------


def role_of(sender: str, parties: Parties, rules: Rules) -> str | None:
    """`customer`, `department`, `care` or `gm`; None for someone who is not on the ticket.

    The customer comes first; then the owning department's address and
    members, customer care's, and the department's general manager or manager;
    then the people the customer copied. A department member the customer
    copied is staff, not a customer: their reply is a staff mail (commands
    read, never forwarded back to their own department). Plus-address tags do
    not matter.
    """
    sender = without_tag(sender.lower())
    if sender == parties.customer_email:
        return "customer"
    staff = _staff_role(sender, parties, rules)
    if staff is not None:
        return staff
    if sender in _addresses(parties.watchers):
        return "customer"
    return None


def _staff_role(sender: str, parties: Parties, rules: Rules) -> str | None:
    department = department_or_none(rules, parties.department)
    if department is not None and sender in {department.email, *department.members}:
        return "department"
    care = department_or_none(rules, rules.default_department)
    if care is not None and sender in {care.email, *care.members}:
        return "care"
    if department is not None and sender in {department.general_manager, department.manager}:
        return "gm"
    return None


def staff_refusal(verdict: Verdict, security: SecurityConfig) -> str | None:
    """Why a staff member's mail may not command the ticket (it becomes an unverified note), or None.

    The same rule as for branch recaps (`daemon.classify.authres.sender_refusal`):
    with no trusted server configured nobody is verified.
    """
    return sender_refusal(verdict, security)


def department_or_none(rules: Rules, department_id: str) -> Department | None:
    """The department, or None when the rules in force no longer have it."""
    # A ticket can name a department that a later rules file no longer has.
    try:
        return rules.department(department_id)
    except KeyError:
        return None


# --- a new complaint ----------------------------------------------------------


def is_backlog(arrived_at: datetime | None, now: datetime, backlog_hours: int) -> bool:
    """Whether a mail arrived so long ago that thanking the customer now would be odd.

    An old mail found on first start or after a long outage still becomes a
    ticket, but customers are not thanked today for a complaint of last year.
    The server's arrival time decides, not the Date header: a customer whose
    clock is wrong still deserves an acknowledgement.
    """
    if arrived_at is None:
        return False
    return arrived_at < now - timedelta(hours=backlog_hours)


def asks_for_no_auto_reply(mail: InboundMail) -> bool:
    """Exchange's X-Auto-Response-Suppress asks us not to answer automatically.

    It is a request, not proof the mail is automated: the complaint is still a ticket.
    """
    asked = {token.strip().lower() for token in (mail.header("x-auto-response-suppress") or "").split(",")}
    return bool(asked & {"all", "autoreply", "oof"})


def acknowledgement_withheld(mail: InboundMail, *, backlog: bool) -> str | None:
    """Why a new complaint gets no automatic acknowledgement, or None when it gets one."""
    if backlog:
        return "mail older than the backlog limit"
    if asks_for_no_auto_reply(mail):
        return "the sender asked for no automatic replies"
    if len(mail.header_all("from")) > 1:
        # Which of the senders is real cannot be known: answering one may answer a forger.
        return "the mail has more than one From header"
    if is_recovered(mail.sender_source):
        robot = looks_automated_sender(mail.from_address)
        if robot is not None:
            # A damaged From is where software that never reads its mail is found too.
            where = describe_source(mail.sender_source)
            return f"the recovered sender {mail.from_address} looks automated ({robot}); {where}"
    return None


def creation_reason(mail: InboundMail) -> str:
    """The `created` history entry's reason: how the complaint came, and where its sender was found."""
    where = describe_source(mail.sender_source)
    return "complaint received by email" + (f"; {where}" if where else "")


def watchers(mail: InboundMail, own_addresses: Iterable[str]) -> list[str]:
    """The people the customer copied: they may follow up on the ticket too."""
    ours = {without_tag(address) for address in own_addresses}
    chosen = [a for a in mail.recipients if without_tag(a) not in ours and a != mail.from_address]
    return chosen[:MAX_WATCHERS]


# --- the satisfaction survey --------------------------------------------------


def survey_score(text: str) -> int | None:
    """The score (1-5) on the first line of a survey answer, or None when it has none."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    match = _SCORE.match(first)
    return int(match.group(1)) if match else None


def survey_comment(text: str) -> str:
    """The answer without its score: what the customer said besides the number."""
    return _SCORE.sub("", text, count=1).strip()[:5000]


def survey_complaint_reason(score: int, comment: str, standard: int) -> str | None:
    """Why a survey answer is handled as a new complaint (DOMAIN.md §7), or None when it is not."""
    negative = bool(_NEGATIVE.search(comment))
    if negative:
        return "a negative comment"
    if score < standard:
        return f"score {score} under the standard {standard}"
    return None


def _addresses(listed: str) -> set[str]:
    return {address.strip().lower() for address in listed.split(",") if address.strip()}
