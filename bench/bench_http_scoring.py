"""Benchmark: scoring over HTTP (issue 11) under the documented server command, each figure beside a baseline
measured in the same run.

Targets (issue 11): over HTTP under ``rulesvc serve`` (gunicorn, as many workers as cores):

1. ``POST /api/v1/evaluations`` with ``trace=summary`` ≥ 50 % of the requests per second of a trivial JSON
   endpoint on the same server in the same run. Baseline: ``GET /api/v1/health`` (it is not free: it runs
   ``SELECT 1`` on a pooled connection in a probe thread). A second, truly trivial baseline is printed too:
   an unknown path under ``/api/v1/`` (the JSON 404 envelope; no database, no view). Both measured with
   ``wrk`` (closed loop, 1 thread, 8 keep-alive connections), rounds taking turns.
   The evaluations cycle through every prosecutor the version in force scores in 2020 (2,894 of 2,999).
   Provisional cards are kept once made (in the worker and in the instance's card store on disk): the step
   starts from none — a fresh server, the store emptied — so round 1 computes every subject's card on its
   first request and round 2 finds them made; each round's ratio is printed beside the mean. A load whose
   connections all landed on one worker (wrk opens its 8 at once) is run again, up to twice.
2. p99 ≤ 25 ms at half of that rate: an open-loop Python client (a schedule of send times at a constant rate,
   16 keep-alive connections; latency from the *scheduled* time, so a slow answer delays no measurement —
   no coordinated omission), (a) on the server the rate step used (its workers may reach --max-requests
   during the run and restart cold), (b) on a server started afresh and warmed (no restart during the run).
   Baseline: the same client against the health endpoint at the same rate.
3. A batch of the whole demo province (2,999 prosecutors) ≤ 2 s: ``POST /api/v1/evaluations/batch``.
   Baseline: the same bulk scoring in-process (``services.scoring.score_period`` with the events cache).
4. A rankings page ≤ 100 ms: ``GET /api/v1/rankings``, warm, sequential on one connection. Baseline: health,
   the same way. Also ``GET /api/v1/subjects/<code>/history`` (no target).
5. Published results: ``rulesvc publish --scheme CODE --period 2020`` timed (baseline: in-process bulk), then
   the evaluation rate again (published figures) against health.
6. RSS of a worker flat (± 10 %) over 10,000 evaluations spread across 200 versions: one gunicorn worker
   (``--workers 1``, the same options as ``rulesvc serve`` *without* ``--max-requests``: a recycled worker
   would hide any growth). The versions are localization drafts of the
   template (``BENCH-RSS-<org>-<i>``, each overriding ``combination.base``) spread over 8 city and county
   procuratorates (``--rss-scopes``), named by ``version_id``; or, with ``--rss-kind province``, drafts of a
   province-wide copy of the template. A warm-up pass scores one subject under each of the first 32 versions
   (more than the per-version caches hold: bulk results 28, compiled schemes 32, durable rule sets 16) and 50
   more on four of them; then the evaluations go version after version (the first alone, so the version's
   bulk run is made once, the rest 4 at a time). VmRSS of the worker (``/proc/<pid>/status``) after the
   warm-up and at the end; drift = end / after warm-up − 1. Every new version costs a bulk run over the
   province's events (~2–3 s here), so the default run uses 60 versions (twice the largest per-version cache)
   to stay near 10 minutes; ``--rss-versions 200`` is the issue's figure (+8 minutes).

Endpoints that do not exist yet (not in the server's OpenAPI document) are skipped with "not available yet".

    .venv/bin/python bench/bench_http_scoring.py [--quick] [--instance /tmp/benchinst] [--only rate,p99,...]
        [--rss-versions 200] [--rss-evals 10000] [--rss-scopes 8] [--rss-kind local|province]

The whole run takes ~12 minutes on 2 busy vCPUs (``--quick``: ~4).

``--instance``: an instance folder made by ``RULESVC_INSTANCE_PATH=… rulesvc setup`` (made here when
missing, ~1 min). With ``RULESVC_DATABASE_URL=postgresql://…`` in the environment the instance's data lives in
that (empty, created beforehand) PostgreSQL database, for the server too; run only the read steps there
(``--only rate,p99,batch,rankings,history``: ``publish`` copies the instance folder, not the database). The run adds an API key (read, score) and, once, the scheme BENCH-RSS with its versions.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent
SCHEME, PERIOD = "SFS-PROSECUTOR-TEMPLATE", "2020"
RSS_SCHEME = "BENCH-RSS"
HOST = "127.0.0.1"
from rulesvc.gunicorn_conf import threads as THREADS  # noqa: E402  (what `rulesvc serve` runs by default)

CONNECTIONS = 8  # wrk connections: more than the server runs at once (2 workers × THREADS), so it is saturated
STEPS = ("rate", "p99", "batch", "rankings", "history", "publish", "rss")


# ------------------------------------------------------------------------------------------- the instance
@dataclass
class Prep:
    token: str
    subjects: list[str]  # codes the version in force scores in 2020 (each answers 200)
    bulk_s: list[float]  # in-process score_period of the province, warm (the batch baseline)
    rss: list[tuple[int, list[str]]] = field(default_factory=list)  # (version id, its subjects)


def prepare(instance: Path, n_versions: int, kind: str = "local", scopes: int = 8) -> Prep:
    """In this process, before any server starts: the schema up to date, an API key, the subjects, the
    in-process bulk baseline and the versions for the RSS run."""
    made = instance / "bench-setup-done"  # with RULESVC_DATABASE_URL (PostgreSQL) there is no rulesvc.db
    if not (instance / "rulesvc.db").exists() and not made.exists():
        print(f"making the demo instance in {instance} (rulesvc setup, ~1 min) …", flush=True)
        subprocess.run([str(BIN / "rulesvc"), "setup"], env={**os.environ, "RULESVC_INSTANCE_PATH": str(instance)},
                       check=True, stdout=subprocess.DEVNULL)
        made.write_text(os.environ.get("RULESVC_DATABASE_URL", "sqlite"))
    os.environ["RULESVC_INSTANCE_PATH"] = str(instance)
    from flask_migrate import upgrade
    from sqlalchemy import select

    from rulesvc import create_app
    from rulesvc.engine.periods import parse_period
    from rulesvc.extensions import db
    from rulesvc.persistence.models import Procuratorate
    from rulesvc.schema.scheme import load_scheme
    from rulesvc.services import scoring
    from rulesvc.services.dictionary import get_dictionary
    from rulesvc.services.governance import versions
    from rulesvc.services.governance.access import system_actor
    from rulesvc.services.governance.apikeys import create_key

    app = create_app()
    with app.app_context():
        upgrade(directory=app.config["MIGRATIONS_DIR"])
        session, actor = db.session, system_actor("bench")
        _, token = create_key(session, actor, name=f"bench-http {dt.datetime.now():%H%M%S}", procuratorates=["910000"],
                              permissions=["read", "score"])
        dictionary = get_dictionary(app.config["RULES_DIR"])
        cache_dir = Path(app.extensions["rulesvc.simulation_settings"].cache_dir)
        period = parse_period(PERIOD)
        v = versions.version_in_effect(session, actor, SCHEME, period.start)
        compiled = scoring.compile_cached(load_scheme(v.resolved if v.resolved is not None else versions.resolve(v)),
                                          dictionary)
        bulk_s = []
        for _ in range(4):  # the first reads (or writes) the events cache: not counted
            t = time.perf_counter()
            bulk, data = scoring.score_period(session, compiled, dictionary, period, cache_dir=cache_dir)
            bulk_s.append(time.perf_counter() - t)
        scored = set(bulk.frame[data.key].to_list())
        subjects = [c for k, c in zip(data.subjects[data.key].to_list(), data.subjects["code"].to_list(), strict=True)
                    if k in scored]
        by_org: dict[str, list[str]] = {}
        org_code = dict(session.execute(select(Procuratorate.id, Procuratorate.code)).all())
        for k, c, o in zip(data.subjects[data.key].to_list(), data.subjects["code"].to_list(),
                           data.subjects["procuratorate_id"].to_list(), strict=True):
            if k in scored:
                by_org.setdefault(org_code[o], []).append(c)
        rss: list[tuple[int, list[str]]] = []
        if n_versions and kind == "province":
            rss = [(i, subjects) for i in _template_drafts(session, actor, n_versions)]
        elif n_versions:
            orgs = sorted(o for o in by_org if o != "910000" and len(by_org[o]) >= 10)[:scopes]
            rss = [(i, by_org[o]) for i, o in _localizations(session, actor, v.id, orgs, n_versions)]
        session.commit()
        db.engine.dispose()
    return Prep(token, subjects, bulk_s[1:], rss)


def _template_drafts(session: Any, actor: Any, n: int) -> list[int]:
    """``n`` versions of the province-wide scheme BENCH-RSS: the template with another combination.base each
    (drafts; made once, reused by later runs)."""
    import yaml
    from sqlalchemy import select

    from rulesvc.persistence.models import Scheme
    from rulesvc.services.governance import versions

    scheme = session.scalar(select(Scheme).where(Scheme.code == RSS_SCHEME))
    have = sorted(x.id for x in scheme.versions) if scheme is not None else []
    t = time.perf_counter()
    doc = yaml.safe_load((ROOT / "rules" / "schemes" / "province-prosecutor-template.yaml").read_text(encoding="utf-8"))
    for i in range(len(have), n):
        d = {**doc, "code": RSS_SCHEME,
             "combination": {**doc["combination"], "base": round(70 + i * 0.05, 2), "span": round(30 - i * 0.05, 2)}}
        if i == 0:
            nv = versions.create_scheme(session, actor, code=RSS_SCHEME, name="RSS 基准方案 (bench)", procuratorate="910000",
                                        subject_kind="prosecutor", period_kind="year", document=d)
        else:
            nv = versions.create_draft(session, actor, RSS_SCHEME, document=d)
        have.append(nv.id)
    print(f"{RSS_SCHEME}: {len(have)} versions ({time.perf_counter() - t:.1f} s to make the missing ones)")
    return have[:n]


def _localizations(session: Any, actor: Any, parent_id: int, orgs: list[str], n: int) -> list[tuple[int, str]]:
    """``n`` localization drafts of the template version in force, ``BENCH-RSS-<org>-<i>``, spread over
    ``orgs`` in turn, each overriding combination.base (made once, reused by later runs)."""
    from sqlalchemy import select

    from rulesvc.persistence.models import Procuratorate, Scheme, SchemeVersion
    from rulesvc.services.governance import versions

    t, out, made = time.perf_counter(), [], 0
    for i in range(n):
        org = orgs[i % len(orgs)]
        code = f"{RSS_SCHEME}-{org}-{i:03d}"
        got = session.execute(select(SchemeVersion.id, Procuratorate.code).join(Scheme, SchemeVersion.scheme_id == Scheme.id)
                              .join(Procuratorate, Scheme.procuratorate_id == Procuratorate.id)
                              .where(Scheme.code == code)).first()
        if got is None:
            nv = versions.localize(session, actor, parent_version_id=parent_id, procuratorate=org, code=code,
                                   name=f"RSS 基准本地化 {i} (bench)", overrides=[{
                                       "op": "set", "path": "combination.base", "value": round(70 + i * 0.05, 2),
                                       "reason": "基准测试 (benchmark)"}])
            got, made = (nv.id, org), made + 1
        out.append((got[0], got[1]))
    print(f"{RSS_SCHEME}-<org>-<i>: {len(out)} localizations over {len({o for _, o in out})} procuratorates "
          f"({made} made now, {time.perf_counter() - t:.1f} s)")
    return out




# ----------------------------------------------------------------------------------------------- servers
def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class Server:
    """``rulesvc serve`` (the documented command; it execs gunicorn, so the pid is the master's), or gunicorn
    with the same options but one worker and no --max-requests (the RSS run)."""

    def __init__(self, instance: Path, log: Path, *, workers: int, documented: bool = True) -> None:
        self.port = free_port()
        if documented:
            cmd = [str(BIN / "rulesvc"), "serve", "--host", HOST, "--port", str(self.port), "--workers", str(workers),
                   "--no-demo"]
        else:
            cmd = [str(BIN / "gunicorn"), "-c", "python:rulesvc.gunicorn_conf", "--bind", f"{HOST}:{self.port}",
                   "--workers", str(workers), "--threads", str(THREADS), "--no-control-socket", "--access-logfile", "-",
                   "rulesvc:create_app()"]
        self.cmd = cmd
        self.log = log.open("ab")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, "RULESVC_INSTANCE_PATH": str(instance)},
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"server exited ({self.proc.returncode}); see {log}")
            try:
                if request(self.port, "GET", "/api/v1/health")[0] == 200:
                    break
            except OSError:
                time.sleep(0.3)
        else:
            self.stop()
            raise SystemExit(f"server did not answer within 120 s; see {log}")
        while len(self.workers()) < workers and time.monotonic() < deadline:
            time.sleep(0.2)

    def workers(self) -> list[int]:
        try:
            return [int(x) for x in Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()]
        except OSError:
            return []

    def paths(self) -> set[str]:
        status, body = request(self.port, "GET", "/api/docs/openapi.json")
        return set(json.loads(body).get("paths", {})) if status == 200 else set()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def request(port: int, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
            conn: http.client.HTTPConnection | None = None, timeout: float = 120) -> tuple[int, bytes]:
    own = conn is None
    c = conn or http.client.HTTPConnection(HOST, port, timeout=timeout)
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    h = {"Content-Type": "application/json", **(headers or {})} if data is not None else dict(headers or {})
    try:
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        if own:
            c.close()


def rss_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process in KiB."""
    got = {line.split(":")[0]: int(line.split()[1]) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
           if line.startswith(("VmRSS", "VmHWM"))}
    return got["VmRSS"], got["VmHWM"]


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (0 when it is gone)."""
    try:
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def quiesce(server: Server, limit: float = 90) -> float:
    """Wait until the workers are idle (< 5 % of a core each over 0.5 s): a closed-loop client that stops
    leaves its last requests running in the server, which would slow the next measurement. Returns the wait."""
    t = time.monotonic()
    while time.monotonic() - t < limit:
        ws = server.workers()
        before = [cpu_s(w) for w in ws]
        time.sleep(0.5)
        if all(cpu_s(w) - b < 0.025 for w, b in zip(ws, before, strict=True)) and server.workers() == ws:
            break
    return time.monotonic() - t


# ---------------------------------------------------------------------------------------------------- wrk
WRK_LUA = r"""
local bodies, n, i = {}, 0, 0
init = function(args)
  if args[1] then
    for line in io.lines(args[1]) do n = n + 1; bodies[n] = line end
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/json"
  end
end
request = function()
  if n == 0 then return wrk.format() end
  i = i % n + 1
  return wrk.format(nil, nil, nil, bodies[i])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests": %d, "duration_us": %d, "non2xx": %d, "connect": %d, "read": %d, ' ..
    '"write": %d, "timeout": %d, "p50_us": %.0f, "p99_us": %.0f, "max_us": %.0f}\n', summary.requests,
    summary.duration, e.status, e.connect, e.read, e.write, e.timeout, latency:percentile(50),
    latency:percentile(99), latency.max))
