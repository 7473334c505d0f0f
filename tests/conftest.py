"""Shared fixtures: the real app on a real database — SQLite always, PostgreSQL when it answers.

- ``db_url``: parametrised over ``sqlite`` and ``postgresql``; a PostgreSQL test is *skipped with the
  reason* when no server answers (set ``RULESVC_TEST_POSTGRES_URL`` to point at one).
- ``app``: a migrated, empty database (dictionary loaded), emptied again after each test.
- ``demo_app``: a migrated database holding a small demo province, shared by read-only tests.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy import create_engine, text

from rulesvc import create_app
from rulesvc.config import normalise_database_url
from rulesvc.services import passwords

TESTS = Path(__file__).resolve().parent

PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/postgres"
USED: dict[str, str] = {}


def _worker_redis_url() -> str:
    """The test Redis (default: database 15 on 127.0.0.1:6379). ``make test`` runs the suite in pytest-xdist
    workers; each takes its own database (gw0: 15, gw1: 14, …) so that their queues, counters and workers
    never meet. Every test reads ``RULESVC_TEST_REDIS_URL``, which is set here from the URL the run was given
    (kept in ``RULESVC_TEST_REDIS_BASE_URL``: this module may be imported twice, as ``conftest`` and as
    ``tests.conftest``, and must give the same answer both times)."""
    url = os.environ.setdefault("RULESVC_TEST_REDIS_BASE_URL",
                                os.environ.get("RULESVC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"))
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        return url
    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{(base - int(worker[2:])) % 16}"))


os.environ["RULESVC_TEST_REDIS_URL"] = _worker_redis_url()

# New password hashes at scrypt's lowest sensible cost: at the shipped one (passwords.DEFAULT_SCRYPT, ~0.1 s a
# hash) the accounts the tests create and sign in cost minutes of CI. Hashes keep their parameters, so every
# check reads the cost it was made with; tests/unit/test_passwords.py checks the shipped cost, and servers and
# workers the tests start as processes keep it.
passwords.SCRYPT = (2**10, 8, 1)

# Small demo province for tests: all 97 procuratorates, few prosecutors, two months.
DEMO_TEST_SIZE = {"prosecutors": 150, "months": 2}


def _pg_admin_url() -> tuple[str | None, str]:
    url = os.environ.get("RULESVC_TEST_POSTGRES_URL") or PG_DEFAULT
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5432), timeout=1):
            pass
    except OSError as exc:
        return None, f"PostgreSQL not reachable at {parts.hostname}:{parts.port or 5432} ({exc}); set RULESVC_TEST_POSTGRES_URL"
    return url, ""


class _PgServer:
    """Creates throw-away databases on the test server and drops them at the end of the run."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.engine = create_engine(normalise_database_url(admin_url), isolation_level="AUTOCOMMIT")
        self.created: list[str] = []

    def new_database(self, label: str) -> str:
        name = f"rulesvc_test_{label}_{uuid.uuid4().hex[:8]}"
        with self.engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        parts = urlsplit(self.admin_url)
        return urlunsplit(parts._replace(path="/" + name))

    def drop_all(self) -> None:
        with self.engine.connect() as conn:
            for name in self.created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.engine.dispose()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[_PgServer | None]:
    url, reason = _pg_admin_url()
    if url is None:
        USED["postgresql"] = "skipped: " + reason
        yield None
        return
    server = _PgServer(url)
    try:
        with server.engine.connect():
            pass
    except Exception as exc:  # the port answers but the login fails
        USED["postgresql"] = f"skipped: cannot log in to {url}: {exc}"
        yield None
        return
    yield server
    server.drop_all()


def _new_url(kind: str, label: str, tmp_path_factory, pg_server) -> str:
    if kind == "sqlite":
        path: Path = tmp_path_factory.mktemp(label) / "rulesvc.db"
        USED.setdefault("sqlite", "used")
        return f"sqlite:///{path}"
    if pg_server is None:
        pytest.skip(USED.get("postgresql", "PostgreSQL not available"))
    url = pg_server.new_database(label)
    USED["postgresql"] = "used (" + urlsplit(url)._replace(path="/rulesvc_test_*").geturl() + ")"
    return url


