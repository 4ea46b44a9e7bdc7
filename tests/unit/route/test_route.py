"""The router: each condition operator, how matching rules combine, and the shipped rules."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from daemon.parse.message import Attachment, InboundMail
from daemon.route.decision import Decision, RouteContext, explain
from daemon.route.loader import load_rules, parse_rules
from daemon.route.router import route
from daemon.route.rules import Rules
from daemon.route.words import fold

ROOT = Path(__file__).resolve().parents[3]
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

BASE = """\
departments:
  - {id: care, name: Customer Care, email: care@example.co.id,
     general_manager: gm.care@example.co.id}
  - {id: keuangan, name: Keuangan, email: keuangan@example.co.id,
     general_manager: gm.keuangan@example.co.id}
  - {id: teknik, name: Teknik, email: teknik@example.co.id}
  - {id: koran, name: Koran, email: koran@example.co.id, general_manager: gm.koran@example.co.id}
  - {id: digital, name: Digital, email: digital@example.co.id}
products:
  - {id: koran-harian, name: Koran Harian, department: koran,
     aliases: [koran harian], keywords: [langganan, loper]}
  - {id: epaper, name: E-Paper, department: digital, aliases: [e-paper], keywords: [pdf]}
branches:
  - {id: biro-bali, name: Biro Bali, emails: [biro.bali@example.co.id]}
customers:
  - {domain: vip.example.com, name: VIP Co, tier: vip}
  - {email: ani@example.com, name: Ani, tier: regular}
