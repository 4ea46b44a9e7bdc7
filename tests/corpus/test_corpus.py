"""The real-world corpus (issue 14): every mail of tests/corpus/mails through one `run --once`.

On SQLite and PostgreSQL. Per mail, against labels.tsv: a ticket for the
customer with the expected address and the exact decoded subject (no U+FFFD,
no undecoded encoded-word, no lone surrogate), an ignored row and no
acknowledgement for robots and bounces, each bounce of our mail tied to the
acknowledgement it returns, and no mail quarantined or left with a traceback.
All failures are collected and reported together, one line per mail.
`python -m tests.corpus.figures` prints the same checks counted per class.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.clockpin import config_variables
from tests.corpus import harness
from tests.corpus.cases import CLASSES, LABELS

pytestmark = pytest.mark.integration


def test_the_labels_cover_every_corpus_mail_once() -> None:
    rows = harness.labels()
    files = sorted(path.name for path in harness.MAILS.glob("*.eml"))
    assert sorted(row.file for row in rows) == files
    assert len(files) >= 300
    assert {row.label for row in rows} == set(LABELS)
    assert {row.cls for row in rows} == set(CLASSES)
    bounced = {item.file for item in harness.returned()}
    assert bounced == {row.file for row in rows if row.tied == "yes"}


def test_every_corpus_mail_ends_as_labelled(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in config_variables():
        monkeypatch.delenv(name)
    run = harness.run_corpus(tmp_path, database_url)

    assert run.returncode == 0, run.stderr[-4000:]
    assert "Traceback" not in run.stderr, run.stderr[-4000:]
    failures = run.failures()
    assert not failures, (
        f"{len(failures)} of {len(run.labels)} corpus mails did not end as labelled:\n" + "\n".join(failures)
    )
