"""What the schemathesis runs of ``test_api_schemathesis.py`` are pointed at.

- :func:`seed_world`: a small province for the runs (one of them, with a key holding every permission,
  changes data: it gets the test's own database, never the shared ``demo_app``). It is seeded through the
  services by people who are not the fuzzer (designers at the province, a city and a county, a reviewer),
  so four eyes lets the fuzzer's key approve and reject what they wrote. It holds a version in every state
  an operation starts from: drafts, versions in review with and without a simulation run named, approved,
  active, a localization draft with overrides, a rebase draft with an open conflict; and events of 2020
  with simulation runs (模拟测评) on them: succeeded ones (one of a draft, to lock results in from) and one
  left queued (to cancel).
- :class:`Targets`: the real ids and codes of a database, by the state their versions are in, and
  :meth:`Targets.aim`, which points most generated requests at them (ids, run ids, codes, lock counters,
  periods, dates) and grafts generated values into real documents and overrides, so that they reach the services'
  real work and not only their 404s or the request schema.
- :class:`Snapshot`: the seeded database kept aside and put back before each operation and every few
  changes, so every operation finds the whole world (one that approves does not find the versions in
  review already used up by another, nor by its own first cases).
"""

from __future__ import annotations

import copy
import datetime as dt
import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, make_url, select, text

from rulesvc.extensions import db
from rulesvc.persistence.models import (
    Procuratorate,
    Prosecutor,
    Publication,
    Scheme,
    SchemeVersion,
    SimulationRun,
)
from rulesvc.services import publications
from rulesvc.services.dictionary import get_dictionary
from rulesvc.services.governance import versions
from rulesvc.services.governance.access import KEY_PERMISSIONS, actor_for_user, system_actor
from rulesvc.services.governance.apikeys import create_key
from rulesvc.services.simulation.runs import create_run
from rulesvc.services.users import create_user
from tests.integration.helpers import give_events, simulate
from tests.integration.test_api_schemes import (
    COUNTY_CODE,
    TEMPLATE_CODE,
    THREE_OVERRIDES,
    add_tree,
    template_document,
)

PASSWORD = "a long enough password"
CITY_CODE = "SFS-PROSECUTOR-910100"
OTHER_CODE = "SFS-DRAFT-910102"
ALL_PERMISSIONS = list(KEY_PERMISSIONS)  # read, edit, review, activate, audit, score
CONFLICT_PATH = "dimensions.quality.weight"
# 2020 and 2021-07 hold the events; versions are in force from 2021 (other periods of it: no data, 404).
PERIODS = ["2020", "2020-Q4", "2020-12", "2019-02", "2099", "2020-Q5", "2020-13", "2021", "2021-07", "2021-Q3"]
DATES = ["2021-06-30", "2022-03-01", "2023-01-01", "2020-12-31", "2030-07-01"]

# -- seeding -----------------------------------------------------------------------------------------


def _publish(session, vid: int, author, reviewer, dictionary, *, until: str = "active",
             effective_from: dt.date | None = None) -> None:
    """Submit, simulate on 2020 and name the run (the author), approve and activate (the reviewer) —
    stopping at ``until``."""
    versions.submit(session, author, vid, dictionary)
    if until == "in_review_bare":
        return
    run = simulate(session, author, vid, "2020")
    versions.attach_simulation(session, author, vid, run_id=run.id)
    if until == "in_review":
        return
    versions.approve(session, reviewer, vid, note="模拟结果合理")
    if until == "approved":
        return
    assert effective_from is not None
    versions.activate(session, reviewer, vid, effective_from=effective_from)


