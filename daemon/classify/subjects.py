"""Localised subjects of auto-replies and non-delivery reports.

This module owns the subject lines mail clients and servers put on the answers
they write by themselves: out-of-office replies (Exchange, Outlook, Gmail,
Lotus, Apple, Japanese and Chinese webmail) and non-delivery reports (Exchange,
Postfix, Exim, Sendmail, qmail, Gmail, Lotus) in English, French, German,
Spanish, Italian, Dutch, Portuguese, Indonesian, Malay, Japanese and Chinese.

Each phrase must start the subject (after an optional opening bracket such as
`[`, `【` or `(`), so a customer who mentions a word in the middle ("mobil
automatic transmission", "colis non remis") is never taken for a robot. The
subject is NFKC-normalised first: Apple Mail writes accents decomposed, and
Japanese and Chinese clients write full-width colons.

Where a phrase is also what a courier's customer writes about a parcel
("Undeliverable", "Tidak terkirim", "Non remis", "Zustellung fehlgeschlagen"),
the pattern keeps the exact shape the robot writes (the colon after it, or the
word "mail" or "message" in it). Exchange writes "Undeliverable:" only on
delivery reports, which `daemon.classify.automated` recognises by their MIME
type, so that English subject is left to the customers.
"""

from __future__ import annotations

import re
import unicodedata

_START = r"^\s*[\[【「(]?\s*"

_OUT_OF_OFFICE = re.compile(
    _START
    + r"""(?:
        # English; "Auto" needs its colon and "Out of Office" its punctuation, so
        # "Auto service mobil" and "Out of office hours support" stay complaints.
        automatic\s+reply\b
      | auto(?:matic)?[-\s]*(?:reply|response)\s*[:\])]
      | auto\s*:
      | out\s+of\s+(?:the\s+)?office(?:\s+auto\s*-?\s*reply)?\s*(?:[:(\[-]|$)
      # Indonesian and Malay
      | balasan\s+(?:otomatis|automatik)\b
      | jawapan\s+automatik\b
      | sedang\s+di\s+luar\s+kantor\b
      | sedang\s+cuti\s*:
      | pesan\s+otomatis\s*:
      | di\s+luar\s+(?:kantor|pejabat)\s*(?:[:(\[-]|$)
      # German
      | abwesenheitsnotiz\b
      | automatische\s+antwort\b
      | autom\.\s*antwort\b
      | abwesend\s*:
      | abwesenheit\s*:
      # French
      | r[ée]ponse\s+automatique\b
      | absen(?:t|te|ce)\s+du\s+bureau\s*(?:[:(\[-]|$)
      | message\s+d['’]absence\b
      # Spanish
      | respuesta\s+autom[áa]tica\b
      | fuera\s+de\s+(?:la\s+)?oficina\s*(?:[:(\[-]|$)
      # Italian
      | risposta\s+automatica\b
      | fuori\s+(?:sede|ufficio)\s*(?:[:(\[-]|$)
      # Dutch
      | automatisch\s+antwoord\b
      | afwezig\s*:
      | afwezigheids(?:bericht|melding)\b
      | niet\s+aanwezig\s*:
      # Portuguese
      | resposta\s+autom[áa]tica\b
      | (?:ausente|fora)\s+do\s+escrit[óo]rio\s*(?:[:(\[-]|$)
      | aus[êe]ncia\s+tempor[áa]ria\b
      # Swedish (Outlook)
      | autosvar\b
      # Japanese
      | 自動(?:応答|返信|回答)
      | 不在(?:通知|のお知らせ|連絡)
      # Chinese, simplified and traditional
      | 自[动動](?:回[复覆復]|答[复覆])
    )""",
    re.IGNORECASE | re.VERBOSE,
)

