"""Notices robots write to whoever sent a mail: list servers, security gateways, challenge-response.

This module owns three families of automatic notice that come from a real
return address, so nothing in RFC 3834 marks them:

- list servers' own mail: a Mailman digest ("Name Digest, Vol 48, Issue 7",
  also without its List-* headers), Google and Yahoo group digests, and the
  "Loop Alert" / "Mail loop detected" notices list servers send when a mail
  comes back to them. The list servers' headers (`X-Mailman-Version`,
  `X-BeenThere`, `X-List-Administrivia` …) are in `daemon.classify.automated`.
- security gateways' notices (quarantine: Proofpoint "End User Digest",
  Mimecast "Message Held", Barracuda and Sophos "Quarantine Summary", Cisco
  "Spam Quarantine Notification", Microsoft 365 "You have messages in
  quarantine", in several languages; and the encryption portals' "You have
  received a secure message", the attachment filters' "Attachment removed:",
  the policy blocks' "Your message was blocked by … policy"), by a subject anchored at its start
  (an optional vendor name before it), or by the gateway's own X-headers
  together with quarantine words anywhere in the subject. The X-headers alone
  decide nothing: the gateways stamp them on every mail they pass, a
  customer's too. A bare "Quarantine notice" is not enough either: a
  courier's customer may write about a parcel held by the plant and animal
  quarantine, so the notice must name the mail ("Spam Quarantine
  Notification") or be a summary or digest.
- challenge-response robots (TMDA, Spam Arrest, Boxbe and the hosted
  "sender verification" services): by subject, by a TMDA confirmation address
  in Reply-To, or by a text that both asks the reader to prove they are human
  or to verify their address and says their message is held until they do. A
  customer who quotes a captcha ("it says please confirm you are human") does
  not say that their message is held.
"""

from __future__ import annotations

import re
import unicodedata

from daemon.classify.robots import looks_automated_sender
from daemon.parse.message import InboundMail

_TAG = r"^\s*(?:\[[^\]]{0,80}\]\s*)?"

_DIGEST_SUBJECT = re.compile(
    _TAG
    + r"""(?:
        [^\s:\[\]][^:\[\]]{0,80}?\s+digest,?\s+vol(?:ume)?\s*\d+\s*(?:,\s*issue\s+\d+|\#\s*\d+)
      | digest\s+for\s+\S+@\S+\s+-\s+\d+\s+(?:updates?|messages?|emails?)\b
      | [^\s:\[\]][^:\[\]]{0,80}?\s+digest\s+number\s+\d+
    )""",
    re.IGNORECASE | re.VERBOSE,
)

_LOOP_SUBJECT = re.compile(
    _TAG
    + r"""(?:
        (?:(?:mail(?:ing)?(?:\s+list)?|list(?:serv)?)\s+)?loop\s+(?:alert|detected|warning|detection)\b
      | (?:possible\s+)?mail(?:ing)?\s+loop\b
    )""",
    re.IGNORECASE | re.VERBOSE,
)

_VENDOR = (
    r"(?:(?:cisco\s+)?(?:secure\s+email|ironport)|proofpoint(?:\s+essentials)?|mimecast"
    r"|barracuda(?:\s+networks)?|sophos(?:\s+email)?|trend\s*micro|symantec|microsoft\s+365(?:\s+security)?"
    r"|office\s+365|spamtitan|hornetsecurity|fortimail|mailguard)"
)