def seed_world(app) -> dict[str, dict[str, str]]:
    """Seed the procuratorates, the people, the versions and the fuzzer's two keys (committed); returns
    the request headers carrying each: ``every permission`` (read, edit, review, activate, audit, score) on the
    whole province, ``read-only`` (read, audit) on a city — which sees its own and its counties' schemes,
    and only the published versions of the province's."""
    with app.app_context():
        org = add_tree()
        db.session.commit()
    give_events(app, "2020")
    give_events(app, "2021-07")  # what the publication below rests on (a period without data is not published)
    with app.app_context():
        session = db.session
        people = {"designer": ("designer", "910000"), "city-designer": ("designer", "910100"),
                  "county-designer": ("designer", "910101"), "reviewer": ("reviewer", "910000"),
                  "fuzzer": ("admin", "910000")}
        actor = {name: actor_for_user(session, create_user(session, name, PASSWORD, role=role,
                                                           procuratorate_id=org[code]))
                 for name, (role, code) in people.items()}
        designer, reviewer = actor["designer"], actor["reviewer"]
        _, token = create_key(session, system_actor("tests"), name="schemathesis (every permission)",
                              procuratorates=["910000"], permissions=ALL_PERMISSIONS, owner="fuzzer")
        _, read_only = create_key(session, system_actor("tests"), name="schemathesis (read-only)",
                                  procuratorates=["910100"], permissions=["read", "audit"])
        dictionary = get_dictionary(app.config["RULES_DIR"])
        doc = template_document()

        # The provincial template: v1 in force in 2021, v2 (another quality weight) from 2022.
        v1 = versions.create_scheme(session, designer, code=TEMPLATE_CODE, name="示范省检察官业绩考评指标模板",
                                    procuratorate="910000", subject_kind="prosecutor", period_kind="year",
                                    document=doc, change_note="省院模板首版")
        _publish(session, v1.id, designer, reviewer, dictionary, effective_from=dt.date(2021, 1, 1))
        # A county's localization of v1, in force; a city's localization of v1, a draft.
        county = versions.localize(session, actor["county-designer"], parent_version_id=v1.id, procuratorate="910101",
                                   code=COUNTY_CODE, name="清瑞区方案", overrides=copy.deepcopy(THREE_OVERRIDES),
                                   description="依据省院模板本地化")
        _publish(session, county.id, actor["county-designer"], reviewer, dictionary, effective_from=dt.date(2021, 1, 1))
        city = versions.localize(session, actor["city-designer"], parent_version_id=v1.id, procuratorate="910100",
                                 code=CITY_CODE, name="东川市方案", overrides=copy.deepcopy(THREE_OVERRIDES[1:]))
        doc2 = copy.deepcopy(doc)
        doc2["dimensions"]["quality"]["weight"] = 50
        v2 = versions.create_draft(session, designer, TEMPLATE_CODE, document=doc2, change_note="质量权重调为 50")
        _publish(session, v2.id, designer, reviewer, dictionary, effective_from=dt.date(2022, 1, 1))
        # The county rebases onto v2: a draft with one open conflict (the quality weight it overrides).
        rebased = versions.rebase(session, actor["county-designer"], county.id, new_parent_id=v2.id)
        assert [c["path"] for c in rebased.document["conflicts"]] == [CONFLICT_PATH]
        # Template versions in each state of the lifecycle, a few of each.
        for state, count in (("approved", 2), ("in_review", 3), ("in_review_bare", 2), ("draft", 3)):
            for _ in range(count):
                v = versions.create_draft(session, designer, TEMPLATE_CODE, document=doc, change_note=f"{state} 样例")
                if state != "draft":
                    _publish(session, v.id, designer, reviewer, dictionary, until=state)
        # Another county's scheme: a draft only, of a document that does not pass the checks.
        versions.create_scheme(session, actor["county-designer"], code=OTHER_CODE, name="东湖区草稿",
                               procuratorate="910101", subject_kind="prosecutor", period_kind="year",
                               document={"description": "空白草稿"})
        # Simulation runs besides those approval rests on: one of the city's draft (results to lock in),
        # one asked for and never started (to cancel: queued for a worker that is not there).
        simulate(session, actor["city-designer"], city.id, "2020")
        # A publication of the template's July 2021 (to read, and to correct).
        publications.publish(session, reviewer, dictionary, scheme=TEMPLATE_CODE, period="2021-07")
        queued = create_run(session, designer, dictionary, candidate_version_id=v1.id, periods=["2020-Q4"],
                            baseline="none", mode="rq").run
        assert queued.status == "queued"
        session.commit()
    return {"every permission": {"Authorization": f"Bearer {token}"},
            "read-only": {"Authorization": f"Bearer {read_only}"}}


# -- targets ------------------------------------------------------------------------------------------

