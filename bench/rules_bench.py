"""Benchmark: load + validate 1,000 routing rules, and route typical complaints.

Not a test: prints figures. The targets from the routing issue are under 1 s
to load and validate 1,000 rules and under 1 ms median to route one typical
complaint against them.

    .venv/bin/python bench/rules_bench.py [--rules 1000] [--mails 300] [--seed 7]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from daemon.parse.message import InboundMail
from daemon.route.router import RouteContext, route
from daemon.route.rules import parse_rules

# Words real complaints use, so generated rules hit generated mail now and then.
VOCABULARY = (
    "tagihan",
    "pembayaran",
    "langganan",
    "koran",
    "loper",
    "terlambat",
    "datang",
    "basah",
    "robek",
    "aplikasi",
    "login",
    "password",
    "website",
    "artikel",
    "berita",
    "ralat",
    "koreksi",
    "iklan",
    "banner",
    "faktur",
    "refund",
    "pengiriman",
    "alamat",
    "rumah",
    "kantor",
    "pagi",
    "siang",
    "malam",
    "minggu",
    "bulan",
    "tahun",
    "tolong",
    "segera",
    "mohon",
    "bantuan",
    "terima",
    "kasih",
    "kecewa",
    "sekali",
    "pelayanan",
    "buruk",
    "lambat",
    "cepat",
    "harga",
    "mahal",
    "invoice",
    "payment",
    "delivery",
    "late",
    "wet",
    "torn",
    "subscription",
    "account",
    "error",
    "page",
    "slow",
    "help",
)
TERM_SPACE = 40_000
DEPARTMENTS = [f"dept{i:02d}" for i in range(12)]
PRODUCTS = [f"prod{i:02d}" for i in range(30)]


def _term(rng: random.Random) -> str:
    # Rule words are specific: most come from a large space of distinct terms,
    # a few are common words, so a typical mail hits a handful of rules.
    if rng.random() < 0.004:
        return rng.choice(VOCABULARY)
    return f"kata{rng.randrange(TERM_SPACE)}"


def _words(rng: random.Random, count: int) -> list[str]:
    # One in four terms is a phrase, as in real rule files.
    terms = []
    for _ in range(count):
        if rng.random() < 0.25:
            terms.append(f"{_term(rng)} {_term(rng)}")
        else:
            terms.append(_term(rng))
    return terms


def _yaml_list(items: list[str]) -> str:
    return "[" + ", ".join(f'"{item}"' for item in items) + "]"


def _condition(rng: random.Random, index: int) -> str:
    kind = rng.random()
    field = rng.choice(["subject_or_body", "body", "subject"])
    if kind < 0.60:
        return f"{field}: {{words: {_yaml_list(_words(rng, rng.randint(3, 10)))}}}"
    if kind < 0.70:
        return f'from_domain: {{glob: "*.client{index}.example.com"}}'
    if kind < 0.78:
        return f'subject: {{regex: "(?:INV|REF)-{index}-\\\\d+", ignore_case: true}}'
    if kind < 0.83:
        return "customer: {tier: vip}"
    if kind < 0.88:
        return f'header: {{name: X-Campaign, equals: "c{index}"}}'
    if kind < 0.93:
        return f'to: ["alias{index}@example.co.id"]'
    inner = _yaml_list(_words(rng, 4))
    return (
        f"any: [{{body: {{words: {inner}}}}}, "
        f'{{all: [{{language: en}}, {{not: {{from_domain: "partner{index}.example.com"}}}}]}}]'
    )


def _then(rng: random.Random) -> str:
    parts = [f"tags: [t{rng.randrange(40)}]"]
    if rng.random() < 0.5:
        parts.append(f"department: {rng.choice(DEPARTMENTS)}")
    if rng.random() < 0.1:
        parts.append("severity: major")
    if rng.random() < 0.2:
        parts.append(f"product: {rng.choice(PRODUCTS)}")
    return "{" + ", ".join(parts) + "}"


def rules_text(rng: random.Random, count: int) -> str:
    lines = ["departments:"]
    for department in DEPARTMENTS:
        lines += [
            f"  - id: {department}",
            f"    name: Department {department}",
            f"    email: {department}@example.co.id",
            f"    general_manager: gm.{department}@example.co.id",
        ]
    lines.append("products:")
    for product in PRODUCTS:
        lines += [
            f"  - id: {product}",
            f"    name: Product {product}",
            f"    department: {rng.choice(DEPARTMENTS)}",
            f"    aliases: {_yaml_list(_words(rng, 3))}",
            f"    keywords: {_yaml_list(_words(rng, 5))}",
        ]
    lines += ["customers:", "  - {domain: vip.example.com, name: VIP Co, tier: vip}"]
    lines += ["default: {department: dept00, severity: minor}", "rules:"]
    for index in range(count):
        lines += [
            f"  - name: rule-{index:04d}",
            f"    description: Generated rule number {index}",
            f"    when: {{{_condition(rng, index)}}}",
            f"    then: {_then(rng)}",
        ]
    return "\n".join(lines) + "\n"


def complaint(rng: random.Random, index: int) -> InboundMail:
    body_words = [
        rng.choice(VOCABULARY) if rng.random() < 0.7 else f"kata{rng.randrange(TERM_SPACE)}"
        for _ in range(rng.randint(80, 200))
    ]
    text = "Dengan hormat,\n\n" + " ".join(body_words) + ".\n\nSalam,\nPelanggan"
    return InboundMail(
        message_id=f"<bench{index}@example.com>",
        message_id_synthetic=False,
        from_address=f"pelanggan{index}@mail{index % 7}.example.com",
        from_name="Pelanggan",
        to=("customercare@example.co.id",),
        cc=(),
        reply_to=(),
        return_path=None,
        subject=" ".join(rng.sample(VOCABULARY, 5)).capitalize(),
        date=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
        text=text,
        new_text=text,
        content_type="text/plain",
        headers=(("subject", "x"), ("x-mailer", "bench")),
        language=rng.choice(["id", "id", "en"]),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--mails", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    text = rules_text(rng, args.rules)
    load_times = []
    for _ in range(3):
        started = time.perf_counter()
        rules = parse_rules(text, "generated.yaml")
        load_times.append(time.perf_counter() - started)
    print(f"rules: {len(rules.rules)} ({len(text.splitlines())} lines)")
    print(f"load+validate: {min(load_times):.3f} s best, {statistics.median(load_times):.3f} s median")

    mails = [complaint(rng, index) for index in range(args.mails)]
    history = tuple(datetime(2026, 2, day, tzinfo=UTC) for day in (3, 17))
    context = RouteContext(now=datetime(2026, 3, 2, tzinfo=UTC), prior_complaints=history)
    route_times = []
    hits = 0
    for mail in mails:
        started = time.perf_counter()
        decision = route(mail, rules, context)
        route_times.append(time.perf_counter() - started)
        hits += len(decision.hits)
    median_ms = statistics.median(route_times) * 1000
    p95_ms = sorted(route_times)[int(len(route_times) * 0.95)] * 1000
    print(f"route: {median_ms:.3f} ms median, {p95_ms:.3f} ms p95 over {len(mails)} mails")
    print(f"rule hits per mail: {hits / len(mails):.1f}")
    started = time.perf_counter()
    route(mails[0], rules, context, trace=True)
    print(f"route with trace (rules test --verbose): {(time.perf_counter() - started) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