_QUARANTINE_SUBJECT = re.compile(
    _TAG
    + r"(?:\[?"
    + _VENDOR
    + r"\]?[^:]{0,40}?\s*[:-]?\s*)?"
    + r"""(?:
        (?:spam|e-?mail|mail|end[-\s]?user|personal|daily|message)\s+quarantine[d]?\s+
            (?:summary|digest|notification|notice|report|alert)\b
      | quarantine\s+(?:summary|digest)\b
      | end[-\s]?user\s+(?:spam\s+)?digest\b
      | spam\s+notification\s*:\s*\d+\s+(?:new\s+)?messages?\b
      | spam\s+(?:digest|summary)\b
      | messages?\s+(?:held|quarantined|on\s+hold)\b
      | held\s+messages?\b
      | you\s+have\s+(?:\d+\s+)?(?:new\s+)?messages?\s+(?:in|on)\s+(?:quarantine|hold)\b
      | your\s+(?:quarantine|quarantined|held)\s+(?:messages?|e-?mails?|digest|summary|report)\b
      | (?:\d+\s+)?(?:new\s+)?quarantined\s+(?:messages?|e-?mails?)\b
      | quarantäne-?(?:zusammenfassung|bericht|benachrichtigung|übersicht)\b
      | (?:résumé|rapport|notification)\s+de\s+(?:la\s+)?quarantaine\b
      | messages?\s+en\s+quarantaine\b
      | resumen\s+de\s+(?:la\s+)?cuarentena\b
      | (?:riepilogo|notifica)\s+(?:di\s+|della\s+)?quarantena\b
      | quarantaine-?(?:overzicht|melding|rapport)\b
      | resumo\s+da\s+quarentena\b
      | (?:ringkasan|laporan|pemberitahuan)\s+karantina\s+(?:e-?mail|surel|pesan)\b
      # encryption portals, attachment filters, policy blocks
      | you\s+have\s+(?:received\s+)?(?:a\s+)?(?:new\s+)?(?:secure|encrypted)\s+(?:message|e-?mail)\b
      | attachments?\s+(?:removed|blocked|stripped|quarantined|deleted)\s*:
      | (?:anhang\s+entfernt|pi[èe]ce\s+jointe\s+supprim[ée]e|lampiran\s+(?:dihapus|diblokir))\s*:
      | (?:your\s+)?(?:e-?mail\s+)?message\s+(?:was\s+|has\s+been\s+)?(?:blocked|rejected|quarantined)
            \s+(?:by|due\s+to)\s+[^\n]{0,40}?\b(?:policy|security|filter|gateway)\b
      | pesan\s+(?:anda\s+)?(?:telah\s+)?diblokir\s+oleh\s+[^\n]{0,30}?\b(?:kebijakan|sistem|filter)\b
      | 隔離(?:メール|通知|レポート)
      | 隔离(?:邮件|通知|报告)
    )""",
    re.IGNORECASE | re.VERBOSE,
)

# Quarantine words anywhere in the subject; they count only with a gateway's header.
_QUARANTINE_WORDS = re.compile(
    r"""\bquarantin(?:e|ed)\b[^\n]{0,60}?\b(?:summary|digest)\b
      | \bquarantined\s+(?:messages?|e-?mails?|mail)\b
      | \bmessages?\s+(?:held|on\s+hold|in\s+quarantine)\b
      | \bheld\s+messages?\b""",
    re.IGNORECASE | re.VERBOSE,
)

# Header name prefixes each gateway stamps on the mail it passes (and on its own notices).
_GATEWAY_HEADERS = (
    ("x-proofpoint-", "proofpoint"),
    ("x-mimecast-", "mimecast"),
    ("x-mc-unique", "mimecast"),
    ("x-barracuda-", "barracuda"),
    ("x-sophos-", "sophos"),
    ("x-ironport-", "ironport"),
    ("x-ipas-", "ironport"),
    ("x-tm-as-", "trend micro"),
)