end
"""


@dataclass
class Load:
    rps: float
    requests: int
    non2xx: int
    errors: int
    p50_ms: float
    p99_ms: float
    split: str = ""  # CPU seconds of each worker during the run
    recycled: int = 0  # workers replaced during the run (--max-requests)


class Wrk:
    def __init__(self, work: Path) -> None:
        self.exe = shutil.which("wrk")
        self.script = work / "bench.lua"
        self.script.write_text(WRK_LUA)
        self.work = work

    def run(self, port: int, path: str, seconds: float, *, bodies: list[dict[str, Any]] | None = None,
            headers: dict[str, str] | None = None, connections: int = CONNECTIONS) -> Load:
        cmd = [str(self.exe), "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "30s",
               "-s", str(self.script)]
        for k, v in (headers or {}).items():
            cmd += ["-H", f"{k}: {v}"]
        cmd.append(f"http://{HOST}:{port}{path}")
        if bodies:
            f = self.work / "bodies.txt"
            f.write_text("\n".join(json.dumps(b, ensure_ascii=False) for b in bodies) + "\n", encoding="utf-8")
            cmd += ["--", str(f)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        got = json.loads(next(line for line in out.splitlines() if line.startswith("WRKJSON "))[8:])
        return Load(rps=got["requests"] / (got["duration_us"] / 1e6), requests=got["requests"], non2xx=got["non2xx"],
                    errors=got["connect"] + got["read"] + got["write"] + got["timeout"], p50_ms=got["p50_us"] / 1000,
                    p99_ms=got["p99_us"] / 1000)


def closed_loop_py(port: int, path: str, seconds: float, *, bodies: list[dict[str, Any]] | None = None,
                   headers: dict[str, str] | None = None, connections: int = CONNECTIONS) -> Load:
    """A bounded Python stand-in for wrk (threads, keep-alive), used when wrk is not installed."""
    stop = time.monotonic() + seconds
    lat: list[float] = []
    bad = [0, 0]
    lock = threading.Lock()
    counter = iter(range(10**9))

    def worker() -> None:
        c = http.client.HTTPConnection(HOST, port, timeout=60)
        while time.monotonic() < stop:
            i = next(counter)
            t = time.perf_counter()
            try:
                status, _ = request(port, "POST" if bodies else "GET", path,
                                    bodies[i % len(bodies)] if bodies else None, headers, conn=c)
            except OSError:
                with lock:
                    bad[1] += 1
                c = http.client.HTTPConnection(HOST, port, timeout=60)
                continue
            with lock:
                lat.append(time.perf_counter() - t)
                bad[0] += not 200 <= status < 400
    t0 = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lat.sort()
    return Load(len(lat) / (time.monotonic() - t0), len(lat), bad[0], bad[1], pct(lat, 50) * 1000, pct(lat, 99) * 1000)


def pct(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values) + 0.5) - 1))]


def open_loop(port: int, path: str, rate: float, seconds: float, *, bodies: list[dict[str, Any]] | None = None,
              headers: dict[str, str] | None = None, connections: int = 16) -> dict[str, float]:
    """Constant-rate client: request i is due at t0 + i / rate; its latency runs from that time to the end of
    the answer, so answers that come late (or requests that wait for a free connection) count in full."""
    n = max(1, int(rate * seconds))
    t0 = time.perf_counter() + 0.2
    lat: list[float] = []
    bad = [0]
    lock = threading.Lock()
    nxt = [0]

    def worker() -> None:
        c = http.client.HTTPConnection(HOST, port, timeout=60)
        while True:
            with lock:
                i = nxt[0]
                nxt[0] += 1
            if i >= n:
                break
            due = t0 + i / rate
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            try:
                status, _ = request(port, "POST" if bodies else "GET", path,
                                    bodies[i % len(bodies)] if bodies else None, headers, conn=c)
            except OSError:
                status = 0
                c = http.client.HTTPConnection(HOST, port, timeout=60)
            done = time.perf_counter()
            with lock:
                lat.append(done - due)
                bad[0] += status != 200
    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lat.sort()
    return {"n": n, "rate": rate, "p50": pct(lat, 50) * 1000, "p90": pct(lat, 90) * 1000,
            "p99": pct(lat, 99) * 1000, "max": lat[-1] * 1000, "bad": bad[0]}


def sequential(port: int, method: str, path: str | Callable[[int], str], n: int, *, body: Any = None,
               headers: dict[str, str] | None = None) -> list[float]:
    """Latencies (ms) of ``n`` requests one after the other on one keep-alive connection; every answer 200."""
    c = http.client.HTTPConnection(HOST, port, timeout=120)
    out = []
    for i in range(n):
        p = path(i) if callable(path) else path
        t = time.perf_counter()
        status, data = request(port, method, p, body, headers, conn=c)
        out.append((time.perf_counter() - t) * 1000)
        if status != 200:
            raise RuntimeError(f"{method} {p}: {status} {data[:300]!r}")
    c.close()
    return out


# ------------------------------------------------------------------------------------------ the figures
@dataclass
class Row:
    measure: str
    ours: str
    baseline: str
    ratio: str
    target: str
    met: str


@dataclass
class Run:
    args: argparse.Namespace
    instance: Path
    prep: Prep
    work: Path
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    eval_rate: float | None = None
    server: Server | None = None
    paths: set[str] = field(default_factory=set)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.prep.token}"}

    def bodies(self, trace: str = "summary", offset: int = 0) -> list[dict[str, Any]]:
        s = self.prep.subjects[offset:] + self.prep.subjects[:offset]
        return [{"subject": c, "period": PERIOD, "scheme": SCHEME, "trace": trace} for c in s]

    def add(self, measure: str, ours: str, baseline: str, ratio: str, target: str, met: bool | str) -> None:
        self.rows.append(Row(measure, ours, baseline, ratio, target,
                             met if isinstance(met, str) else ("yes" if met else "**no**")))
        print(f"  → {measure}: {ours} | {baseline} | {ratio} | {target} | {self.rows[-1].met}", flush=True)

    def skip(self, measure: str, why: str = "not available yet") -> None:
        print(f"  {measure}: {why}", flush=True)
        self.rows.append(Row(measure, why, "", "", "", "—"))


def load(run: Run, path: str, seconds: float, **kw: Any) -> Load:
    """A closed-loop run (wrk, or the Python stand-in) on a quiet server; the result says how the workers
    shared the CPU and how many were recycled (--max-requests) during the run.

    wrk opens its 8 keep-alive connections at once, and one gunicorn worker often accepts all of them
    (its threads then serve every request while the other worker idles: half the server measured). Such a
    run measures the kernel's accept race, not the server: it is run again (up to twice, said so) — for the
    health and 404 baselines as for the evaluations."""
    assert run.server is not None
    for attempt in range(3):
        quiesce(run.server)
        wrk = Wrk(run.work) if shutil.which("wrk") else None
        ws = run.server.workers()
        before = {w: cpu_s(w) for w in ws}
        got = (wrk.run if wrk else closed_loop_py)(run.server.port, path, seconds, **kw)
        after = set(run.server.workers())
        used = [cpu_s(w) - before[w] if w in after else None for w in ws]
        got.split = " + ".join("recycled" if u is None else f"{u:.1f}" for u in used) + " CPU s"
        got.recycled = len(set(ws) - after)
        known = [u for u in used if u is not None]
        lopsided = len(ws) > 1 and len(known) == len(ws) and sum(known) > 0 and min(known) < 0.1 * sum(known)
        if not lopsided or attempt == 2:
            return got
        print(f"    ({path}: every connection on one worker ({got.split}, {got.rps:,.0f}/s): run again)", flush=True)
    return got


def warm_evaluations(run: Run, seconds: float) -> None:
    """Every worker computes (and caches) the bulk run of the version in force before a measured run: short
    closed-loop runs until two in a row agree within 25 % (a worker new from --max-requests, or cold, answers
    nothing for seconds: each of its threads runs the province's bulk scoring at once)."""
    assert run.server is not None
    t, rates = time.perf_counter(), []
    for _ in range(8):
        got = load(run, "/api/v1/evaluations", seconds, bodies=run.bodies(offset=1000 + 97 * len(rates)),
                   headers=run.auth)
        rates.append(got.rps)
        if len(rates) >= 2 and rates[-1] > 0 and abs(rates[-1] / max(rates[-2], 1e-9) - 1) <= 0.25:
            break
    print(f"  warm-up: {time.perf_counter() - t:.0f} s, {', '.join(f'{r:.1f}' for r in rates)} evaluations/s")


def measure_rate(run: Run, *, label: str = "evaluation, trace=summary", trace: str = "summary") -> None:
    """Max requests per second: health, the 404 envelope and the evaluation, taking turns (rounds)."""
    assert run.server is not None
    secs, eval_secs = (4, 8) if run.args.quick else (8, 20)
    rounds = 1 if run.args.quick else 2
    tot: dict[str, list[Load]] = {"health": [], "404": [], "eval": []}
    first_cards = trace == "summary" and run.eval_rate is None  # the provisional step (published: after it)
    if first_cards:
        # Provisional cards are kept once made (in the worker and on disk, services.cardstore): start from
        # none anywhere — a fresh server, the store emptied — so that round 1 computes each subject's card on
        # its first request (2,894 of its requests) and round 2 finds them all made.
        run.server.stop()
        for f in (run.instance / "cache" / "events").glob("cards.sqlite3*"):
            f.unlink()
        run.server = Server(run.instance, run.work / "gunicorn-rate.log", workers=os.cpu_count() or 1)
    for r in range(rounds):
        tot["health"].append(load(run, "/api/v1/health", secs))
        tot["404"].append(load(run, "/api/v1/no-such-resource", secs))
        warm_evaluations(run, 3)
        tot["eval"].append(load(run, "/api/v1/evaluations", eval_secs, bodies=run.bodies(trace, offset=r * 400),
                                headers=run.auth))
        h, nf, e = tot["health"][-1], tot["404"][-1], tot["eval"][-1]
        print(f"  round {r + 1}: health {h.rps:,.0f}/s (p50 {h.p50_ms:.1f} ms; workers {h.split}, {h.recycled} "
              f"recycled), 404 {nf.rps:,.0f}/s ({nf.split}, {nf.recycled} recycled), evaluation {e.rps:,.1f}/s "
              f"(p50 {e.p50_ms:.0f} ms, p99 {e.p99_ms:.0f} ms; {e.split}, {e.recycled} recycled; {e.non2xx} not 200, "
              f"{e.errors} socket errors)", flush=True)
        if h.non2xx or e.non2xx or e.errors or h.errors:
            run.notes.append(f"round {r + 1} of {label}: health {h.non2xx} not 200, evaluation {e.non2xx} not 200, "
                             f"{e.errors + h.errors} socket errors")

    def rate(xs: list[Load]) -> float:
        return statistics.mean(x.rps for x in xs)
    ev, he, nf = rate(tot["eval"]), rate(tot["health"]), rate(tot["404"])
    if trace == "summary" and run.eval_rate is None:
        run.eval_rate = ev
    run.add(f"{label}: max rate", f"{ev:,.1f} req/s", f"health {he:,.0f} req/s", f"{ev / he:.3f}", "≥ 0.50",
            ev / he >= 0.5)
    if rounds > 1 and first_cards:
        for r, what in ((0, "round 1, from no card made (each subject's first request computes it)"),
                        (1, "round 2, every card made")):
            e, h = tot["eval"][r].rps, tot["health"][r].rps
            run.add(f"{label}: {what}", f"{e:,.1f} req/s", f"health {h:,.0f} req/s", f"{e / h:.3f}", "(information)",
                    "—")
    run.add(f"{label}: max rate vs the 404 envelope (no database)", f"{ev:,.1f} req/s", f"404 {nf:,.0f} req/s",
            f"{ev / nf:.3f}", "(information)", "—")


def measure_p99(run: Run) -> None:
    """Open loop at half the measured max rate, twice: (a) on the server as the rate step left it (its workers
    may reach --max-requests during the run: a new worker starts cold), (b) on a server started afresh and
    warmed (2 × ~2,000 requests before any recycle: none during the run). Baseline: health at the same rate."""
    assert run.server is not None
    if run.eval_rate is None:
        run.skip("p99 at half the max rate", "needs the rate step")
        return
    rate, secs = run.eval_rate / 2, 10 if run.args.quick else 30
    if rate <= 0:
        run.skip("p99 at half the max rate", "no evaluation rate measured")
        return

    def one(label: str) -> dict[str, float]:
        assert run.server is not None
        warm_evaluations(run, 3)
        quiesce(run.server)
        before = set(run.server.workers())
        cpu = {w: cpu_s(w) for w in before}
        got = open_loop(run.server.port, "/api/v1/evaluations", rate, secs, bodies=run.bodies(offset=2000),
                        headers=run.auth)
        after = set(run.server.workers())
        got["recycled"] = len(before - after)
        split = " + ".join("recycled" if w not in after else f"{cpu_s(w) - cpu[w]:.1f}" for w in sorted(before))
        print(f"  {label}: evaluation at {rate:.1f}/s for {secs} s: n {got['n']:.0f}, p50 {got['p50']:.0f} ms, "
              f"p90 {got['p90']:.0f} ms, p99 {got['p99']:.0f} ms, max {got['max']:.0f} ms, {got['bad']:.0f} not 200, "
              f"workers {split} CPU s, recycled during the run: {got['recycled']:.0f}", flush=True)
        return got
    running = one("(a) the running server")
    run.server.stop()
    run.server = Server(run.instance, run.work / "gunicorn-p99.log", workers=os.cpu_count() or 1)
    fresh = one("(b) a fresh server")
    base = open_loop(run.server.port, "/api/v1/health", rate, secs)
    print(f"  health at the same rate: p50 {base['p50']:.1f} ms, p99 {base['p99']:.1f} ms")
    for got, what in ((fresh, "fresh server, no recycle"), (running, "server of the rate step")):
        run.add(f"evaluation p99 at half the max rate ({rate:.1f} req/s, open loop, {got['n']:.0f} requests; {what}: "
                f"{got['recycled']:.0f} workers recycled during the run)", f"{got['p99']:.0f} ms (p50 {got['p50']:.0f})",
                f"health at that rate {base['p99']:.1f} ms", f"×{got['p99'] / base['p99']:.0f}", "≤ 25 ms",
                got["p99"] <= 25)


def measure_batch(run: Run) -> None:
    assert run.server is not None
    path = "/api/v1/evaluations/batch"
    if path not in run.paths:
        run.skip("batch of the whole province", "not available yet (no POST /api/v1/evaluations/batch)")
        return
    body = {"procuratorate": "910000", "period": PERIOD, "scheme": SCHEME, "trace": "none"}
    n = 3 if run.args.quick else 5
    times = sequential(run.server.port, "POST", path, n + 1, body=body, headers=run.auth)  # the first: not counted
    status, data = request(run.server.port, "POST", path, body, run.auth)
    got = json.loads(data)
    cards = got.get("cards", []) if isinstance(got, dict) else []
    errors = sum(1 for c in cards if "error" in c)
    ours, base = statistics.median(times[1:]) / 1000, statistics.median(run.prep.bulk_s)
    print(f"  batch: {len(cards)} cards ({errors} with an error), {len(data) / 2**20:.1f} MiB of JSON; first "
          f"{times[0] / 1000:.2f} s, then {', '.join(f'{t / 1000:.2f}' for t in times[1:])} s")
    run.add(f"batch, whole province (procuratorate 910000: {len(cards):,} cards, trace=none, JSON; median of {n} "
            f"after the first, which took {times[0] / 1000:.2f} s)",
            f"{ours:.2f} s", f"in-process bulk scoring {base:.2f} s", f"×{ours / base:.2f}", "≤ 2 s", ours <= 2)


def measure_rankings(run: Run, label: str = "rankings page") -> None:
    assert run.server is not None
    if "/api/v1/rankings" not in run.paths:
        run.skip(label, "not available yet (no GET /api/v1/rankings)")
        return
    path = f"/api/v1/rankings?scheme={SCHEME}&period={PERIOD}&page=1"
    cold = sequential(run.server.port, "GET", path, 4, headers=run.auth)  # every worker's first may compute
    n = 20 if run.args.quick else 60
    ours = sorted(sequential(run.server.port, "GET", lambda i: f"{path[:-1]}{1 + i % 5}", n, headers=run.auth))
    base = sorted(sequential(run.server.port, "GET", "/api/v1/health", n))
    run.add(f"{label}, warm (pages 1–5 of 50 rows, {n} requests; first {cold[0]:.0f} ms)",
            f"p50 {pct(ours, 50):.1f} ms, p90 {pct(ours, 90):.1f} ms", f"health p50 {pct(base, 50):.1f} ms",
            f"×{pct(ours, 50) / pct(base, 50):.1f}", "≤ 100 ms (p90)", pct(ours, 90) <= 100)


def measure_history(run: Run) -> None:
    assert run.server is not None
    if "/api/v1/subjects/{code}/history" not in run.paths:
        run.skip("subject history", "not available yet (no GET /api/v1/subjects/<code>/history)")
        return
    subj = run.prep.subjects
    n = 20 if run.args.quick else 60

    def path(i: int) -> str:
        return f"/api/v1/subjects/{subj[(i * 37) % len(subj)]}/history?scheme={SCHEME}&from=2020-01&to=2020-12"
    cold = sequential(run.server.port, "GET", path, 4, headers=run.auth)  # every worker's first scores 12 months
    ours = sorted(sequential(run.server.port, "GET", lambda i: path(i + 4), n, headers=run.auth))
    base = sorted(sequential(run.server.port, "GET", "/api/v1/health", n))
    run.add(f"subject history, 12 months of 2020 ({n} subjects, warm; first {cold[0] / 1000:.1f} s)",
            f"p50 {pct(ours, 50):.1f} ms, p90 {pct(ours, 90):.1f} ms", f"health p50 {pct(base, 50):.1f} ms",
            f"×{pct(ours, 50) / pct(base, 50):.1f}", "(none)", "—")


def measure_publish(run: Run) -> None:
    """On a copy of the instance (the original stays unpublished, so the next run measures the same): the
    command timed, then the evaluation rate and a rankings page answered from the published figures."""
    help_ = subprocess.run([str(BIN / "rulesvc"), "publish", "--help"], capture_output=True, text=True,
                           env={**os.environ, "RULESVC_INSTANCE_PATH": str(run.instance)})
    if help_.returncode != 0:
        run.skip("published results", "not available yet (no `rulesvc publish`)")
        return
    copy = run.work / "instance-published"
    t = time.perf_counter()
    shutil.copytree(run.instance, copy)
    print(f"  instance copied to {copy} ({time.perf_counter() - t:.0f} s)")
    env = {**os.environ, "RULESVC_INSTANCE_PATH": str(copy)}
    t = time.perf_counter()
    done = subprocess.run([str(BIN / "rulesvc"), "publish", "--scheme", SCHEME, "--period", PERIOD],
                          capture_output=True, text=True, env=env)
    took = time.perf_counter() - t
    print(f"  rulesvc publish: exit {done.returncode} in {took:.1f} s: {(done.stdout + done.stderr).strip()[-300:]}")
    base = statistics.median(run.prep.bulk_s)
    run.add("`rulesvc publish --scheme SFS-PROSECUTOR-TEMPLATE --period 2020` (process start included)",
            f"{took:.1f} s", f"in-process bulk scoring {base:.2f} s", f"×{took / base:.1f}", "(none)",
            "—" if done.returncode == 0 else f"exit {done.returncode}")
    if done.returncode != 0:
        return
    main_server, main_instance = run.server, run.instance
    run.server, run.instance = Server(copy, run.work / "gunicorn-published.log", workers=os.cpu_count() or 1), copy
    try:
        measure_rate(run, label="evaluation of published figures, trace=summary")
        measure_rankings(run, label="rankings page, published figures")
    finally:
        run.server.stop()
        run.server, run.instance = main_server, main_instance
        shutil.rmtree(copy, ignore_errors=True)


def measure_rss(run: Run) -> None:
    """One worker, no --max-requests: RSS after a warm-up pass, then through the evaluations, version after
    version (the first evaluation of a version alone, so its bulk run is made once, then the rest 4 at a time)."""
    rss = run.prep.rss
    total = run.args.rss_evals
    if not rss:
        run.skip("worker RSS", "no versions")
        return
    srv = Server(run.instance, run.work / "gunicorn-rss.log", workers=1, documented=False)
    try:
        (pid,) = srv.workers()
        auth = run.auth

        def body(v: int, subjects: list[str], i: int) -> dict[str, Any]:
            return {"subject": subjects[(i * 7) % len(subjects)], "period": PERIOD, "version_id": v, "trace": "summary"}

        def send(items: list[dict[str, Any]], concurrency: int = 4) -> int:
            it = iter(items)
            lock, bad = threading.Lock(), [0]

            def worker() -> None:
                c = http.client.HTTPConnection(HOST, srv.port, timeout=300)
                while True:
                    with lock:
                        b = next(it, None)
                    if b is None:
                        break
                    status, data = request(srv.port, "POST", "/api/v1/evaluations", b, auth, conn=c)
                    with lock:
                        if status != 200:
                            bad[0] += 1
                            if bad[0] <= 3:
                                print(f"    {status} for {b}: {data[:200]!r}")
            ts = [threading.Thread(target=worker) for _ in range(concurrency)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            return bad[0]

        start_rss = rss_kib(pid)[0]
        t = time.perf_counter()
        warm = rss[:32]  # more than the bulk (28) and compiled-scheme (32) caches hold
        bad = send([body(v, subj, i) for i, (v, subj) in enumerate(warm)], concurrency=1)
        per = max(1, total // len(rss))
        bad += send([body(v, subj, i) for v, subj in warm[-4:] for i in range(per)])  # and a little load on them
        after_warm = rss_kib(pid)[0]
        print(f"  worker {pid}: RSS at start {start_rss / 1024:.0f} MiB; after the warm-up ({len(warm)} versions, "
              f"{time.perf_counter() - t:.0f} s) {after_warm / 1024:.0f} MiB", flush=True)
        samples, done_n, t = [], 0, time.perf_counter()
        for k, (v, subj) in enumerate(rss):
            bad += send([body(v, subj, k * per)], concurrency=1)
            bad += send([body(v, subj, k * per + i) for i in range(1, per)])
            done_n += per
            samples.append(rss_kib(pid)[0])
            if (k + 1) % max(1, len(rss) // 10) == 0:
                print(f"    {done_n:,} evaluations, {k + 1} versions, {time.perf_counter() - t:.0f} s: "
                      f"RSS {samples[-1] / 1024:.0f} MiB", flush=True)
        end_rss, hwm = rss_kib(pid)
        if srv.workers() != [pid]:
            run.notes.append(f"the RSS run's worker changed: {pid} → {srv.workers()}")
        tenth = max(1, len(samples) // 10)
        first, last = statistics.median(samples[:tenth]), statistics.median(samples[-tenth:])
        drift = end_rss / after_warm - 1
        print(f"  RSS after warm-up {after_warm / 1024:.0f} MiB; over the run min {min(samples) / 1024:.0f}, max "
              f"{max(samples) / 1024:.0f}; first tenth (median) {first / 1024:.0f}, last tenth {last / 1024:.0f}, end "
              f"{end_rss / 1024:.0f} MiB (peak {hwm / 1024:.0f} MiB); {bad} not 200; "
              f"{done_n / (time.perf_counter() - t):.1f} evaluations/s", flush=True)
        kind = ("province-wide drafts" if run.args.rss_kind == "province" else
                f"localizations of {len({tuple(x) for _, x in rss})} procuratorates")
        run.add(f"worker RSS over {done_n:,} evaluations across {len(rss)} versions ({kind}; 1 worker, {THREADS} threads)",
                f"end {end_rss / 1024:.0f} MiB (run's min {min(samples) / 1024:.0f}, max {max(samples) / 1024:.0f})",
                f"after warm-up {after_warm / 1024:.0f} MiB", f"{drift:+.1%} (last tenth vs first {last / first - 1:+.1%})",
                "± 10 %", abs(drift) <= 0.10)
    finally:
        srv.stop()


def machine() -> str:
    mem = next(int(line.split()[1]) // 1024 for line in Path("/proc/meminfo").read_text().splitlines()
               if line.startswith("MemTotal"))
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    wrk = shutil.which("wrk")
    wrk_v = subprocess.run([wrk, "-v"], capture_output=True, text=True).stdout.splitlines()[0] if wrk else "not installed"
    gun = subprocess.run([str(BIN / "gunicorn"), "--version"], capture_output=True, text=True).stdout.strip()
    return (f"{os.cpu_count()} CPUs ({cpu}), {mem / 1024:.0f} GiB, CPython {platform.python_version()}, {gun}, "
            f"wrk: {wrk_v.split(' Copyright')[0]}")


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--instance", type=Path, default=Path(tempfile.gettempdir()) / "benchinst")
    ap.add_argument("--quick", action="store_true", help="shorter runs; RSS over 1,000 evaluations, 20 versions")
    ap.add_argument("--only", default=",".join(STEPS), help=f"comma-separated steps of {', '.join(STEPS)}")
    ap.add_argument("--rss-evals", type=int, default=None, help="evaluations of the RSS run (default 10,000)")
    ap.add_argument("--rss-versions", type=int, default=None,
                    help="versions of the RSS run (default 60, --quick 20; the issue's figure: 200)")
    ap.add_argument("--rss-kind", choices=("local", "province"), default="local",
                    help="the RSS run's versions: localizations of city and county procuratorates (default), or "
                         "drafts of a province-wide scheme (each version a bulk run of the province: ~3 s each)")
    ap.add_argument("--rss-scopes", type=int, default=None,
                    help="procuratorates the localizations are spread over (default 8, --quick 4; each scope holds "
                         "its own copy of the period's events in a worker)")
    args = ap.parse_args()
    steps = [s.strip() for s in args.only.split(",") if s.strip()]
    if unknown := set(steps) - set(STEPS):
        ap.error(f"unknown steps: {', '.join(sorted(unknown))}")
    args.rss_evals = args.rss_evals or (1000 if args.quick else 10_000)
    args.rss_versions = args.rss_versions or (20 if args.quick else 60)
    args.rss_scopes = args.rss_scopes or (4 if args.quick else 8)
    t_start = time.perf_counter()
    load_before = uptime()
    print(f"machine: {machine()}\nload before: {load_before}", flush=True)
    instance = args.instance.resolve()
    t = time.perf_counter()
    prep = prepare(instance, args.rss_versions if "rss" in steps else 0, args.rss_kind,
                   args.rss_scopes)
    print(f"instance {instance}: {len(prep.subjects):,} prosecutors scored in {PERIOD}; in-process bulk "
          f"{', '.join(f'{x:.2f}' for x in prep.bulk_s)} s ({time.perf_counter() - t:.0f} s to prepare)", flush=True)
    work = Path(tempfile.mkdtemp(prefix="bench-http-"))
    run = Run(args, instance, prep, work)
    http_steps = [s for s in steps if s not in ("rss", "publish")]
    workers = os.cpu_count() or 1
    if http_steps or "publish" in steps:
        print(f"\n`rulesvc serve --workers {workers}` (gunicorn, {THREADS} threads per worker, --max-requests 200000) …", flush=True)
        run.server = Server(instance, work / "gunicorn.log", workers=workers)
        run.paths = run.server.paths()
        try:
            for name, fn in (("rate", measure_rate), ("p99", measure_p99), ("batch", measure_batch),
                             ("rankings", measure_rankings), ("history", measure_history)):
                if name in steps:
                    print(f"\n[{name}]", flush=True)
                    fn(run)
        finally:
            run.server.stop()
    if "publish" in steps:
        print("\n[publish] on a copy of the instance", flush=True)
        measure_publish(run)
    if "rss" in steps:
        print(f"\n[rss] {args.rss_evals:,} evaluations across {len(prep.rss)} versions, one worker …", flush=True)
        measure_rss(run)
    load_after = uptime()
    print(f"\nload after: {load_after}\nwhole run {time.perf_counter() - t_start:.0f} s; server logs in {work}\n")
    print("| measure | ours | baseline, same run | ratio | target | met? |\n| --- | --- | --- | --- | --- | --- |")
    for r in run.rows:
        print(f"| {r.measure} | {r.ours} | {r.baseline} | {r.ratio} | {r.target} | {r.met} |")
    for n in run.notes:
        print(f"note: {n}")


if __name__ == "__main__":
    main()
