"""Property-based conformance of the whole API to its own OpenAPI document (schemathesis).

Every documented operation gets schemathesis's coverage cases (each parameter at and past its bounds,
missing, of the wrong type; other methods; other media types) and generated valid (positive) and invalid
(negative) requests, with two keys, on a small province seeded for it
(:mod:`tests.integration.schemathesis_world`) in the test's own database (``app``; never the shared demo
database: this changes data):

- a **read-only** key (read, audit) of a city: it reads its own and its counties' schemes and the
  province's published versions; every change it asks for is refused (403) before its body is read;
- a key holding **every** permission (read, edit, review, activate, audit, score) on the province: the database
  is put back as seeded before each operation and every few changes, so each operation finds drafts to
  save, submit and delete, versions in review to approve and reject, approved ones to activate, a rebase
  conflict to settle.

Most cases are pointed at real objects (``Targets.aim``: ids, simulation run ids, scheme, procuratorate
and subject codes, lock counters, the conflict's path, periods, dates), and half of those carry generated values grafted into the
real template document or real overrides, so they get past the 404s and the request schema into the
services' own checks (resolving, localizing, lint on submit).

Every response must conform to the document — its status code listed for the operation (not merely
allowed by the catch-all ``default``), its content type, schema and headers — and none may be a 5xx. A
valid request may be refused by the services (422 ``invalid_input``: a document that fails its checks, a
procuratorate that does not exist; 404; 409), never by the request schema itself (422
``unprocessable_entity``) nor as bad JSON (400). Error envelopes carry catalogue codes. A request without
the key, or with a wrong one, is refused (401). Failures are collected for the whole run and reported
together, by kind, each with a request that reproduces it.

Deterministic (``derandomize``, no example database, coverage cases enumerated): a failure here is a
regression, not luck. About 6,000 cases in a minute or so on SQLite; PostgreSQL runs the key holding every
permission only, with fewer generated cases, about 3,000 (skipped with the reason when no server answers).

Not ``schemathesis.pytest.from_fixture``: with pytest 9.2 it fails (``Function`` has no ``_nodeid``).
"""

from __future__ import annotations

import os
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis not installed (pip install schemathesis==4.32.5)")
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    ignored_auth,
    is_unexpected_http_status_case,
    negative_data_rejection,
    positive_data_acceptance,
)

from rulesvc.catalogue import MESSAGES  # noqa: E402
from tests.integration.schemathesis_world import Snapshot, Targets, seed_world  # noqa: E402


@dataclass(frozen=True)
class Budget:
    """Generated cases per operation and generation mode: the read-only key's reads, its change requests
    (all refused alike: fewer), every operation with the key holding every permission; the least total
    with the coverage cases (about 1,100 per key); the cases of a change between two resets."""

    reads: int
    refused: int
    everything: int
    least: int
    reset_every: int
    read_only_run: bool = True  # PostgreSQL: the key with every permission reads everything the read-only key does


# Sized so that the suite stays within CI's 20 minutes on one core (its two halves are the longest files of the
# suite): the coverage cases all kept (every parameter at and past its bounds, missing, of the wrong type), generated
# cases about a quarter of those of the first runs — they found nothing the coverage cases did not in the last runs.
BUDGETS = {"sqlite": Budget(reads=8, refused=3, everything=10, least=2600, reset_every=10),
           "postgresql": Budget(reads=0, refused=0, everything=5, least=1200, reset_every=20, read_only_run=False)}
# Values of every JSON type, grafted into real documents and overrides (Targets.aim).
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
# The same for the coverage phase, which draws nothing: one value of each kind, in turn.
GRAFTED = [None, True, 0, -1, 2**31, 2**64, 0.5, -1e300, "", "文字", " ", [], [None], {}, {"": {}}, [[[]]]]
# Statuses a valid request may get from the services (positive_data_acceptance's own, less 5xx and 429)
ACCEPTABLE = frozenset({200, 201, 202, 204, 401, 403, 404, 409})  # 202: a simulation run accepted (queued)
# Reads whose query the service checks against what it reads (422 ``invalid_input``, like a change's
# content): a run's per-subject results for a period the run does not hold (``simulation.period_not_in_run``).
# Scoring reads check their query against what it names: a scheme or a version (one of the two),
# comparisons a scheme that scores procuratorates, a history at most 24 periods
# (``evaluation.scheme_or_version``, ``comparison.not_procuratorate``, ``history.too_long``).
CHECKED_READS = frozenset({"GET /api/v1/simulations/{run_id}/subjects",
                           "GET /api/v1/simulations/{run_id}/subjects/{code}/why",
                           "GET /api/v1/rankings", "GET /api/v1/comparisons", "GET /api/v1/subjects/{code}/history"})