_CHALLENGE_SUBJECT = re.compile(
    r"""^\s*(?:
        please\s+confirm\s+(?:that\s+)?you\s+are\s+(?:a\s+)?(?:human|real\s+person|not\s+a\s+robot)
      | please\s+confirm\s+your\s+(?:message|e-?mail)\b
      | (?:sender|e-?mail|mailbox|anti-?spam|spam)\s+verification\s+(?:required|request|needed)\b
      | (?:please\s+)?verify\s+your\s+(?:e-?mail(?:\s+address)?|address)\s+to\s+(?:deliver|send|complete)\b
      | your\s+(?:message|e-?mail)\s+(?:is\s+)?(?:awaiting|pending|requires)\s+
            (?:your\s+)?(?:verification|confirmation)\b
      | request\s+to\s+join\s+[^\n]{0,60}guest\s+list\b
      # the same in the languages of the subjects
      | (?:verifikasi|pengesahan)\s+pengirim\b
      | mohon\s+konfirmasi\s+bahwa\s+anda\s+(?:adalah\s+)?manusia\b
      | absender-?verifizierung\b
      | v[ée]rification\s+de\s+l['’]exp[ée]diteur\b
      | verificaci[óo]n\s+del\s+remitente\b
      | verifica\s+del\s+mittente\b
      | afzenderverificatie\b
      | verifica[çc][ãa]o\s+do\s+remetente\b
    )
    | \bis\s+not\s+on\s+my\s+guest\s+list\b
    | \[\s*(?:verification\s+required|please\s+verify|verify\s+sender|sender\s+verification
              |spam\s*arrest)\s*\]""",
    re.IGNORECASE | re.VERBOSE,
)

_CHALLENGE_ASK = re.compile(
    r"""\b(?:confirm|verify|prove)\s+(?:that\s+)?you\s+are\s+(?:a\s+)?(?:human|real\s+person|not\s+a\s+robot)\b
      | \bverify\s+your\s+(?:e-?mail(?:\s+address)?|address|identity)\b
      | \bto\s+(?:release|deliver)\s+your\s+(?:e-?mail\s+)?message\b""",
    re.IGNORECASE | re.VERBOSE,
)
_CHALLENGE_HELD = re.compile(
    r"""\byour\s+(?:e-?mail\s+|original\s+)?message\b[\s\S]{0,200}?\b(?:
        (?:has\s+been|is\s+being|was|is)\s+(?:held|quarantined|kept)
      | (?:has\s+not|hasn't|was\s+not|wasn't)\s+(?:yet\s+)?been\s+delivered
      | was\s+not\s+delivered
      | will\s+(?:only\s+)?be\s+delivered
      | is\s+(?:pending|awaiting)
    )\b""",
    re.IGNORECASE | re.VERBOSE,
)
_BODY_WINDOW = 4000


def list_server_notice(mail: InboundMail) -> str | None:
    """Why `mail` is a list server's digest or loop notice, or None."""
    subject = _normal(mail.subject)
    if _DIGEST_SUBJECT.match(subject):
        return "mailing list digest subject"
    if _LOOP_SUBJECT.match(subject):
        return "list server notice: loop alert subject"
    return None


def gateway_notice(mail: InboundMail) -> str | None:
    """Why `mail` is a security gateway's notice (quarantine, encryption portal, policy block), or None."""
    subject = _normal(mail.subject)
    if _QUARANTINE_SUBJECT.match(subject):
        return "security gateway notice subject"
    if _QUARANTINE_WORDS.search(subject):
        gateway = _gateway(mail)
        if gateway is not None:
            return f"security gateway notice: {gateway} headers and quarantine subject"
    return None


def challenge_response(mail: InboundMail) -> str | None:
    """Why `mail` is a challenge-response robot's request to prove we are a person, or None."""
    if _CHALLENGE_SUBJECT.search(_normal(mail.subject)):
        return "challenge-response subject"
    for address in mail.reply_to:
        if looks_automated_sender(address) == "TMDA confirmation address":
            return f"challenge-response: reply-to {address}"
    text = _normal(mail.text[:_BODY_WINDOW])
    if _CHALLENGE_ASK.search(text) and _CHALLENGE_HELD.search(text):
        return "challenge-response: text asks to verify before delivery"
    return None


def _gateway(mail: InboundMail) -> str | None:
    for name, _ in mail.headers:
        for prefix, gateway in _GATEWAY_HEADERS:
            if name.startswith(prefix):
                return gateway
    return None


def _normal(text: str) -> str:
    return unicodedata.normalize("NFKC", text)
