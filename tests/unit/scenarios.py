"""Small in-memory scenarios for the engine tests: prosecutors, events, and scoring them with both
executors (bulk, and per subject with both deciders — which must agree)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import polars as pl

from rulesvc.config import PROJECT_ROOT
from rulesvc.engine.bulk import BulkResult, evaluate_bulk
from rulesvc.engine.compile import compile_scheme
from rulesvc.engine.dictionary import load_dictionary
from rulesvc.engine.differential import compare
from rulesvc.engine.durable_decider import DurableDecider
from rulesvc.engine.evaluate import PythonDecider
from rulesvc.schema.scheme import load_scheme
from rulesvc.services.facts import frame_from_rows

DICT = load_dictionary(PROJECT_ROOT / "rules")
YEAR = (dt.date(2020, 1, 1), dt.date(2020, 12, 31))
SUBJECT_SCHEMA = {
    "prosecutor_id": pl.Int64, "code": pl.Utf8, "name": pl.Utf8, "line": pl.Utf8, "procuratorate_id": pl.Int64,
    "department_id": pl.Int64, "business_code": pl.Utf8, "level": pl.Utf8, "quota_status": pl.Utf8,
    "active_from": pl.Date, "active_to": pl.Date, "is_leader": pl.Boolean, "leader_title": pl.Utf8}
LINE = {"ordinary_crime": "criminal", "civil": "civil", "public_interest": "public_interest"}


def person(pid: int, business: str = "ordinary_crime", *, unit: int = 10, status: str = "quota",
           since: dt.date = dt.date(2015, 1, 1), until: dt.date | None = None) -> dict[str, Any]:
    return {"prosecutor_id": pid, "code": f"P{pid}", "name": f"检察官{pid}", "line": LINE[business],
            "procuratorate_id": unit, "department_id": unit * 10, "business_code": business, "level": "county",
            "quota_status": status, "active_from": since, "active_to": until, "is_leader": False, "leader_title": None}


def filings(pid: int, n: int, unit: int = 10) -> list[tuple]:
    """``n`` supervision filings of prosecutor ``pid`` in July 2020."""
    return [(f"F{pid}-{i}", "supervision_action", pid, unit, None, dt.date(2020, 7, 1),
             json.dumps({"action": "filing", "adopted": True})) for i in range(n)]


def scheme(**parts: Any) -> dict[str, Any]:
    """A prosecutor scheme with one count indicator scored by percentile (8 points) and a pass/fail one."""
    doc: dict[str, Any] = {
        "code": "t", "name": "测试", "subject": "prosecutor", "period": "year",
        "combination": {"method": "sum", "base": 80},
        "dimensions": {"effect": {"name": "效果", "weight": 1}},
        "metrics": {"filings": {"event": "supervision_action", "where": "action == 'filing'"}},
        "indicators": {
            "FILINGS_RANK": {"name": "监督立案数", "formula": "filings", "dimension": "effect",
                             "scoring": {"method": "percentile", "points": 10, "missing": "exclude"}},
        },
        "grading": {"quota_group": "procuratorate",
                    "bands": [{"grade": "优秀", "min": 85, "quota": 0.25, "quota_rounding": "floor"},
                              {"grade": "合格", "min": 0}]},
        "peer_min_size": 2,
    }
    for k, v in parts.items():
        doc[k] = {**doc[k], **v} if isinstance(v, dict) and isinstance(doc.get(k), dict) else v
    return doc


def score(doc: dict[str, Any], subjects: list[dict[str, Any]], rows: list[tuple]) -> BulkResult:
    """Bulk-score, and require both per-subject deciders to agree with it on every subject."""
    compiled = compile_scheme(load_scheme(doc), DICT)
    events = frame_from_rows(rows, DICT, compiled.event_types)
    bulk = evaluate_bulk(compiled, events, pl.DataFrame(subjects, schema=SUBJECT_SCHEMA), period=YEAR)
    for decider in (PythonDecider(), DurableDecider()):
        n, diffs = compare(compiled, bulk, events, decider)
        assert n == bulk.frame.height and diffs == [], diffs[:10]
    return bulk


def row(bulk: BulkResult, pid: int) -> dict[str, Any]:
    return bulk.frame.filter(pl.col("prosecutor_id") == pid).row(0, named=True)
