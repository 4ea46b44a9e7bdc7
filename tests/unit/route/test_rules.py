"""Loading and validating rules.yaml: shapes, references, and every error with its position."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from daemon.route.loader import check_rules, load_rules, parse_rules
from daemon.route.rules import Problem, Rules, RulesError, format_problem

ROOT = Path(__file__).resolve().parents[3]

# Lines 1-13; `with_rules` adds `rules:` as line 14, so the first rule starts on line 15.
HEAD = """\
departments:
  - id: customer-care
    name: Customer Care
    email: care@example.co.id
    general_manager: gm.care@example.co.id
  - id: keuangan
    name: Keuangan
    email: keuangan@example.co.id
products:
  - {id: epaper, name: E-Paper, department: keuangan, aliases: [e-paper]}
customers:
  - {domain: vip.example.com, name: VIP Co, tier: vip}
default: {department: customer-care}
"""


def problems_of(text: str) -> list[str]:
    _, problems = check_rules(text, "rules.yaml")
    return [format_problem(problem) for problem in problems]


def errors_of(text: str) -> list[str]:
    rules, problems = check_rules(text, "rules.yaml")
    assert rules is None, "expected the file to be refused"
    return [format_problem(p) for p in problems if p.severity == "error"]


def with_rules(rules_yaml: str) -> str:
    return HEAD + "rules:\n" + rules_yaml


# --- the shipped example --------------------------------------------------------


def test_shipped_rules_yaml_loads_without_errors_or_warnings() -> None:
    rules, problems = check_rules((ROOT / "rules.yaml").read_text(encoding="utf-8"), "rules.yaml")
    assert problems == []
    assert rules is not None
    assert rules.default_department == "customer-care"
    assert {"customer-care", "teknik", "redaksi", "keuangan", "koran", "digital", "iklan"} <= set(
        rules.departments
    )
    assert any(customer.tier == "vip" for customer in rules.customers)
    assert len(rules.branches) >= 3


def test_load_rules_reads_a_path_and_records_version_and_source(tmp_path: Path) -> None:
    text = with_rules("  []\n").replace("rules:\n  []", "rules: []")
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    rules = load_rules(path)
    assert rules.version == hashlib.sha256(text.encode()).hexdigest()[:12]
    assert rules.source == str(path)
    assert rules.rules == ()


def test_missing_file_is_a_rules_error_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(RulesError) as caught:
        load_rules(tmp_path / "absent.yaml")
    assert str(caught.value).startswith(f"{tmp_path / 'absent.yaml'}: error: cannot read")


def test_parse_rules_raises_with_every_error() -> None:
    text = with_rules(
        "  - {name: a, description: d, when: {always: true}, then: {department: nope}}\n"
        "  - {name: b, description: d, when: {always: true}, then: {severity: high}}\n"
    )
    with pytest.raises(RulesError) as caught:
        parse_rules(text, "rules.yaml")
    assert len(caught.value.problems) == 2
    assert "unknown department 'nope'" in str(caught.value)
    assert "severity must be 'major' or 'minor', not 'high'" in str(caught.value)


def test_warnings_are_kept_on_the_loaded_rules() -> None:
    text = with_rules("  - {name: off, description: d, when: {always: false}, then: {tags: [x]}}\n")
    rules = parse_rules(text, "rules.yaml")
    assert [p.severity for p in rules.warnings] == ["warning"]


# --- the values -----------------------------------------------------------------


def test_departments_products_and_rules_are_parsed() -> None:
    text = with_rules(
        "  - name: billing\n"
        "    description: Billing words go to finance\n"
        "    when: {body: {words: [tagihan]}}\n"
        "    then: {department: keuangan, severity: MAJOR, escalate: true, tags: [a, b, a],"
        " sla: urgent, stop: true}\n"
    )
    rules = parse_rules(text, "rules.yaml")
    assert rules.department("keuangan").email == "keuangan@example.co.id"
    assert rules.department("customer-care").general_manager == "gm.care@example.co.id"
    assert rules.product("epaper").aliases == ("e-paper",)
    rule = rules.rules[0]
    assert (rule.name, rule.line) == ("billing", 15)
    assert rule.then.department == "keuangan"
    assert rule.then.severity == "major"
    assert rule.then.escalate and rule.then.stop
    assert rule.then.tags == ("a", "b")
    assert rule.then.sla == "urgent"
    assert rules.default_severity == "minor"
    with pytest.raises(KeyError):
        rules.department("nope")


def test_customer_lookup_prefers_exact_address_then_domain_and_parent_domains() -> None:
    text = HEAD.replace(
        "customers:\n",
        "customers:\n  - {email: Boss@VIP.example.com, name: The Boss, tier: gold}\n",
    )
    rules = parse_rules(text + "rules: []\n", "rules.yaml")

    def name_of(address: str) -> str | None:
        customer = rules.customer_for(address)
        return customer.name if customer else None

    assert name_of("boss@vip.example.com") == "The Boss"
    assert name_of("staff@vip.example.com") == "VIP Co"
    assert name_of("staff@mail.vip.example.com") == "VIP Co"
    assert rules.customer_for("someone@example.com") is None
    assert rules.customer_for("") is None


def test_branch_and_member_lookups() -> None:
    text = HEAD + (
        "branches:\n"
        "  - {id: biro-bali, name: Biro Bali, province: Bali, emails: [Biro.Bali@example.co.id]}\n"
        "rules: []\n"
    )
    rules = parse_rules(text, "rules.yaml")
    branch = rules.branch_for("biro.bali@example.co.id")
    assert branch is not None and branch.id == "biro-bali"
    assert rules.branch_for("other@example.co.id") is None
    assert rules.departments_of_member("keuangan@example.co.id") == ("keuangan",)
    assert rules.departments_of_member("gm.care@example.co.id") == ("customer-care",)


def test_rules_value_is_read_only() -> None:
    rules = parse_rules(HEAD + "rules: []\n", "rules.yaml")
    assert isinstance(rules, Rules)
    with pytest.raises(TypeError):
        rules.departments["x"] = rules.department("keuangan")  # type: ignore[index]


# --- problem formatting ---------------------------------------------------------


def test_format_problem_has_file_line_column_severity_and_rule() -> None:
    problem = Problem("rules.yaml", 3, 7, "bad thing", rule="legal", severity="warning")
    assert format_problem(problem) == "rules.yaml:3:7: warning: rule legal: bad thing"
    assert format_problem(Problem("r.yaml", 0, 0, "cannot read")) == "r.yaml: error: cannot read"


# --- errors, each with its position -----------------------------------------------


def test_yaml_syntax_error_has_its_mark() -> None:
    assert errors_of("departments: [a,\n") == [
        "rules.yaml:2:1: error: YAML syntax: while parsing a flow node: did not find expected node content"
    ]


def test_empty_file_and_non_mapping_file() -> None:
    assert errors_of("") == [
        "rules.yaml:1:1: error: the rules file is empty; it needs departments, default and rules"
    ]
    assert errors_of("- a\n") == [
        "rules.yaml:1:1: error: the rules file must be a mapping of keys to values, not a list"
    ]


def test_unknown_top_level_key_suggests_the_nearest() -> None:
    assert errors_of(HEAD + "rules: []\nprodcts: []\n") == [
        "rules.yaml:15:1: error: unknown key 'prodcts' in the rules file; did you mean 'products'?"
    ]


def test_missing_default_is_an_error() -> None:
    text = HEAD.replace("default: {department: customer-care}\n", "") + "rules: []\n"
    assert errors_of(text) == ["rules.yaml:1:1: error: the rules file is missing required key 'default'"]


def test_missing_departments_is_an_error() -> None:
    assert errors_of("default: {department: x}\nrules: []\n") == [
        "rules.yaml:1:1: error: the rules file is missing required key 'departments'",
        "rules.yaml:1:23: error: unknown department 'x'",
    ]


def test_duplicate_yaml_key_is_an_error_not_an_overwrite() -> None:
    text = HEAD + "rules: []\ndefault: {department: keuangan}\n"
    assert errors_of(text) == ["rules.yaml:15:1: error: duplicate key 'default' (first at line 13)"]


def test_duplicate_department_and_product_ids() -> None:
    text = HEAD.replace(
        "products:\n",
        "  - {id: keuangan, name: Again, email: again@example.co.id}\n"
        "products:\n"
        "  - {id: epaper, name: Twice, department: keuangan}\n",
    )
    assert errors_of(text + "rules: []\n") == [
        "rules.yaml:9:10: error: duplicate department id 'keuangan' (first at line 6)",
        "rules.yaml:12:10: error: duplicate product id 'epaper' (first at line 11)",
    ]


def test_unknown_department_in_product_and_default_suggests_the_nearest() -> None:
    text = HEAD.replace("department: keuangan, aliases", "department: keuangn, aliases")
    text = text.replace("default: {department: customer-care}", "default: {department: care}")
    assert errors_of(text + "rules: []\n") == [
        "rules.yaml:10:45: error: unknown department 'keuangn'; did you mean 'keuangan'?",
        "rules.yaml:13:23: error: unknown department 'care'; expected one of: customer-care, keuangan",
    ]


def test_bad_email_and_missing_required_department_keys() -> None:
    text = HEAD.replace("email: keuangan@example.co.id", "email: keuangan")
    text = text.replace("    name: Customer Care\n", "")
    assert errors_of(text + "rules: []\n") == [
        "rules.yaml:2:5: error: department is missing required key 'name'",
        "rules.yaml:7:12: error: email 'keuangan' is not an email address",
    ]


def test_customer_needs_exactly_one_of_email_or_domain() -> None:
    text = HEAD.replace(
        "  - {domain: vip.example.com, name: VIP Co, tier: vip}",
        "  - {domain: vip.example.com, email: a@vip.example.com, name: VIP Co}",
    )
    assert errors_of(text + "rules: []\n") == [
        "rules.yaml:12:5: error: a customer needs exactly one of 'email' or 'domain'"
    ]


def test_rule_errors_carry_the_rule_name_and_position() -> None:
    text = with_rules(
        "  - name: billing\n"
        "    descripton: typo\n"
        "    when: {body: {words: [tagihan]}}\n"
        "    then: {departmnt: keuangan}\n"
    )
    # The misspelt key is reported once, with a suggestion, not also as "missing".
    assert errors_of(text) == [
        "rules.yaml:16:5: error: rule billing: unknown key 'descripton' in rule; did you mean 'description'?",
        "rules.yaml:18:12: error: rule billing: unknown key 'departmnt' in then; did you mean 'department'?",
    ]


def test_duplicate_and_reserved_rule_names() -> None:
    text = with_rules(
        "  - {name: a, description: d, when: {always: true}, then: {tags: [x]}}\n"
        "  - {name: a, description: d, when: {always: true}, then: {tags: [y]}}\n"
        "  - {name: default, description: d, when: {always: true}, then: {tags: [z]}}\n"
    )
    assert errors_of(text) == [
        "rules.yaml:16:12: error: rule a: duplicate rule name (first at line 15)",
        "rules.yaml:17:12: error: rule default: 'default' is reserved (it marks decisions no rule made)",
    ]


def test_unknown_department_and_product_in_then() -> None:
    text = with_rules(
        "  - {name: a, description: d, when: {always: true}, then: {department: finance, product: paper}}\n"
    )
    assert errors_of(text) == [
        "rules.yaml:15:72: error: rule a: unknown department 'finance'; "
        "expected one of: customer-care, keuangan",
        "rules.yaml:15:90: error: rule a: unknown product 'paper'; did you mean 'epaper'?",
    ]


def test_wrong_types_in_then() -> None:
    text = with_rules(
        "  - name: a\n"
        "    description: d\n"
        "    when: {always: true}\n"
        "    then:\n"
        "      severity: high\n"
        "      escalate: maybe\n"
        "      tags: {x: 1}\n"
        "      stop: 1\n"
    )
    assert errors_of(text) == [
        "rules.yaml:19:17: error: rule a: severity must be 'major' or 'minor', not 'high'; "
        "expected one of: major, minor",
        "rules.yaml:20:17: error: rule a: escalate must be true or false, not 'maybe'",
        "rules.yaml:21:13: error: rule a: tags must be a value or a list of values, not a mapping",
        "rules.yaml:22:13: error: rule a: stop must be true or false, not 1",
    ]


def test_severity_typo_is_suggested() -> None:
    text = with_rules("  - {name: a, description: d, when: {always: true}, then: {severity: majr}}\n")
    assert errors_of(text) == [
        "rules.yaml:15:70: error: rule a: severity must be 'major' or 'minor', not 'majr'; "
        "did you mean 'major'?"
    ]


@pytest.mark.parametrize(("when", "column"), [("", 10), ("{}", 11)])
def test_empty_when_is_an_error(when: str, column: int) -> None:
    text = with_rules(f"  - name: a\n    description: d\n    when: {when}\n    then: {{tags: [x]}}\n")
    assert errors_of(text) == [
        f"rules.yaml:17:{column}: error: rule a: when is empty; "
        "use 'always: true' for a rule that matches every mail"
    ]


def test_bad_regex_reports_pythons_message_and_position() -> None:
    text = with_rules(
        "  - name: invoice\n"
        "    description: d\n"
        "    when: {subject: {regex: 'INV-(\\d+'}}\n"
        "    then: {tags: [x]}\n"
    )
    assert errors_of(text) == [
        "rules.yaml:17:29: error: rule invoice: bad regex 'INV-(\\d+': "
        "missing ), unterminated subpattern at position 4"
    ]


def test_dubious_regex_is_a_warning_not_a_crash() -> None:
    text = with_rules("  - {name: a, description: d, when: {subject: {regex: '[[a]'}}, then: {tags: [x]}}\n")
    [message] = problems_of(text)
    assert message == ("rules.yaml:15:55: warning: rule a: regex '[[a]': Possible nested set at position 1")


def test_unknown_condition_and_operator_keys_suggest_the_nearest() -> None:
    text = with_rules(
        "  - name: a\n"
        "    description: d\n"
        "    when:\n"
        "      bodyy: {words: [x]}\n"
        "      subject: {wrods: [x]}\n"
        "    then: {tags: [x]}\n"
    )
    assert errors_of(text) == [
        "rules.yaml:18:7: error: rule a: unknown condition 'bodyy' in when; did you mean 'body'?",
        "rules.yaml:19:17: error: rule a: unknown key 'wrods' in subject; did you mean 'words'?",
    ]


def test_text_fields_need_an_explicit_operator() -> None:
    text = with_rules("  - {name: a, description: d, when: {body: somasi}, then: {tags: [x]}}\n")
    assert errors_of(text) == [
        "rules.yaml:15:44: error: rule a: body needs an operator: words, regex, equals or glob "
        "(for example 'body: {words: [...]}'), not 'somasi'"
    ]


def test_one_operator_per_field_and_ignore_case_only_for_regex() -> None:
    text = with_rules(
        "  - name: a\n"
        "    description: d\n"
        "    when:\n"
        "      subject: {words: [x], regex: y}\n"
        "      body: {words: [x], ignore_case: true}\n"
        "    then: {tags: [x]}\n"
    )
    assert errors_of(text) == [
        "rules.yaml:18:29: error: rule a: subject has several operators (words, regex); "
        "combine them with all: or any:",
        "rules.yaml:19:26: error: rule a: ignore_case applies to regex only; "
        "words, equals and glob always ignore case",
    ]


def test_words_need_letters_and_lists_must_not_be_empty() -> None:
    text = with_rules(
        "  - name: a\n"
        "    description: d\n"
        "    when:\n"
        "      body: {words: ['!!!']}\n"
        "      subject: {words: []}\n"
        "      any: []\n"
        "    then: {tags: [x]}\n"
    )
    assert errors_of(text) == [
        "rules.yaml:18:22: error: rule a: body words '!!!' has no letters or digits to match",
        "rules.yaml:19:24: error: rule a: subject words must not be an empty list",
        "rules.yaml:20:12: error: rule a: any is empty; it needs at least one condition",
    ]


def test_unknown_references_in_conditions() -> None:
    text = with_rules(
        "  - name: a\n"
        "    description: d\n"
        "    when:\n"
        "      product: [epaper, koran]\n"
        "      branch: biro-x\n"
        "      language: fr\n"
        "    then: {tags: [x]}\n"
    )
    assert errors_of(text) == [
        "rules.yaml:18:25: error: rule a: unknown product 'koran'; expected one of: epaper",
        "rules.yaml:19:15: error: rule a: unknown branch 'biro-x'",
        "rules.yaml:20:17: error: rule a: language must be 'id' or 'en', not 'fr'",
    ]


def test_history_and_customer_conditions_are_checked() -> None:
    text = with_rules(
        "  - name: a\n"
        "    description: d\n"
        "    when:\n"
        "      history: {at_least: 0, within_days: thirty}\n"
        "      customer: {known: false, tier: vip}\n"
        "    then: {tags: [x]}\n"
    )
    assert errors_of(text) == [
        "rules.yaml:18:27: error: rule a: at_least must be a whole number of at least 1, not 0",
        "rules.yaml:18:43: error: rule a: within_days must be a whole number of at least 1, not 'thirty'",
        "rules.yaml:19:32: error: rule a: tier cannot be combined with known: false",
    ]


def test_header_needs_a_name_and_attachment_needs_a_part() -> None:
    text = with_rules(
        "  - name: a\n"
        "    description: d\n"
        "    when:\n"
        "      header: {equals: x}\n"
        "      attachment: {}\n"
        "    then: {tags: [x]}\n"
    )
    assert errors_of(text) == [
        "rules.yaml:18:15: error: rule a: header is missing required key 'name'",
        "rules.yaml:19:19: error: rule a: attachment needs 'filename' or 'content_type'",
    ]


def test_all_problems_are_collected_not_just_the_first() -> None:
    text = with_rules(
        "  - {name: a, description: d, when: {body: {regex: '('}}, then: {department: x}}\n"
        "  - {name: b, description: d, when: {}, then: {severity: high}}\n"
        "  - {name: b, description: d, when: {always: true}, then: {product: y}}\n"
    )
    rules, problems = check_rules(text, "rules.yaml")
    assert rules is None
    assert len(problems) == 6
    assert [p.line for p in problems] == sorted(p.line for p in problems)


# --- warnings ---------------------------------------------------------------------


def test_rule_after_a_catch_all_with_stop_is_a_warning() -> None:
    text = with_rules(
        "  - {name: everything, description: d, when: {always: true}, then: {tags: [x], stop: true}}\n"
        "  - {name: late, description: d, when: {body: {words: [x]}}, then: {tags: [y]}}\n"
    )
    assert problems_of(text) == [
        "rules.yaml:16:5: warning: rule late: can never match: rule 'everything' (line 15) "
        "matches every mail and has stop: true"
    ]


def test_equivalent_catch_alls_are_recognised() -> None:
    text = with_rules(
        "  - name: everything\n"
        "    description: d\n"
        "    when: {any: [{body: {words: [x]}}, {not: {always: false}}], subject: {glob: '*'}}\n"
        "    then: {stop: true}\n"
        "  - {name: late, description: d, when: {body: {words: [x]}}, then: {tags: [y]}}\n"
    )
    [warning] = problems_of(text)
    assert warning.startswith(
        "rules.yaml:19:5: warning: rule late: can never match: rule 'everything' (line 15)"
    )


def test_catch_all_without_stop_hides_nothing() -> None:
    text = with_rules(
        "  - {name: everything, description: d, when: {always: true}, then: {tags: [x]}}\n"
        "  - {name: late, description: d, when: {body: {words: [x]}}, then: {tags: [y]}}\n"
    )
    assert problems_of(text) == []


def test_unknown_customer_tier_is_a_warning() -> None:
    text = with_rules(
        "  - {name: a, description: d, when: {customer: {tier: platinum}}, then: {tags: [x]}}\n"
    )
    assert problems_of(text) == [
        "rules.yaml:15:55: warning: rule a: no customer in the customers list has tier 'platinum'"
    ]
