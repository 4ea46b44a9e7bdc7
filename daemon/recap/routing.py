"""Routing a recap row exactly as a mailed complaint is routed.

A recap ticket's department is chosen by `daemon.route.router.route`, like
any complaint's, on a synthetic mail built from the row: its subject names
the product and the description's first line, its text is the description,
and its contact is the row's. This module owns that mail (`row_mail`) and the
one way a recap's department differs (`department_for`): the product the row
names beats product detection, so a department no rule chose is that
product's.

Everything here is pure.
"""

from __future__ import annotations

from datetime import datetime

from daemon.parse.message import Contact, InboundMail
from daemon.recap.rows import RecapRow
from daemon.route.decision import BY_DEFAULT, BY_DETECTION, BY_PRODUCT, Decision
from daemon.route.rules import Rules


def row_mail(row: RecapRow, *, message_id: str, subject: str, received_at: datetime) -> InboundMail:
    """The mail routing reads for `row`: as if the customer had written the description."""
    return InboundMail(
        message_id=message_id,
        message_id_synthetic=True,
        from_address=row.pic_email,
        from_name=row.customer,
        to=(),
        cc=(),
        reply_to=(),
        return_path=None,
        subject=subject,
        date=received_at,
        text=row.description,
        new_text=row.description,
        content_type="text/plain",
        headers=(),
        language="id",
        contact=Contact(
            phones=(row.pic_phone,) if row.pic_phone else (),
            emails=(row.pic_email,) if row.pic_email else (),
        ),
    )


def row_message_id(branch_id: str, month: str, row: RecapRow) -> str:
    """The synthetic Message-ID of a row's mail: the same for the same row of the same month."""
    return f"<recap.{branch_id}.{month}.{row.row_key[-16:]}@caredesk.invalid>"


def department_for(row: RecapRow, decision: Decision, rules: Rules) -> str:
    """The routed department, unless no rule chose it and the row names the product."""
    chosen_by = decision.decided_by.get("department", BY_DEFAULT)
    if row.product and chosen_by in (BY_DEFAULT, BY_DETECTION, BY_PRODUCT):
        return rules.products[row.product].department
    return decision.department
