"""Provisional cards in-process (issue 11): a subject's first card of a period (computed: assembled from the
subject's bulk row, ``engine.summary``) against the same card asked again (kept in the worker) and asked in a
worker that has not made it (read from the card store on disk, emptied at the start), with the health endpoint
as the same-run baseline. Flask's test client, one process, no HTTP server.

    .venv/bin/python bench/bench_card_store.py [--instance /tmp/benchinst] [--n 400]

The instance is the one ``bench_http_scoring.py`` uses (made there, or by ``RULESVC_INSTANCE_PATH=… rulesvc
setup``); its 2020 is provisional (``bench_http_scoring.py --only publish`` publishes a copy of it).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_http_scoring import SCHEME, machine, prepare, uptime


def timed(fn: Any, n: int) -> list[float]:
    out = []
    for i in range(n):
        t = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - t) * 1000)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--instance", type=Path, default=Path("/tmp/benchinst"))
    ap.add_argument("--n", type=int, default=400, help="subjects asked for (each first computed, then kept)")
    ap.add_argument("--period", default="2020")
    args = ap.parse_args()
    print(machine(), "|", uptime())
    prep = prepare(args.instance, 0)
    for f in (args.instance / "cache" / "events").glob("cards.sqlite3*"):
        f.unlink()  # the store on disk emptied: first requests compute their cards
    from rulesvc import create_app
    from rulesvc.services import results

    app = create_app()
    client = app.test_client()
    auth = {"Authorization": f"Bearer {prep.token}"}
    subjects = prep.subjects[: args.n + 1]

    def ask(code: str) -> bytes:
        r = client.post("/api/v1/evaluations", headers=auth,
                        json={"scheme": SCHEME, "period": args.period, "subject": code, "trace": "summary"})
        assert r.status_code == 200, r.data[:300]
        return r.data

    t = time.perf_counter()
    ask(subjects[-1])  # the period's bulk run, once (not counted)
    print(f"first card of {args.period} (the bulk run): {time.perf_counter() - t:.2f} s")
    health = timed(lambda i: client.get("/api/v1/health"), 300)
    answers: dict[str, bytes] = {}
    cold = timed(lambda i: answers.__setitem__(subjects[i], ask(subjects[i])), args.n)
    warm = timed(lambda i: ask(subjects[i]) == answers[subjects[i]] or sys.exit("a kept card differs"), args.n)
    results._CARDS.clear()  # as another worker, or this one restarted, finds them: in the store on disk
    disk = timed(lambda i: ask(subjects[i]) == answers[subjects[i]] or sys.exit("a stored card differs"), args.n)
    h, c, w, d = (statistics.median(x) for x in (health, cold, warm, disk))
    q = [statistics.quantiles(x, n=100)[98] for x in (health, cold, warm, disk)]
    print(f"cards kept: {len(results._CARDS):,} ({results._CARDS.held / 1e6:.1f} MB compressed, "
          f"{results._CARDS.held / max(len(results._CARDS), 1):,.0f} bytes each)")
    print("| request | p50 ms | p99 ms | × health p50 |\n| --- | --- | --- | --- |")
    for label, p50, p99 in (("health", h, q[0]), (f"card, first request ({args.n} subjects)", c, q[1]),
                            ("the same card again (kept in the worker)", w, q[2]),
                            ("the same card in a worker that has not made it (from the store on disk)", d, q[3])):
        print(f"| {label} | {p50:.2f} | {p99:.2f} | ×{p50 / h:.1f} |")


if __name__ == "__main__":
    main()
