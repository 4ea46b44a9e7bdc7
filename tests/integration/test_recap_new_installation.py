"""A new installation asks the branches only for months it was in service (issue 12, point 12f).

Set up on Sunday 2 August 2026, its first mail stored that morning: on the 2nd,
4th and 6th of August (the first reminder, the second, the report of missing
recaps) nothing about July goes out. On 1 September the first reminder for
August, a month it was in service, goes to every branch.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from daemon.app.service import Daemon
from daemon.config import load_config
from tests import mailfactory
from tests.integration.helpers import FREE_CLOCK, outbound, write_config
from tests.integration.test_recap_deadlines import RULES_TEXT, Clock, drop_into

pytestmark = pytest.mark.integration


def test_new_installation_does_not_remind_for_month_before_it(
    tmp_path: Path, database_url: str, smtp_sink: Any
) -> None:
    (tmp_path / "rules.yaml").write_text(RULES_TEXT)
    maildir = tmp_path / "mail"
    path = write_config(
        tmp_path,
        database_url=database_url,
        mailbox_url=f"maildir:{maildir}",
        smtp_url=smtp_sink.url,
        rules=tmp_path / "rules.yaml",
        extra=FREE_CLOCK,  # a month in four steps on one database
    )
    clock = Clock(datetime(2026, 8, 2, 1, 0, tzinfo=UTC))  # 08:00 in Jakarta
    totals: Counter[str] = Counter()
    with Daemon(load_config(path), clock=clock) as daemon:
        (maildir / "new").mkdir(parents=True)
        drop_into(maildir, "first", mailfactory.complaint(sender="budi@example.net"))
        daemon.poll_mailbox()
        for day in (2, 4, 6, 10):
            clock.now = datetime(2026, 8, day, 3, 0, tzinfo=UTC)
            totals.update(daemon.run_recap_deadlines())
        assert totals == Counter()
        assert [row for row in outbound(database_url) if row.kind.startswith("recap-")] == []

        clock.now = datetime(2026, 9, 1, 3, 0, tzinfo=UTC)
        assert daemon.run_recap_deadlines() == Counter({"recap_reminders": 3})
    reminded = sorted(row.recipient for row in outbound(database_url) if row.kind == "recap-reminder")
    assert reminded == [
        "biro.bali@example.co.id",
        "biro.jatim@example.co.id",
        "biro.sulsel@example.co.id",
        "surabaya@example.co.id",
    ]
