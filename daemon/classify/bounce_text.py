"""Reading what a bounce says in words: who failed, with which status, and what it returns.

Pure: text in, values out. Used for bounces without a delivery-status part (Exim,
qmail, Sendmail without MIME, old Postfix, Exchange and Lotus text reports,
localised ones) and to find the returned original in any bounce.

Which status a failed recipient gets, in this order, first in the text about that
recipient (from its first mention to the next recipient's), then in the whole report:

1. an enhanced status code (RFC 3463) such as `5.1.1` or Exchange's `#5.1.1`;
   a vague `X.0.0` gives way to a more precise code of the same class after it;
2. an SMTP reply code without one, mapped as RFC 5321 and 3463 describe it:
   any 5xx whose wording names a policy refusal (spam, blocked, relaying,
   SPF/DKIM/DMARC, reputation) -> 5.7.1, our problem and never the address's;
   550 and 554 whose wording names an unknown mailbox ("user unknown", "no such
   user", "does not exist", "mailbox unavailable", ...) -> 5.1.1; 550 and 554
   otherwise -> 5.0.0 (permanent, but no proof the address is dead);
   551 (user not local) -> 5.1.6; 552 (storage exceeded) -> 5.2.2;
   553 (mailbox name not allowed) -> 5.1.3; any other 5xx -> 5.0.0;
   452 (insufficient storage) -> 4.2.2; any other 4xx -> 4.0.0;
3. the wording alone: an unknown mailbox -> 5.1.1, an unroutable domain ->
   5.1.2, a full mailbox -> 5.2.2;
4. otherwise 4.0.0 when the report says delivery is only delayed, else 5.0.0.

Only 5.1.x and 5.2.1 mark an address undeliverable (`Failure.address_problem`),
and only when the bounce is tied to a mail we sent: a guess that is too mild
merely spares nobody, one that is too harsh is never taken on an untied bounce.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from daemon.classify.delivery import Failure

# Where the report ends and the returned original begins, in the words MTAs use.
_ORIGINAL_MARKER = re.compile(
    r"""^[ \t>]*(?:
        -{2,}[^\n]*\b(?:copy\s+of\s+the|original|unsent|undelivered\s+message|returned\s+message)\b
      | original\s+message\s+(?:headers|follows)
      | below\s+this\s+line\s+is\s+a\s+copy
      | urspr(?:ü|ue)ngliche\s+nachrichtenkopfzeilen
      | kopfzeilen\s+der\s+(?:urspr(?:ü|ue)nglichen|original)
      | en-t(?:ê|e)tes\s+(?:du\s+)?message\s+d'origine
      | encabezados\s+(?:del\s+)?mensaje\s+original
      | intestazioni\s+(?:del\s+)?messaggio\s+originale
      | oorspronkelijke\s+berichtkoppen
      | cabeçalhos\s+(?:da\s+)?mensagem\s+original
    )""",
    re.I | re.M | re.X,
)

_ENHANCED = re.compile(r"(?<![\d.])([245])\.([0-7])\.(\d{1,3})(?!\.?\d)")
_SMTP_CODE = re.compile(r"(?<![\d.#])(421|45[0-4]|55[0-4])(?:[ -]|$)(?!\d)", re.M)
# Starts only where a run of address characters starts: linear on long runs without an "@".
_ADDRESS = re.compile(
    r"(?<![a-z0-9!#$%&'*+/=?^_`{|}~.-])[a-z0-9!#$%&'*+/=?^_`{|}~-]++(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]++)*+"
    r"@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+",
    re.I,
)
_HEADER_MESSAGE_ID = re.compile(
    r"^[ \t>]*message-id:[\s>]*<?([^<>\s@]{1,500}@[^<>\s]{1,250}?)>?(?=\s|$)", re.I | re.M
)
_BARE_ID = re.compile(r"<([^<>\s@]{1,500}@[^<>\s@]{1,250})>")
# An id written into the report's prose: "Your message <id@host> to ...", "Nachricht <id@host>".
_PROSE_ID = re.compile(
    r"\b(?:message(?:-id)?|nachricht|mensaje|messaggio|bericht|mensagem|pesan|mesej|id)\W{0,3}"
    r"<([^<>\s@]{1,500}@[^<>\s@]{1,250})>",
    re.I,
)
_FIELD = re.compile(r"^[ \t>]*([a-z][a-z0-9-]{0,40}):", re.I)
# Lines of a returned original's headers, which name addresses that did not fail.
_ORIGINAL_FIELDS = frozenset(
    {
        "from",
        "to",
        "cc",
        "bcc",
        "reply-to",
        "sender",
        "return-path",
        "received",
        "message-id",
        "in-reply-to",
        "references",
        "delivered-to",
        "envelope-to",
        "x-original-to",
        "x-postfix-sender",
    }
)
_RECEIVED_FOR = re.compile(r"^[ \t>]+for\s+<", re.I)
_ROBOT_LOCAL = re.compile(
    r"^(?:mailer[-_]?daemon|post[-_]?master|ndr|mdaemon|abuse|hostmaster|root|"
    r"microsoftexchange[0-9a-f]*|no[-_.]?reply)$",
    re.I,
)
_POLICY = re.compile(
    r"\b(?:spam|blocked|block\s?list|black\s?list|blacklisted|policy|relay(?:ing)?|not\s+permitted|"
    r"spf|dkim|dmarc|reputation|rejected\s+for\s+policy|content\s+rejected|virus|"
    r"rcpthosts|access\s+denied|not\s+authori[sz]ed)\b",
    re.I,
)
_UNKNOWN_MAILBOX = re.compile(
    r"""\b(?:user\s+unknown|unknown\s+(?:user|recipient|mailbox|address)|no\s+such\s+(?:user|mailbox|recipient|address)
      | (?:mailbox|user|recipient|address|account)\s+(?:does\s+not|doesn't)\s+exist
      | (?:does\s+not|doesn't)\s+exist | (?:does\s+not|doesn't)\s+have\s+an\s+account
      | mailbox\s+(?:unavailable|not\s+found|is\s+disabled)
      | no\s+mailbox | invalid\s+(?:recipient|mailbox|address|user)
      | recipient\s+(?:not\s+found|rejected|unknown) | address\s+rejected | not\s+listed\s+in
      | (?:wasn't|was\s+not)\s+found\s+at | account\s+(?:has\s+been\s+)?disabled
      | (?:benutzer|empf(?:ä|ae)nger|adresse)\s+(?:ist\s+)?unbekannt | nicht\s+gefunden | nicht\s+vorhanden
      | n'existe\s+pas | destinataire\s+inconnu | utilisateur\s+inconnu
      | usuario\s+desconocido | no\s+existe | utente\s+sconosciuto | non\s+esiste
      | onbekende\s+(?:gebruiker|ontvanger) | bestaat\s+niet
      | usu(?:á|a)rio\s+desconhecido | n(?:ã|a)o\s+existe
      | tidak\s+dikenal | tidak\s+ditemukan | tidak\s+wujud)""",
    re.I | re.X,
)
_UNROUTABLE = re.compile(
    r"\b(?:unrouteable|unroutable|domain\s+not\s+found|host\s+not\s+found|no\s+such\s+domain|"
    r"host\s+or\s+domain\s+name\s+not\s+found|name\s+service\s+error|mx\s+lookup\s+failed)\b",
    re.I,
)
_FULL = re.compile(
    r"\b(?:mailbox\s+(?:is\s+)?full|quota\s+exceeded|over\s+quota|exceeded\s+(?:the\s+)?(?:storage|quota)|"
    r"insufficient\s+(?:storage|space)|postfach\s+(?:ist\s+)?voll|bo(?:î|i)te\s+pleine)\b",
    re.I,
)
_DELAYED = re.compile(
    r"""\b(?:has\s+not\s+yet\s+been\s+delivered|not\s+yet\s+been\s+delivered|delivery\s+attempts\s+will\s+continue
      | will\s+(?:continue\s+to\s+)?(?:try|retry)|still\s+trying|this\s+is\s+a\s+warning\s+message\s+only
      | delivery\s+(?:has\s+been\s+)?delayed|message\s+(?:is\s+)?delayed|temporary\s+(?:failure|error|problem)
      | noch\s+nicht\s+zugestellt|verz(?:ö|oe)gert|retard(?:é|e)e?|retrasad[oa]|ritardat[oa]|vertraagd
      | tertunda|masih\s+dicoba)""",
    re.I | re.X,
)
_DSN_FIELDS = re.compile(
    r"^final-recipient:\s*(?:[a-z0-9-]+\s*;)?\s*<?([^\s<>]+@[^\s<>]+?)>?\s*$", re.I | re.M
)


@dataclass(frozen=True)
class ReportText:
    """The report part of a bounce's text, and what is known about the mail around it."""

    text: str
    """What the reporting system wrote, the returned original cut off."""
    excluded: frozenset[str]
    """Addresses that are not failed recipients: ours, the bounce's own, robots'."""
    fallback: tuple[str, ...] = ()
    """The recipients of the returned original, when the report itself names no address."""
    delayed: bool = False
    """The subject already says the mail is only delayed."""


def split_original(text: str) -> tuple[str, str]:
    """(report, returned original): the text before and from the first original marker."""
    match = _ORIGINAL_MARKER.search(text)
    if match is None:
        return text, ""
    return text[: match.start()], text[match.start() :]


def header_message_ids(text: str) -> list[str]:
    """The values of Message-ID header lines in `text`, quoted (`> `) or folded ones too."""
    return [f"<{value}>" for value in _HEADER_MESSAGE_ID.findall(text)]


def prose_message_ids(text: str) -> list[str]:
    """`<id@host>` tokens the text calls a message ("Your message <id@host> to ..."): ids, not addresses."""
    return [f"<{value}>" for value in _PROSE_ID.findall(text)]


def bracketed_ids(text: str) -> list[str]:
    """Every `<local@host>` token in `text`: possible Message-IDs wherever they are quoted."""
    return [f"<{value}>" for value in _BARE_ID.findall(text)]


def addresses_in(text: str) -> list[str]:
    """Every address in `text`, lower case, in order of first mention, without repeats."""
    return unique(match.group(0).lower().rstrip(".") for match in _ADDRESS.finditer(text))


def unique(values: Iterable[str]) -> list[str]:
    """`values` without repeats, in order."""
    return list(dict.fromkeys(value for value in values if value))


def is_robot(address: str) -> bool:
    """A reporting system's own address (mailer-daemon@, postmaster@, ...), never a failed recipient."""
    return bool(_ROBOT_LOCAL.match(address.partition("@")[0]))


def dsn_fields_in_text(text: str) -> list[Failure]:
    """RFC 3464 fields sent as plain text (old Postfix's "Delivery error report" part)."""
    found = []
    starts = [match.start() for match in _DSN_FIELDS.finditer(text)] + [len(text)]
    for match, end in zip(_DSN_FIELDS.finditer(text), starts[1:], strict=False):
        block = text[match.start() : end]
        action = re.search(r"^action:\s*([a-z]+)", block, re.I | re.M)
        status = _ENHANCED.search(_field(block, "status"))
        diagnostic = " ".join(_field(block, "diagnostic-code").split())[:500]
        found.append(
            Failure(
                recipient=match.group(1).lower(),
                action=action.group(1).lower() if action else "failed",
                status=refine(".".join(status.groups()) if status else "", diagnostic),
                diagnostic=diagnostic,
            )
        )
    return found


def refine(status: str, diagnostic: str) -> str:
    """A vague `X.0.0` status gives way to a precise code of the same class in the diagnostic."""
    if not status.endswith(".0.0"):
        return status
    for match in _ENHANCED.finditer(diagnostic):
        code = ".".join(match.groups())
        if code[0] == status[0] and not code.endswith(".0.0"):
            return code
    return status


def failures_in(report: ReportText, recipients: Iterable[str] = ()) -> list[Failure]:
    """One failure per failed recipient: those given, else those the report names, else the fallback."""
    cleaned = _without_original_fields(report.text)
    named = unique(address.lower() for address in recipients) or [
        address
        for address in addresses_in(cleaned)
        if address not in report.excluded and not is_robot(address)
    ]
    if not named:
        named = list(report.fallback)
    lowered = cleaned.lower()
    mentions = sorted((lowered.find(address), address) for address in named)
    found = []
    for index, (start, address) in enumerate(mentions):
        end = next((pos for pos, _ in mentions[index + 1 :] if pos > start), len(cleaned))
        segment = cleaned[start:end] if start >= 0 else ""
        status = status_in(segment) or status_in(cleaned) or ("4.0.0" if _is_delayed(report) else "5.0.0")
        found.append(
            Failure(
                recipient=address,
                action="failed" if status.startswith("5") else "delayed",
                status=status,
                diagnostic=" ".join((segment or cleaned).split())[:500],
            )
        )
    return found


def status_in(text: str) -> str | None:
    """The status `text` gives: an enhanced code, else a mapped SMTP code, else the wording (see above)."""
    codes = [".".join(match.groups()) for match in _ENHANCED.finditer(text)]
    if codes:
        return refine(codes[0], " ".join(codes[1:]))
    smtp = _SMTP_CODE.search(text)
    if smtp is not None:
        return smtp_status(int(smtp.group(1)), text)
    if _UNKNOWN_MAILBOX.search(text):
        return "5.1.1"
    if _UNROUTABLE.search(text):
        return "5.1.2"
    if _FULL.search(text):
        return "5.2.2"
    return None


def smtp_status(code: int, wording: str) -> str:
    """An enhanced status for an SMTP reply code that came without one (see the module docstring)."""
    if code >= 500:
        if _POLICY.search(wording):
            return "5.7.1"
        fixed = {551: "5.1.6", 552: "5.2.2", 553: "5.1.3"}
        if code in fixed:
            return fixed[code]
        if code in (550, 554) and _UNKNOWN_MAILBOX.search(wording):
            return "5.1.1"
        return "5.0.0"
    return "4.2.2" if code == 452 else "4.0.0"


def _is_delayed(report: ReportText) -> bool:
    return report.delayed or bool(_DELAYED.search(report.text))


def _without_original_fields(text: str) -> str:
    """`text` without the header lines of a quoted original, which name addresses that did not fail."""
    kept = []
    for line in text.splitlines():
        field = _FIELD.match(line)
        if field is not None and field.group(1).lower() in _ORIGINAL_FIELDS:
            continue
        if _RECEIVED_FOR.match(line):
            continue
        kept.append(line)
    return "\n".join(kept)


def _field(block: str, name: str) -> str:
    """A (possibly folded) field of a plain-text DSN block."""
    match = re.search(rf"^{name}:[ \t]*(.*(?:\n[ \t]+.*)*)", block, re.I | re.M)
    return match.group(1) if match else ""
