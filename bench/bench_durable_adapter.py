"""Benchmark: one evaluation (one prosecutor's facts) through the durable_rules adapter.

~150 rules (tiers over indicator values, event adjustments, vetoes, boolean flags) against ~300
facts, as the engine will compile them. Baseline measured in the same run: a plain-Python loop
evaluating the same conditions with closures. The ratio (adapter ÷ baseline) is what the C engine
path costs on top of the rules themselves.

    .venv/bin/python bench/bench_durable_adapter.py [--rules 150] [--facts 300] [--runs 2000]
"""

from __future__ import annotations

import argparse
import operator
import os
import platform
import random
import statistics
import time
from collections.abc import Callable, Mapping
from typing import Any

from rulesvc.engine.backends.durable import RuleSpec, clear_cache, compile_rules

EVENT_TYPES = ["quality_review", "disciplinary_finding", "commendation", "case_closed", "complaint"]
RATINGS = ["excellent", "good", "fair", "poor"]
LEVELS = ["province", "city", "county"]


def scheme(n_rules: int, rng: random.Random) -> tuple[list[RuleSpec], list[str]]:
    """Tier rules (5 per indicator) plus adjustment, veto and flag rules, ``n_rules`` in all."""
    rules: list[RuleSpec] = []
    codes: list[str] = []
    n_tier_codes = max(1, int(n_rules * 0.6) // 5)
    cuts = [0.0, 0.6, 0.8, 0.9, 0.95, 1.01]
    for c in range(n_tier_codes):
        code = f"ind_{c:03d}"
        codes.append(code)
        for t in range(5):
            cond = {"$and": [{"t": "ind"}, {"code": code}, {"$gte": {"value": cuts[t]}}, {"$lt": {"value": cuts[t + 1]}}]}
            rules.append(RuleSpec(f"{code}.tier{t}", cond))
    while len(rules) < n_rules:
        k = len(rules)
        kind = k % 3
        if kind == 0:
            cond = {"$and": [{"t": "ev"}, {"event_type": rng.choice(EVENT_TYPES)}, {"rating": rng.choice(RATINGS)},
                             {"reviewer_level": rng.choice(LEVELS)}]}  # fmt: skip
        elif kind == 1:
            cond = {"$and": [{"t": "ev"}, {"event_type": "disciplinary_finding"}, {"kind": f"k{k % 7}"},
                             {"responsible": True}]}  # fmt: skip
        else:
            cond = {"$and": [{"t": "ind"}, {"code": rng.choice(codes)}, {f"cond_{k % 9}": True}]}
        rules.append(RuleSpec(f"r{k}", cond))
    return rules, codes


def facts_for(n_facts: int, codes: list[str], rng: random.Random) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for code in codes:
        fact = {"id": f"ind:{code}", "t": "ind", "code": code, "value": rng.random()}
        fact.update({f"cond_{j}": rng.random() < 0.3 for j in range(9)})
        out.append(fact)
    i = 0
    while len(out) < n_facts:
        out.append({
            "id": f"ev:{i}", "t": "ev", "event_type": rng.choice(EVENT_TYPES), "rating": rng.choice(RATINGS),
            "reviewer_level": rng.choice(LEVELS), "kind": f"k{rng.randrange(7)}", "responsible": rng.random() < 0.5,
            "case_id": f"案件-{rng.randrange(10**6)}", "note": "质量评查优秀",
        })  # fmt: skip
        i += 1
    return out


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "$eq": operator.eq, "$neq": operator.ne, "$lt": operator.lt, "$lte": operator.le,
    "$gt": operator.gt, "$gte": operator.ge,
}  # fmt: skip


def closure(cond: Mapping[str, Any]) -> Callable[[Mapping[str, Any]], bool]:
    """The baseline: a condition compiled to nested Python closures."""
    ((key, arg),) = cond.items()
    if key in ("$and", "$or"):
        parts = [closure(c) for c in arg]
        want = key == "$or"  # $and stops at the first False, $or at the first True

        def combine(f: Mapping[str, Any]) -> bool:
            for p in parts:
                if p(f) is want:
                    return want
            return not want

        return combine
    op = _OPS.get(key, operator.eq)
    name, value = next(iter(arg.items())) if key in _OPS else (key, arg)

    def exact(f: Mapping[str, Any]) -> bool:
        v = f.get(name)
        return v is not None and op(v, value)

    return exact


def percentile(samples: list[float], p: float) -> float:
    return sorted(samples)[min(len(samples) - 1, int(p * len(samples)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rules", type=int, default=150)
    ap.add_argument("--facts", type=int, default=300)
    ap.add_argument("--runs", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    rules, codes = scheme(args.rules, rng)
    subjects = [facts_for(args.facts, codes, rng) for _ in range(20)]

    t0 = time.perf_counter()
    compiled = compile_rules(f"bench-{args.rules}-{args.seed}", rules)
    compile_ms = (time.perf_counter() - t0) * 1e3
    tests = [(r.name, closure(r.condition)) for r in rules]

    def baseline(facts: list[dict[str, Any]]) -> list[tuple[str, str]]:
        return [(name, f["id"]) for f in facts for name, test in tests if test(f)]

    for facts in subjects:  # warm up, and check both paths agree
        got = sorted((x.rule, x.fact_id) for x in compiled.run(facts))
        assert got == sorted(baseline(facts)), "adapter and baseline disagree"
    firings = sum(len(compiled.run(f)) for f in subjects) / len(subjects)

    def timed(evaluate: Callable[[list[dict[str, Any]]], object], runs: int) -> list[float]:
        out = []
        for i in range(runs):  # each path in its own loop, so neither evicts the other's caches
            facts = subjects[i % len(subjects)]
            t = time.perf_counter()
            evaluate(facts)
            out.append((time.perf_counter() - t) * 1e3)
        return out

    adapter_ms = timed(compiled.run, args.runs)
    base_ms = timed(baseline, max(50, args.runs // 10))  # ~30x slower: fewer runs suffice

    a50, a99 = statistics.median(adapter_ms), percentile(adapter_ms, 0.99)
    b50, b99 = statistics.median(base_ms), percentile(base_ms, 0.99)
    print(f"python {platform.python_version()} on {platform.machine()}, load average {os.getloadavg()[0]:.2f}, "
          f"{args.runs} evaluations")  # fmt: skip
    print(f"{len(rules)} rules in {compiled.ruleset_count} C ruleset(s), planned pending branches "
          f"{list(compiled.pending_branches)}; compile {compile_ms:.1f} ms")  # fmt: skip
    print(f"{args.facts} facts per evaluation, {firings:.0f} firings on average")
    print(f"durable adapter : p50 {a50:.3f} ms  p99 {a99:.3f} ms")
    print(f"python baseline : p50 {b50:.3f} ms  p99 {b99:.3f} ms")
    print(f"ratio (adapter / baseline): p50 {a50 / b50:.2f}x  p99 {a99 / b99:.2f}x")
    clear_cache()


if __name__ == "__main__":
    main()
