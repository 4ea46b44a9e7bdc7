"""The package layout keeps its plan: no import cycles between modules or stage packages.

import-linter (run by .ci/run, contracts in pyproject.toml) checks the direction
of imports between the stages; this test checks what a layers contract cannot
see: a cycle between two modules of one package. It also holds every module to
500 lines, so that a module stays one thing a reader can hold in mind.
"""

from __future__ import annotations

from pathlib import Path

import grimp

import daemon

LONGEST_MODULE = 500

STAGES = (
    "app",
    "fetch",
    "parse",
    "classify",
    "route",
    "tickets",
    "sla",
    "outbox",
    "send",
    "periodic",
    "store",
    "recap",
    "report",
    "commands",
)


def _graph() -> grimp.ImportGraph:
    return grimp.build_graph("daemon", exclude_type_checking_imports=True)


def test_no_module_imports_a_module_that_imports_it_back() -> None:
    graph = _graph()
    cycles = sorted(
        (importer, imported)
        for importer in graph.modules
        for imported in graph.find_modules_directly_imported_by(importer)
        if importer < imported and graph.direct_import_exists(importer=imported, imported=importer)
    )
    assert cycles == []


def test_no_chain_of_imports_leads_back_to_where_it_started() -> None:
    graph = _graph()
    looping = sorted(
        module
        for module in graph.modules
        for imported in graph.find_modules_directly_imported_by(module)
        if graph.chain_exists(importer=imported, imported=module)
    )
    assert looping == []


def test_every_stage_is_a_package_under_daemon() -> None:
    graph = _graph()
    assert {f"daemon.{stage}" for stage in STAGES} <= graph.modules


def test_no_module_is_longer_than_a_reader_can_hold() -> None:
    root = Path(daemon.__file__).parent
    lengths = {
        str(path.relative_to(root.parent)): len(path.read_text(encoding="utf-8").splitlines())
        for path in root.rglob("*.py")
    }
    too_long = {name: lines for name, lines in lengths.items() if lines > LONGEST_MODULE}
    assert too_long == {}, f"split these modules (at most {LONGEST_MODULE} lines each): {too_long}"
