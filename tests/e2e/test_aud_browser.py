"""The audit records of account changes in a real browser at 1366 × 768 under the CSP (issue 12): the province's
administrator creates an account, changes its role, sets a new password and deactivates it on the 用户 pages, then
reads the 审计日志 — the four records named in Chinese, filtered to one action, and in English with the English
summaries. Full-page screenshots in /tmp/rulesvc-admin-aud-*.png (look at them); every page's server time
(``X-Render-Ms``) printed."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from tests.e2e.conftest import serving
from tests.e2e.test_manage_browser import VIEWPORT, fits, server_ms

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SHOTS = "/tmp/rulesvc-admin-aud-{}.png"
PASSWORD = "audit browser 2026"
NEW_PASSWORD = "a brand new password 7"


@pytest.fixture(scope="module")
def aud_server(sqlite_app_factory, tmp_path_factory) -> Iterator[str]:
    from rulesvc.extensions import db
    from rulesvc.persistence.models import Procuratorate
    from rulesvc.services.users import create_user
    from tests.integration.helpers import add_procuratorates

    app = sqlite_app_factory(tmp_path_factory.mktemp("aud-e2e"))
    with app.app_context():
        add_procuratorates([("910000", "示范省人民检察院", "province", None),
                            ("910100", "东川市人民检察院", "city", "910000"),
                            ("910101", "清瑞区人民检察院", "county", "910100")])
        create_user(db.session, "province_admin", PASSWORD, role="admin", display_name="省院管理员甲")
        db.session.commit()
        app.config["AUD_COUNTY"] = db.session.scalar(select(Procuratorate.id).where(Procuratorate.code == "910101"))
    with serving(app, "aud-e2e-server") as url:
        yield url
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_account_changes_on_the_pages_are_read_in_the_audit_log(page: Page, aud_server: str, csp_watch):
    base = aud_server
    page.set_viewport_size(VIEWPORT)
    page.goto(f"{base}/admin/")
    page.get_by_label("用户名").fill("province_admin")
    page.get_by_label("密码").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(f"{base}/admin/")

    # 新建用户, then 修改 (the role), 重设密码, 停用.
    server_ms(page.goto(f"{base}/admin/users/new/"), "the new user page")
    page.locator("#username").fill("qingrui_designer")
    page.locator("#display_name").fill("李明")
    page.locator("#role").select_option("designer")
    page.locator("#procuratorate").select_option(page.locator("#procuratorate option", has_text="910101")
                                                 .get_attribute("value"))
    page.locator("#password").fill(PASSWORD)
    page.locator("#password2").fill(PASSWORD)
    with page.expect_navigation():
        page.locator("#create-user").click()
    server_ms(page.goto(f"{base}/admin/users/qingrui_designer/"), "the account")
    page.locator("#role").select_option("reviewer")
    with page.expect_navigation():
        page.locator("#save-user").click()
    page.locator("#new-password").fill(NEW_PASSWORD)
    page.locator("#new-password2").fill(NEW_PASSWORD)
    with page.expect_navigation():
        page.locator("#set-password").click()
    with page.expect_navigation():
        page.locator("#deactivate").click()
    expect(page.locator("#deactivated")).to_be_visible()

    # 审计日志: the four changes, newest first, as the signed-in person, with the account's procuratorate.
    server_ms(page.goto(f"{base}/admin/audit/"), "the audit log")
    rows = page.locator("#audit-records tbody tr")
    actions = [rows.nth(i).get_attribute("data-action") for i in range(4)]
    assert actions == ["user.deactivate", "user.password", "user.update", "user.create"]
    for i, label in enumerate(("停用用户", "重设密码", "修改用户", "新建用户")):
        expect(rows.nth(i)).to_contain_text(label)
        expect(rows.nth(i)).to_contain_text("province_admin")
        expect(rows.nth(i)).to_contain_text("清瑞区人民检察院")
    expect(rows.nth(2)).to_contain_text("角色 规则设计人员 → 审核人员")
    expect(rows.nth(1)).to_contain_text("重设用户 qingrui_designer 的密码")
    assert NEW_PASSWORD not in page.content() and PASSWORD not in page.content()
    fits(page)
    page.screenshot(path=SHOTS.format("audit"), full_page=True)
    page.locator("#f-action").select_option("user.password")
    with page.expect_navigation() as nav:
        page.locator("#filter-button").click()
    server_ms(nav.value, "the audit log filtered")
    expect(rows).to_have_count(1)

    # In English: the actions and the summaries in English, no Chinese of either.
    page.goto(f"{base}/admin/lang/en/")
    server_ms(page.goto(f"{base}/admin/audit/"), "the audit log in English")
    expect(rows.nth(0)).to_contain_text("User deactivated")
    expect(rows.nth(2)).to_contain_text("role rule designer → reviewer")
    expect(rows.nth(3)).to_contain_text("Created user qingrui_designer (rule designer, 910101)")
    summaries = " ".join(rows.nth(i).locator(".clamp").inner_text() for i in range(4))
    assert not re.search(r"[\u4e00-\u9fff]", summaries), summaries
    fits(page)
    page.screenshot(path=SHOTS.format("audit-en"), full_page=True)
