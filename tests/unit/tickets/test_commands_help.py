"""The command list staff get in their confirmation when no `help_url` is set names every command."""

from __future__ import annotations

import re

from daemon import shipped
from daemon.tickets.commands import COMMAND_ALIASES


def test_the_shipped_command_list_names_every_reply_command() -> None:
    text = (shipped.templates() / "commands_help.txt").read_text(encoding="utf-8")
    written = set(re.findall(r"#([a-z][a-z-]*)", text))
    missing = [name for name, aliases in COMMAND_ALIASES.items() if not written & set(aliases)]
    assert missing == []
