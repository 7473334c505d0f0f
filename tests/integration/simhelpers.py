"""Helpers shared by the simulation (模拟测评) integration tests: a small province written as CSV files and
imported through the real import service, a tiny two-dimension prosecutor scheme, API keys per role,
polling a run, and removing runs after a test (the shared clean-up does not know their tables).

Not fixtures: import them (the fixtures live in the test modules)."""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, text

from rulesvc.extensions import db
from rulesvc.services import localtime
from rulesvc.services.dictionary import get_dictionary
from rulesvc.services.governance.access import system_actor
from rulesvc.services.governance.apikeys import create_key
from rulesvc.services.importing import import_file
from rulesvc.services.users import create_user
from tests.integration.helpers import role_for

USER_AGENT = "rulesvc-tests/1.0 (simulations)"
SCHEME = "SIM-PROSECUTOR"
NOW_PERIOD = str(localtime.today().year)  # the current year: never over

# code, name, level, parent
UNITS = [
    ("910000", "示范省人民检察院", "province", ""),
    ("910100", "东川市人民检察院", "city", "910000"),
    ("910101", "清瑞区人民检察院", "county", "910100"),
    ("910102", "东湖区人民检察院", "county", "910100"),
]
LEVEL = {"910000": "province", "910100": "city", "910101": "county", "910102": "county"}
BUSINESS_LINE = {"ordinary_crime": "criminal", "civil": "civil"}
# procuratorate -> business of its one department
DEPARTMENT = {"910101": "ordinary_crime", "910102": "ordinary_crime", "910100": "civil"}

# code: (procuratorate, filings, hearings, resolved, honours) — all events in July 2020.
PEOPLE: dict[str, tuple[str, int, int, int, int]] = {
    "P01": ("910101", 6, 5, 5, 2),
    "P02": ("910101", 4, 5, 4, 0),
    "P03": ("910101", 5, 5, 3, 0),
    "P04": ("910101", 3, 0, 0, 0),
    "P05": ("910102", 2, 1, 1, 1),
    "P06": ("910102", 4, 4, 2, 0),
    "P07": ("910100", 0, 5, 5, 0),
    "P08": ("910100", 0, 4, 3, 0),
    "P09": ("910100", 0, 10, 9, 0),
    "P10": ("910100", 0, 0, 0, 0),  # no activity: scored, not graded
}
NAMES = {code: f"检察官{code[1:]}" for code in PEOPLE}

KEYS = {  # name: (procuratorate, permissions)
    "province": ("910000", ["read", "edit"]),
    "reviewer": ("910000", ["read", "review", "activate"]),
    "readonly": ("910000", ["read"]),
    "county": ("910101", ["read", "edit"]),
    "other_county": ("910102", ["read", "edit"]),
}

BANDS = [("优秀", 90.0), ("良好", 80.0), ("合格", 60.0), ("不合格", 0.0)]
EXCELLENT_QUOTA = 0.3
BASELINE = {"top_tier": 5, "effect": 6, "quality": 4}
CANDIDATE = {"top_tier": 4, "effect": 5, "quality": 5}


def scheme_doc(*, top_tier: int, effect: float, quality: float, code: str = SCHEME) -> dict[str, Any]:
    """A tiny prosecutor scheme: 监督立案数 in two tiers (the top one at ``top_tier`` filings) in 效果,
    有效息诉率 pass/fail at 80 % in 质量 (missing: left out and the dimensions re-weighted), honours +2
    each up to 4; total = 50 + 50 × weighted share, capped at 100; 优秀 ≥ 90 (at most 30 %, rounded
    down), 良好 ≥ 80, 合格 ≥ 60."""
    return {
        "code": code, "name": "模拟测评测试方案", "subject": "prosecutor", "period": "year",
        "combination": {"method": "weighted", "base": 50, "span": 50, "cap": 100},
        "dimensions": {"effect": {"name": "效果", "weight": effect}, "quality": {"name": "质量", "weight": quality}},
        "metrics": {"filings": {"event": "supervision_action", "where": "action == 'filing'"},
                    "hearings": {"event": "public_hearing"},
                    "resolved": {"event": "public_hearing", "where": "resolved"}},
        "indicators": {
            "FIL": {"name": "监督立案数", "formula": "filings", "dimension": "effect",
                    "scoring": {"method": "tiers", "tiers": [{"min": top_tier, "points": 10}, {"min": 3, "points": 6}]}},
            "RES": {"name": "有效息诉率", "formula": "resolved / hearings", "dimension": "quality", "unit": "%",
                    "scoring": {"method": "pass_fail", "threshold": 0.8, "points": 10, "missing": "exclude"}},
        },
        "adjustments": {"HON": {"name": "荣誉与典型案例", "event": "honour", "points": 2, "cap": 4}},
        "grading": {"bands": [{"grade": g, "min": m, **({"quota": EXCELLENT_QUOTA, "quota_rounding": "floor"}
                                                        if g == "优秀" else {})} for g, m in BANDS]},
        "peer_min_size": 2,
    }