def _settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,  # the same cases on every run
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )


# -- checks ---------------------------------------------------------------------------------------------


def _json(response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def documented_status(ctx, response, case: schemathesis.Case) -> None:
    """The status is one the operation lists. (schemathesis's own check accepts any status as soon as a
    ``default`` response is documented, as flask-smorest does for every operation.)"""
    if is_unexpected_http_status_case(case):  # another method, a body of another media type: any 4xx will do
        return
    listed = {int(code) for code in case.operation.definition.raw.get("responses", {}) if code.isdigit()}
    assert response.status_code in listed, f"status {response.status_code} is not documented (only {sorted(listed)})"


def valid_requests_pass_the_request_schema(ctx, response, case: schemathesis.Case) -> None:
    """A schema-valid request is never refused by the request schema (422 ``unprocessable_entity``) nor as
    bad JSON (400 ``request.bad_json``): the document and the validation say the same. The services may
    still refuse it (422 ``invalid_input``: an unknown procuratorate, a document that fails lint), or not
    find what it names (404), or find it in the wrong state (409)."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    body = _json(response) or {}
    status = body.get("status") if isinstance(body, dict) else None
    assert not (response.status_code == 422 and status == "unprocessable_entity"), \
        f"schema-valid request rejected by the request schema: {body.get('errors')}"
    assert not (response.status_code == 400 and body.get("error_code") == "request.bad_json"), \
        f"schema-valid request refused as bad JSON: {body.get('message')}"
    assert response.status_code in ACCEPTABLE or (response.status_code == 422 and status == "invalid_input"), \
        f"schema-valid request answered {response.status_code} {status}"


def invalid_requests_are_refused(ctx, response, case: schemathesis.Case) -> None:
    """schemathesis's ``negative_data_rejection``, with 413 counted as a refusal: a body over the service's
    size limit (2 MB) is refused by the guard before its content is read — an inline events list past its
    5,000 rows may well be that large."""
    if response.status_code == 413:
        return
    negative_data_rejection(ctx, response, case)


def changes_nothing(ctx, response, case: schemathesis.Case) -> None:
    """(The read-only key.) Every change request is refused with 403 before its body is read — never a 2xx,
    nor a 400/422 describing the request format to a caller who may not use it — unless its URL names
    nothing (404, 405)."""
    if case.method.upper() not in ("GET", "HEAD", "OPTIONS"):
        assert response.status_code in (403, 404, 405), f"a read-only key's change answered {response.status_code}"


def catalogue_codes(ctx, response, case: schemathesis.Case) -> None:
    """An error's ``error_code`` (and every code in ``field_codes``) is in the catalogue, or is the
    envelope's ``status`` (an error with no message of its own)."""
    if response.status_code < 400:
        return
    body = _json(response)
    assert isinstance(body, dict), "an error without the JSON envelope"
    assert body["error_code"] in MESSAGES or body["error_code"] == body["status"], \
        f"error_code {body['error_code']!r} is not in the catalogue"
    unknown = [c for c in _leaves(body.get("field_codes")) if isinstance(c, str) and c not in MESSAGES]
    assert not unknown, f"field_codes not in the catalogue: {unknown}"


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [x for v in value.values() for x in _leaves(v)]
    if isinstance(value, list):
        return [x for v in value for x in _leaves(v)]
    return [] if value is None else [value]


# -- runs ------------------------------------------------------------------------------------------------


@dataclass
class Run:
    """One pass over every operation with one key; what it sent, what came back, what failed."""

    name: str
    headers: dict[str, str]
    examples: Callable[[Any], int]  # cases per operation and generation mode
    targets: Targets | None = None
    reset: Callable[[], None] | None = None  # puts the database back as seeded
    reset_every: int = 10  # cases of an operation that changes data
    checks: tuple[Callable[..., None], ...] = ()
    cases: Counter[str] = field(default_factory=Counter)
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    failures: dict[str, list[str]] = field(default_factory=dict)  # kind -> the requests that show it
    auth_checked: set[str] = field(default_factory=set)
    seconds: float = 0.0

    def fuzz(self, app) -> Run:
        start = time.monotonic()
        schema = schemathesis.openapi.from_wsgi("/api/docs/openapi.json", app)
        # The key goes in every request: no generated (and then overwritten) credentials.
        schema.config.generation.update(with_security_parameters=False)
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 20
        for operation in operations:
            if self.reset is not None:
                self.reset()
            self._cover(schema, operation)
            modes = [schemathesis.GenerationMode.POSITIVE]
            if any(True for _ in operation.iter_parameters()) or operation.body:  # else nothing to get wrong
                modes.append(schemathesis.GenerationMode.NEGATIVE)
            for mode in modes:
                self._fuzz(operation, mode)
        self.seconds = time.monotonic() - start
        return self

    def _aim(self, operation) -> Callable[..., None] | None:
        if self.targets is None or not (operation.path_parameters or operation.body or operation.query):
            return None
        return self.targets.aim

    def _cover(self, schema, operation) -> None:
        """schemathesis's coverage phase: each parameter at its bounds, just past them, missing, of the wrong
        type; other methods on the path; bodies of other media types — enumerated, not drawn."""
        aim = self._aim(operation)
        modes = [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]
        cases = schema.iter_coverage_cases(operation, generation_modes=modes,
                                           generation_config=schema.config.generation_for(operation=operation))
        for index, case in enumerate(cases):
            self._maybe_reset(operation, index)
            if aim is not None:
                aim(case, (index * 37) % 100, index * 7919, GRAFTED[index % len(GRAFTED)])
            self._send(operation, "coverage", case)

    def _fuzz(self, operation, mode) -> None:
        aim = self._aim(operation)
        # Nothing to draw where there is nothing to aim: hypothesis stops once the operation has no new case.
        choices, spots, values = ((st.integers(0, 99), st.integers(0, 2**20), JSON_VALUES) if aim is not None
                                  else (st.just(0), st.just(0), st.none()))
        done = Counter[str]()

        @given(case=operation.as_strategy(generation_mode=mode), choice=choices, spot=spots, value=values)
        @_settings(self.examples(operation))
        def check(case: schemathesis.Case, choice: int, spot: int, value: Any) -> None:
            self._maybe_reset(operation, done["cases"])
            done["cases"] += 1
            if aim is not None:
                aim(case, choice, spot, value)
            self._send(operation, "fuzzing", case)

        check()

    def _maybe_reset(self, operation, index: int) -> None:
        """Every few cases of an operation that changes data, the versions it needs back as they were."""
        if self.reset is not None and operation.method.upper() != "GET" and index and index % self.reset_every == 0:
            self.reset()

    def _send(self, operation, phase: str, case: schemathesis.Case) -> None:
        """Send one case, run every check, and note the answer or what failed (the run goes on)."""
        mode = case.meta.generation.mode.value if case.meta is not None else "?"
        self.cases[f"{phase} {mode}"] += 1
        checks = [documented_status, catalogue_codes, invalid_requests_are_refused, *self.checks]
        excluded = [negative_data_rejection]
        # The services refuse some valid content (and some reads' queries): see the check.
        if operation.method.upper() != "GET" or operation.label in CHECKED_READS:
            excluded, checks = [*excluded, positive_data_acceptance], [*checks, valid_requests_pass_the_request_schema]
        if operation.label in self.auth_checked:
            # Whether a request without the key, or with a wrong one, is refused (four more requests): once per
            # operation is enough.
            excluded.append(ignored_auth)
        try:
            response = case.call_and_validate(headers=self.headers, excluded_checks=excluded, additional_checks=checks)
        except (Exception, BaseExceptionGroup) as exc:  # every failure is collected
            kind, request = _describe(operation, f"{phase} {mode}", case, exc, self.headers)
            self.failures.setdefault(kind, []).append(request)
            return
        self.statuses[(operation.label, response.status_code)] += 1
        if 200 <= response.status_code < 300:
            self.auth_checked.add(operation.label)

    @property
    def total(self) -> int:
        return sum(self.cases.values())

    def summary(self) -> str:
        by_status: Counter[int] = Counter()
        for (_, code), n in self.statuses.items():
            by_status[code] += n
        return (f"{self.name}: {self.total} cases ({dict(self.cases)}) in {self.seconds:.0f} s; "
                f"statuses {dict(sorted(by_status.items()))}; {sum(map(len, self.failures.values()))} failures")

    def answered(self, label: str, low: int, high: int) -> int:
        return sum(n for (op, code), n in self.statuses.items() if op == label and low <= code <= high)

    def table(self) -> str:
        """Per operation, how many responses of each status."""
        rows: dict[str, Counter[int]] = {}
        for (label, code), n in self.statuses.items():
            rows.setdefault(label, Counter())[code] += n
        return "\n".join(f"  {label:<48} " + " ".join(f"{c}×{n}" for c, n in sorted(counts.items()))
                         for label, counts in rows.items())

    def report(self) -> list[str]:
        return [f"{self.name}: {kind}\n({len(requests)}×, e.g.) {requests[0]}" for kind, requests in self.failures.items()]


def _describe(operation, mode: str, case, exc: BaseException, headers: dict[str, str]) -> tuple[str, str]:
    """What went wrong, in a line that is the same for every case that shows it; and, for this case, all
    of it with the request that reproduces it."""
    if isinstance(exc, BaseExceptionGroup) or type(exc).__module__.startswith("schemathesis"):
        failures = list(getattr(exc, "exceptions", [exc]))
        texts = [f"{getattr(f, 'title', type(f).__name__)}: {getattr(f, 'message', f)}" for f in failures]
        kind = "; ".join(t.splitlines()[0] for t in texts)
        detail = "\n".join(texts)
    elif isinstance(exc, AssertionError):
        kind, detail = str(exc).splitlines()[0], str(exc)
    else:  # an exception raised by the app itself (a 500 under TESTING, where Flask propagates it)
        frames = traceback.extract_tb(exc.__traceback__)
        rulesvc = [f for f in frames if "/rulesvc/" in f.filename] or frames
        kind = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''} at " \
               f"{rulesvc[-1].filename.rsplit('/rulesvc/', 1)[-1]}:{rulesvc[-1].lineno}"
        detail = "".join(traceback.format_exception(exc)[-12:])
    return f"[{operation.label} {mode}] {kind}", f"{detail}\n{case.as_curl_command(headers=headers)}"