def make_app(url: str, instance: Path, **extra):
    cfg = {
        "TESTING": True,
        "DATABASE_URL": url,
        "SECRET_KEY": "test-" + uuid.uuid4().hex,
        "WTF_CSRF_ENABLED": True,
        "REDIS_URL": os.environ.get("RULESVC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"),
    }
    cfg.update(extra)
    os.environ["RULESVC_INSTANCE_PATH"] = str(instance)
    try:
        return create_app(cfg)
    finally:
        os.environ.pop("RULESVC_INSTANCE_PATH", None)


def migrate_and_load_dictionary(app) -> None:
    from flask_migrate import upgrade

    from rulesvc.extensions import db
    from rulesvc.services.dictionary import get_dictionary, sync_dictionary

    with app.app_context():
        upgrade()
        sync_dictionary(db.session, get_dictionary(app.config["RULES_DIR"]))
        db.session.commit()


# simulation runs first: on SQLite a run left behind would block deleting its scheme (foreign key)
DATA_TABLES = ("publication_cards", "publications", "simulation_details", "simulation_subjects", "simulation_runs",
               "audit_log", "api_keys",
               "scheme_versions", "schemes", "events", "dataset_withdrawals", "datasets", "users", "prosecutor_posts",
               "prosecutors", "departments", "procuratorates", "login_counts", "idempotency_keys")
# append-only / frozen rows: their triggers refuse deletes
GUARDED = ("audit_log", "scheme_versions", "dataset_withdrawals", "publications", "publication_cards", "events",
           "datasets")


def empty_tables(app) -> None:
    """Empty the data tables between tests. The guards on the audit log and on published versions are
    real triggers; only this test clean-up steps around them (PostgreSQL: replica mode, which a
    superuser may set; SQLite: drop the triggers and put the same SQL back)."""
    from rulesvc.extensions import db
    from rulesvc.services.governance import access
    from rulesvc.services.results import clear_caches

    clear_caches()  # what a process keeps of a database it no longer has
    access._TREES.clear()
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # TRUNCATE, not DELETE: DELETE is faster on tables of a few rows, but the space it frees is then
                # reused and rows come back in another order than they were written (a test reading without
                # ORDER BY failed, now and then): a new table's order is worth the 60 ms.
                conn.execute(text("SET LOCAL session_replication_role = replica"))
                conn.execute(text(f"TRUNCATE {', '.join(DATA_TABLES)} RESTART IDENTITY CASCADE"))
            else:
                names = ", ".join(f"'{t}'" for t in GUARDED)
                triggers = conn.execute(text(
                    f"SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN ({names})")).all()
                for name, _ in triggers:
                    conn.execute(text(f"DROP TRIGGER {name}"))
                for table in DATA_TABLES:
                    conn.execute(text(f"DELETE FROM {table}"))
                for _, sql in triggers:
                    conn.execute(text(sql))


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def db_kind(request) -> str:
    return request.param


@contextmanager
def _migrated_app(kind: str, label: str, tmp_path_factory, pg_server) -> Iterator[Any]:
    """The real app on a new, migrated database of ``kind``; its connections closed afterwards."""
    url = _new_url(kind, label, tmp_path_factory, pg_server)
    app = make_app(url, tmp_path_factory.mktemp(f"instance-{label}"))
    migrate_and_load_dictionary(app)
    yield app
    with app.app_context():
        from rulesvc.extensions import db

        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="session")
def _clean_app(db_kind, tmp_path_factory, pg_server):
    with _migrated_app(db_kind, "clean", tmp_path_factory, pg_server) as app:
        yield app


@pytest.fixture(scope="session")
def _other_clean_app(db_kind, tmp_path_factory, pg_server):
    with _migrated_app(db_kind, "other", tmp_path_factory, pg_server) as app:
        yield app


@pytest.fixture
def other_app(_other_clean_app):
    """A second migrated, empty database of the same kind (e.g. the target of an import)."""
    yield _other_clean_app
    empty_tables(_other_clean_app)


@pytest.fixture(scope="session")
def sqlite_app_factory():
    """Builds the real app on a new, migrated SQLite file in a given directory (module-scoped data)."""

    def build(directory: Path):
        app = make_app(f"sqlite:///{directory / 'rulesvc.db'}", directory)
        migrate_and_load_dictionary(app)
        return app

    return build