# -- the province as files, imported ------------------------------------------------------------------


def _write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def province_files(folder: Path, people: Mapping[str, tuple[str, int, int, int, int]] = PEOPLE, *,
                   months: list[str] | None = None) -> list[Path]:
    """Reference files and one events file for ``people``. ``months`` (``2020-07`` …): every person's
    events repeated in each of those months (default July 2020 only)."""
    folder.mkdir(parents=True, exist_ok=True)
    months = months or ["2020-07"]
    units = _write_csv(folder / "procuratorates.csv", ["code", "name", "level", "parent_code"],
                       [list(u) for u in UNITS])
    depts = _write_csv(folder / "departments.csv", ["procuratorate", "code", "name", "business"],
                       [[org, "D01", "第一检察部" if b != "civil" else "民事检察部", b] for org, b in DEPARTMENT.items()])
    pros = _write_csv(folder / "prosecutors.csv",
                      ["code", "name", "procuratorate", "department", "business", "quota_status", "is_leader",
                       "leader_title", "active_from", "active_to"],
                      [[code, NAMES.get(code, f"检察官{code[1:]}"), org, "D01", DEPARTMENT[org], "quota", "false", "",
                        "2015-01-01", ""] for code, (org, *_) in people.items()])
    rows: list[list[Any]] = []
    header = ["event_id", "event_type", "procuratorate", "prosecutor", "case_id", "occurred_on", "action", "adopted",
              "subject", "resolved", "kind", "level", "title"]
    for month in months:
        for code, (org, fil, hear, res, hon) in people.items():
            for i in range(fil):
                rows.append([f"F-{month}-{code}-{i}", "supervision_action", org, code, "", f"{month}-01", "filing",
                             "true", "", "", "", "", ""])
            for i in range(hear):
                rows.append([f"H-{month}-{code}-{i}", "public_hearing", org, code, "", f"{month}-05", "", "",
                             "complaint", "true" if i < res else "false", "", "", ""])
            for i in range(hon):
                rows.append([f"R-{month}-{code}-{i}", "honour", org, code, "", f"{month}-10", "", "", "", "",
                             "honour", "provincial", "办案能手"])
    events = _write_csv(folder / "events.csv", header, rows)
    return [units, depts, pros, events]


def filings_of_p01(app, path: Path, ids: str, n: int, on: str) -> None:
    """Import ``n`` of P01's adopted supervision filings dated ``on`` (event ids ``{ids}-0`` …) as a new dataset."""
    rows = [["event_id", "event_type", "procuratorate", "prosecutor", "case_id", "occurred_on", "action", "adopted"]]
    rows += [[f"{ids}-{i}", "supervision_action", "910101", "P01", "", on, "filing", "true"] for i in range(n)]
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    with app.app_context():
        assert import_file(db.session, path, dictionary=get_dictionary(app.config["RULES_DIR"]), created_by="tests",
                           actor=system_actor("tests")).created
        db.session.commit()


def import_province(app, folder: Path, people: Mapping[str, tuple[str, int, int, int, int]] = PEOPLE, *,
                    months: list[str] | None = None) -> None:
    """Write the files and import them through the real import service (each file whole or nothing)."""
    with app.app_context():
        dictionary = get_dictionary(app.config["RULES_DIR"])
        for path in province_files(folder, people, months=months):
            result = import_file(db.session, path, dictionary=dictionary, created_by="tests")
            assert result.created, path


