"""Abuse complaints and feedback reports: mail about our mail, from an abuse desk or a mailbox provider.

This module owns recognising them, in the shapes they come in:

- the Abuse Reporting Format (RFC 5965): `multipart/report;
  report-type=feedback-report` with a `message/feedback-report` part, as the
  mailbox providers' feedback loops send it;
- the same report wrapped another way (a forwarded or flattened report whose
  text still carries the `Feedback-Type:` field with `Original-Mail-From:`,
  `Reported-Domain:` or `Source-IP:`), and X-ARF (`X-ARF: yes`);
- the abuse desks' plain-text complaints and the reports of feedback loops
  that do not follow RFC 5965, by their subject ("Abuse report", "Spam
  complaint", "Email Feedback Report for IP …", Microsoft's "complaint about
  message from <IP>", SpamCop's "[SpamCop (…) id:…]", "Missbrauchsmeldung",
  "Signalement d'abus", "Denuncia de abuso", "迷惑メール報告", "垃圾邮件投诉" …),
  anchored at the start after an optional ticket tag such as `[Abuse #4471]`. The abuse desk's own address
  (`abuse@`) is a robot sender (`daemon.classify.robots`).

An Indonesian subject about "penyalahgunaan" (misuse) must name the network or
the mail to count: "Laporan penyalahgunaan data oleh kurir" is a customer's
complaint about a courier, "Keluhan spam" one about spam, and both stay tickets.
"""

from __future__ import annotations

import re
import unicodedata

from daemon.parse.message import InboundMail

_REPORT_TYPE = re.compile(r"""report-type\s*=\s*"?feedback-report\b""", re.IGNORECASE)

_FEEDBACK_TYPE = re.compile(
    r"^feedback-type\s*:\s*(?:abuse|fraud|virus|other|not-spam|auth-failure|dkim|spf)\b",
    re.IGNORECASE | re.MULTILINE,
)
_FEEDBACK_FIELD = re.compile(
    r"^(?:original-mail-from|original-rcpt-to|reported-domain|reported-uri|source-ip|arrival-date)\s*:",
    re.IGNORECASE | re.MULTILINE,
)

_ABUSE_SUBJECT = re.compile(
    r"""^\s*(?:\[[^\]]{0,60}\]\s*)?(?:
        \[\s*abuse\b
      # English
      | (?:network\s+)?abuse\s+(?:report|complaint|notice|notification|case|ticket|alert)\b
      | spam\s+(?:complaint|report)\b
      | (?:report|notice|notification)\s+of\s+(?:network\s+)?abuse\b
      | fbl\s+report\b
      | e-?mail\s+feedback\s+report\b
      # Microsoft's JMRP and SpamCop
      | complaint\s+about\s+message\s+from\s+\d{1,3}(?:\.\d{1,3}){3}\b
      | \[\s*spamcop\b
      # German
      | missbrauchs?(?:meldung|bericht|beschwerde|anzeige)\b
      | spam-?(?:beschwerde|meldung)\b
      # French
      | (?:signalement|rapport|notification|plainte)\s+(?:d['’]|pour\s+|de\s+)abus\b
      | plainte\s+(?:pour|de)\s+spam\b
      # Spanish
      | (?:reporte|informe|denuncia|notificaci[óo]n|queja)\s+(?:de|por)\s+abuso\b
      | (?:queja|denuncia|reporte)\s+(?:de|por)\s+spam\b
      # Italian
      | (?:segnalazione|notifica)\s+(?:di\s+)?(?:abuso|spam)\b
      # Dutch
      | misbruik(?:melding|rapport|klacht)\b
      | spam-?(?:klacht|melding)\b
      # Portuguese
      | (?:den[úu]ncia|relat[óo]rio|notifica[çc][ãa]o)\s+de\s+abuso\b
      | (?:reclama[çc][ãa]o|den[úu]ncia)\s+de\s+spam\b
      # Indonesian and Malay: misuse of the network or the mail only
      | (?:laporan|pemberitahuan|aduan)\s+penyalahgunaan\s+
            (?:jaringan|rangkaian|e-?mail|e-?mel|surel|ip|server)\b
      # Japanese
      | 迷惑メール(?:の)?(?:報告|通報|苦情)
      | 不正(?:利用|アクセス)(?:の)?(?:報告|通知)
      # Chinese
      | 垃圾[邮郵]件(?:投[诉訴]|[举舉]报|[举舉]報|[报報]告)
      | [滥濫]用(?:投[诉訴]|[举舉][报報]|[报報]告)
    )""",
    re.IGNORECASE | re.VERBOSE,
)


def abuse_report_reason(mail: InboundMail) -> str | None:
    """Why `mail` is an abuse complaint or a feedback report, or None."""
    if mail.content_type == "multipart/report" and _REPORT_TYPE.search(mail.header("content-type") or ""):
        return "abuse report: feedback-report (ARF)"
    if any(part.content_type == "message/feedback-report" for part in mail.attachments):
        return "abuse report: message/feedback-report part"
    if mail.header("x-arf") is not None:
        return "abuse report: x-arf"
    if _FEEDBACK_TYPE.search(mail.text) and _FEEDBACK_FIELD.search(mail.text):
        return "abuse report: feedback-type field in the text"
    if _ABUSE_SUBJECT.match(unicodedata.normalize("NFKC", mail.subject)):
        return "abuse report subject"
    return None
