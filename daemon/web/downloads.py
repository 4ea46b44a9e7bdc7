"""What the web view hands out as files: a mail's raw source, an attachment, the complaint form as PDF.

Every download is `Content-Disposition: attachment` with a sanitised name
(`daemon.tickets.attachments.safe_filename`, RFC 6266 with an ASCII fallback),
served as `application/octet-stream` and `nosniff`, so no browser renders
what a customer sent inside the site. The raw source is plain text, shown as
text and never interpreted.
"""

from __future__ import annotations

from urllib.parse import quote

from sqlmodel import Session
from starlette.exceptions import HTTPException
from starlette.responses import Response

from daemon.store.models import Ticket
from daemon.tickets.attachments import safe_filename
from daemon.tickets.mail_attachments import ticket_attachments
from daemon.web.site import Site
from daemon.web.thread import raw_source as stored_source


def disposition(name: str) -> str:
    """`attachment` with `name` made safe: an ASCII `filename` and the exact one in `filename*`."""
    safe = safe_filename(name)
    fallback = "".join(ch if 0x20 <= ord(ch) < 0x7F and ch not in '"\\%' else "_" for ch in safe)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(safe, safe='')}"


def raw_source(session: Session, ticket: Ticket, key: str) -> Response:
    raw = stored_source(session, ticket, key)
    if raw is None:
        raise HTTPException(404, "no such mail on this ticket")
    return Response(
        raw.decode("utf-8", errors="replace"),
        media_type="text/plain; charset=utf-8",
        headers={"Content-Disposition": f'inline; filename="{ticket.reference}-{key}.eml"'},
    )


def attachment(session: Session, ticket: Ticket, number: int) -> Response:
    found = ticket_attachments(session, ticket)
    if not 1 <= number <= len(found):
        raise HTTPException(404, "no such attachment")
    item = found[number - 1].attachment
    return Response(
        item.payload,
        media_type="application/octet-stream",
        headers={"Content-Disposition": disposition(item.filename)},
    )


def form_pdf(site: Site, session: Session, ticket: Ticket) -> Response:
    """The complaint form as the archive keeps it, printed by headless Chromium."""
    from daemon.report.form import build_form
    from daemon.report.html_out import form_html
    from daemon.report.pdf import PdfUnavailable, html_to_pdf

    form = build_form(session, site.rules(), ticket, now=site.clock(), timezone=site.config.timezone)
    try:
        pdf = html_to_pdf(form_html(form, organisation=site.config.name))
    except PdfUnavailable as error:
        raise HTTPException(503, str(error)) from None
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": disposition(f"{ticket.reference}.pdf")},
    )