def import_rows(app, path: Path, rows: list[list[Any]]) -> Any:
    """Write ``rows`` (a header, then the rows) as a CSV file at ``path`` and import it (its result; a refused
    file raises ``ImportRejected``)."""
    _write_csv(path, rows[0], rows[1:])
    with app.app_context():
        try:
            return import_file(db.session, path, dictionary=get_dictionary(app.config["RULES_DIR"]), created_by="tests")
        finally:
            db.session.commit()


def make_keys(app) -> dict[str, dict[str, str]]:
    """An API key per role of :data:`KEYS` (each its own person): ``{name: request headers}``."""
    from sqlalchemy import select

    from rulesvc.persistence.models import Procuratorate

    headers = {}
    with app.app_context():
        ids = dict(db.session.execute(select(Procuratorate.code, Procuratorate.id)).all())
        for name, (code, permissions) in KEYS.items():
            create_user(db.session, f"sim-{name}", "a long enough password", role=role_for(permissions),
                        procuratorate_id=ids[code])
            _, token = create_key(db.session, system_actor("tests"), name=f"sim-{name}", procuratorates=[code],
                                  permissions=permissions, owner=f"sim-{name}")
            headers[name] = {"Authorization": f"Bearer {token}", "User-Agent": USER_AGENT}
        db.session.commit()
    return headers


# -- API calls ----------------------------------------------------------------------------------------


def ok(response, code: int = 200) -> Any:
    assert response.status_code == code, (response.status_code, response.get_data(as_text=True)[:3000])
    return response.get_json()


def created(response, code: int, collection: str) -> Any:
    """The body of a 201/202 that made something, which says where it is: ``Location`` is ``collection/<id>``."""
    body = ok(response, code)
    assert response.headers.get("Location") == f"{collection}/{body['id']}", (response.headers.get("Location"), body["id"])
    return body


def refused(response, code: int, error_code: str | None = None) -> dict[str, Any]:
    """The error envelope of ``response`` (status ``code``; its ``error_code`` when given)."""
    assert response.status_code == code, (response.status_code, response.get_data(as_text=True)[:3000])
    body = response.get_json()
    assert body["code"] == code and body["message"], body
    if error_code is not None:
        assert body["error_code"] == error_code, body
    return body


def field_codes(body: dict[str, Any], field: str) -> list[str]:
    """The catalogue codes of the messages on ``field`` of an error envelope."""
    found = (body.get("field_codes") or {}).get(field)
    assert found is not None, body
    return list(found)


def new_scheme(client, headers, document: dict[str, Any], *, code: str = SCHEME, procuratorate: str = "910000",
               subject_kind: str = "prosecutor") -> dict[str, Any]:
    return created(client.post("/api/v1/schemes", headers=headers, json={
        "code": code, "name": "模拟测评测试方案", "procuratorate": procuratorate, "subject_kind": subject_kind,
        "period_kind": "year", "document": {**document, "code": code}, "change_note": "首版"}), 201, "/api/v1/versions")


def new_draft(client, headers, document: dict[str, Any], *, code: str = SCHEME, note: str = "修订") -> dict[str, Any]:
    return created(client.post(f"/api/v1/schemes/{code}/versions", headers=headers,
                               json={"document": {**document, "code": code}, "change_note": note}), 201, "/api/v1/versions")


def simulate(client, headers, version_id: int, periods: Any = "2020", *, expect: int | None = 202,
             **extra: Any) -> dict[str, Any]:
    response = client.post("/api/v1/simulations", headers=headers,
                           json={"candidate_version_id": version_id, "periods": periods, **extra})
    if expect is None:
        assert response.status_code in (200, 202), response.get_data(as_text=True)
        expect = response.status_code
    if expect in (200, 202):  # a run made or found: where to follow it
        return created(response, expect, "/api/v1/simulations")
    return ok(response, expect)


def wait_for(client, headers, run_id: int, statuses: tuple[str, ...] = ("succeeded", "failed", "cancelled"),
             timeout: float = 60.0) -> dict[str, Any]:
    """Poll ``GET /simulations/<id>`` until its status is one of ``statuses``."""
    deadline = time.monotonic() + timeout
    while True:
        run = ok(client.get(f"/api/v1/simulations/{run_id}", headers=headers))
        if run["status"] in statuses:
            return run
        assert time.monotonic() < deadline, f"run {run_id} still {run['status']} after {timeout}s: {run}"
        time.sleep(0.1)


