"""Write the real-world mail corpus: tests/corpus/mails/*.eml, labels.tsv and outbound.tsv.

Run from the project root: `python -m tests.corpus.make_corpus`. Deterministic
(every group draws from its own seeded `random.Random`) and standard library
only; the output is committed, so the corpus test reads files and never runs
this. Re-run it after changing a group, and commit what it wrote.

labels.tsv: one row per mail, columns `file`, `label` (ticket/ignore/bounce),
`sender`, `subject`, `tied`, `class`, `name`, `attachments` (see README.md).
outbound.tsv: the acknowledgements "we sent" before the run, which the corpus
bounces return; the test stores them first.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from tests.corpus import bounces, people, robots, senders
from tests.corpus.cases import LABEL_COLUMNS, OUTBOUND_COLUMNS, Case, Ours
from tests.corpus.texts import People

HERE = Path(__file__).resolve().parent
MAILS = HERE / "mails"


def all_cases() -> tuple[list[Case], Ours]:
    """Every corpus mail, in the order the daemon will read them, and the mails they bounce."""
    who, ours = People(), Ours()
    groups: Iterable[Iterator[Case]] = (
        people.clients(who),
        people.gateways(who),
        people.languages(who),
        robots.baseline_robots(who),
        bounces.dsn_bounces(ours),
        robots.real_return_address(who),
        bounces.plain_bounces(ours),
        people.garbled(who),
        senders.senders(who),
        senders.duplicates(who),
    )
    return [case for group in groups for case in group], ours


def file_name(number: int, case: Case) -> str:
    shape = re.sub(r"[^a-z0-9]+", "-", f"{case.group}-{case.shape}".lower()).strip("-")
    return f"{number:03d}-{shape}.eml"


def write(cases: list[Case], ours: Ours, folder: Path = HERE) -> None:
    mails = folder / "mails"
    mails.mkdir(parents=True, exist_ok=True)
    for old in mails.glob("*.eml"):
        old.unlink()
    rows = ["\t".join(LABEL_COLUMNS)]
    bounced_by: dict[str, str] = {}
    seen: set[bytes] = set()
    for number, case in enumerate(cases, start=1):
        assert case.raw not in seen, f"two corpus mails are the same bytes: {case.group} {case.shape}"
        seen.add(case.raw)
        name = file_name(number, case)
        if case.returns:
            bounced_by[case.returns] = name
        (mails / name).write_bytes(case.raw)
        fields = (
            name,
            case.label,
            case.sender,
            case.subject,
            case.tied,
            case.cls,
            case.name,
            "|".join(case.attachments),
        )
        rows.append("\t".join(fields))
    (folder / "labels.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    sent = ["\t".join(OUTBOUND_COLUMNS)]
    sent += [
        "\t".join((str(s.id), s.message_id, s.recipient, s.reference, s.subject, bounced_by[s.message_id]))
        for s in ours.sent
    ]
    (folder / "outbound.tsv").write_text("\n".join(sent) + "\n", encoding="utf-8")


def main() -> int:
    cases, ours = all_cases()
    write(cases, ours)
    counts: dict[str, int] = {}
    for case in cases:
        counts[case.cls] = counts.get(case.cls, 0) + 1
    summary = ", ".join(f"{name} {count}" for name, count in sorted(counts.items()))
    print(f"wrote {len(cases)} mails to {MAILS} ({summary}) and {len(ours.sent)} sent mails")
    return 0


if __name__ == "__main__":
    sys.exit(main())
