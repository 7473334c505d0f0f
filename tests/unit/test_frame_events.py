"""Events handed over as a polars frame give the very result of the same events as row dicts."""

from __future__ import annotations

import datetime as dt
import math
import random

import polars as pl
import pytest

from rulesvc.config import PROJECT_ROOT
from rulesvc.engine.compile import compile_scheme
from rulesvc.engine.dictionary import load_dictionary
from rulesvc.engine.durable_decider import DurableDecider
from rulesvc.engine.evaluate import PythonDecider, evaluate_subject
from rulesvc.engine.frame_events import evaluate_subject_frame, event_rows
from rulesvc.engine.model import Subject
from rulesvc.engine.peers import PeerContext, PeerStats, group_key
from rulesvc.schema.scheme import load_scheme, read_document

DICT = load_dictionary(PROJECT_ROOT / "rules")
TEMPLATE = compile_scheme(load_scheme(read_document(
    (PROJECT_ROOT / "rules/schemes/province-prosecutor-template.yaml").read_text(encoding="utf-8"))), DICT)
SUBJECT = Subject("P1", "张三", line="criminal", groups={"business": "ordinary_crime", "procuratorate": 1})
PEERS = PeerContext({(ci.indicator.code, group_key(SUBJECT, ci.peer_group)): PeerStats.of((0.0, 1.0, 2.0, 5.0, 9.0))
                     for ci in TEMPLATE.indicators if ci.piecewise is not None and ci.piecewise.derive != "value"})


def _frame(seed: int) -> pl.DataFrame:
    rnd = random.Random(seed)
    day = dt.date(2020, 3, 1)
    rows = []
    for i in range(120):
        case = f"C{rnd.randrange(40)}"
        kind = rnd.choice(["review", "judgment", "supplementary", "quality", "finding", "arrest"])
        base = {"event_id": f"E{i}", "case_id": case, "occurred_on": day + dt.timedelta(days=i)}
        if kind == "review":
            rows.append({**base, "event_type": "prosecution_review", "accepted_on": day,
                         "decision": rnd.choice(["prosecute", "not_prosecute", "conditional_not_prosecute"]),
                         "plea_leniency": rnd.choice([True, False]), "juvenile": rnd.choice([True, False, None]),
                         "sentencing_rec": rnd.choice(["definite", "ranged", "none"]), "arrested": rnd.random() < .5})
        elif kind == "judgment":
            rows.append({**base, "event_type": "court_judgment", "result": rnd.choice(["convicted", "acquitted"]),
                         "rec_made": rnd.random() < .7, "rec_adopted": rnd.random() < .6, "appealed": rnd.random() < .2})
        elif kind == "supplementary":
            rows.append({**base, "event_type": "supplementary_investigation", "round": 1.0})
        elif kind == "quality":
            rows.append({**base, "event_type": "quality_review", "reviewer_level": rnd.choice(["province", "city"]),
                         "rating": rnd.choice(["excellent", "flawed", "failed"]), "flaw_points": float(rnd.randrange(30))})
        elif kind == "finding":
            rows.append({**base, "event_type": "disciplinary_finding", "responsible": rnd.random() < .5,
                         "kind": rnd.choice(["overdue", "wrongful_case", "charge_changed_gang"])})
        else:
            rows.append({**base, "event_type": "arrest_review", "decision": rnd.choice(["arrest", "not_arrest"]),
                         "reconsidered": rnd.random() < .3, "reversed": rnd.random() < .3})
    return pl.DataFrame(rows, infer_schema_length=None)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("decider", [PythonDecider(), DurableDecider()], ids=["python", "durable"])
def test_a_frame_of_events_scores_exactly_as_its_rows(seed, decider):
    frame = _frame(seed)
    as_rows = evaluate_subject(TEMPLATE, SUBJECT, frame.to_dicts(), period="2020", decider=decider, peers=PEERS)
    as_frame = evaluate_subject_frame(TEMPLATE, SUBJECT, frame, period="2020", decider=decider, peers=PEERS)
    assert as_frame == as_rows
    assert as_rows.adjustments and as_rows.vetoes  # the decisions were exercised


def test_rows_keep_the_frames_order_and_what_the_scheme_reads():
    frame = _frame(9)
    rows = event_rows(TEMPLATE, frame)
    assert [r["event_id"] for r in rows] == frame["event_id"].to_list()
    review = next(r for r in rows if r["event_type"] == "prosecution_review")
    assert {"decision", "plea_leniency", "accepted_on", "occurred_on", "case_id"} <= review.keys()
    assert "rating" not in review  # read only from quality reviews
    finding = next(r for r in rows if r["event_type"] == "disciplinary_finding")
    assert finding.keys() == set(frame.columns)  # a decision fact: every column, as in to_dicts()


def test_one_durable_decider_keeps_the_rules_of_two_compilations_of_the_same_scheme_apart():
    """The same scheme (one content hash) compiled into other rules — as against another data dictionary —
    gets its own durable rule set: neither "already compiled with other rules" nor the first one's decisions."""
    import dataclasses

    at = next(n for n, ci in enumerate(TEMPLATE.indicators) if ci.indicator.code == "SENT_REC_ADOPT_RATE")
    ci = TEMPLATE.indicators[at]  # this subject's 50% scores 0 under 92 / 95 / 97 %; 0.6 lower, the top tier

    def lower(bound: float) -> float:
        return bound - 0.6 if math.isfinite(bound) else bound
    moved = tuple(dataclasses.replace(b, lo=lower(b.lo), hi=lower(b.hi)) for b in ci.piecewise.branches)
    changed = dataclasses.replace(ci, piecewise=dataclasses.replace(ci.piecewise, branches=moved))
    variant = dataclasses.replace(TEMPLATE, indicators=(*TEMPLATE.indicators[:at], changed,
                                                        *TEMPLATE.indicators[at + 1:]))
    assert variant.key == TEMPLATE.key
    frame, decider = _frame(3), DurableDecider()
    for compiled in (TEMPLATE, variant, TEMPLATE):
        ours = evaluate_subject_frame(compiled, SUBJECT, frame, period="2020", decider=decider, peers=PEERS)
        reference = evaluate_subject_frame(compiled, SUBJECT, frame, period="2020", decider=PythonDecider(),
                                           peers=PEERS)
        assert ours == dataclasses.replace(reference, executor=ours.executor)
        points = next(i.points for i in ours.indicators if i.code == "SENT_REC_ADOPT_RATE")
        assert points == (0.0 if compiled is TEMPLATE else 6.0)