@pytest.fixture
def app(_clean_app):
    """The real app on a migrated, empty database of the current kind; emptied after the test."""
    yield _clean_app
    empty_tables(_clean_app)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def demo_app(db_kind, tmp_path_factory, pg_server):
    """A migrated database with a small demo province (read-only: do not change it in tests)."""
    from rulesvc.datagen.demo import DemoConfig, generate_and_load

    with _migrated_app(db_kind, "demo", tmp_path_factory, pg_server) as app:
        with app.app_context():
            generate_and_load(DemoConfig(seed=7, **DEMO_TEST_SIZE))
        yield app


@pytest.fixture(scope="session")
def redis_url() -> str:
    """A reachable Redis, or a skip that says why."""
    url = os.environ.get("RULESVC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port or 6379), timeout=1):
            pass
    except OSError as exc:
        USED["redis"] = f"skipped: Redis not reachable at {parts.hostname}:{parts.port} ({exc})"
        pytest.skip(USED["redis"])
    USED["redis"] = f"used ({url})"
    return url


def pytest_sessionfinish(session: pytest.Session) -> None:
    """An xdist worker hands what it used to the controller, which prints the summary."""
    output = getattr(session.config, "workeroutput", None)
    if output is not None:
        output["services_used"] = dict(USED)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:  # xdist controller: a worker finished
    for name, said in getattr(node, "workeroutput", {}).get("services_used", {}).items():
        if name not in USED or said.startswith("used"):
            USED[name] = said


def pytest_terminal_summary(terminalreporter) -> None:
    terminalreporter.section("services used")
    for name in ("sqlite", "postgresql", "redis"):
        terminalreporter.write_line(f"{name}: {USED.get(name, 'not needed by the selected tests')}")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Modules marked ``sqlite_only`` (the admin pages' own tests: thin views over services whose tests run on
    both databases) run on SQLite alone — their PostgreSQL copies are left out of the run, to keep the whole
    suite within CI's 20 minutes. Said in the README (*Tests and checks*). Modules marked ``postgresql_only`` run
    another module's test on PostgreSQL alone (the schemathesis run: its two databases on two workers)."""
    keep, drop = [], []
    for item in items:
        spec = getattr(item, "callspec", None)
        kind = spec.params.get("db_kind") if spec is not None else None
        if (item.get_closest_marker("sqlite_only") and kind == "postgresql") or \
                (item.get_closest_marker("postgresql_only") and kind == "sqlite"):
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
    # Files holding a slow test first, the longest first: ``make test``'s workers take a file at a time in this
    # order (``--no-loadscope-reorder``: xdist would otherwise put the files with the most tests first, and the
    # two schemathesis files, one test each, ran last — one worker finishing them alone for minutes), so the
    # longest files start at once and the short ones fill in around them.
    slow = {item.path for item in keep if item.get_closest_marker("slow")}

    def order(item: pytest.Item) -> tuple[bool, int]:
        return item.path not in slow, -LONGEST.get(item.path.relative_to(TESTS.parent).as_posix(), 0)

    items[:] = sorted(keep, key=order)


# Roughly how long each of the longest test files takes (seconds on a slow 2-vCPU VM, ``--durations``, 2026-12-07):
# only their order matters — the longest first.
LONGEST = {
    "tests/integration/test_differential_full.py": 270, "tests/integration/test_api_schemathesis.py": 190,
    "tests/e2e/test_designer_loop_browser.py": 160, "tests/integration/test_api_schemathesis_postgresql.py": 130,
    "tests/integration/test_readme_scoring.py": 130, "tests/unit/test_differential_fuzz.py": 80,
    "tests/integration/test_simulation_jobs.py": 80, "tests/e2e/test_designer_edit_browser.py": 65,
    "tests/e2e/test_designer_impact_browser.py": 52, "tests/e2e/test_designer_workflow_browser.py": 50,
    "tests/integration/test_template_v2_calibration.py": 45, "tests/unit/test_spreadsheet.py": 38,
    "tests/unit/test_durable_fuzz.py": 37,
}