# Which versions suit an operation: (method, path) -> kinds (see Targets.kinds). Operations not listed
# take any version.
SUITS: dict[tuple[str, str], tuple[str, ...]] = {
    ("PUT", "/versions/{version_id}"): ("draft", "localization_draft", "conflict_draft"),
    ("DELETE", "/versions/{version_id}"): ("draft", "localization_draft", "conflict_draft"),
    ("PUT", "/versions/{version_id}/overrides"): ("localization_draft", "conflict_draft"),
    ("POST", "/versions/{version_id}/localize"): ("published",),
    ("POST", "/versions/{version_id}/rebase"): ("localization",),
    ("POST", "/versions/{version_id}/settle"): ("conflict_draft",),
    ("POST", "/versions/{version_id}/submit"): ("draft", "localization_draft", "conflict_draft"),
    ("POST", "/versions/{version_id}/simulation"): ("in_review_bare", "in_review"),
    ("POST", "/versions/{version_id}/approve"): ("in_review",),
    ("POST", "/versions/{version_id}/reject"): ("in_review", "in_review_bare"),
    ("POST", "/versions/{version_id}/activate"): ("approved",),
    ("POST", "/versions/{version_id}/retire"): ("approved", "active"),
    ("POST", "/versions/{version_id}/unschedule"): ("active",),
}
# Which runs suit an operation on /simulations/{run_id}…: (method, path) -> run kinds (see Targets.runs).
# Operations not listed take a succeeded run.
RUN_SUITS: dict[tuple[str, str], tuple[str, ...]] = {
    ("POST", "/simulations/{run_id}/cancel"): ("queued",),
    ("POST", "/simulations/{run_id}/lock-in"): ("of_draft",),
}
AIMED_SHARE = 80  # of every 100 cases, this many get real ids and codes
OPS = ("set", "add", "remove", "disable")


def paths_in(value: Any, prefix: tuple[Any, ...] = (), depth: int = 6) -> list[tuple[Any, ...]]:
    """Every path to a value inside ``value`` (dict keys, list indices), down to ``depth``."""
    out: list[tuple[Any, ...]] = []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        out.append((*prefix, key))
        if depth > 1:
            out.extend(paths_in(item, (*prefix, key), depth - 1))
    return out


def graft(base: Any, path: tuple[Any, ...], value: Any) -> Any:
    """``base`` with the value at ``path`` replaced by ``value``: the containers along the path are copied,
    the rest is shared (never changed: it is only sent)."""
    if not path:
        return value
    out = copy.copy(base)
    out[path[0]] = graft(base[path[0]], path[1:], value)
    return out


def dotted(path: tuple[Any, ...]) -> str:
    """``("grading", "bands", 0, "min")`` → ``grading.bands[0].min`` (an override's path)."""
    out = ""
    for key in path:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else str(key))
    return out


