"""The admin UI in a real browser: Chinese login, the 97 procuratorates, search, filters, English, logout,
the lockout message, and the API documentation pages — all under the Content-Security-Policy, with no
violation reported by Chromium (every page is watched: see ``csp_watch`` in conftest.py).

Screenshots go to /tmp/rulesvc-admin-*.png (look at them: Chinese must render as text, not boxes).
Skipped, with the reason, when /usr/bin/chromium is missing (see conftest.py).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = [
    pytest.mark.e2e,
    # The browser needs one database only: the demo province on SQLite.
    pytest.mark.parametrize("db_kind", ["sqlite"], indirect=True),
]
SHOTS = "/tmp/rulesvc-admin-{}.png"


def sign_in(page: Page, base: str, user: tuple[str, str]) -> None:
    page.goto(f"{base}/admin/")
    expect(page).to_have_url(re.compile(r"/admin/login/\?next="))
    page.get_by_label("用户名").fill(user[0])
    page.get_by_label("密码").fill(user[1])
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(f"{base}/admin/")


def test_login_page_is_chinese_and_rejects_a_wrong_password(page: Page, live_server: str, e2e_user, csp_watch):
    page.goto(f"{live_server}/admin/procuratorates/")
    expect(page.get_by_role("heading", name="登录")).to_be_visible()
    expect(page.locator("a.navbar-brand")).to_have_text("检察官业绩考评规则服务")
    page.get_by_label("用户名").fill(e2e_user[0])
    page.get_by_label("密码").fill("not the password")
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#login-error")).to_have_text("用户名或密码错误")
    page.screenshot(path=SHOTS.format("login"), full_page=True)
    # Required fields are checked on the server, in Chinese.
    page.get_by_label("用户名").fill("")
    page.get_by_label("密码").fill("")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_text("请输入用户名")).to_be_visible()


def test_procuratorates_in_chinese_search_filter_english_and_logout(page: Page, live_server: str, e2e_user, csp_watch):
    sign_in(page, live_server, e2e_user)
    expect(page.locator("#count-procuratorates")).to_have_text("97")
    page.screenshot(path=SHOTS.format("home"), full_page=True)

    page.locator(".navbar").get_by_role("link", name="检察院", exact=True).click()
    cells = page.locator("table.model-list td.col-code")
    expect(cells).to_have_count(97)
    expect(page.get_by_role("link", name="共 97 条")).to_be_visible()
    expect(page.locator("table.model-list th").filter(has_text="上级院")).to_be_visible()
    expect(page.locator("table.model-list td.col-level").filter(has_text="基层院").first).to_be_visible()
    page.screenshot(path=SHOTS.format("procuratorates-zh"), full_page=False)

    # Search by name.
    first_name = page.locator("table.model-list td.col-name").first.inner_text().strip()
    page.locator("input[name=search]").fill(first_name)
    page.locator("input[name=search]").press("Enter")
    expect(page).to_have_url(re.compile(r"search="))
    expect(cells).to_have_count(1)
    expect(page.locator("table.model-list td.col-name").first).to_have_text(first_name)

    # Filter through the filter menu: 层级 = 市级院.
    page.goto(f"{live_server}/admin/procuratorates/")
    page.get_by_role("link", name="筛选", exact=True).click()
    page.locator(".dropdown-menu").get_by_text("层级", exact=True).click()
    # select2 hides the real <select>; the form submits the real one.
    page.locator("table.filters select.filter-val").first.select_option(label="市级院", force=True)
    page.get_by_role("button", name="查询").click()
    expect(page).to_have_url(re.compile(r"flt\d+_0=city"))
    levels = page.locator("table.model-list td.col-level")
    expect(levels.first).to_have_text("市级院")
    assert 1 < levels.count() < 97
    assert set(levels.all_inner_texts()) == {"市级院"}
    page.screenshot(path=SHOTS.format("filter-zh"), full_page=False)

    # English.
    page.goto(f"{live_server}/admin/procuratorates/")
    page.locator("#lang-en").click()
    expect(page).to_have_url(f"{live_server}/admin/procuratorates/")
    expect(page.get_by_role("link", name="97 rows in all")).to_be_visible()
    expect(page.locator("table.model-list th").filter(has_text="Parent procuratorate")).to_be_visible()
    expect(page.locator("table.model-list td.col-level").filter(has_text="County-level").first).to_be_visible()
    expect(page.locator(".navbar").get_by_role("link", name="Procuratorates", exact=True)).to_be_visible()
    page.screenshot(path=SHOTS.format("procuratorates-en"), full_page=False)

    page.locator(".navbar").get_by_role("link", name="Data dictionary", exact=True).click()
    expect(page.get_by_role("link", name="17 rows in all")).to_be_visible()
    page.screenshot(path=SHOTS.format("dictionary-en"), full_page=False)

    # Events (English) then back to Chinese.
    page.locator(".navbar").get_by_role("link", name="Events", exact=True).click()
    expect(page.locator("table.model-list td.col-id")).to_have_count(50)
    page.screenshot(path=SHOTS.format("events-en"), full_page=False)
    page.locator("#lang-zh").click()
    expect(page.locator("table.model-list th").filter(has_text="属性")).to_be_visible()
    page.screenshot(path=SHOTS.format("events-zh"), full_page=False)

    # Sign out: back at the login page, and the lists are closed again.
    page.locator("#logout").click()
    expect(page).to_have_url(f"{live_server}/admin/login/")
    expect(page.get_by_text("您已退出登录")).to_be_visible()
    page.goto(f"{live_server}/admin/procuratorates/")
    expect(page).to_have_url(re.compile(r"/admin/login/"))


def test_the_admin_scripts_run_under_the_policy(page: Page, live_server: str, e2e_user, csp_watch):
    """The filter menu, select2, the page-size menu and the pager are all script-driven."""
    sign_in(page, live_server, e2e_user)
    page.goto(f"{live_server}/admin/events/")
    page.get_by_role("link", name="筛选", exact=True).click()
    page.locator(".dropdown-menu").get_by_text("事件类型", exact=True).click()
    expect(page.locator("table.filters tr")).to_have_count(1)
    expect(page.locator(".select2-container").first).to_be_visible()  # select2 ran (a script)
    page.locator("table.filters select.filter-val").first.select_option(index=1, force=True)
    page.get_by_role("button", name="查询").click()
    expect(page).to_have_url(re.compile(r"flt\d+_0="))
    page.locator(".pagination a.page-link").filter(has_text="2").first.click()
    expect(page).to_have_url(re.compile(r"page=1"))
    page.locator("li.active a.page-link").first.click()  # the current page: a javascript:void(0) link
    page.screenshot(path=SHOTS.format("events-filtered-zh"), full_page=False)
    assert page.evaluate("document.querySelectorAll('script[nonce]').length") > 5


def test_a_locked_name_gets_a_chinese_message(page: Page, live_server: str, csp_watch):
    page.goto(f"{live_server}/admin/login/")
    for _ in range(5):
        page.get_by_label("用户名").fill("e2e_lock_probe")
        page.get_by_label("密码").fill("not the password")
        page.get_by_role("button", name="登录").click()
    expect(page.locator("#login-error")).to_have_text(re.compile(r"登录失败次数过多，请 1[45] 分钟后再试"))
    expect(page.get_by_label("用户名")).to_have_value("e2e_lock_probe")
    page.screenshot(path=SHOTS.format("lockout"), full_page=True)


def test_api_docs_render_under_their_policy(page: Page, live_server: str, csp_watch):
    page.goto(f"{live_server}/api/docs/swagger")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("检察官业绩考评规则服务")
    expect(page.locator(".opblock-tag").first).to_be_visible()
    page.screenshot(path=SHOTS.format("swagger"), full_page=False)
    page.goto(f"{live_server}/api/docs/redoc")
    expect(page.locator("h1").first).to_contain_text("检察官业绩考评规则服务")
    expect(page.locator("[role=menuitem], li[data-item-id]").first).to_be_visible()
    page.screenshot(path=SHOTS.format("redoc"), full_page=False)


def test_the_csp_watch_catches_a_violation(page: Page, live_server: str, csp_watch):
    """The watch itself works: a script injected without the nonce is blocked and reported."""
    page.goto(f"{live_server}/admin/login/")
    page.evaluate("""() => { const s = document.createElement('script');
                             s.textContent = 'window.__injected = true'; document.body.appendChild(s); }""")
    # (Not wait_for_function: Playwright evaluates its predicate with eval, which this very policy forbids.)
    for _ in range(50):
        if page.evaluate("() => window.__cspViolations.length"):
            break
        page.wait_for_timeout(50)
    assert page.evaluate("window.__injected === undefined")  # blocked, not run
    page.evaluate("window.__cspViolations = []")
    page.wait_for_timeout(200)  # let the console message arrive, then forget it: this violation is expected
    assert any("Content Security Policy" in v for v in csp_watch), csp_watch
    csp_watch.clear()