class Parked:
    """A simulation dispatcher that takes every run and starts none (they stay queued): the fuzzer asks for
    runs through the real service and its checks, without jobs left on a queue or threads computing while
    the database is put back under them. (Where runs execute is tested in test_simulation_jobs.py.)"""

    mode = "rq"

    def check(self) -> None:
        return None

    def submit(self, run_id: int) -> str:
        return f"parked-{run_id}"


# The conformance run is here on SQLite; test_api_schemathesis_postgresql.py runs it on PostgreSQL — two files, so
# that the suite's workers (a test file at a time each) take the two runs side by side: together they are a
# third of the whole suite's time.
@pytest.mark.slow
@pytest.mark.sqlite_only
def test_api_conforms_to_its_openapi_document(app, db_kind, pg_server, capsys, monkeypatch):
    """(``app``: a migrated database of its own — emptied afterwards, as for any test.)"""
    budget = BUDGETS[db_kind]
    keys = seed_world(app)
    targets = Targets.read(app, writer=keys["every permission"])
    monkeypatch.setitem(app.extensions, "rulesvc.simulations", Parked())
    snapshot = Snapshot(app, admin=pg_server.engine if db_kind == "postgresql" else None)
    try:
        # (On PostgreSQL the read-only key's run is left out: its refusals come before the database is read, and
        # its reads are the other key's, within a city — the values at and past every bound reach PostgreSQL with
        # the key holding every permission.)
        runs = [
            Run("read-only key (read, audit) of a city", keys["read-only"],
                lambda op: budget.reads if op.method.upper() == "GET" else budget.refused,
                targets=targets.seen_by(keys["read-only"]), checks=(changes_nothing,)).fuzz(app),
        ] if budget.read_only_run else []
        runs.append(Run("key with every permission on the province", keys["every permission"],
                        lambda op: budget.everything, targets=targets, reset=snapshot.restore,
                        reset_every=budget.reset_every).fuzz(app))
    finally:
        snapshot.drop()

    with capsys.disabled():  # the counts, in every run's output
        print("".join(f"\n{run.summary()}" for run in runs))
        if os.environ.get("RULESVC_FUZZ_TABLE"):  # per operation, how many answers of each status
            print("".join(f"\n{run.table()}" for run in runs))
    failures = [line for run in runs for line in run.report()]
    assert not failures, f"{len(failures)} kinds of failure:\n\n" + "\n\n".join(failures)
    assert sum(run.total for run in runs) >= budget.least
    everything = runs[-1]
    labels = {label for label, _ in everything.statuses}
    assert not [x for x in labels if not everything.answered(x, 200, 299)], \
        f"operations the key with every permission never got through:\n{everything.table()}"
    if budget.read_only_run:
        read_only = runs[0]
        assert not [x for x in labels if x.startswith("GET") and not read_only.answered(x, 200, 299)], \
            f"reads the read-only key never got through:\n{read_only.table()}"


