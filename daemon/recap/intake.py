"""Branch recaps arriving by mail: importing them, keeping the forms, answering.

Classifying a mail (`daemon.classify.recaps`) recognises a recap; the mail
pipeline then hands it to `handle_recap_mail`. A recap is

* from one of a branch's addresses (rules.yaml `branches`), carrying a
  spreadsheet: each spreadsheet goes through `receive_recap`; or
* addressed to the care address, carrying a spreadsheet and saying
  `rekap`/`recap` in its subject, from an address that is no branch's:
  nothing is read or imported, each spreadsheet is kept unopened as a refused
  `RecapFile` with branch `''` (so `caredesk recap status` shows the attempt
  and customer care can register the address), and the sender is told why.

A recap changes tickets, so a branch's mail needs the same sender check as a
department's commands (`daemon.classify.authres.verify_sender`: our receiving
server's Authentication-Results, `[security]`). A recap whose sender is not
verified changes nothing: its spreadsheets are kept unread as refused
`RecapFile`s of the branch, its forms stay in the raw mail, and the branch's
address is answered that the sender could not be verified (the usual reply,
every file refused for that reason, under the auto-reply limits).

Either way the mail is `processed`, never becomes a complaint ticket and
never gets the complaint acknowledgement; its raw bytes stay in
`inbound_message`. Every other attachment of a branch's recap mail is a
complaint form, kept as a `RecapAttachment`. A spreadsheet the parser had to
drop as too large still makes the mail a recap: it is refused as oversized
(the bytes are only in the raw mail), rather than the mail becoming a ticket.

The reply to the branch (templates/recap_reply.txt, `daemon.recap.reply`) has
the summary, every problem by sheet, row and column, each refusal with its
reason, the forms kept and the major complaints escalated. Open rows handled
by head office get their owning department's notice (`daemon.recap.notice`),
and new major tickets (and tickets a corrected file made major) are escalated
to their department's General Manager (`daemon.recap.escalate`), as the
pipeline does for mail. Everything happens in the caller's transaction (the pipeline's
SAVEPOINT).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlmodel import Session

from daemon.classify.authres import sender_refusal, verify_sender
from daemon.classify.recaps import RecapMail, reader_name
from daemon.outbox.enqueue import Outgoing
from daemon.parse.message import Attachment, InboundMail
from daemon.recap.desk import RecapDesk
from daemon.recap.escalate import EscalationCause, escalate_major
from daemon.recap.notice import notify_departments
from daemon.recap.receive import RecapOutcome, ReceivedFile, receive_recap
from daemon.recap.reply import MailOutcome, form_entry, reply_context
from daemon.recap.sheet import RecapRefused
from daemon.route.rules import Branch
from daemon.store.models import InboundMessage, RecapAttachment, RecapFile
from daemon.store.vocabulary import InboundState, OutboundKind

log = logging.getLogger("caredesk.recap")

REPLY_KIND = OutboundKind.RECAP_REPLY
REPLY_TEMPLATE = "recap_reply.txt"
NOT_BRANCH_TEMPLATE = "recap_not_branch.txt"

NOT_A_BRANCH = RecapRefused(
    "alamat pengirim tidak terdaftar sebagai alamat biro, jadi rekap tidak diimpor",
    "the sender's address is not a branch address, so the recap was not imported",
)
NOT_VERIFIED = RecapRefused(
    "pengirim tidak dapat diverifikasi (server penerima kami tidak memastikan bahwa email ini "
    "benar dari alamat biro), jadi rekap tidak diimpor; kirim ulang dari kotak surat biro sendiri, "
    "atau hubungi Customer Care",
    "the sender could not be verified (our receiving server did not confirm that this mail really "
    "came from the branch's address), so the recap was not imported; send it again from the "
    "branch's own mailbox, or contact Customer Care",
)
TOO_LARGE_FOR_MAIL = RecapRefused(
    "berkas terlalu besar untuk diterima lewat email (maksimum 25 MB per lampiran)",
    "the file is too large to be received by mail (at most 25 MB per attachment)",
)


def handle_recap_mail(
    session: Session, found: RecapMail, *, row: InboundMessage, mail: InboundMail, desk: RecapDesk
) -> None:
    """Handle the recap `found` in `mail`: import it or refuse it, answer, and mark `row` processed."""
    assert row.id is not None, "the inbound row is stored before it is processed"
    now = desk.clock()
    intake = _RecapIntake(session, row, mail, desk, now)
    if found.branch is None:
        intake.refuse_sender(found)
    else:
        security = desk.config.security
        refused = sender_refusal(verify_sender(mail.headers, mail.from_address, security), security)
        if refused is None:
            intake.receive(found, found.branch)
        else:
            intake.refuse_unverified(found, found.branch, refused)
    row.state, row.processed_at = InboundState.PROCESSED, now


def mail_reason(branch: Branch, outcomes: Sequence[RecapOutcome]) -> str:
    """The inbound row's reason for a branch's recap mail: the months imported, else the first refusal."""
    months = sorted({outcome.month for outcome in outcomes if outcome.imported})
    if months:
        return f"branch recap {branch.id} {','.join(months)}"
    refusal = next(outcome.refused for outcome in outcomes if outcome.refused is not None)
    return f"recap refused: {branch.id}: {refusal.english}"


class _RecapIntake:
    """One recap mail: its row, its parsed value, what it is handled with, and when."""

    def __init__(
        self, session: Session, row: InboundMessage, mail: InboundMail, desk: RecapDesk, now: datetime
    ) -> None:
        self.session = session
        self.row = row
        self.inbound_id: int = row.id or 0
        self.mail = mail
        self.desk = desk
        self.now = now
        self.zone = desk.zone

    # -- a branch's recap -----------------------------------------------------

    def receive(self, found: RecapMail, branch: Branch) -> None:
        outcomes = [self.receive_one(branch, attachment) for attachment in found.spreadsheets]
        outcomes.extend(self.keep_dropped(branch, name) for name in found.dropped)
        forms = self.keep_forms(found.forms, branch, outcomes)
        cause = EscalationCause(branch, self.inbound_id, self.now)
        announced = notify_departments(self.session, outcomes, cause, self.desk)
        escalated = escalate_major(self.session, outcomes, cause, self.desk)
        outcome = MailOutcome(outcomes, forms, escalated)
        received = self.row.received_at.astimezone(self.zone)
        context = reply_context(outcome, org=self.desk.org, branch=branch, received=received)
        # Not "auto-replied": the Mailer limits those per recipient (loop
        # protection), and a registered branch correcting its file four times
        # in an hour must get the row-level feedback every time.
        self.reply(REPLY_TEMPLATE, context, auto_submitted="auto-generated")
        self.row.reason = mail_reason(branch, outcomes)
        log.info(
            "recap mail inbound #%s from %s (%r): %d file(s), %d form(s), %d to departments, "
            "%d escalated: %s",
            self.inbound_id,
            branch.id,
            self.mail.from_address,
            len(outcomes),
            len(forms),
            len(announced),
            len(escalated),
            self.row.reason,
        )

    def receive_one(self, branch: Branch, attachment: Attachment) -> RecapOutcome:
        received = ReceivedFile(branch, reader_name(attachment), attachment.payload, self.inbound_id)
        return receive_recap(self.session, received, self.desk.import_terms())

    def keep_dropped(self, branch: Branch, name: str) -> RecapOutcome:
        """A spreadsheet too large for the parser to keep: refused, recorded, its bytes only in the mail."""
        recap_file = self.refused_file(branch.id, name, b"", TOO_LARGE_FOR_MAIL)
        self.session.add(recap_file)
        self.session.flush()
        return RecapOutcome(recap_file, "", refused=TOO_LARGE_FOR_MAIL)

    def keep_forms(
        self, forms: Sequence[Attachment], branch: Branch, outcomes: Sequence[RecapOutcome]
    ) -> list[dict[str, object]]:
        """Keep every complaint form as a `RecapAttachment` of the mail's (first imported) recap file."""
        kept = [o for o in outcomes if o.imported] or list(outcomes)
        first = kept[0] if kept else None
        listed: list[dict[str, object]] = []
        for form in forms:
            self.session.add(
                RecapAttachment(
                    inbound_id=self.inbound_id,
                    recap_file_id=first.recap_file.id if first is not None else None,
                    branch=branch.id,
                    month=first.month if first is not None else "",
                    filename=form.filename[:255],
                    content_type=form.content_type[:255],
                    size=form.size,
                    sha256=form.sha256,
                    data=form.payload,
                    received_at=self.now,
                )
            )
            listed.append(form_entry(form.filename, form.content_type, form.size))
        return listed

    # -- a branch's recap whose sender is not verified -------------------------

    def refuse_unverified(self, found: RecapMail, branch: Branch, why: str) -> None:
        """Keep every spreadsheet unread as refused, import nothing, and tell the branch why."""
        files = [*((a.filename, a.payload) for a in found.spreadsheets), *((n, b"") for n in found.dropped)]
        outcomes = []
        for filename, data in files:
            recap_file = self.refused_file(branch.id, filename, data, NOT_VERIFIED)
            self.session.add(recap_file)
            outcomes.append(RecapOutcome(recap_file, "", refused=NOT_VERIFIED))
        self.session.flush()
        received = self.row.received_at.astimezone(self.zone)
        context = reply_context(
            MailOutcome(outcomes, [], []), org=self.desk.org, branch=branch, received=received
        )
        # Whoever wrote it, the answer goes to the branch's own address; under the
        # auto-reply limits, so forged recaps cannot flood the branch.
        self.reply(REPLY_TEMPLATE, context, auto_submitted="auto-replied")
        self.row.reason = f"recap refused: {branch.id}: {why}"
        log.warning(
            "recap mail inbound #%s from %s (%r) not imported: %s",
            self.inbound_id,
            branch.id,
            self.mail.from_address,
            why,
        )

    # -- a recap from an address that is no branch's --------------------------

    def refuse_sender(self, found: RecapMail) -> None:
        files = [*((a.filename, a.payload) for a in found.spreadsheets), *((n, b"") for n in found.dropped)]
        for filename, data in files:
            self.session.add(self.refused_file("", filename, data, NOT_A_BRANCH))
        context = {
            "org": self.desk.org,
            "sender": self.mail.from_address,
            "subject": self.mail.subject,
            "files": [filename for filename, _ in files],
            "received": self.row.received_at.astimezone(self.zone).strftime("%d-%m-%Y %H:%M %Z"),
        }
        # A stranger's address: an RFC 3834 auto-reply, under the Mailer's limits.
        self.reply(NOT_BRANCH_TEMPLATE, context, auto_submitted="auto-replied")
        self.row.reason = (
            f"recap refused: sender {self.mail.from_address or '(none)'} is not a branch address"
        )
        log.info("recap mail inbound #%s refused: %s", self.inbound_id, self.row.reason)

    def refused_file(self, branch_id: str, filename: str, data: bytes, refusal: RecapRefused) -> RecapFile:
        """A spreadsheet of this mail kept unread, refused for `refusal`."""
        return RecapFile(
            branch=branch_id,
            received_at=self.now,
            inbound_id=self.inbound_id,
            filename=filename[:255],
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
            raw=data,
            state="refused",
            reason=refusal.reason,
        )

    # -- the reply ------------------------------------------------------------

    def reply(self, template: str, context: Mapping[str, object], *, auto_submitted: str) -> None:
        if not self.mail.from_address:
            log.warning("recap mail inbound #%s has no sender address: no reply", self.inbound_id)
            return
        self.desk.mailer.queue(
            self.session,
            Outgoing(
                kind=REPLY_KIND,
                recipient=self.mail.from_address,
                template=template,
                context=context,
                auto_submitted=auto_submitted,
                cause_inbound_id=self.inbound_id,
                in_reply_to=None if self.mail.message_id_synthetic else self.mail.message_id,
                language="id",
            ),
        )