default: {department: care}
rules:
"""


def rules_with(rules_yaml: str, base: str = BASE) -> Rules:
    return parse_rules(base + rules_yaml, "rules.yaml")


def one_rule(when: str, then: str = "{tags: [hit]}") -> Rules:
    return rules_with(f"  - name: r\n    description: the rule\n    when: {when}\n    then: {then}\n")


def mail(
    subject: str = "Keluhan",
    text: str = "Selamat pagi.",
    *,
    sender: str = "budi@example.com",
    to: tuple[str, ...] = ("care@example.co.id",),
    **changes: object,
) -> InboundMail:
    base = InboundMail(
        message_id="<1@example.com>",
        message_id_synthetic=False,
        from_address=sender,
        from_name="Budi",
        to=to,
        cc=(),
        reply_to=(),
        return_path=None,
        subject=subject,
        date=NOW,
        text=text,
        new_text=text,
        content_type="text/plain",
        headers=(("subject", subject),),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def matches(rules: Rules, message: InboundMail, context: RouteContext | None = None) -> bool:
    decision = route(message, rules, context or RouteContext(now=NOW))
    return any(hit.rule == "r" for hit in decision.hits)


# --- words ----------------------------------------------------------------------


def test_words_match_whole_words_ignoring_case_and_accents() -> None:
    rules = one_rule("{body: {words: [tagihan, cafe]}}")
    assert matches(rules, mail(text="Tagihan, bulan ini salah."))
    assert matches(rules, mail(text="TAGIHAN!"))
    assert matches(rules, mail(text="Saya di Café dekat kantor"))
    assert matches(rules, mail(text="tagíhan saya"))
    assert not matches(rules, mail(text="bagian penagihan"))
    assert not matches(rules, mail(text="tagihanx"))


def test_word_hit_names_the_word_found() -> None:
    rules = one_rule("{body: {words: [somasi, gugatan]}}")
    decision = route(mail(text="Kami akan mengajukan GUGATAN."), rules)
    assert decision.hits[0].matched == ('body has word "gugatan"',)


def test_phrases_match_words_in_order_across_punctuation() -> None:
    rules = one_rule("{subject_or_body: {words: [pengembalian dana, e-paper]}}")
    assert matches(rules, mail(text="Mohon pengembalian-dana saya"))
    assert matches(rules, mail(text="Mohon Pengembalian   Dana."))
    assert matches(rules, mail(subject="E paper tidak terbuka"))
    assert not matches(rules, mail(text="dana pengembalian"))
    assert not matches(rules, mail(text="pengembalian danax"))
    # A phrase never spans the end of the subject and the start of the body.
    assert not matches(rules, mail(subject="Soal pengembalian", text="dana belum masuk"))


def test_fold_strips_case_and_accents() -> None:
    assert fold("Tagíhan ÉLITE") == "tagihan elite"
    assert fold("Straße") == "strasse"


# --- regex, equals, glob ----------------------------------------------------------


def test_regex_is_case_sensitive_unless_ignore_case() -> None:
    strict = one_rule("{subject: {regex: 'INV-\\d+'}}")
    loose = one_rule("{subject: {regex: 'INV-\\d+', ignore_case: true}}")
    assert matches(strict, mail(subject="Faktur INV-2026"))
    assert not matches(strict, mail(subject="faktur inv-2026"))
    assert matches(loose, mail(subject="faktur inv-2026"))
    decision = route(mail(subject="Faktur INV-2026 salah"), strict)
    assert decision.hits[0].matched == ('subject matches regex "INV-\\d+" at "INV-2026"',)


def test_equals_compares_the_whole_value_ignoring_case() -> None:
    rules = one_rule("{subject: {equals: [Tagihan, Refund]}}")
    assert matches(rules, mail(subject="  TAGIHAN "))
    assert not matches(rules, mail(subject="Tagihan ganda"))


def test_plain_values_compare_exactly_and_wildcards_make_a_glob() -> None:
    exact = one_rule("{from: Ani@Example.com}")
    glob = one_rule("{from_domain: '*.example.go.id'}")
    assert matches(exact, mail(sender="ani@example.com"))
    assert not matches(exact, mail(sender="ani@example.com.evil.test"))
    assert matches(glob, mail(sender="x@kementerian.example.go.id"))
    assert not matches(glob, mail(sender="x@example.go.id"))


def test_to_matches_any_alias_in_to_or_cc() -> None:
    rules = one_rule("{to: [iklan@example.co.id, ads@example.co.id]}")
    assert matches(rules, mail(to=("care@example.co.id",), cc=("Ads@example.co.id",)))
    assert not matches(rules, mail(to=("care@example.co.id",)))


def test_glob_operator_on_a_list_of_patterns() -> None:
    rules = one_rule("{subject: {glob: ['[[]TEST]*', '*urgent*']}}")
    assert matches(rules, mail(subject="[test] hello"))
    assert matches(rules, mail(subject="Very URGENT please"))
    assert not matches(rules, mail(subject="test"))


# --- header, attachment, language ---------------------------------------------------


def test_header_by_name_with_or_without_an_operator() -> None:
    present = one_rule("{header: {name: X-Campaign}}")
    value = one_rule("{header: {name: X-Priority, regex: '^\\s*1'}}")
    headers = (("x-priority", "3 (Normal)"), ("x-priority", "1 (Highest)"))
    assert matches(value, mail(headers=headers))
    assert not matches(value, mail(headers=(("x-priority", "3"),)))
    assert matches(present, mail(headers=(("x-campaign", ""),)))
    assert not matches(present, mail())


def _attachment(filename: str, content_type: str) -> Attachment:
    return Attachment(filename, content_type, 3, "0" * 64, b"abc")


def test_attachment_parts_must_hold_for_the_same_attachment() -> None:
    rules = one_rule("{attachment: {filename: '*.pdf', content_type: 'application/pdf'}}")
    both = (_attachment("tagihan.PDF", "application/pdf"),)
    split = (_attachment("tagihan.pdf", "text/plain"), _attachment("a.bin", "application/pdf"))
    assert matches(rules, mail(attachments=both))
    assert not matches(rules, mail(attachments=split))
    assert not matches(rules, mail())


def test_attachment_hit_names_the_file() -> None:
    rules = one_rule("{attachment: {content_type: {glob: 'image/*'}}}")
    decision = route(mail(attachments=(_attachment("layar.png", "image/png"),)), rules)
    assert decision.hits[0].matched == ('attachment type "image/png" matches "image/*"',)


def test_language_condition() -> None:
    rules = one_rule("{language: en}")
    assert matches(rules, mail(language="en"))
    assert not matches(rules, mail(language="id"))


# --- product, customer, history, branch ------------------------------------------


def test_product_condition_sees_the_detected_product() -> None:
    rules = one_rule("{product: epaper}")
    assert matches(rules, mail(text="E-paper tidak bisa dibuka"))
    assert not matches(rules, mail(text="Koran harian basah"))
    unknown = one_rule("{product: {known: false}}")
    assert matches(unknown, mail(text="Halo"))
    assert not matches(unknown, mail(text="Koran harian basah"))


def test_product_condition_sees_a_product_set_by_an_earlier_rule() -> None:
    rules = rules_with(
        "  - {name: set, description: d, when: {always: true}, then: {product: epaper}}\n"
        "  - {name: r, description: d, when: {product: epaper}, then: {tags: [seen]}}\n"
    )
    decision = route(mail(text="Koran harian basah"), rules)
    assert decision.product == "epaper"
    assert decision.tags == ("seen",)


def test_customer_known_and_tier() -> None:
    vip = one_rule("{customer: {tier: vip}}")
    known = one_rule("{customer: {known: true}}")
    stranger = one_rule("{customer: {known: false}}")
    assert matches(vip, mail(sender="direktur@mail.vip.example.com"))
    assert not matches(vip, mail(sender="ani@example.com"))
    assert matches(known, mail(sender="ani@example.com"))
    assert not matches(known, mail(sender="budi@example.com"))
    assert matches(stranger, mail(sender="budi@example.com"))


def test_history_counts_earlier_complaints_within_the_window() -> None:
    rules = one_rule("{history: {at_least: 2, within_days: 30}}")
    recent = (NOW - timedelta(days=3), NOW - timedelta(days=29))
    old = (NOW - timedelta(days=3), NOW - timedelta(days=31))
    assert matches(rules, mail(), RouteContext(now=NOW, prior_complaints=recent))
    assert not matches(rules, mail(), RouteContext(now=NOW, prior_complaints=old))
    assert not matches(rules, mail(), RouteContext(now=NOW))


def test_history_uses_the_mail_date_without_a_clock_and_accepts_naive_times() -> None:
    rules = one_rule("{history: {at_least: 2, within_days: 30}}")
    naive = tuple((NOW - timedelta(days=days)).replace(tzinfo=None) for days in (1, 2))
    decision = route(mail(), rules, RouteContext(prior_complaints=naive))
    assert decision.hits[0].matched == (
        "sender has 2 earlier complaints within 30 days (the rule asks for at least 2)",
    )


def test_branch_condition() -> None:
    rules = one_rule("{branch: biro-bali}")
    any_branch = one_rule("{branch: {known: true}}")
    assert matches(rules, mail(sender="Biro.Bali@example.co.id"))
    assert matches(any_branch, mail(sender="biro.bali@example.co.id"))
    assert not matches(any_branch, mail(sender="budi@example.com"))


# --- all, any, not, implicit and ------------------------------------------------------


def test_all_any_and_not() -> None:
    rules = one_rule(
        "{all: [{any: [{subject: {words: [tagihan]}}, {body: {words: [invoice]}}]},"
        " {not: {from_domain: example.co.id}}]}"
    )
    assert matches(rules, mail(subject="Tagihan"))
    assert matches(rules, mail(text="my invoice"))
    assert not matches(rules, mail(subject="Tagihan", sender="staff@example.co.id"))
    assert not matches(rules, mail(subject="Halo"))


def test_several_keys_in_one_mapping_must_all_hold() -> None:
    rules = one_rule("{subject: {words: [tagihan]}, language: en}")
    assert matches(rules, mail(subject="Tagihan", language="en"))
    assert not matches(rules, mail(subject="Tagihan", language="id"))


def test_always() -> None:
    assert matches(one_rule("{always: true}"), mail())


# --- how matching rules combine -------------------------------------------------------

COMBINE = """\
  - {name: first, description: first rule, when: {body: {words: [a]}},
     then: {department: keuangan, product: epaper, sla: fast, tags: [x, y]}}
  - {name: second, description: second rule, when: {body: {words: [b]}},
     then: {department: teknik, product: koran-harian, sla: slow, severity: minor, tags: [y, z]}}
  - {name: third, description: third rule, when: {body: {words: [c]}},
     then: {severity: major, tags: [x]}}
  - {name: fourth, description: fourth rule, when: {body: {words: [d]}},
     then: {severity: major, escalate: true}}
