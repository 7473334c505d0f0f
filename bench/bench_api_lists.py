"""GET /api/v1/schemes with 121 schemes and 250 versions (the probe's province), against a trivial
endpoint of the same app in the same run (GET /api/v1/health): in-process, through the WSGI test
client, so only the app's own work is measured.

Target (issue 9): ≤ 10 ms per list. Run: ``.venv/bin/python bench/bench_api_lists.py``.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rulesvc import create_app  # noqa: E402
from rulesvc.extensions import db  # noqa: E402
from rulesvc.persistence.models import Procuratorate  # noqa: E402
from rulesvc.schema.scheme import read_document  # noqa: E402
from rulesvc.services.governance import versions  # noqa: E402
from rulesvc.services.governance.access import system_actor  # noqa: E402
from rulesvc.services.governance.apikeys import create_key  # noqa: E402
from rulesvc.services.users import create_user  # noqa: E402

TEMPLATE = ROOT / "rules" / "schemes" / "province-prosecutor-template.yaml"
SCHEMES, EXTRA_VERSIONS = 121, 129  # 250 versions in all


def timed(client, path: str, headers: dict[str, str], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        r = client.get(path, headers=headers)
        out.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200, r.get_data(as_text=True)[:300]
    return out


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"DATABASE_URL": f"sqlite:///{tmp}/bench.db", "TESTING": False})
        with app.app_context():
            from flask_migrate import upgrade

            upgrade(directory=app.config["MIGRATIONS_DIR"])
            org = Procuratorate(code="910000", name="示范省人民检察院", level="province")
            db.session.add(org)
            db.session.flush()
            create_user(db.session, "bench", "a long enough password", role="admin")
            _, token = create_key(db.session, system_actor("bench"), name="bench", procuratorates=["910000"],
                                  permissions=["read", "edit"], owner="bench")
            doc = read_document(TEMPLATE.read_text(encoding="utf-8"), source=TEMPLATE.name)
            actor = system_actor("bench")
            for i in range(SCHEMES):
                versions.create_scheme(db.session, actor, code=f"S{i:03d}", name=f"方案 {i}", procuratorate="910000",
                                       subject_kind="prosecutor", period_kind="year", document=doc)
            for i in range(EXTRA_VERSIONS):
                versions.create_draft(db.session, actor, f"S{i % SCHEMES:03d}")
            db.session.commit()
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        timed(client, "/api/v1/schemes?page_size=500", headers, 5)  # warm up
        lists = timed(client, "/api/v1/schemes?page_size=500", headers, 40)
        trivial = timed(client, "/api/v1/health", {}, 40)
        body = client.get("/api/v1/schemes?page_size=500", headers=headers).get_json()
        n_versions = sum(len(s["versions"]) for s in body)
        p50, base = statistics.median(lists), statistics.median(trivial)
        print(f"GET /api/v1/schemes: {len(body)} schemes, {n_versions} versions")
        print(f"  p50 {p50:.1f} ms  p90 {sorted(lists)[int(len(lists) * 0.9)]:.1f} ms  (target ≤ 10 ms)")
        print(f"  trivial endpoint (GET /api/v1/health) p50 {base:.2f} ms; ratio ×{p50 / base:.1f}")


if __name__ == "__main__":
    main()