def publish(client, keys, version_id: int, *, effective_from: str = "2020-01-01", periods: Any = "2020",
            author: str = "province") -> dict[str, Any]:
    """Submit, simulate (thread mode: waits), approve, activate."""
    assert ok(client.post(f"/api/v1/versions/{version_id}/submit", headers=keys[author], json={}))["status"] == "in_review"
    run = simulate(client, keys[author], version_id, periods, expect=None)
    assert wait_for(client, keys[author], run["id"])["status"] == "succeeded"
    assert ok(client.post(f"/api/v1/versions/{version_id}/approve", headers=keys["reviewer"],
                          json={"note": "模拟结果合理"}))["status"] == "approved"
    return ok(client.post(f"/api/v1/versions/{version_id}/activate", headers=keys["reviewer"],
                          json={"effective_from": effective_from, "confirm_retroactive": True}))


def v2_against_v1(app, folder: Path) -> tuple[Any, dict[str, dict[str, str]], dict[str, Any]]:
    """The province imported into ``app`` (a thread-mode app), version 1 published on a real run, version 2
    (a lower top tier, other weights) simulated against it on 2020: (client, keys, the succeeded run)."""
    import_province(app, folder)
    keys = make_keys(app)
    c = app.test_client()
    v1 = new_scheme(c, keys["province"], scheme_doc(**BASELINE))
    publish(c, keys, v1["id"], effective_from="2020-01-01")
    v2 = new_draft(c, keys["province"], scheme_doc(**CANDIDATE))
    run = wait_for(c, keys["province"], simulate(c, keys["province"], v2["id"], "2020")["id"])
    assert run["status"] == "succeeded", run
    return c, keys, run


# -- clean-up -----------------------------------------------------------------------------------------


def remove_runs(app) -> None:
    """Delete every simulation run (and its rows): the shared clean-up empties the other tables only,
    and on SQLite a run left behind would block deleting its scheme (foreign key)."""
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            tables = [t for t in inspect(conn).get_table_names() if t.startswith("simulation_")]
            for table in sorted(tables, key=lambda t: t == "simulation_runs"):  # the runs last
                conn.execute(text(f"DELETE FROM {table}"))


# -- scoring ------------------------------------------------------------------------------------------

# Keys that score (read + score), beside those of make_keys: name -> procuratorate.
SCORERS = {"scorer": "910000", "other-scorer": "910000", "county-scorer": "910101"}


@contextmanager
def scoring_world(app, folder: Path, *, periods: Any = "2020", months: list[str] | None = None,
                  first: Callable[[Any, dict[str, dict[str, str]]], dict[str, Any]] | None = None,
                  ) -> Iterator[tuple[Any, Any, dict[str, dict[str, str]], dict[str, Any]]]:
    """A thread-mode app on ``app``'s database with the small province imported (every person's events in each
    of ``months``, default July 2020), the keys of :data:`KEYS` and :data:`SCORERS`, and version 1 of the test
    scheme — or of what ``first(client, keys)`` creates — in force from 2020-01-01 (simulated on ``periods``):
    yields (app, client, keys, version 1). The scoring caches start empty."""
    from rulesvc.services.results import clear_caches
    from tests.conftest import make_app

    sim = make_app(app.config["DATABASE_URL"], folder / "instance", REDIS_URL=None)
    clear_caches()
    try:
        import_province(sim, folder / "files", months=months)
        keys = make_keys(sim)
        with sim.app_context():
            for name, org in SCORERS.items():
                _, token = create_key(db.session, system_actor("tests"), name=name, procuratorates=[org],
                                      permissions=["read", "score"])
                keys[name] = {"Authorization": f"Bearer {token}"}
            db.session.commit()
        c = sim.test_client()
        v1 = first(c, keys) if first is not None else new_scheme(c, keys["province"], scheme_doc(**BASELINE))
        publish(c, keys, v1["id"], effective_from="2020-01-01", periods=periods)
        yield sim, c, keys, v1
    finally:
        remove_runs(sim)
        with sim.app_context():
            db.session.remove()
            db.engine.dispose()
