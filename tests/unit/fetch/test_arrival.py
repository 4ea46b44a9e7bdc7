"""Which mailbox arrival times are believed: the SLA clock of a ticket starts at the one kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from daemon.fetch.intake import ARRIVAL_SLACK, believed_arrival

NOW = datetime(2026, 7, 21, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("arrived", "kept"),
    [
        pytest.param(NOW - timedelta(hours=5), True, id="hours-ago"),
        pytest.param(NOW - timedelta(days=40), True, id="a-backlog"),
        pytest.param(NOW + ARRIVAL_SLACK - timedelta(seconds=1), True, id="a-drifting-clock"),
        pytest.param(NOW + ARRIVAL_SLACK + timedelta(seconds=1), False, id="in-the-future"),
        pytest.param(datetime(1970, 1, 1, tzinfo=UTC), False, id="epoch-zero"),
        pytest.param(None, False, id="unknown"),
    ],
)
def test_an_arrival_time_is_kept_only_when_it_can_be_true(arrived: datetime | None, kept: bool) -> None:
    assert believed_arrival(arrived, NOW) == (arrived if kept else None)
