"""The suite's mail counts hold on any day of the month, the reminder days included.

The shipped rules.yaml has branches, so on days 1-5 of a month the daemon
sends branch-recap reminders and from the 6th the report of the missing
recaps (daemon/recap/deadline.py). The embedded default, in service since
the month before (it stored an out-of-office reply 20 days earlier, a day
nothing was due for a site that new), runs here on the
pinned clock of the 1st, the 4th and the 6th of a month with one complaint:
exactly the acknowledgement, the department notice and that day's recap mail
go out, and a second run the same day sends nothing more. On the suite's
default day (tests.clockpin.DEFAULT_INSTANT) only the complaint's two mails do.
"""

from __future__ import annotations

import email
import email.policy
import re
import shutil
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from daemon.cli import main
from daemon.report.mailing import report_recipients
from daemon.route.loader import load_rules
from tests import mailfactory
from tests.clockpin import DEFAULT_INSTANT, config_variables, pin_clock
from tests.integration.helpers import CARE_ADDRESS, PROJECT

# The embedded default names each .eml after the ticket (or "caredesk") and the kind of mail.
OUTBOX_NAME = re.compile(r"^(?:CC-\d{4}-\d{6}|caredesk)-(?P<kind>[a-z-]+)-[0-9a-f]+\.eml$")


def _branch_addresses() -> list[str]:
    """Every address of every branch of the shipped rules: one reminder each."""
    rules = load_rules(PROJECT / "rules.yaml")
    return sorted(address for branch in rules.branches.values() for address in branch.emails)


def _outbox(folder: Path, before: frozenset[Path] = frozenset()) -> list[tuple[str, str]]:
    """(kind, To) of every mail the embedded default wrote (not the files in `before`), sorted."""
    mails = []
    for path in set(folder.glob("*.eml")) - before:
        match = OUTBOX_NAME.match(path.name)
        assert match, f"unexpected outbox file name {path.name}"
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        mails.append((match["kind"], str(message["To"])))
    return sorted(mails)


@pytest.mark.parametrize(
    ("instant", "recap_mail"),
    [
        # 10:00 WIB each day. The 1st: the first reminder to every branch address.
        pytest.param(datetime(2026, 6, 1, 3, 0, tzinfo=UTC), "recap-reminder", id="1st"),
        # The 4th: the second reminder, again to every branch address.
        pytest.param(datetime(2026, 6, 4, 3, 0, tzinfo=UTC), "recap-reminder", id="4th"),
        # The 6th: no reminder; one report of the missing branches to customer care.
        pytest.param(datetime(2026, 6, 6, 3, 0, tzinfo=UTC), "recap-missing", id="6th"),
        # The suite's default day: nothing periodic is due, only the complaint's two mails.
        pytest.param(DEFAULT_INSTANT, None, id="default"),
    ],
)
def test_the_embedded_default_sends_exactly_the_mail_of_the_day(
    instant: datetime, recap_mail: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in config_variables():
        monkeypatch.delenv(name)
    # The site runs 20 days apart on one database: no forward bound on the clock.
    monkeypatch.setenv("CAREDESK_PERIODIC_MAX_CLOCK_FORWARD_HOURS", "0")
    monkeypatch.chdir(tmp_path)
    shutil.copy(PROJECT / "rules.yaml", tmp_path / "rules.yaml")
    new = tmp_path / "var/mail/new"
    new.mkdir(parents=True)
    # In service since the month before: its first mail, 20 days earlier, was a robot's (no ticket).
    pin_clock(monkeypatch, instant - timedelta(days=20))
    (new / "1690000000.M1P1.host").write_bytes(mailfactory.out_of_office(CARE_ADDRESS))
    assert main(["run", "--once"]) == 0
    earlier = frozenset((tmp_path / "var/outbox").glob("*.eml"))
    assert earlier == frozenset()  # nothing periodic for a site that new

    pin_clock(monkeypatch, instant)
    (new / "1700000000.M1P1.host").write_bytes(mailfactory.complaint(sender="budi@example.net"))

    assert main(["run", "--once"]) == 0

    sent = _outbox(tmp_path / "var/outbox", earlier)
    kinds = Counter(kind for kind, _ in sent)
    expected = Counter({"ack": 1, "notice": 1})
    if recap_mail is not None:
        recap = sorted(to for kind, to in sent if kind == recap_mail)
        # The report goes to Customer Care (reports.address), never to the mailbox we read.
        care = load_rules(PROJECT / "rules.yaml").customer_care_address()
        expected_recap = _branch_addresses() if recap_mail == "recap-reminder" else [care]
        assert CARE_ADDRESS not in recap
        assert recap == expected_recap
        expected[recap_mail] = len(expected_recap)
    if recap_mail == "recap-missing":
        # Past the report day (the 5th) of a month the site was in service: last month's report.
        expected["monthly-report"] = len(report_recipients(load_rules(PROJECT / "rules.yaml")))
    assert kinds == expected, sent
    assert ("ack", "budi@example.net") in sent

    assert main(["run", "--once"]) == 0
    assert _outbox(tmp_path / "var/outbox", earlier) == sent