@dataclass
class Targets:
    """The real ids and codes of one database (read once; the database is put back to this state), and
    near-valid content: the template document and a localization's overrides, into which generated values
    are grafted (so the checks behind the request schema — resolving, localizing, lint — get values of
    every type in every place, not only documents with random keys)."""

    procuratorates: list[str]
    schemes: list[str]
    kinds: dict[str, list[int]] = field(default_factory=dict)
    numbers: list[int] = field(default_factory=list)
    runs: dict[str, list[int]] = field(default_factory=dict)  # "succeeded", "queued", "of_draft", "any"
    subjects: list[str] = field(default_factory=list)  # prosecutors' codes (a run's subjects)
    publications: list[int] = field(default_factory=list)
    app: Any = None
    writer: dict[str, str] | None = None  # headers of a key that may edit (to prepare a submit)
    template: dict[str, Any] = field(default_factory=dict)
    template_paths: list[tuple[Any, ...]] = field(default_factory=list)
    override_paths: list[tuple[Any, ...]] = field(default_factory=list)

    @classmethod
    def read(cls, app, writer: dict[str, str] | None = None) -> Targets:
        with app.app_context():
            kinds: dict[str, list[int]] = {}
            rows = db.session.execute(select(SchemeVersion.id, SchemeVersion.status, SchemeVersion.parent_id,
                                             SchemeVersion.simulation, SchemeVersion.document)).all()
            for r in rows:
                names = ["any", r.status]
                if r.parent_id is not None:
                    names.append("localization")
                    if r.status == "draft":
                        names.append("conflict_draft" if (r.document or {}).get("conflicts") else "localization_draft")
                elif r.status == "draft":
                    names.append("template_draft")
                if r.status in ("approved", "active", "retired"):
                    names.append("published")
                if r.status == "in_review" and not r.simulation:
                    names.append("in_review_bare")
                for n in names:
                    kinds.setdefault(n, []).append(r.id)
            if "in_review" in kinds:  # "in_review": ready for a decision (with its simulation)
                kinds["in_review"] = [i for i in kinds["in_review"] if i not in kinds.get("in_review_bare", [])]
            numbers = sorted(set(db.session.scalars(select(SchemeVersion.number))))
            runs: dict[str, list[int]] = {}
            for r in db.session.execute(select(SimulationRun.id, SimulationRun.status, SimulationRun.candidate_version_id)):
                names = ["any", r.status]
                if r.status == "succeeded" and r.candidate_version_id in kinds.get("draft", []):
                    names.append("of_draft")
                for n in names:
                    runs.setdefault(n, []).append(r.id)
            subjects = list(db.session.scalars(select(Prosecutor.code).order_by(Prosecutor.code)))
            published = list(db.session.scalars(select(Publication.id).order_by(Publication.id)))
            template = template_document()
            return cls(procuratorates=list(db.session.scalars(select(Procuratorate.code).order_by(Procuratorate.code))),
                       schemes=list(db.session.scalars(select(Scheme.code).order_by(Scheme.code))),
                       kinds={k: sorted(v) for k, v in kinds.items()}, numbers=numbers or [1],
                       runs={k: sorted(v) for k, v in runs.items()}, subjects=subjects or ["P0"],
                       publications=published or [1], app=app, writer=writer,
                       template=template, template_paths=paths_in(template),
                       override_paths=paths_in(THREE_OVERRIDES))

    def seen_by(self, headers: dict[str, str]) -> Targets:
        """The same, less what the caller with ``headers`` may not see (asked of the API itself), and
        nothing prepared with another key."""
        client = self.app.test_client()
        response = client.get("/api/v1/schemes?page_size=500", headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)
        schemes = response.get_json()
        seen = {v["id"] for s in schemes for v in s["versions"]}
        kinds = {k: [i for i in ids if i in seen] for k, ids in self.kinds.items()}
        response = client.get("/api/v1/simulations?page_size=100", headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)
        visible = {r["id"] for r in response.get_json()}
        runs = {k: [i for i in ids if i in visible] for k, ids in self.runs.items()}
        return replace(self, schemes=[s["code"] for s in schemes], kinds={k: ids for k, ids in kinds.items() if ids},
                       runs={k: ids for k, ids in runs.items() if ids}, writer=None)

    def _lock_version(self, version_id: Any) -> int | None:
        if version_id not in self.kinds.get("any", []):
            return None
        with self.app.app_context():
            return db.session.scalar(select(SchemeVersion.lock_version).where(SchemeVersion.id == version_id))

    # -- near-valid content ------------------------------------------------------------------------------

    def document(self, spot: int, value: Any) -> dict[str, Any]:
        """The template document with one value (chosen by ``spot``) replaced by ``value``."""
        return graft(self.template, self.template_paths[spot % len(self.template_paths)], value)

    def overrides(self, spot: int, value: Any) -> list[Any]:
        """A localization's overrides with one value replaced by ``value``; or one override of ``value`` at
        a real place of the template, by any of the four operations."""
        if spot % 3:
            return graft(THREE_OVERRIDES, self.override_paths[spot % len(self.override_paths)], value)
        path = self.template_paths[spot % len(self.template_paths)]
        return [{"op": OPS[spot % len(OPS)], "path": dotted(path), "value": value, "reason": "本院实际情况"}]

    def localization(self, spot: int, value: Any) -> dict[str, Any]:
        return {"description": "本地化", "overrides": self.overrides(spot, value)}

    # -- aiming --------------------------------------------------------------------------------------------

    def aim(self, case: Any, choice: int, spot: int = 0, value: Any = None) -> None:
        """Point a generated case at real objects, ``choice`` (0–99) deciding, deterministically: ids,
        scheme and procuratorate codes, lock counters, conflict paths, periods, dates; and, one case in
        two, near-valid content with ``value`` grafted at ``spot``. Only values the case already has are
        replaced, so its shape stays; and never in a part generated invalid (a negative case stays as
        invalid as it was generated). For a submit, the draft first gets such content."""
        if choice >= AIMED_SHARE or not self.kinds:
            return
        path = case.operation.path.removeprefix("/api/v1")
        method = case.method.upper()
        suits = sorted({i for kind in SUITS.get((method, path), ("any",)) for i in self.kinds.get(kind, [])})
        if not suits or choice % 10 == 9:  # now and then, a version in another state
            suits = self.kinds.get("any", [])

        def pick(values: list[Any], salt: int = 0) -> Any:
            return values[(choice + salt) % len(values)]

        meta = case.meta
        negative = {loc.name.lower() for loc, c in (meta.components.items() if meta else ()) if c.mode.is_negative}
        if "path" not in negative:  # a negative part stays as generated
            params = dict(case.path_parameters or {})
            if "version_id" in params:
                params["version_id"] = pick(suits)
            if "other_id" in params:
                params["other_id"] = pick(self.kinds["any"], 7)
            if "run_id" in params:
                wanted = RUN_SUITS.get((method, path), ("succeeded",))
                fit = sorted({i for kind in wanted for i in self.runs.get(kind, [])})
                params["run_id"] = pick(fit if fit and choice % 10 != 9 else self.runs.get("any", [1]))
            if "code" in params:
                params["code"] = pick(self.procuratorates if path.startswith("/procuratorates") else
                                      self.subjects if path.startswith(("/simulations", "/subjects"))
                                      else self.schemes)
            if "publication_id" in params:
                params["publication_id"] = pick(self.publications)
            if params != case.path_parameters:
                case.path_parameters = params
        target = (case.path_parameters or {}).get("version_id")
        localization = target in self.kinds.get("localization", [])
        grafting = choice % 2 == 0
        if grafting and method == "POST" and path.endswith("/submit"):
            self._prepare_submit(target, localization, spot, value)
        replacements: dict[str, Callable[[], Any]] = {
            "procuratorate": lambda: pick(self.procuratorates, 3),
            "new_parent_id": lambda: pick(self.kinds.get("published", [1])),
            "from_version": lambda: pick(self.numbers),
            "lock_version": lambda: self._lock_version(target) if choice % 4 else None,
            "path": lambda: CONFLICT_PATH if choice % 3 else None,
            "period": lambda: pick(PERIODS),
            "periods": lambda: pick(PERIODS) if choice % 3 else [pick(PERIODS), pick(PERIODS, 1)],
            "candidate_version_id": lambda: pick(self.kinds.get("any", [1]), 3),
            "simulation_id": lambda: pick(self.runs.get("succeeded", [1]), 1),
            "subjects": lambda: [pick(self.subjects, 2)] if choice % 3 else None,
            "subject": lambda: pick(self.subjects, 1),
            "from": lambda: "2021-01",
            "to": lambda: pick(["2021-06", "2021-12", "2022-03"]),
            "date": lambda: pick(DATES),
            "effective_from": lambda: pick(DATES, 2),
            "effective_to": lambda: pick(DATES, 4),
            "scheme": lambda: pick(self.schemes),
            "version_id": lambda: pick(self.kinds.get("any", [1]), 5),
            "document": lambda: (None if not grafting else self.localization(spot, value) if localization
                                 else self.document(spot, value)),
            "overrides": lambda: self.overrides(spot, value) if grafting else None,
        }
        for attr in ("body", "query"):
            container = getattr(case, attr)
            if not isinstance(container, dict) or attr in negative:
                continue
            changed = dict(container)
            for name, make in replacements.items():
                if name in changed and (new := make()) is not None:
                    changed[name] = new
            if changed != container:
                setattr(case, attr, changed)

    def _prepare_submit(self, target: Any, localization: bool, spot: int, value: Any) -> None:
        """Put near-valid content into the draft about to be submitted, so the submit checks it (lint)."""
        if self.writer is None or target not in self.kinds.get("draft", []):
            return
        lock = self._lock_version(target)
        client = self.app.test_client()
        if localization:
            client.put(f"/api/v1/versions/{target}/overrides", headers=self.writer,
                       json={"lock_version": lock, "overrides": self.overrides(spot, value)})
        else:
            client.put(f"/api/v1/versions/{target}", headers=self.writer,
                       json={"lock_version": lock, "document": self.document(spot, value)})