# -- what the runs found, held by fast tests -------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/versions/99999999999"), ("PUT", "/versions/99999999999"), ("DELETE", "/versions/99999999999"),
    ("POST", "/versions/2147483648/submit"), ("GET", "/versions/1/diff/99999999999"),
])
def test_a_version_id_out_of_range_is_not_found_whatever_the_method(app, method, path):
    """werkzeug picks the rule by method before converting: an id over 2^31 − 1 refused by the converter
    made PUT and DELETE a 405 ("use GET") for a version that cannot exist."""
    from rulesvc.extensions import db
    from rulesvc.persistence.models import Procuratorate
    from rulesvc.services.governance.access import system_actor
    from rulesvc.services.governance.apikeys import create_key

    with app.app_context():
        db.session.add(Procuratorate(code="910000", name="示范省人民检察院", level="province"))
        db.session.flush()
        _, token = create_key(db.session, system_actor("tests"), name="editor", procuratorates=["910000"],
                              permissions=["read", "edit"])
        db.session.commit()
    response = app.test_client().open(f"/api/v1{path}?lock_version=1", method=method, json={"lock_version": 1},
                                      headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 404, response.get_data(as_text=True)
    assert response.get_json()["error_code"] == "not_found.version"


def test_change_requests_document_what_the_guard_answers(app):
    """400 (not JSON, too deep) and 413 (too large) come before any view: every change documents them."""
    spec = app.test_client().get("/api/docs/openapi.json").get_json()
    changes = [(method, path, op) for path, item in spec["paths"].items() for method, op in item.items()
               if method in ("post", "put", "delete", "patch")]
    assert len(changes) >= 14
    assert not [f"{m} {p}" for m, p, op in changes if not {"400", "403", "413"} <= set(op["responses"])]


def test_a_body_is_documented_required_only_when_a_field_is(app):
    """A body whose fields are all optional may be left out (it reads as ``{}``): the document says so.
    Approve, retire, submit and a new draft were documented as needing a body they did not need."""
    spec = app.test_client().get("/api/docs/openapi.json").get_json()
    wrong = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            body = op.get("requestBody") if isinstance(op, dict) else None
            if body is None:
                continue
            ref = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
            if bool(body.get("required")) != bool(spec["components"]["schemas"][ref].get("required")):
                wrong.append(f"{method.upper()} {path}")
    assert not wrong
