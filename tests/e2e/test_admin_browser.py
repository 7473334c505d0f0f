"""The admin UI in a real browser: Chinese login, the 97 procuratorates, search, filters, English, logout.

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


def test_login_page_is_chinese_and_rejects_a_wrong_password(page: Page, live_server: str, e2e_user):
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


def test_procuratorates_in_chinese_search_filter_english_and_logout(page: Page, live_server: str, e2e_user):
    sign_in(page, live_server, e2e_user)
    expect(page.locator("#count-procuratorates")).to_have_text("97")
    page.screenshot(path=SHOTS.format("home"), full_page=True)

    page.locator(".navbar").get_by_role("link", name="检察院", exact=True).click()
    cells = page.locator("table.model-list td.col-code")
    expect(cells).to_have_count(97)
    expect(page.get_by_role("link", name="列表 (97)")).to_be_visible()
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
    page.get_by_role("link", name="添加筛选器").click()
    page.locator(".dropdown-menu").get_by_text("层级", exact=True).click()
    # select2 hides the real <select>; the form submits the real one.
    page.locator("table.filters select.filter-val").first.select_option(label="市级院", force=True)
    page.get_by_role("button", name="应用").click()
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
    expect(page.get_by_role("link", name="List (97)")).to_be_visible()
    expect(page.locator("table.model-list th").filter(has_text="Parent procuratorate")).to_be_visible()
    expect(page.locator("table.model-list td.col-level").filter(has_text="County-level").first).to_be_visible()
    expect(page.locator(".navbar").get_by_role("link", name="Procuratorates", exact=True)).to_be_visible()
    page.screenshot(path=SHOTS.format("procuratorates-en"), full_page=False)

    page.locator(".navbar").get_by_role("link", name="Data dictionary", exact=True).click()
    expect(page.get_by_role("link", name="List (17)")).to_be_visible()
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
