"""The durable_rules adapter: exact firings as data, every hazard of durable-notes.md mitigated (H…)."""

from __future__ import annotations

import threading
import uuid

import pytest

from rulesvc.engine.backends import durable
from rulesvc.engine.backends.conditions import ENGINE_PENDING_LIMIT, SAFE_PENDING_BRANCHES
from rulesvc.engine.backends.durable import (
    DurableBackendError,
    Firing,
    RuleSpec,
    cache_info,
    clear_cache,
    compile_rules,
    set_cache_size,
)
from rulesvc.engine.backends.facts import MAX_FACTS, fnv1_32
from rulesvc.engine.errors import DefinitionError, EvaluationError

CUTS = [0.0, 0.6, 0.8, 0.9, 0.95, 1.01]
TIERS = [
    RuleSpec(f"plea_rate.t{t}", {"$and": [{"t": "ind"}, {"code": "plea_rate"}, {"$gte": {"value": CUTS[t]}},
                                           {"$lt": {"value": CUTS[t + 1]}}]})  # fmt: skip
    for t in range(5)
]
ADJUST = RuleSpec("review.excellent.province", {"$and": [{"t": "ev"}, {"event_type": "quality_review"},
                                                         {"rating": "excellent"}, {"reviewer_level": "province"}]})  # fmt: skip
VETO = RuleSpec("veto.wrongful", {"$and": [{"t": "ev"}, {"event_type": "disciplinary_finding"},
                                           {"kind": "wrongful_case"}, {"responsible": True}]})  # fmt: skip
FLAG = RuleSpec("flag.x3", {"$and": [{"t": "ind"}, {"code": "x"}, {"cond_3": True}]})


def key() -> str:
    return f"test-{uuid.uuid4().hex}"


@pytest.fixture(autouse=True)
def _fresh_cache():
    clear_cache()
    yield
    set_cache_size(durable.DEFAULT_CACHE_SIZE)
    clear_cache()


def test_each_tier_fires_exactly_once_for_the_fact_in_its_band():
    compiled = compile_rules(key(), TIERS)
    facts = [{"id": f"f{i}", "t": "ind", "code": "plea_rate", "value": v} for i, v in enumerate([0.3, 0.6, 0.93, 0.95, 1.0])]
    assert compiled.run(facts) == [
        Firing("plea_rate.t0", "f0"), Firing("plea_rate.t1", "f1"), Firing("plea_rate.t3", "f2"),
        Firing("plea_rate.t4", "f3"), Firing("plea_rate.t4", "f4"),
    ]  # fmt: skip


def test_adjustment_veto_and_flag_rules_fire_on_their_facts_only():
    compiled = compile_rules(key(), [ADJUST, VETO, FLAG])
    facts = [
        {"id": "e1", "t": "ev", "event_type": "quality_review", "rating": "excellent", "reviewer_level": "province"},
        {"id": "e2", "t": "ev", "event_type": "quality_review", "rating": "excellent", "reviewer_level": "city"},
        {"id": "e3", "t": "ev", "event_type": "disciplinary_finding", "kind": "wrongful_case", "responsible": True},
        {"id": "e4", "t": "ev", "event_type": "disciplinary_finding", "kind": "wrongful_case", "responsible": False},
        {"id": "i1", "t": "ind", "code": "x", "cond_3": True, "value": 0.5},
    ]
    assert compiled.run(facts) == [Firing(ADJUST.name, "e1"), Firing(VETO.name, "e3"), Firing(FLAG.name, "i1")]


def test_or_with_several_true_branches_fires_once(): # H15
    rule = RuleSpec("any", {"$or": [{"t": "ind"}, {"$gte": {"value": 0.5}}, {"$in": {"code": ["a", "b"]}}]})
    compiled = compile_rules(key(), [rule])
    assert compiled.run([{"id": 1, "t": "ind", "value": 0.9, "code": "a"}]) == [Firing("any", "1")]


