"""Recognising a bounce that is only text: no multipart/report, no delivery-status part.

Exim, qmail, Sendmail without MIME, old Postfix, Exchange and Lotus text reports
and their localised variants say in words that a mail could not be delivered.
Such a mail is a bounce when

- it comes from a reporting system (a mailer-daemon, postmaster or ndr address,
  a "Mail Delivery System" or similar name, an empty From `<>`) or has the null
  return path `<>`, and its subject or its first lines say delivery failed; or
- its From only has a reporting system's name ("System Administrator"; a person
  may use it too) and its subject says delivery failed, or its text does with
  the technical marks of a report (a status or SMTP code, an MTA's words); or
- without such a sender, both its subject and its text say so, with those marks,
  so a customer who writes "my parcel could not be delivered" stays a customer.

`daemon.classify.kinds` asks this before anything that looks at the sender: a
bounce from the empty address `<>` is a bounce, not a mail without a sender.

Pure: reads the parsed mail only. What the bounce says is read from its bytes by
`daemon.classify.bounces.read_report`.
"""

from __future__ import annotations

import re

from daemon.parse.message import InboundMail

_SENDER_ADDRESS = re.compile(
    r"(?:^|[^a-z0-9])(?:mailer[-_]?daemon|post[-_]?master|ndr|mdaemon|mail[-_.]?delivery(?:[-_.]?(?:system|subsystem))?"
    r"|microsoftexchange[0-9a-f]{8,})@",
    re.I,
)
_SENDER_NAME = re.compile(
    r"""\b(?:mailer[-_ ]?daemon|mail\s+delivery\s+(?:system|subsystem|service)|mail\s+(?:system|router)
      | (?:mail\s+|system\s*|e-?mail\s+)administrator|systemadministrator|administrateur\s+syst[eè]me
      | administrador\s+del\s+sistema|amministratore\s+di\s+sistema|systeembeheerder|postmaster)\b""",
    re.I | re.X,
)
_EMPTY_ADDRESS = re.compile(r"<\s*>")

