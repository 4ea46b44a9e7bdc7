"""The register's rows, on the page and exported: the current view as CSV or xlsx.

An export holds every ticket the view's filters match (not just the page),
streamed from the database a batch at a time. Text from outside never becomes
a formula: CSV cells that could start one get the quote prefix, xlsx cells are
string cells with the quote-prefix style (`daemon.report.cells`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime, tzinfo
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from starlette.responses import Response, StreamingResponse

from daemon.report.cells import csv_text, xlsx_text
from daemon.store.models import Ticket
from daemon.tickets.views import breaches
from daemon.web import register
from daemon.web.downloads import disposition
from daemon.web.site import TIME_FORMAT, Site

COLUMNS = (
    ("reference", "Reference"),
    ("received", "Received"),
    ("status", "Status"),
    ("department", "Department"),
    ("severity", "Severity"),
    ("product", "Product"),
    ("customer", "Customer"),
    ("organisation", "Organisation"),
    ("subject", "Subject"),
    ("resolution_due", "Resolution due"),
    ("breaches", "Breaches"),
)


def row(ticket: Ticket, now: datetime) -> dict[str, Any]:
    """One register row: what the page shows and the exports write."""
    return {
        "reference": ticket.reference,
        "received": ticket.received_at,
        "status": ticket.status,
        "department": ticket.department,
        "severity": ticket.severity,
        "product": ticket.product or "",
        "customer": ticket.customer_name or ticket.customer_email,
        "organisation": ticket.customer_organisation,
        "subject": ticket.subject,
        "resolution_due": ticket.resolution_due,
        "breaches": breaches(ticket, now),
        "escalated": ticket.escalated,
    }


def _text(value: object, zone: tzinfo) -> str:
    if isinstance(value, datetime):
        return value.astimezone(zone).strftime(TIME_FORMAT)
    return "" if value is None else str(value)


def _name(lookup: register.Lookup, extension: str) -> str:
    return f"register-{lookup.now.astimezone(lookup.zone):%Y%m%d-%H%M}.{extension}"


def csv_response(site: Site, lookup: register.Lookup) -> Response:
    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        out = csv.writer(buffer)
        out.writerow([title for _, title in COLUMNS])
        with site.session() as session:
            for number, ticket in enumerate(register.every_row(session, lookup), 1):
                values = row(ticket, lookup.now)
                out.writerow([csv_text(_text(values[key], site.zone)) for key, _ in COLUMNS])
                if number % 200 == 0:
                    yield buffer.getvalue()
                    buffer.seek(0)
                    buffer.truncate()
        yield buffer.getvalue()

    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": disposition(_name(lookup, "csv"))},
    )


def xlsx_response(site: Site, lookup: register.Lookup) -> Response:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Register")
    bold = Font(bold=True)
    header = []
    for _, title in COLUMNS:
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    with site.session() as session:
        for ticket in register.every_row(session, lookup):
            values = row(ticket, lookup.now)
            cells = []
            for key, _ in COLUMNS:
                text, quoted = xlsx_text(_text(values[key], site.zone))
                cell = WriteOnlyCell(sheet, value=text)
                if quoted:
                    cell.quotePrefix = True
                cells.append(cell)
            sheet.append(cells)
    buffer = io.BytesIO()
    book.save(buffer)
    return Response(
        buffer.getvalue(),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": disposition(_name(lookup, "xlsx"))},
    )
