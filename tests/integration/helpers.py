"""Small helpers several integration test modules share (not fixtures: import them)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator

from sqlalchemy import event, select

from rulesvc.extensions import db
from rulesvc.persistence.models import Procuratorate


def role_for(permissions: Iterable[str]) -> str:
    """The least role whose person may own a key with these permissions (a key does no more than its owner's
    role: a designer's key does not approve)."""
    p = set(permissions)
    approves, edits = bool(p & {"review", "activate"}), "edit" in p
    return "admin" if approves and edits else "reviewer" if approves else "designer" if edits or "audit" in p else "viewer"


@contextlib.contextmanager
def sql_statements(app, keep: Callable[[str], bool] = lambda _: True) -> Iterator[list[str]]:
    """The SQL statements the app's engine runs inside the block (those ``keep`` accepts)."""
    seen: list[str] = []

    def _before(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        if keep(statement):
            seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", _before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", _before)


def add_procuratorates(tree: Iterable[tuple[str, str, str, str | None]]) -> dict[str, int]:
    """``(code, name, level, parent code)`` rows, parents first (flushed, in the current app context):
    ``{code: id}``."""
    ids: dict[str, int] = {}
    for code, name, level, parent in tree:
        p = Procuratorate(code=code, name=name, level=level, parent_id=ids.get(parent) if parent else None)
        db.session.add(p)
        db.session.flush()
        ids[code] = p.id
    return ids


def province_id(app) -> int:
    """The province's procuratorate, created (910000) in an empty database."""
    with app.app_context():
        found = db.session.scalar(select(Procuratorate.id).where(Procuratorate.parent_id.is_(None))
                                  .order_by(Procuratorate.code))
        if found is None:
            found = add_procuratorates([("910000", "示范省人民检察院", "province", None)])["910000"]
            db.session.commit()
        return found


# -- data to simulate on (模拟测评 needs a closed period with events) ---------------------------------

SIM_BUSINESS = "ordinary_crime"


def give_events(app, period: str = "2020", orgs: Iterable[str] | None = None, *, per_org: int = 3) -> int:
    """A small events dataset covering ``period`` (imported through the real import service, so it is in
    use): a department and ``per_org`` prosecutors in each of ``orgs`` (default: every procuratorate in
    the database), each with a few cases accepted and reviewed on dates inside the period — different
    counts, so the scores differ. The reference data is imported once (the same file again changes
    nothing); events for another period are a dataset of their own. Returns the events dataset's id.

    Runs in its own app context and commits (the import owns its transaction): call it before, not in the
    middle of, a test's own unfinished changes."""
    import datetime as dt
    import json

    from rulesvc.engine.periods import parse_period
    from rulesvc.services.dictionary import get_dictionary
    from rulesvc.services.importing import import_file

    p = parse_period(period)
    with app.app_context():
        dictionary = get_dictionary(app.config["RULES_DIR"])
        codes = list(orgs) if orgs is not None else list(db.session.scalars(
            select(Procuratorate.code).order_by(Procuratorate.code)))
        db.session.rollback()
        assert codes, "give_events needs procuratorates to put prosecutors in"
        depts = ["procuratorate,code,name,business"] + [f"{c},SIM,模拟测评部,{SIM_BUSINESS}" for c in codes]
        people = ["code,name,procuratorate,department,business,quota_status,is_leader,leader_title,active_from,active_to"]
        events: list[dict] = []
        span = (p.end - p.start).days
        for c in codes:
            for i in range(per_org):
                code = f"S{c}{i}"
                people.append(f"{code},模拟{c}-{i},{c},SIM,{SIM_BUSINESS},quota,false,,2015-01-01,")
                for k in range(2 + i):  # 2, 3, 4… cases: different scores
                    day = p.start + dt.timedelta(days=span * (k + 1) // (3 + i))  # spread over the period
                    case = f"{period}-{code}-C{k}"
                    events.append({"event_id": f"{case}-A", "event_type": "case_accepted", "procuratorate": c,
                                   "prosecutor": code, "case_id": case, "occurred_on": day.isoformat(),
                                   "suspects": 1, "category": "ordinary", "detained": k % 2 == 0})
                    events.append({"event_id": f"{case}-R", "event_type": "prosecution_review", "procuratorate": c,
                                   "prosecutor": code, "case_id": case, "occurred_on": day.isoformat(),
                                   "suspect_id": f"{case}-S", "decision": "prosecute",
                                   "plea_leniency": (k + i) % 3 != 0,
                                   "sentencing_rec": "definite" if k % 2 else "ranged"})
        for name, lines in (("departments.csv", depts), ("prosecutors.csv", people)):
            import_file(db.session, ("\n".join(lines) + "\n").encode("utf-8"), filename=name, dictionary=dictionary)
        body = "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events).encode("utf-8")
        result = import_file(db.session, body, filename=f"sim-{period}.jsonl", dictionary=dictionary, kind="events",
                             name=f"模拟测评用数据 {period}")
        db.session.remove()
        return result.dataset_id


def simulation_settings(app):
    """What running a simulation needs besides the database (as the app holds it)."""
    return app.extensions["rulesvc.simulation_settings"]


def simulate(session, actor, version_id: int, period: str | list[str] = "2020", baseline: int | str = "default", *,
             app=None):
    """A real simulation run (模拟测评) of ``version_id`` on ``period``, computed here with ``run_here`` in
    ``session`` (flushed, not committed): the run approval can rest on. Asked again for the same inputs,
    the run already there is returned. Needs the period's events (:func:`give_events`)."""
    from flask import current_app

    from rulesvc.services.dictionary import get_dictionary
    from rulesvc.services.simulation.execute import run_here
    from rulesvc.services.simulation.runs import create_run

    app = app or current_app
    settings = simulation_settings(app)
    asked = create_run(session, actor, get_dictionary(settings.rules_dir), candidate_version_id=version_id,
                       periods=[period] if isinstance(period, str) else list(period), baseline=baseline,
                       mode="inline")
    if asked.run.status == "queued":
        run_here(session, asked.run, settings)
    assert asked.run.status == "succeeded", (asked.run.status, asked.run.error)
    return asked.run


def simulation_run(app, version_id: int, period: str | list[str] = "2020", baseline: int | str = "default",
                   actor=None) -> int:
    """:func:`simulate` in its own app context, committed (for tests that work over HTTP: they then name
    the run with ``POST /versions/<id>/simulation`` or ``/approve``); ``actor``: a system actor unless
    given. Returns the run's id."""
    from rulesvc.services.governance.access import system_actor

    with app.app_context():
        run = simulate(db.session, actor or system_actor("tests"), version_id, period, baseline, app=app)
        db.session.commit()
        run_id = run.id
        db.session.remove()
        return run_id


def rendered_page(client, url: str, **kwargs):
    """``client.get(url)`` answered 200 with its server time (``X-Render-Ms``, which ``bench/bench_admin_pages.py``
    reads: page speed is a benchmark, not a test)."""
    response = client.get(url, **kwargs)
    assert response.status_code == 200, (url, response.status_code)
    assert float(response.headers["X-Render-Ms"]) > 0, url
    return response