# At the start of the subject, after at most one gateway tag such as "[EXT]".
_SUBJECT = re.compile(
    r"""^\s*(?:\[[^\]]{1,20}\]\s*)?(?:
        undeliver(?:able|ed) | non-?deliver(?:able|y) | not\s+delivered
      | mail\s+delivery\s+fail | delivery\s+fail | delivery\s+(?:has\s+)?failed
      | delivery\s+status\s+notification | delivery\s+notification
      | returned\s+mail | failure\s+notice | mail\s+system\s+error
      | message\s+(?:delivery\s+)?(?:failure|not\s+delivered)
      | could\s+not\s+(?:be\s+)?deliver | mail\s+could\s+not\s+be\s+delivered
      | permanent\s+(?:delivery\s+)?(?:failure|error) | delivery\s+(?:delay|problem)
      | delayed\s+mail | warning:\s+message\s+\S+\s+delayed
      | unzustellbar | nicht\s+zustellbar | zustellung\s+fehlgeschlagen
      | fehler\s+bei\s+der\s+zustellung | (?:benachrichtigung\s+zum\s+)?(?:ü|ue)bermittlungsstatus
      | non\s+remis | non\s+distribu | (?:é|e)chec\s+de\s+(?:la\s+)?(?:remise|distribution)
      | message\s+non\s+(?:remis|d(?:é|e)livr|distribu) | rapport\s+de\s+non-remise
      | notification\s+d'(?:é|e)tat\s+de
      | no\s+se\s+puede\s+entregar | no\s+entregad | mensaje\s+no\s+entregado
      | error\s+de\s+entrega | correo\s+devuelto | notificaci(?:ó|o)n\s+de\s+estado\s+de
      | non\s+recapitabil | mancato\s+recapito | impossibile\s+recapitare
      | notifica\s+stato\s+di\s+consegna
      | onbestelbaar | niet\s+(?:bezorgd|afgeleverd) | bezorgingsstatusmelding
      | n(?:ã|a)o\s+(?:(?:é|e)\s+poss(?:í|i)vel\s+)?entregue
      | n(?:ã|a)o\s+(?:(?:é|e)|foi)\s+poss(?:í|i)vel\s+entregar
      | falha\s+na\s+entrega | mensagem\s+n(?:ã|a)o\s+entregue
      | notifica(?:çã|ca)o\s+de\s+status\s+de\s+entrega
      | tidak\s+(?:dapat\s+)?terkirim | tidak\s+dapat\s+dikirim | gagal\s+(?:terkirim|dikirim)
      | pesan\s+tidak\s+terkirim | pemberitahuan\s+status\s+peng(?:iriman|hantaran)
      | pengiriman\s+gagal | tidak\s+dapat\s+dihantar | gagal\s+dihantar
      | (?:メール)?(?:配信|配送)(?:不能|エラー|失敗|できません) | 送信できませんでした
      | 无法(?:送达|投递|传递) | 無法(?:傳遞|送達|投遞) | 未送達 | 系[统統]退信 | 退信
      | 投[递遞]失[败敗] | (?:传递|傳遞)(?:状态|狀態)通知
    )""",
    re.I | re.X,
)
_WORDING = re.compile(
    r"""could\s*n[o']t\s+be\s+delivered | could\s+not\s+deliver
      | (?:wasn't|was\s+not|were\s+not)\s+(?:able\s+to\s+)?deliver | unable\s+to\s+deliver
      | (?:was|were)\s+not\s+delivered | has\s+not\s+yet\s+been\s+delivered | did\s+not\s+reach
      | delivery\s+(?:has\s+failed|to\s+the\s+following\s+recipient) | permanent\s+fatal\s+error
      | address\(es\)\s+failed | mail\s+delivery\s+software | qmail-send\s+program
      | mail\s+system\s+at\s+host | postfix\s+program\s+at\s+host
      | cannot\s+be\s+(?:delivered|reached) | undeliverable | non-delivery
      | returned\s+to\s+(?:the\s+)?sender | delivery\s+attempts\s+will\s+continue
      | not\s+listed\s+in\s+domino\s+directory
      | nicht\s+zugestellt | nicht\s+erreicht | unzustellbar | zustellung\s+fehlgeschlagen
      | n'est\s+pas\s+parvenu | n'a\s+pas\s+pu\s+(?:être|etre)\s+(?:remis|distribu|d(?:é|e)livr)
      | impossible\s+de\s+(?:joindre|remettre|distribuer)
      | no\s+se\s+(?:ha\s+)?pod?ido\s+entregar | no\s+se\s+puede\s+entregar | no\s+ha\s+llegado
      | non\s+(?:è|e)\s+stato\s+(?:possibile\s+)?recapitat | impossibile\s+recapitare
      | non\s+recapitabile | kon\s+niet\s+worden\s+(?:bezorgd|afgeleverd) | onbestelbaar
      | n(?:ã|a)o\s+(?:p(?:ô|o)de\s+ser|foi)\s+entregue | n(?:ã|a)o\s+foi\s+poss(?:í|i)vel\s+entregar
      | tidak\s+dapat\s+(?:dikirim|terkirim|diantar|dihantar) | gagal\s+(?:dikirim|dihantar|terkirim)
      | 配信できません | 配送できません | 送信できません | 届けられませんでした
      | 无法(?:送达|投递) | 無法(?:傳遞|送達) | 未能送达""",
    re.I | re.X,
)
_TECHNICAL = re.compile(
    r"""(?<![\d.])[245]\.[0-7]\.\d{1,3}(?![\d.]\d)|(?<!\d)(?:421|45[0-4]|55[0-4])[ -]
      | \bsmtp\b|\brcpt\s+to\b|\bmail\s+server\b|\bremote\s+(?:server|host)\b|reporting-mta|final-recipient
      | diagnostic|generating\s+server|mail\s+delivery\s+software|mailer-daemon|domino\s+directory|qmail""",
    re.I | re.X,
)
_READ = 6000
"""How much of the text is read for the wording: the report comes first."""


def plain_bounce_reason(mail: InboundMail) -> str | None:
    """Why `mail` is a bounce although it has no delivery-status part, or None when it is not one."""
    subject = bool(_SUBJECT.match(mail.subject))
    text = mail.text[:_READ]
    wording = bool(_WORDING.search(text))
    technical = wording and bool(_TECHNICAL.search(text))
    said = "subject" if subject else "text"
    sender = _reporting_address(mail)
    if sender is not None and (subject or wording):
        return f"plain-text bounce: {sender}, its {said} says delivery failed"
    # A name such as "System Administrator" is weaker: a person may use it too.
    name = _reporting_name(mail)
    if name is not None and (subject or technical):
        return f"plain-text bounce: {name}, its {said} says delivery failed"
    if subject and technical:
        return "plain-text bounce: its subject and text say delivery failed"
    return None


def _reporting_address(mail: InboundMail) -> str | None:
    """What in the addresses makes the sender a reporting system, or None."""
    raw_from = mail.header("from") or ""
    for value in (mail.from_address, raw_from, mail.header("sender") or ""):
        if _SENDER_ADDRESS.search(value):
            return f"sent by {_shown(value)}"
    if raw_from and _EMPTY_ADDRESS.search(raw_from):
        return "sent from the empty address <>"
    if mail.return_path == "":
        return "null return-path"
    return None


def _reporting_name(mail: InboundMail) -> str | None:
    """A reporting system's name in From ("Mail Delivery System", "Systemadministrator"), or None."""
    raw_from = mail.header("from") or ""
    name = raw_from.rpartition("<")[0] if "<" in raw_from else raw_from
    return f"sent by {_shown(raw_from)}" if _SENDER_NAME.search(name) else None


def _shown(value: str) -> str:
    return " ".join(value.split())[:120]
