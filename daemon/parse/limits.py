"""The parse stage's input limits (reliability.md §6.1), in one table.

This module owns the values of the limits whose breach costs the excess,
never the complaint: the mail is parsed, the excess is cut, and a note is
added to `InboundMail.defects`. The limits whose breach only a hostile or
looping mail can produce mean quarantine instead (`ParseError` names the
limit, the raw mail is kept for a person to look at); those are checked on the
raw bytes by `daemon.parse.prescan` and live there.

| limit                                    | when exceeded                                       |
|------------------------------------------|-----------------------------------------------------|
| raw size 100 MB                          | quarantine (`daemon.parse.prescan`)                 |
| 1,000 header fields, 100 `Received`      | quarantine: a header bomb, a looping mail           |
| MIME depth 20, 200 MIME parts            | quarantine: a MIME bomb                             |
| a part's Content-Type/-Disposition 8 KB  | quarantine: a parameter bomb                        |
| header field 16 KB, header block 256 KB  | cut; "header field/block truncated"                 |
| 50 attachments                           | the first 50 kept; "attachments truncated: ..."     |
| attachment 25 MB decoded                 | that attachment dropped; "attachment dropped: ..."  |
| attachments 50 MB decoded in total       | those that no longer fit dropped; the same note     |
| body text 1 M characters                 | cut, with a notice at its end; "text truncated"     |
| sanitised HTML 1 M characters            | cut and sanitised again, notice; "html truncated"   |
| (damage) invalid base64 in an attachment | decoded as far as it goes; "attachment damaged: ..."|

The modules that apply these limits read them as attributes of this module
(`limits.TEXT_LIMIT`) when they run, so a test can lower one for a small mail.
"""

from __future__ import annotations

TEXT_LIMIT = 1_000_000
"""Most characters of body text kept, notice included (reliability.md §6.1: 1 MB for display)."""
HTML_LIMIT = 2 * TEXT_LIMIT
"""Most characters of HTML converted (html.parser needs about a second per 1.5 MB)."""
HTML_DISPLAY_LIMIT = TEXT_LIMIT
"""Most characters of sanitised HTML kept."""
ATTACHMENT_COUNT_LIMIT = 50
ATTACHMENT_SIZE_LIMIT = 25 * 1024 * 1024
ATTACHMENT_TOTAL_LIMIT = 50 * 1024 * 1024
"""Attachment limits, in decoded bytes (reliability.md §6.1)."""
HEADER_FIELD_LIMIT = 16 * 1024
HEADER_BLOCK_LIMIT = 256 * 1024
"""Header limits applied before parsing, in bytes (reliability.md §6.1)."""
SET_ASIDE_BYTES = 1024 * 1024
"""A base64 attachment body this long is decoded from the raw bytes, not parsed (`parse.bigparts`)."""
HEADER_TEXT_LIMIT = 998
"""RFC 5322 line length: the cap for subjects, names and Message-IDs."""
FILENAME_LIMIT = 255
THREAD_ID_LIMIT = 20
"""Most Message-IDs kept from In-Reply-To and from References (reliability.md §3)."""
