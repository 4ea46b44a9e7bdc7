"""A periodic job's (job, period) is claimed once across sessions, processes and databases."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from daemon.store import claims, db

NOW = datetime(2026, 11, 1, 1, 0, tzinfo=UTC)


def test_a_period_is_claimed_once_and_a_rollback_gives_it_back(database_url: str) -> None:
    engine = db.make_engine(database_url)
    db.create_schema(engine)
    try:
        with db.session(engine) as session:
            assert claims.claim(session, "recap-reminder", "2026-11/jabar/1st", now=NOW)
            session.rollback()  # the work failed: the claim is not kept
        with db.session(engine) as session:
            assert claims.claim(session, "recap-reminder", "2026-11/jabar/1st", now=NOW)
            session.commit()
        with db.session(engine) as session:
            assert not claims.claim(session, "recap-reminder", "2026-11/jabar/1st", now=NOW)
            assert claims.claim(session, "recap-reminder", "2026-11/jabar/4th", now=NOW)
            session.commit()
    finally:
        engine.dispose()


def test_concurrent_claimers_have_exactly_one_winner(database_url: str) -> None:
    engine = db.make_engine(database_url)
    db.create_schema(engine)
    wins: list[bool] = []
    barrier = threading.Barrier(4)

    def contender() -> None:
        with db.session(engine) as session:
            barrier.wait()
            won = claims.claim(session, "sla-ladder", "sla/CC-2026-000001/first_response/breach", now=NOW)
            session.commit()
            wins.append(won)

    threads = [threading.Thread(target=contender) for _ in range(4)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        engine.dispose()
    assert sorted(wins) == [False, False, False, True]