def test_nothing_matched_is_an_empty_result():  # H8
    compiled = compile_rules(key(), TIERS + [ADJUST])
    assert compiled.run([{"id": "a", "t": "ind", "code": "other", "value": 0.9}]) == []
    assert compiled.run([]) == []


def test_chinese_text_matches(): # H17
    rule = RuleSpec("优秀", {"$and": [{"评查结果": "优秀"}, {"部门": "第一检察部"}]})
    compiled = compile_rules(key(), [rule])
    facts = [{"id": "案件-1", "评查结果": "优秀", "部门": "第一检察部"}, {"id": "案件-2", "评查结果": "合格", "部门": "第一检察部"}]
    assert compiled.run(facts) == [Firing("优秀", "案件-1")]


@pytest.mark.parametrize(
    ("value", "threshold", "fires"),
    [(1e-7, 1e-8, True), (1e-7, 1e-6, False), (1e16, 9999999999999998.0, True), (0.1 + 0.2, 0.3, True),
     (5e-324, 0.0, True), (-1e300, -1e299, False), (1.7976931348623157e308, 1e308, True), (3, 2.5, True)],
)  # fmt: skip
def test_floats_of_any_magnitude_compare_exactly(value, threshold, fires):  # H2
    compiled = compile_rules(key(), [RuleSpec("gt", {"$gt": {"value": threshold}})])
    assert compiled.run([{"id": "a", "value": value}, {"id": "b", "value": 1.0}]) == (
        [Firing("gt", "a")] if fires else []
    ) + ([Firing("gt", "b")] if 1.0 > threshold else [])


def test_equality_on_a_float_that_prints_in_exponent_form():  # H2
    compiled = compile_rules(key(), [RuleSpec("eq", {"value": 1e-7}), RuleSpec("eq16", {"value": 1e16})])
    assert compiled.run([{"id": "a", "value": 1e-7}, {"id": "b", "value": 1e16}, {"id": "c", "value": 1e-6}]) == [
        Firing("eq", "a"), Firing("eq16", "b"),
    ]  # fmt: skip


def test_more_than_300_rules_are_split_over_rulesets_and_all_fire():  # H3
    rules = [RuleSpec(f"ge{k}", {"$gte": {"value": float(k)}}) for k in range(320)]
    compiled = compile_rules(key(), rules)
    assert compiled.ruleset_count > 1
    assert max(compiled.pending_branches) <= SAFE_PENDING_BRANCHES < ENGINE_PENDING_LIMIT
    got = compiled.run([{"id": "hi", "value": 1000.0}, {"id": "mid", "value": 99.5}])
    assert got == [Firing(f"ge{k}", "hi") for k in range(320)] + [Firing(f"ge{k}", "mid") for k in range(100)]


def test_a_single_rule_wider_than_the_budget_is_refused():  # H3
    wide = RuleSpec("wide", {"$or": [{"$gte": {"value": float(k)}} for k in range(60)]})
    with pytest.raises(DefinitionError, match="pending"):
        compile_rules(key(), [wide])


def test_facts_with_the_same_content_are_not_deduplicated():  # H11
    compiled = compile_rules(key(), [ADJUST])
    same = {"t": "ev", "event_type": "quality_review", "rating": "excellent", "reviewer_level": "province"}
    assert compiled.run([{"id": "a", **same}, {"id": "b", **same}]) == [Firing(ADJUST.name, "a"), Firing(ADJUST.name, "b")]


