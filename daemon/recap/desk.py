"""What handling a recap mail works with, carried as one value.

The mail pipeline hands recap intake the rules in force for this mail, the
outbox (`Mailer`), its clock and the desk's configuration. `RecapDesk` keeps
them together, and derives from them what the rest of the package needs: the
local time zone, the organisation a reply is signed by, and the terms a recap
file is imported under.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from daemon.config import Config
from daemon.outbox.enqueue import Mailer
from daemon.recap.store import ImportTerms
from daemon.route.rules import Rules


@dataclass(frozen=True, slots=True)
class RecapDesk:
    """The rules, outbox, clock and configuration a recap mail is handled with."""

    rules: Rules
    mailer: Mailer
    clock: Callable[[], datetime]
    config: Config

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.config.timezone)

    @property
    def org(self) -> dict[str, str]:
        """The organisation as the reply templates show it."""
        return {"name": self.config.name, "address": self.config.address}

    def import_terms(self) -> ImportTerms:
        """What the recap files of a mail are imported under."""
        return ImportTerms(self.rules, self.clock, self.config.reference_prefix, self.zone)