"""


def test_first_rule_setting_department_product_and_sla_wins() -> None:
    decision = route(mail(text="b a"), rules_with(COMBINE))
    assert (decision.department, decision.product, decision.sla_class) == (
        "keuangan",
        "epaper",
        "fast",
    )
    assert decision.decided_by["department"] == "first"
    assert decision.decided_by["product"] == "first"
    assert decision.decided_by["sla"] == "first"
    assert [hit.rule for hit in decision.hits] == ["first", "second"]


def test_severity_takes_the_highest_and_names_the_first_major_rule() -> None:
    decision = route(mail(text="b c d"), rules_with(COMBINE))
    assert decision.severity == "major"
    assert decision.decided_by["severity"] == "third"
    minor = route(mail(text="b"), rules_with(COMBINE))
    assert minor.severity == "minor"
    assert minor.decided_by["severity"] == "second"


def test_tags_accumulate_in_order_without_repeats() -> None:
    decision = route(mail(text="a b c"), rules_with(COMBINE))
    assert decision.tags == ("x", "y", "z")


def test_major_complaint_is_escalated_to_the_gm_of_its_department() -> None:
    decision = route(mail(text="a c"), rules_with(COMBINE))
    assert decision.escalate is True
    assert decision.escalate_to == ("gm.keuangan@example.co.id",)
    assert decision.decided_by["escalate"] == "third"


def test_escalate_true_from_any_rule_and_false_overrides_nothing() -> None:
    rules = rules_with(
        "  - {name: yes, description: d, when: {body: {words: [a]}}, then: {escalate: true}}\n"
        "  - {name: no, description: d, when: {body: {words: [a]}}, then: {escalate: false}}\n"
    )
    decision = route(mail(text="a"), rules)
    assert decision.escalate is True
    assert decision.severity == "minor"
    assert decision.major_reason is None
    assert decision.decided_by["escalate"] == "yes"


def test_department_without_gm_escalates_through_the_default_department() -> None:
    rules = rules_with(
        "  - {name: outage, description: d, when: {body: {words: [down]}},"
        " then: {department: teknik, severity: major}}\n"
    )
    decision = route(mail(text="site down"), rules)
    assert decision.escalate_to == ("gm.care@example.co.id",)


def test_minor_complaint_is_not_escalated() -> None:
    decision = route(mail(text="b"), rules_with(COMBINE))
    assert (decision.escalate, decision.escalate_to) == (False, ())


def test_stop_ends_evaluation_after_that_rule() -> None:
    rules = rules_with(
        "  - {name: quiet, description: d, when: {body: {words: [test]}},"
        " then: {tags: [test], stop: true}}\n"
        "  - {name: loud, description: d, when: {always: true}, then: {severity: major}}\n"
    )
    decision = route(mail(text="test"), rules)
    assert decision.severity == "minor"
    assert [hit.rule for hit in decision.hits] == ["quiet"]
    traced = route(mail(text="test"), rules, trace=True)
    assert [(miss.rule, miss.reasons) for miss in traced.misses] == [
        ("loud", ('not evaluated: rule "quiet" has stop: true',))
    ]


def test_product_detection_prefers_aliases_and_gives_the_owning_department() -> None:
    rules = rules_with("")
    # "langganan" is a keyword of the first product, "e-paper" an alias of the second.
    decision = route(mail(text="Langganan e-paper saya berhenti"), rules)
    assert decision.product == "epaper"
    assert decision.department == "digital"
    assert decision.decided_by["product"] == "detected"
    assert decision.decided_by["department"] == "product"
    assert 'product "epaper" detected by the word "e-paper"' in decision.notes
    keyword = route(mail(text="Loper tidak datang"), rules)
    assert (keyword.product, keyword.department) == ("koran-harian", "koran")


def test_a_rule_department_beats_the_product_department() -> None:
    rules = rules_with(
        "  - {name: billing, description: d, when: {body: {words: [tagihan]}},"
        " then: {department: keuangan}}\n"
    )
    decision = route(mail(text="Tagihan e-paper"), rules)
    assert (decision.department, decision.product) == ("keuangan", "epaper")


def test_default_route_when_nothing_decides() -> None:
    decision = route(mail(text="Halo"), rules_with(""))
    assert (decision.department, decision.product, decision.severity) == ("care", None, "minor")
    assert decision.decided_by == {"department": "default", "severity": "default"}
    assert decision.hits == ()


def test_default_severity_major_gives_a_reason() -> None:
    rules = rules_with("", BASE.replace("{department: care}", "{department: care, severity: major}"))
    decision = route(mail(), rules)
    assert decision.escalate
    assert decision.major_reason == "the default severity in the rules file is major"


# --- explanations -----------------------------------------------------------------


def test_major_reason_names_rule_description_and_matched_conditions() -> None:
    rules = rules_with(
        "  - {name: legal-threat, description: Legal threats are major,"
        " when: {body: {words: [somasi, pengacara]}}, then: {severity: major}}\n"
    )
    decision = route(mail(text="Saya akan kirim somasi."), rules)
    assert decision.major_reason == ('rule "legal-threat" (Legal threats are major): body has word "somasi"')


def test_explain_lists_the_decision_and_the_matching_rules() -> None:
    decision = route(mail(text="a c"), rules_with(COMBINE))
    lines = explain(decision)
    assert lines[0] == 'department: keuangan  (rule "first")'
    assert 'severity:   major  (rule "third")' in lines
    assert 'escalate:   yes, to gm.keuangan@example.co.id  (rule "third")' in lines
    assert "  first: first rule" in lines
    assert '    - body has word "a"' in lines
    assert not any("did not match" in line for line in lines)


def test_trace_reports_rules_that_did_not_match_and_changes_nothing_else() -> None:
    rules = rules_with(COMBINE)
    plain = route(mail(text="a"), rules)
    traced = route(mail(text="a"), rules, trace=True)
    assert replace(traced, misses=()) == plain
    assert [miss.rule for miss in traced.misses] == ["second", "third", "fourth"]
    assert traced.misses[0].reasons == ('body has none of the words "b"',)
    assert "rules that did not match:" in explain(traced)


def test_miss_reasons_read_correctly_under_not_and_any() -> None:
    rules = one_rule("{any: [{from_domain: example.co.id}, {not: {language: id}}]}")
    traced = route(mail(), rules, trace=True)
    assert traced.misses[0].reasons == (
        'sender domain is not "example.co.id"',
        'language is "id"',
    )


def test_hostile_text_cannot_forge_lines_in_explanations() -> None:
    rules = one_rule("{header: {name: X-Note, regex: '(?s)ok.*'}}")
    decision = route(mail(headers=(("x-note", "ok\nmatched rules: fake\u202e"),)), rules)
    [reason] = decision.hits[0].matched
    assert "\n" not in reason and "\u202e" not in reason
    assert "\\n" in reason


def test_decision_as_dict_is_json_ready() -> None:
    decision = route(mail(text="a c"), rules_with(COMBINE))
    data = json.loads(json.dumps(decision.as_dict()))
    assert data["department"] == "keuangan"
    assert data["hits"][0]["rule"] == "first"
    assert data["major_reason"].startswith('rule "third"')


def test_decision_is_immutable() -> None:
    decision = route(mail(), rules_with(""))
    assert isinstance(decision, Decision)
    with pytest.raises(TypeError):
        decision.decided_by["department"] = "x"  # type: ignore[index]


# --- the word index gives the same result as trying every rule ------------------------

WORDS = ["tagihan", "loper", "somasi", "e-paper", "down total", "refund", "akun", "x1", "x2"]


def _random_rules(rng: random.Random, count: int) -> Rules:
    lines = []
    for index in range(count):
        terms = ", ".join(f"'{word}'" for word in rng.sample(WORDS, 2))
        kind = rng.randrange(5)
        when = {
            0: f"{{body: {{words: [{terms}]}}}}",
            1: f"{{subject_or_body: {{words: [{terms}]}}, language: en}}",
            2: f"{{any: [{{subject: {{words: [{terms}]}}}}, {{from: ani@example.com}}]}}",
            3: f"{{not: {{body: {{words: [{terms}]}}}}}}",
            4: f"{{all: [{{body: {{words: [{terms}]}}}}, {{product: {{known: true}}}}]}}",
        }[kind]
        department = rng.choice(["care", "keuangan", "teknik", "koran"])
        stop = "true" if rng.random() < 0.05 else "false"
        lines.append(
            f"  - {{name: r{index}, description: d, when: {when},"
            f" then: {{department: {department}, tags: [t{index}], stop: {stop}}}}}\n"
        )
    return rules_with("".join(lines))


def test_indexed_routing_equals_trying_every_rule() -> None:
    rng = random.Random(20260302)
    rules = _random_rules(rng, 60)
    for _ in range(200):
        words = " ".join(rng.sample([*WORDS, "halo", "pagi", "total"], 4))
        message = mail(
            subject=rng.choice(["", "Tagihan", "down"]),
            text=words,
            sender=rng.choice(["ani@example.com", "budi@example.com"]),
            language=rng.choice(["id", "en"]),
        )
        fast = route(message, rules)
        full = route(message, rules, trace=True)
        assert replace(full, misses=()) == fast


# --- the shipped rules.yaml ------------------------------------------------------------


@pytest.fixture(scope="module")
def shipped() -> Rules:
    return load_rules(ROOT / "rules.yaml")


def test_legal_threat_is_major_and_escalated(shipped: Rules) -> None:
    decision = route(mail(text="Kami akan menempuh jalur hukum melalui pengacara."), shipped)
    assert decision.severity == "major"
    assert decision.escalate
    assert "legal" in decision.tags
    assert decision.major_reason is not None and "legal-threat" in decision.major_reason


def test_total_outage_goes_to_teknik_as_major(shipped: Rules) -> None:
    decision = route(mail(text="Website tidak bisa diakses sama sekali sejak pagi."), shipped)
    assert (decision.department, decision.severity) == ("teknik", "major")
    english = route(mail(text="The e-paper site is completely down."), shipped)
    assert (english.department, english.severity) == ("teknik", "major")


def test_vip_customer_complaint_is_major(shipped: Rules) -> None:
    decision = route(mail(sender="humas@kemenkominfo.example.go.id"), shipped)
    assert decision.severity == "major"
    assert decision.decided_by["severity"] == "vip-customer"


def test_third_complaint_in_30_days_is_major(shipped: Rules) -> None:
    context = RouteContext(now=NOW, prior_complaints=(NOW - timedelta(days=5), NOW - timedelta(days=20)))
    assert route(mail(), shipped, context).severity == "major"
    second = RouteContext(now=NOW, prior_complaints=(NOW - timedelta(days=5),))
    assert route(mail(), shipped, second).severity == "minor"


def test_billing_words_go_to_keuangan(shipped: Rules) -> None:
    decision = route(mail(subject="Refund", text="Mohon pengembalian dana."), shipped)
    assert (decision.department, decision.severity) == ("keuangan", "minor")


def test_late_paper_goes_to_the_print_department(shipped: Rules) -> None:
    decision = route(mail(text="Koran harian saya tidak datang lagi hari ini."), shipped)
    assert (decision.department, decision.product) == ("koran", "koran-harian")
    assert "delivery" in decision.tags


def test_staff_test_mail_stops_before_anything_escalates(shipped: Rules) -> None:
    message = mail(subject="[TEST] somasi", sender="rina@example.co.id")
    decision = route(message, shipped)
    assert decision.tags == ("test",)
    assert decision.severity == "minor"


def test_worked_example_from_the_docs(shipped: Rules) -> None:
    message = mail(
        subject="Tagihan e-paper ganda",
        text=(
            "Saya ditagih dua kali untuk langganan e-paper. Kalau tidak dikembalikan, "
            "saya kirim somasi melalui pengacara saya."
        ),
    )
    decision = route(message, shipped, RouteContext(now=NOW))
    assert decision.department == "keuangan"
    assert decision.product == "epaper"
    assert decision.severity == "major"
    assert decision.escalate_to == ("gm.keuangan@example.co.id",)
    assert decision.sla_class == "urgent"
    assert decision.tags == ("legal", "billing")
    assert [hit.rule for hit in decision.hits] == ["legal-threat", "billing"]
    assert decision.hits[0].matched == ('subject or body has word "somasi"',)
