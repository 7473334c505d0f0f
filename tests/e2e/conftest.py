"""A real browser (Debian's Chromium, driven by Playwright) against the real app served on a free port.

- ``browser_type_launch_args``: Playwright cannot use ``/usr/bin/chromium`` as a "channel", so it is given
  as ``executable_path`` with the flags a headless, offline, root-run Chromium needs.
- ``live_server``: the demo database (SQLite) served by werkzeug in a thread; yields the base URL.
- ``e2e_user``: the account the browser signs in with.
- ``csp_watch``: fails the test when Chromium reports a Content-Security-Policy violation on any page
  it loaded (the ``securitypolicyviolation`` event, and the console's "Refused to …" errors).

Without ``/usr/bin/chromium`` the tests are skipped with the reason (``make browser`` installs it).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect
from playwright.sync_api import Error as PlaywrightError
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
# What the page shows is waited for up to 30 s (Playwright's default: 5): ``make test`` runs three workers on two
# vCPUs, and a page that answers in 0.3 s alone can take seconds beside the others' bulk scoring — a link clicked
# while the server read the period for the live impact of a draft just saved took over 15 s once. Waiting longer
# costs a passing test nothing; only a failure is said later.
expect.set_options(timeout=30_000)


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


# Collects every violation a page reports, from before its first script runs.
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI} (${e.sourceFile}:${e.lineNumber})`);
});
"""
# Blocked by design, not a sign of a broken page: Redoc's sidebar logo from cdn.redoc.ly (the
# documentation pages load nothing from elsewhere, see rulesvc/api/__init__.py).
EXPECTED_VIOLATIONS = ("cdn.redoc.ly",)


@pytest.fixture
def csp_watch(page: Page) -> Iterator[list[str]]:
    """Every CSP violation of the test's pages; the test fails if there is any (see EXPECTED_VIOLATIONS)."""
    seen: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or message.text.startswith("Refused to"):
            seen.append(f"console: {message.text}")

    def on_load(_page: Page) -> None:
        try:
            seen.extend(f"event: {v}" for v in (_page.evaluate("window.__cspViolations || []") or []))
            _page.evaluate("window.__cspViolations = []")
        except PlaywrightError:  # the next page is already on its way (a quick click): its own load reads it
            pass

    page.add_init_script(CSP_LISTENER)
    page.on("console", on_console)
    page.on("pageerror", lambda error: seen.append(f"page error: {error}"))
    page.on("framenavigated", lambda frame: None)
    page.on("load", on_load)
    yield seen
    try:
        on_load(page)
    except Exception:  # the page is closing or navigating: what was collected stands
        pass
    unexpected = [v for v in seen if not any(marker in v for marker in EXPECTED_VIOLATIONS)]
    assert not unexpected, "CSP violations or page errors:\n" + "\n".join(unexpected)


@contextlib.contextmanager
def serving(app: Any, name: str) -> Iterator[str]:
    """``app`` served on a free local port from a thread, for the browser: its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture(scope="session")
def live_server(demo_app) -> Iterator[str]:
    with serving(demo_app, "e2e-live-server") as url:
        yield url


# Page speed (issue 12: every page under 300 ms server-side on the demo province) is a benchmark, not a test:
# ``bench/bench_admin_pages.py`` measures every page beside a trivial one in the same run. The browser tests
# print the server times they see (``X-Render-Ms``) and hold none of them to a limit: on a shared 2-vCPU
# machine running two workers a limit is a coin toss, not a finding.


def fits_width(page: Page, what: str = "the page") -> None:
    """Nothing cut off to the right: the page is no wider than the window. Waits for the page a click led to first
    (a click returns before the new document exists, when there is no document to measure)."""
    page.wait_for_load_state()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), f"{what}: scrolls sideways"
