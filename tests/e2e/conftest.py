"""A real browser (Debian's Chromium, driven by Playwright) against the real app served on a free port.

- ``browser_type_launch_args``: Playwright cannot use ``/usr/bin/chromium`` as a "channel", so it is given
  as ``executable_path`` with the flags a headless, offline, root-run Chromium needs.
- ``live_server``: the demo database (SQLite) served by werkzeug in a thread; yields the base URL.
- ``e2e_user``: the account the browser signs in with.

Without ``/usr/bin/chromium`` the tests are skipped with the reason (``make browser`` installs it).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
E2E_USER = ("e2e_tester", "e2e password 0123")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip (never pass) every browser test, saying why, when Chromium is not installed."""
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason=f"{CHROMIUM} not installed: run `make browser` (apt: chromium fonts-noto-cjk)")
    here = Path(__file__).parent
    for item in items:
        if item.path.is_relative_to(here):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    return {**browser_context_args, "locale": "zh-CN", "viewport": {"width": 1366, "height": 900}}


@pytest.fixture(scope="session")
def e2e_user(demo_app) -> tuple[str, str]:
    from rulesvc.extensions import db
    from rulesvc.persistence.models import User
    from rulesvc.services.users import create_user

    username, password = E2E_USER
    with demo_app.app_context():
        if db.session.scalar(select(User.id).where(User.username == username)) is None:
            create_user(db.session, username, password, role="admin", display_name="浏览器测试")
            db.session.commit()
    return E2E_USER


@pytest.fixture(scope="session")
def live_server(demo_app) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, demo_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