@pytest.mark.parametrize(
    ("condition", "fragment"),
    [
        ({"$let": {"value": 1}}, "did you mean $lt"),  # H11: a typo is refused
        ({"$and": [{"t": "ind"}, {"$al": [{"x": 1}]}]}, "unknown operator"),
        ({"$not": {"t": "ind"}}, "H19"),
        ({"$gt": {"value": {"$div": {"$l": {"m": "a"}, "$r": {"m": "b"}}}}}, "constant"),  # H1, H13
        ({"$div": {"value": 2}}, "H1"),
        ({"$mt": {"name": "张.*"}}, "H18"),
        ({"value": {"m": "other"}}, "constant"),  # H18: no joins on floats or anything else
        ({"$lt": {"name": "b"}}, "ordering"),
        ({"$and": [{"code": "a"}, {"code": 1}]}, "H16"),
        ({"$and": []}, "non-empty"),
        ({"t": "ind", "code": "x"}, "exactly one key"),
        ({"id": "x"}, "reserved"),
        ({"$eq": {"bad name": 1}}, "field name"),
        ({"value": float("nan")}, "finite"),
        ({"value": [1, 2]}, "unsupported value"),
        ({"t": "\x01" * 11_000}, "bytes"),  # 66 KB as JSON: the engine's 16-bit length would wrap
    ],
)
def test_bad_conditions_are_refused_at_compile_time(condition, fragment):
    with pytest.raises(DefinitionError, match=fragment.replace("$", r"\$")) as info:
        compile_rules(key(), [RuleSpec("ok", {"t": "ind"}), RuleSpec("bad", condition)])
    assert info.value.path.startswith("rules[1].condition")


def test_repeated_rule_names_and_bad_keys_are_refused():
    with pytest.raises(DefinitionError, match="repeated"):
        compile_rules(key(), [RuleSpec("a", {"t": "x"}), RuleSpec("a", {"t": "y"})])
    with pytest.raises(DefinitionError, match="key"):
        compile_rules("bad key with spaces", [RuleSpec("a", {"t": "x"})])


def test_values_are_coerced_to_the_field_type(): # H16
    compiled = compile_rules(key(), [RuleSpec("big", {"$gt": {"n": 10}})], field_types={"code": "string"})
    assert compiled.field_types == {"code": "string", "n": "number"}
    got = compiled.run([{"id": "a", "n": "9"}, {"id": "b", "n": "11"}, {"id": "c", "n": 12}, {"id": "d", "n": None}])
    assert got == [Firing("big", "b"), Firing("big", "c")]


@pytest.mark.parametrize(
    "fact",
    [{"t": "ind"}, {"id": True, "t": "ind"}, {"id": "a", "value": float("inf")}, {"id": "a", "value": True},
     {"id": "a", "value": "nine"}, {"id": "a", "t": "\ud800"}, {"id": "a", "t": 1.5}, {"id": "a", "value": 2**60},
     {"id": "a", "t": "x" * 20_000}, {"id": "a", "t": "\x01" * 11_000}],  # 16-bit string lengths wrap at 64 KiB
)  # fmt: skip
def test_bad_facts_are_refused_and_the_ruleset_stays_usable(fact):
    compiled = compile_rules(key(), [RuleSpec("r", {"$and": [{"t": "ind"}, {"$gt": {"value": 0.5}}]})])
    with pytest.raises(DurableBackendError) as info:
        compiled.run([{"id": "ok", "t": "ind", "value": 0.9}, fact])
    assert isinstance(info.value, EvaluationError)
    assert compiled.run([{"id": "ok", "t": "ind", "value": 0.9}]) == [Firing("r", "ok")]


def test_repeated_fact_ids_are_refused():  # H11
    compiled = compile_rules(key(), [FLAG])
    with pytest.raises(DurableBackendError, match="repeats id"):
        compiled.run([{"id": "a", "t": "ind"}, {"id": "a", "t": "ind"}])


def test_eight_threads_get_exactly_the_single_threaded_firings():  # H7
    compiled = compile_rules(key(), TIERS + [ADJUST, VETO, FLAG])
    subjects = [
        [{"id": f"s{s}i{i}", "t": "ind", "code": "plea_rate", "value": (s * 7 + i) % 100 / 97} for i in range(20)]
        + [{"id": f"s{s}e{i}", "t": "ev", "event_type": "quality_review", "rating": "excellent",
            "reviewer_level": "province" if (s + i) % 3 else "city"} for i in range(10)]  # fmt: skip
        for s in range(16)
    ]
    expected = [compiled.run(facts) for facts in subjects]
    errors: list[str] = []

    def worker(t: int) -> None:
        for n in range(200):
            s = (t * 31 + n) % len(subjects)
            if compiled.run(subjects[s]) != expected[s]:
                errors.append(f"thread {t} run {n} subject {s}")

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []


