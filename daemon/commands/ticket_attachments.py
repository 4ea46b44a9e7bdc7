"""`caredesk tickets attachments REF --out DIR`: write a ticket's attachments out, safely.

The attachments are those of the mails processed onto the ticket, read back
from the stored raw mails (`daemon.tickets.mail_attachments`). Each is written
into DIR (created when missing) under a name made safe by
`daemon.tickets.attachments.safe_filename`: one file name, never a path from
the mail, so nothing lands outside DIR. An existing file is never overwritten:
the next free `name (2).ext` is used instead, and two attachments of the same
name get two files. Each file written is printed, with the name the mail gave
when that differs.
`tickets show` lists them (`daemon.commands.tickets.attachment_lines`).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from daemon.commands import UserError, configure, open_engine
from daemon.store import db, queries
from daemon.tickets.attachments import name_candidates, safe_filename, size_text
from daemon.tickets.mail_attachments import TicketAttachment, ticket_attachments

MAX_TRIES = 10_000
"""Most numbered names tried for one attachment before giving up."""


@dataclass(frozen=True)
class Written:
    """One attachment written: where to, and the name the mail gave it."""

    path: Path
    named: str
    content_type: str
    size: int


def cmd_tickets_attachments(args: argparse.Namespace) -> int:
    config = configure(args)
    with open_engine(config) as engine, db.session(engine) as session:
        ticket = queries.find_ticket(session, args.reference)
        if ticket is None:
            raise UserError(f"no ticket {args.reference}")
        reference = ticket.reference
        found = ticket_attachments(session, ticket)
    if not found:
        print(f"{reference} has no attachments")
        return 0
    for written in write_attachments(found, Path(args.out)):
        renamed = f"  (named {written.named!r} in the mail)" if written.path.name != written.named else ""
        print(f"wrote {written.path}  {written.content_type}, {size_text(written.size)}{renamed}")
    print(f"{len(found)} attachment(s) of {reference} written to {args.out}")
    return 0


def write_attachments(found: Sequence[TicketAttachment], out: Path) -> list[Written]:
    """Write each attachment into `out` under a safe, new name; never outside `out`, never over a file."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"cannot use {out} as the folder to write to: {error}") from None
    if not out.is_dir():
        raise UserError(f"{out} is not a folder")
    folder = out.resolve()
    used: set[str] = set()
    return [_write_one(item, folder, used) for item in found]


def _write_one(item: TicketAttachment, folder: Path, used: set[str]) -> Written:
    """Write one attachment under the first free candidate name; `used` holds this run's names."""
    attachment = item.attachment
    for number, name in enumerate(name_candidates(safe_filename(attachment.filename))):
        if number >= MAX_TRIES:
            break
        # Names differing only in case are one file on Windows and macOS.
        if name.casefold() in used:
            continue
        path = folder / name
        if path.parent != folder:  # safe_filename never yields one; checked all the same
            raise UserError(f"refusing to write {name!r}: not a plain file name")
        try:
            # Exclusive creation: an existing file (or symbolic link) is never written through.
            file = path.open("xb")
        except FileExistsError:
            continue
        except OSError as error:
            raise UserError(f"cannot write {path}: {error}") from None
        try:
            with file:
                file.write(attachment.payload)
        except OSError as error:
            path.unlink(missing_ok=True)  # ours, half written
            raise UserError(f"cannot write {path}: {error}") from None
        used.add(name.casefold())
        return Written(path, attachment.filename, attachment.content_type, attachment.size)
    raise UserError(f"no free file name for {attachment.filename!r} in {folder}")
