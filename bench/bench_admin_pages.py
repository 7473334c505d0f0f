"""Benchmark: every page of the admin UI on the full demo province (issue 12: "every page renders in under
300 ms server-side on the demo province"), each beside a trivial page of the same app in the same run.

On a copy of a demo instance (``rulesvc setup``: 2,999 prosecutors, 1.16M events, the rule library published,
template version 2 simulated and in review), in this process through the real app (Flask's test client, the
real database): a county designer's localization draft is made through the services, then each page is asked
for by the person who would use it — the province's administrator, a provincial reviewer, a county designer
and a county viewer. Every page is asked for ``--rounds`` times after a first, cold request; the figure is
the server's own time (``X-Render-Ms`` where the page writes it, else the time of the whole request), cold
and warm (median and worst of the warm rounds). Baseline: the login page (a form, no data), the same way.
A page whose warm median is 300 ms or more makes the run exit with status 1.

Pages that compute a period (rankings, score card, comparison, preview) are warm once the period has been
computed; their cold figure includes computing it and is reported, not held to the target (the README says
what a first request of a period costs).

    .venv/bin/python bench/bench_admin_pages.py [--instance /tmp/benchinst] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent
TEMPLATE, MONTHLY, PERIOD = "SFS-PROSECUTOR-TEMPLATE", "SFS-PROCURATORATE-QUALITY-MONTHLY", "2020"
COUNTY = "910102"
PASSWORD = "bench admin pages 2026"
LIMIT_MS = 300.0


def csrf(html: str) -> str:
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html)
    assert found, "no CSRF token"
    return found.group(1)


def prepare(instance: Path, work: Path) -> tuple[Any, dict[str, str]]:
    """A copy of the instance with four people and a county localization draft; the app on it."""
    if not (instance / "rulesvc.db").exists():
        print(f"making the demo instance in {instance} (rulesvc setup, ~1 min) …", flush=True)
        subprocess.run([str(BIN / "rulesvc"), "setup"], env={**os.environ, "RULESVC_INSTANCE_PATH": str(instance)},
                       check=True, stdout=subprocess.DEVNULL)
    shutil.copytree(instance, work, dirs_exist_ok=True)
    os.environ["RULESVC_INSTANCE_PATH"] = str(work)
    from flask_migrate import upgrade
    from sqlalchemy import select

    from rulesvc import create_app
    from rulesvc.extensions import db
    from rulesvc.persistence.models import Procuratorate, Prosecutor, SchemeVersion
    from rulesvc.services.designer_edit import start_localization
    from rulesvc.services.governance.access import actor_for_user, system_actor
    from rulesvc.services.governance.versions import version_in_effect
    from rulesvc.services.users import create_user, get_user

    app = create_app()
    with app.app_context():
        upgrade(directory=app.config["MIGRATIONS_DIR"])
        s = db.session
        county = s.scalar(select(Procuratorate).where(Procuratorate.code == COUNTY))
        province = s.scalar(select(Procuratorate).where(Procuratorate.parent_id.is_(None)))
        people = {"bench_admin": ("admin", None), "bench_reviewer": ("reviewer", province.id),
                  "bench_designer": ("designer", county.id), "bench_viewer": ("viewer", county.id)}
        for name, (role, pid) in people.items():
            create_user(s, name, PASSWORD, role=role, procuratorate_id=pid)
        s.flush()
        actor = actor_for_user(s, get_user(s, "bench_designer"))
        import datetime as dt

        parent = version_in_effect(s, system_actor("bench"), TEMPLATE, dt.date.today())
        draft = start_localization(s, actor, TEMPLATE, parent.number, procuratorate_id=county.id)
        s.commit()
        local: SchemeVersion = draft
        subject = s.scalar(select(Prosecutor.code).where(Prosecutor.procuratorate_id == county.id)
                           .order_by(Prosecutor.code))
        found = {"local": local.scheme.code, "local_n": str(local.number), "subject": subject or "",
                 "template_n": str(parent.number)}
        in_review = s.scalar(select(SchemeVersion.number).join(SchemeVersion.scheme)
                             .where(SchemeVersion.status == "in_review").order_by(SchemeVersion.id))
        found["review_n"] = str(in_review or parent.number)
        from rulesvc.persistence.models import SimulationRun

        run = s.scalar(select(SimulationRun).where(SimulationRun.status == "succeeded",
                                                   SimulationRun.candidate_version_id.is_not(None))
                       .order_by(SimulationRun.id))
        cand = s.get(SchemeVersion, run.candidate_version_id) if run is not None else None
        found["run"] = f"{cand.scheme.code}/{cand.number}/simulations/{run.id}" if run and cand else ""
    return app, found


def sign_in(app: Any, name: str) -> Any:
    c = app.test_client()
    page = c.get("/admin/login/").get_data(as_text=True)
    r = c.post("/admin/login/", data={"csrf_token": csrf(page), "username": name, "password": PASSWORD})
    assert r.status_code in (302, 303), f"{name}: sign-in answered {r.status_code}"
    return c


def timed(c: Any, url: str) -> tuple[int, float]:
    t = time.perf_counter()
    r = c.get(url)
    wall = (time.perf_counter() - t) * 1000
    server = r.headers.get("X-Render-Ms")
    return r.status_code, float(server) if server else wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--instance", type=Path, default=Path("/tmp/benchinst"))
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), CPython "
          f"{platform.python_version()}; load before: {os.getloadavg()[0]:.2f}")
    work = Path(tempfile.mkdtemp(prefix="bench-admin-pages-"))
    try:
        app, f = prepare(args.instance, work)
        loc, n, tn, rn = f["local"], f["local_n"], f["template_n"], f["review_n"]
        pages: list[tuple[str, str, str]] = [
            ("login page (baseline)", "", "/admin/login/"),
            ("home, administrator", "bench_admin", "/admin/"),
            ("home, county designer", "bench_designer", "/admin/"),
            ("home, reviewer", "bench_reviewer", "/admin/"),
            ("schemes, county designer", "bench_designer", "/admin/schemes/"),
            ("schemes with the inbox, reviewer", "bench_reviewer", "/admin/schemes/"),
            ("template version, read", "bench_designer", f"/admin/schemes/{TEMPLATE}/{tn}/"),
            ("localization draft, read", "bench_designer", f"/admin/schemes/{loc}/{n}/"),
            ("editor of the draft", "bench_designer", f"/admin/schemes/{loc}/{n}/edit/"),
            ("an indicator's form", "bench_designer", f"/admin/schemes/{loc}/{n}/edit/indicators/PLEA_APPLY_RATE/"),
            ("YAML tab", "bench_designer", f"/admin/schemes/{loc}/{n}/edit/yaml/"),
            ("preview page", "bench_designer", f"/admin/schemes/{loc}/{n}/preview/"),
            ("diff against the template", "bench_designer", f"/admin/schemes/{loc}/{n}/diff/"),
            ("diff of the version in review", "bench_reviewer", f"/admin/schemes/{TEMPLATE}/{rn}/diff/"),
            ("version in review with its buttons", "bench_reviewer", f"/admin/schemes/{TEMPLATE}/{rn}/"),
            ("simulations of the draft", "bench_designer", f"/admin/schemes/{loc}/{n}/simulations/"),
            ("drift report of the template", "bench_admin", f"/admin/schemes/{TEMPLATE}/{tn}/drift/"),
            ("rankings, province", "bench_admin", f"/admin/results/?scheme={TEMPLATE}&period={PERIOD}"),
            ("rankings, county viewer", "bench_viewer", f"/admin/results/?scheme={TEMPLATE}&period={PERIOD}"),
            ("score card", "bench_viewer", f"/admin/results/card/?scheme={TEMPLATE}&period={PERIOD}&subject={f['subject']}"),
            ("comparison of procuratorates", "bench_admin", f"/admin/results/comparison/?scheme={MONTHLY}&period=2020-12"),
            ("import and datasets", "bench_admin", "/admin/import/"),
            ("audit log", "bench_admin", "/admin/audit/"),
            ("users", "bench_admin", "/admin/users/"),
            ("API keys", "bench_admin", "/admin/apikeys/"),
            ("events list", "bench_admin", "/admin/events/"),
            ("prosecutors list", "bench_admin", "/admin/prosecutors/"),
        ]
        if f["run"]:
            pages.insert(16, ("simulation report (template v2)", "bench_reviewer",
                              f"/admin/schemes/{f['run']}/"))
        clients: dict[str, Any] = {}
        rows, slow = [], []
        for label, who, url in pages:
            c = clients.get(who) or clients.setdefault(who, sign_in(app, who) if who else app.test_client())
            status, cold = timed(c, url)
            warm = [timed(c, url)[1] for _ in range(args.rounds)]
            med, worst = statistics.median(warm), max(warm)
            rows.append((label, status, cold, med, worst))
            if status != 200 or med >= LIMIT_MS:
                slow.append(label)
        base = rows[0][3]
        print(f"\n{len(rows)} pages, {args.rounds} warm rounds each; server time (X-Render-Ms, else the request)\n")
        print("| page | status | cold ms | warm median ms | warm worst ms | × login page |")
        print("| --- | --- | --- | --- | --- | --- |")
        for label, status, cold, med, worst in rows:
            print(f"| {label} | {status} | {cold:.0f} | {med:.1f} | {worst:.1f} | {med / base:.1f} |")
        print(f"\nload after: {os.getloadavg()[0]:.2f}")
        if slow:
            print(f"NOT MET (status other than 200, or warm median ≥ {LIMIT_MS:.0f} ms): {', '.join(slow)}")
            raise SystemExit(1)
        print(f"every page's warm median under {LIMIT_MS:.0f} ms")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
