"""A what-if (one subject scored on the caller's own events) stands among the stored period's peers as a
whole run would have it with the subject's figures replaced — found by an independent audit:

- the subject's *stored* value stayed in the peer statistics it was compared against (the unique best,
  asking "what if I had half my cases", was measured against their own old figure; a percentile counted
  the subject twice or not at all: a value tied with one other read 0, a new lowest value read below 0);
- the stored total stayed in the quota count, so a new total above it competed for one place fewer;
- someone stored without any activity stayed "not graded" though the caller's events gave them some.

Everyone else's figures stay as stored (a what-if moves nobody else)."""

from __future__ import annotations

import pytest
from scenarios import DICT, filings, person, row, scheme, score

from rulesvc.engine.bulk import subject_of
from rulesvc.engine.compile import compile_scheme
from rulesvc.engine.durable_decider import DurableDecider
from rulesvc.engine.evaluate import PythonDecider, evaluate_subject
from rulesvc.engine.whatif import evaluate_what_if
from rulesvc.schema.scheme import load_scheme
from rulesvc.services.facts import frame_from_rows

# total = 80 + 10 × the percentile of one's filings; 优秀 ≥ 85 for at most 25 % of the unit (rounded down)
DOC = scheme()
FILINGS = {1: 1, 2: 2, 3: 3, 4: 4}  # P5 has no events at all: scored, not graded (零办案)


@pytest.fixture(scope="module")
def period():
    people = [person(i) for i in range(1, 6)]
    bulk = score(DOC, people, [r for i, n in FILINGS.items() for r in filings(i, n)])
    return compile_scheme(load_scheme(DOC), DICT), bulk


def what_if(period, pid: int, n: int, decider=None):
    compiled, bulk = period
    stored = row(bulk, pid)
    events = frame_from_rows(filings(pid, n), DICT, compiled.event_types)
    return evaluate_what_if(compiled, subject_of(stored, "prosecutor_id"), events, stored, bulk.peers, period="2020",
                            decider=decider or PythonDecider())


def x_of(result) -> float | None:
    return next(i for i in result.indicators if i.code == "FILINGS_RANK").x


def test_the_stored_period_itself(period):
    _, bulk = period
    assert [row(bulk, i)["grade"] for i in (1, 2, 3, 4)] == ["合格", "合格", "合格", "优秀"]
    assert row(bulk, 5)["status"] == "not_graded" and row(bulk, 5)["status_code"] == "no_activity"


@pytest.mark.parametrize("decider", [PythonDecider(), DurableDecider()], ids=["python", "durable"])
def test_the_stored_events_sent_again_give_the_stored_figures(period, decider):
    compiled, bulk = period
    for pid in (1, 2, 3, 4):
        stored = row(bulk, pid)
        again = what_if(period, pid, FILINGS[pid], decider)
        events = frame_from_rows(filings(pid, FILINGS[pid]), DICT, compiled.event_types).to_dicts()
        assert again == evaluate_subject(compiled, subject_of(stored, "prosecutor_id"), events, period="2020",
                                         decider=decider, peers=bulk.peers)
        assert (again.total, again.grade) == (stored["total"], stored["grade"])


def test_the_subjects_own_stored_value_leaves_the_percentile_they_are_placed_in(period):
    # P3 with 1 filing instead of 3: among P1 1, P2 2, P4 4 and the new 1 — better than nobody, tied with
    # P1 (half): (0 + ½) / 3. With the stored 3 still there, the new 1 read 0 (the tie with P1 not counted).
    assert x_of(what_if(period, 3, 1)) == pytest.approx(0.5 / 3)
    # P4 with 1 filing: the same place — its stored 4 is no peer of its own (it read 0).
    assert x_of(what_if(period, 4, 1)) == pytest.approx(0.5 / 3)
    # P1 with 9 filings: the best of them all, 1 (it read 1.17 with the stored 1 still counted).
    assert x_of(what_if(period, 1, 9)) == 1.0


@pytest.mark.parametrize("decider", [PythonDecider(), DurableDecider()], ids=["python", "durable"])
def test_the_quota_counts_the_new_total_once(period, decider):
    # P3 with 5 filings: the best, 90 — tied with P4's stored 90 for the unit's one 优秀 place (25 % of the
    # 4 evaluated, rounded down): tied totals at the boundary move down together.
    # With P3's stored 86.67 still counted and the new 90 not, the count above 90 was 1 and P3 got 优秀.
    r = what_if(period, 3, 5, decider)
    assert (r.total, r.grade) == (90.0, "合格")
    assert "同分" in r.grade_reason


def test_someone_stored_without_activity_is_graded_on_events_that_give_them_some(period):
    r = what_if(period, 5, 2)
    assert r.status == "evaluated" and r.grade == "合格"
    # 2 filings among 1, 2, 3, 4: better than one, tied with one: (1 + ½) / 4
    assert x_of(r) == pytest.approx(1.5 / 4) and r.total == pytest.approx(83.75)
    # No events at all: still not graded, with the reason.
    compiled, bulk = period
    stored = row(bulk, 5)
    none = evaluate_what_if(compiled, subject_of(stored, "prosecutor_id"),
                            frame_from_rows([], DICT, compiled.event_types), stored, bulk.peers, period="2020")
    assert none.status == "not_graded" and none.grade is None and "零办案" in none.status_reason
