"""`caredesk init DIR`: a new site folder with a config, the example rules and the templates.

Everything a new installation edits is written into one folder: a commented
`caredesk.toml` that runs on the embedded default (SQLite, a Maildir, `.eml`
files out), the shipped example `rules.yaml`, and a copy of the shipped mail
templates, and a private `var/` for the database, the Maildir and the
outbox, with the Maildir's folders made, so a complaint can be dropped into
`var/mail/new/` before the first run. A new site folder and `var/` are 0700 and `caredesk.toml` 0600,
whatever the umask: the folder is where the password files go. Nothing that
exists is ever overwritten: when any of the three is already there, nothing at
all is written and the command says what is in the way.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from daemon import private, shipped
from daemon.commands import UserError
from daemon.config import SITE_CONFIG

MAILDIR_FOLDERS = ("new", "cur", "tmp")


def cmd_init(args: argparse.Namespace) -> int:
    site: Path = args.directory
    targets = {
        site / SITE_CONFIG: shipped.site_config(),
        site / "rules.yaml": shipped.example_rules(),
        site / "templates": shipped.templates(),
    }
    in_the_way = [str(path) for path in targets if path.exists() or path.is_symlink()]
    if in_the_way:
        raise UserError(f"not overwriting what exists: {', '.join(in_the_way)}; nothing was written")
    if site.exists() and not site.is_dir():
        raise UserError(f"{site} exists and is not a folder")
    try:
        # The site folder comes to hold password files and, under var/, the database,
        # the mailbox and the outbox: a new one is private (0700), and so is var/.
        private.private_directory(site)
        for target, source in targets.items():
            if source.is_dir():
                shutil.copytree(source, target)
            else:
                shutil.copyfile(source, target)
        private.make_private(site / SITE_CONFIG)
        private.private_directory(site / "var")
        for folder in MAILDIR_FOLDERS:
            # The Maildir the shipped caredesk.toml reads (`maildir:var/mail`).
            private.private_directory(site / "var" / "mail" / folder)
    except OSError as error:
        raise UserError(f"cannot write {error.filename or site}: {error.strerror}") from None
    print(f"caredesk: wrote {site / SITE_CONFIG}, {site / 'rules.yaml'} and {site / 'templates'}/")
    print(f"next: cd {site} && caredesk rules check && caredesk run")
    print("      (drop a complaint .eml into var/mail/new; replies appear in var/outbox)")
    return 0