def test_many_sessions_do_not_exhaust_the_engine():  # H4, H6
    compiled = compile_rules(key(), [FLAG])
    for n in range(3000):
        assert compiled.run([{"id": n, "t": "ind", "code": "x", "cond_3": n % 2 == 0}]) == (
            [Firing("flag.x3", str(n))] if n % 2 == 0 else []
        )


def test_thousands_of_facts_in_one_evaluation():
    compiled = compile_rules(key(), TIERS)
    facts = [{"id": i, "t": "ind", "code": "plea_rate", "value": (i % 100) / 100} for i in range(5000)]
    assert len(compiled.run(facts)) == 5000


def test_engine_ids_do_not_collide_in_the_engines_hash():  # H5
    assert len({fnv1_32(str(i).encode()) for i in range(MAX_FACTS + 1)}) == MAX_FACTS + 1
    assert fnv1_32(b"id") == 926444256 and fnv1_32(b"sid") == 3593476751  # the engine's HASH_ID/HASH_SID


def test_the_same_key_returns_the_cached_rules_and_refuses_other_rules():  # H10
    k = key()
    first = compile_rules(k, TIERS)
    assert compile_rules(k, list(TIERS)) is first
    assert k in cache_info()["keys"]
    with pytest.raises(DefinitionError, match="already compiled"):
        compile_rules(k, TIERS[:2])


def test_the_cache_evicts_the_least_recently_used_and_evicted_rules_still_run():  # H10
    set_cache_size(2)
    a, b, c = key(), key(), key()
    first = compile_rules(a, [FLAG])
    compile_rules(b, [FLAG])
    compile_rules(a, [FLAG])  # a is now the most recent
    compile_rules(c, [FLAG])
    assert cache_info()["keys"] == [a, c]
    fact = {"id": "i", "t": "ind", "code": "x", "cond_3": True}
    assert first.run([fact]) == [Firing("flag.x3", "i")]
    assert len(cache_info()["keys"]) == 2


def test_an_engine_error_poisons_the_ruleset_which_is_rebuilt_next_time(monkeypatch):
    compiled = compile_rules(key(), [FLAG])
    fact = {"id": "i", "t": "ind", "code": "x", "cond_3": True}
    real = durable._engine.assert_facts

    def broken(handle: int, payload: str) -> tuple[int, int]:
        raise durable._engine.error("Could not assert facts, error code: 303")

    before = compiled._live
    monkeypatch.setattr(durable._engine, "assert_facts", broken)
    with pytest.raises(DurableBackendError, match="303"):
        compiled.run([fact])
    assert before is not None and before.dead and compiled._live is None  # never used again
    monkeypatch.setattr(durable._engine, "assert_facts", real)
    assert compiled.run([fact]) == [Firing("flag.x3", "i")]
    assert compiled._live is not None and compiled._live is not before


@pytest.mark.parametrize("where", ["0.5", "0.75"])  # the first fact, or one in the middle
def test_a_batch_the_engine_stops_reading_is_detected_not_trusted(monkeypatch, where):  # H2
    compiled = compile_rules(key(), [RuleSpec("v", {"$gt": {"value": 0.0}})])
    real = compiled._encoder.encode

    def exponent_form(facts, sid, tail):  # what json.dumps would write: the engine stops at it
        payload, ids = real(facts, sid, tail)
        return payload.replace(where, "1e-07", 1), ids

    monkeypatch.setattr(compiled._encoder, "encode", exponent_form)
    with pytest.raises(DurableBackendError, match="not read"):
        compiled.run([{"id": "a", "value": 0.5}, {"id": "b", "value": 0.75}, {"id": "c", "value": 2.0}])
    monkeypatch.undo()
    assert compiled.run([{"id": "a", "value": 0.5}]) == [Firing("v", "a")]