# -- snapshots ------------------------------------------------------------------------------------------


class Snapshot:
    """The database of ``app`` as it is now, to be put back with :meth:`restore`. SQLite: a copy made with
    the backup API. PostgreSQL: a template database to re-create it from, through ``admin`` (an
    AUTOCOMMIT engine on the same server: the test server's, ``pg_server.engine``)."""

    def __init__(self, app, admin: Engine | None = None) -> None:
        self.app = app
        self.url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
        self._close_connections()
        self.sqlite = self.url.get_backend_name() == "sqlite"
        if self.sqlite:
            self.path = Path(self.url.database or "")
            self.copy = Path(tempfile.mkdtemp()) / "snapshot.db"
            _sqlite_copy(self.path, self.copy)
            return
        assert admin is not None, "PostgreSQL: an engine that may create databases"
        self.admin = admin
        self.name = self.url.database
        self.template = f"{self.name}_seed"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.template}" TEMPLATE "{self.name}"'))

    def _close_connections(self) -> None:
        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()

    def restore(self) -> None:
        self._close_connections()
        if self.sqlite:
            _sqlite_copy(self.copy, self.path)
            return
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{self.name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{self.name}" TEMPLATE "{self.template}"'))

    def drop(self) -> None:
        """Remove the copy (the database itself is the caller's)."""
        self._close_connections()
        if self.sqlite:
            shutil.rmtree(self.copy.parent, ignore_errors=True)
            return
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)'))


def _sqlite_copy(source: Path, target: Path) -> None:
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