_NON_DELIVERY = re.compile(
    _START
    + r"""(?:
        # English: the MTAs' own words, never the bare "Undeliverable" or "Delivery failure"
        mail\s+delivery\s+failed\b
      | undelivered\s+mail\s+returned\s+to\s+sender\b
      | undeliverable\s+(?:mail|message|e-?mail)\b
      | delivery\s+status\s+notification\s*\((?:failure|delay)\)
      | returned\s+mail\s*:
      | failure\s+notice\s*$
      | mail\s+system\s+error\b
      | delivery\s+notification\s*:\s*delivery\s+has\s+failed\b
      | non-?\s*delivery\s+(?:report|notification)\b
      | message\s+(?:could\s+not\s+be|not)\s+delivered\s*:
      | mail\s+could\s+not\s+be\s+delivered\b
      | warning\s*:\s*could\s+not\s+send\s+message\b
      | delayed\s+mail\s*\(still\s+being\s+retried\)
      # French
      | non\s+remis\s*:
      | message\s+non\s+(?:remis|distribuable)\b
      | courrier\s+non\s+(?:remis|distribu[ée])\b
      | [ée]chec\s+de\s+(?:la\s+)?remise\b
      | rapport\s+de\s+non-?\s*remise\b
      | notification\s+d['’][ée]tat\s+de\s+(?:la\s+)?(?:distribution|remise)\s*\((?:[ée]chec|retard)\)
      # German
      | unzustellbar\s*:
      | nicht\s+zustellbar\s*:
      | unzustellbare\s+(?:nachricht|e-?mail|mail)\b
      | (?:e-?mail-?|mail-?)zustellung\s+fehlgeschlagen\b
      | benachrichtigung\s+zum\s+(?:übermittlungsstatus|zustellstatus)\b
      # Spanish
      | no\s+entregad[oa]\s*:
      | no\s+se\s+puede\s+entregar\s*:
      | mensaje\s+no\s+entregado\b
      | notificaci[óo]n\s+de\s+estado\s+de\s+(?:la\s+)?entrega\s*\((?:error|fallo|retraso)\)
      # Italian
      | non\s+recapitabile\s*:
      | impossibile\s+recapitare\b
      | messaggio\s+non\s+recapitato\b
      | mancato\s+recapito\s*:
      | mancato\s+recapito\s+(?:del\s+)?(?:messaggio|e-?mail|posta)\b
      | notifica\s+dello\s+stato\s+(?:di\s+)?consegna\s*\((?:errore|ritardo)\)
      # Dutch
      | onbestelbaar\s*:
      | niet\s+bezorgd\s*:
      | (?:bericht\s+niet\s+bezorgd|onbestelbaar\s+bericht)\b
      | (?:melding\s+over\s+)?(?:de\s+)?bezorgingsstatus(?:melding)?\s*\((?:mislukt|vertraagd)\)
      # Portuguese
      | n[ãa]o\s+entregue\s*:
      | n[ãa]o\s+[ée]\s+poss[íi]vel\s+entregar\s*:
      | mensagem\s+n[ãa]o\s+entregue\b
      | notifica[çc][ãa]o\s+de\s+status\s+de\s+entrega\s*\((?:falha|atraso)\)
      # Indonesian and Malay: the colon the servers write; "Tidak terkirim paket" is a complaint
      | tidak\s+(?:terkirim|dapat\s+dikirim)\s*:
      | pemberitahuan\s+status\s+pengiriman\s*\((?:kegagalan|gagal|penundaan)\)
      | (?:tidak\s+(?:dapat\s+)?|gagal\s+)dihantar\s*:
      | pemberitahuan\s+status\s+penghantaran\s*\((?:kegagalan|gagal)\)
      # Japanese
      | (?:メール)?配信(?:不能|エラー|失敗|に失敗)
      | 未配信(?:メール|のお知らせ)
      # Chinese: 退信 is a returned mail; 无法投递/無法傳遞 need the colon, a parcel can be undeliverable too
      | (?:系[统統])?退信
      | 无法投递\s*:
      | 無法傳遞\s*:
      | [邮郵]件(?:投递|傳遞|发送|發送|傳送)失[败敗]
    )""",
    re.IGNORECASE | re.VERBOSE,
)


def out_of_office_subject(subject: str) -> bool:
    """Whether `subject` starts the way an out-of-office or other auto-reply does."""
    return bool(_OUT_OF_OFFICE.match(_normal(subject)))


def non_delivery_subject(subject: str) -> bool:
    """Whether `subject` starts the way a non-delivery report does."""
    return bool(_NON_DELIVERY.match(_normal(subject)))


def _normal(subject: str) -> str:
    return unicodedata.normalize("NFKC", subject)
