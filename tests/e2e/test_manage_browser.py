"""The administration pages (issue 12, pages 11–13) in a real browser at 1366 × 768, on a small demo province
with the shipped rule library published (the template's v2 waiting in review, its simulations finished) —
under the Content-Security-Policy (``csp_watch``).

The province's administrator reads the home page, imports a bad file (the row errors, nothing imported) and a
good one (with htmx: the progress, then the result), withdraws a dataset (first without a reason), reads the
audit log filtered, creates a user and opens the account, creates an API key (shown once) and revokes it; a
reviewer's and a designer's home pages show what waits for them; a designer meets the 403 and 404 pages.
Full-page screenshots go to /tmp/rulesvc-admin-mgmt-*.png (look at them); every page's server time
(``X-Render-Ms``) is printed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, Response, expect
from sqlalchemy import select

from tests.e2e.conftest import fits_width, serving

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SHOTS = "/tmp/rulesvc-admin-mgmt-{}.png"
PASSWORD = "manage browser 2026"
VIEWPORT = {"width": 1366, "height": 768}


@pytest.fixture(scope="module")
def manage_app(sqlite_app_factory, tmp_path_factory):
    """A small demo province with the shipped library published (v2 of the template in review, simulated), the
    province's administrator, a provincial reviewer and a county designer whose draft has an error."""
    from rulesvc.datagen.demo import DemoConfig, generate_and_load
    from rulesvc.extensions import db
    from rulesvc.persistence.models import Procuratorate, Prosecutor
    from rulesvc.services.dictionary import get_dictionary
    from rulesvc.services.governance import versions
    from rulesvc.services.governance.access import actor_for_user
    from rulesvc.services.governance.library import publish_library
    from rulesvc.services.users import create_user

    app = sqlite_app_factory(tmp_path_factory.mktemp("manage-e2e"))
    with app.app_context():
        generate_and_load(DemoConfig(seed=7, prosecutors=150, months=2))
        rules_dir = app.config["RULES_DIR"]
        summary = publish_library(db.session(), rules_dir, get_dictionary(rules_dir),
                                  app.extensions["rulesvc.simulation_settings"], today=dt.date(2026, 12, 4))
        assert summary.published and summary.in_review, summary
        org = {code: db.session.scalar(select(Procuratorate.id).where(Procuratorate.code == code))
               for code in ("910000", "910101")}
        create_user(db.session, "province_admin", PASSWORD, role="admin", display_name="省院管理员甲")
        create_user(db.session, "province_reviewer", PASSWORD, role="reviewer", procuratorate_id=org["910000"],
                    display_name="省院审核人员乙")
        designer = create_user(db.session, "county_designer", PASSWORD, role="designer",
                               procuratorate_id=org["910101"], display_name="清瑞区规则设计人员")
        db.session.commit()
        # The county's localization gets a new draft whose formula names something that does not exist.
        actor = actor_for_user(db.session, designer)
        draft = versions.create_draft(db.session, actor, "SFS-PROSECUTOR-910101", change_note="调整质量指标")
        overrides = list(draft.document.get("overrides") or [])
        overrides.append({"op": "set", "path": "indicators.PLEA_APPLY_RATE.formula", "value": "plea_persons / 无此数据项",
                          "reason": "试算"})
        versions.set_overrides(db.session, actor, draft.id, lock_version=draft.lock_version, overrides=overrides)
        db.session.commit()
        person = db.session.scalars(select(Prosecutor).where(Prosecutor.procuratorate_id == org["910101"],
                                                             Prosecutor.active_to.is_(None))
                                    .order_by(Prosecutor.code)).first()
        app.config["MGMT_E2E_PERSON"] = (person.code, "910101")
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="module")
def manage_server(manage_app) -> Iterator[str]:
    with serving(manage_app, "manage-e2e-server") as url:
        yield url


def sign_in(page: Page, base: str, username: str) -> float:
    page.set_viewport_size(VIEWPORT)
    page.goto(f"{base}/admin/")
    expect(page).to_have_url(re.compile(r"/admin/login/\?next="))
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    with page.expect_navigation() as nav:
        page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(f"{base}/admin/")
    return server_ms(nav.value, f"the home page of {username}")


def server_ms(response: Response | None, label: str) -> float:
    """The server time of a page, printed (page speed is ``bench/bench_admin_pages.py``'s business)."""
    assert response is not None and response.ok, label
    ms = float(response.headers["x-render-ms"])
    print(f"server-side render time of {label}: {ms:.1f} ms")
    return ms


def fits(page: Page) -> None:
    """Nothing cut off to the right at 1366 px."""
    fits_width(page)
    tables = page.evaluate("""[...document.querySelectorAll('.manage table')]
        .filter(t => t.getBoundingClientRect().right > t.parentElement.getBoundingClientRect().right + 1).length""")
    assert tables == 0


def test_the_provinces_administrator_imports_withdraws_reads_the_log_and_manages_users_and_keys(
        page: Page, manage_app, manage_server: str, csp_watch):
    base = manage_server
    sign_in(page, base, "province_admin")
    expect(page.locator("#todo-runs")).to_be_visible()  # the library's simulations finished today
    fits(page)
    page.screenshot(path=SHOTS.format("home-admin"), full_page=True)

    # 导入: a bad file first — the row errors, nothing imported.
    with page.expect_navigation() as nav:
        page.locator("a.dropdown-toggle", has_text="系统管理").click()
        page.get_by_role("link", name="导入数据").click()
    server_ms(nav.value, "the import page")
    expect(page.get_by_role("heading", name="导入数据")).to_be_visible()
    datasets_before = page.locator("#datasets tbody tr[id^=dataset-]").count()
    code, org = manage_app.config["MGMT_E2E_PERSON"]
    bad = ("event_id,event_type,procuratorate,prosecutor,case_id,occurred_on,suspects,category,detained\n"
           f"UI-1,case_accepted,{org},{code},UI-C1,2021-02-30,1,ordinary,true\n"
           f"UI-2,case_accepted,{org},NOBODY,UI-C2,2021-03-01,1,ordinary,true\n")
    page.set_input_files("#file", files=[{"name": "错误示例.csv", "mimeType": "text/csv", "buffer": bad.encode()}])
    page.locator("#upload-button").click()
    expect(page.locator("#row-errors")).to_be_visible()
    expect(page.locator("#import-rejected")).to_contain_text("未导入任何数据")
    expect(page.locator("#row-errors tbody tr")).to_have_count(2)
    expect(page.locator("#row-errors")).to_contain_text("第 2 行")
    fits(page)
    page.screenshot(path=SHOTS.format("import-errors"), full_page=True)

    # A good file: "导入中…" while it runs, then the result; the dataset is listed.
    good = ("event_id,event_type,procuratorate,prosecutor,case_id,occurred_on,suspects,category,detained\n"
            f"UI-1,case_accepted,{org},{code},UI-C1,2021-02-03,1,ordinary,true\n"
            f"UI-2,case_accepted,{org},{code},UI-C2,2021-03-01,2,ordinary,false\n")
    page.set_input_files("#file", files=[{"name": "补录事件.csv", "mimeType": "text/csv", "buffer": good.encode()}])
    page.locator("#name").fill("清瑞区补录事件")
    page.locator("#upload-button").click()
    expect(page.locator("#import-done")).to_contain_text("已导入 2 条事件")
    page.screenshot(path=SHOTS.format("import-done"), full_page=False)
    server_ms(page.reload(), "the import page with a new dataset")
    rows = page.locator("#datasets tbody tr[id^=dataset-]")
    expect(rows).to_have_count(datasets_before + 1)
    new_row = rows.filter(has_text="清瑞区补录事件")
    expect(new_row).to_contain_text("使用中")

    # 撤回: without a reason the page says so beside the field; with one, the dataset is listed as withdrawn.
    new_row.locator("summary", has_text="撤回").click()
    with page.expect_navigation():
        new_row.get_by_role("button", name="确认撤回").click()
    expect(page.locator("#withdraw-error")).to_contain_text("撤回须说明理由")
    row = page.locator("#datasets tbody tr[id^=dataset-]").filter(has_text="清瑞区补录事件")
    row.locator("textarea").fill("补录的日期有误，待核实后重新导入")
    with page.expect_navigation():
        row.get_by_role("button", name="确认撤回").click()
    expect(page.locator(".alert-success")).to_contain_text("已撤回数据集")
    expect(page.locator("tr.withdrawal-note").first).to_contain_text("补录的日期有误")
    fits(page)
    page.screenshot(path=SHOTS.format("import-datasets"), full_page=True)

    # 审计日志, filtered by an action.
    server_ms(page.goto(f"{base}/admin/audit/"), "the audit log")
    expect(page.locator("#total-top")).to_contain_text("每页 50 条")
    page.locator("#f-action").select_option("dataset.withdraw")
    with page.expect_navigation() as nav:
        page.locator("#filter-button").click()
    server_ms(nav.value, "the audit log filtered")
    expect(page.locator("#audit-records tbody tr")).to_have_count(1)
    expect(page.locator("#audit-records")).to_contain_text("撤回数据集")
    page.locator("#f-action").select_option("")
    with page.expect_navigation():
        page.locator("#filter-button").click()
    fits(page)
    page.screenshot(path=SHOTS.format("audit"), full_page=True)

    # 用户: create one (first with a short password), then open the account.
    server_ms(page.goto(f"{base}/admin/users/"), "the users page")
    fits(page)
    page.screenshot(path=SHOTS.format("users"), full_page=True)
    with page.expect_navigation():
        page.locator("#new-user").click()
    page.locator("#username").fill("qingrui_viewer")
    page.locator("#display_name").fill("王晓明")
    page.locator("#role").select_option("viewer")
    county = page.locator("#procuratorate option", has_text="910101").get_attribute("value")
    page.locator("#procuratorate").select_option(county)
    page.locator("#password").fill("short")
    page.locator("#password2").fill("short")
    page.evaluate("document.getElementById('password').removeAttribute('minlength')")
    with page.expect_navigation():
        page.locator("#create-user").click()
    expect(page.locator("#error-password")).to_contain_text("至少 12 个字符")
    page.screenshot(path=SHOTS.format("user-new-errors"), full_page=True)
    page.locator("#password").fill("a good password 1")
    page.locator("#password2").fill("a good password 1")
    with page.expect_navigation():
        page.locator("#create-user").click()
    expect(page.locator("#user-qingrui_viewer")).to_contain_text("王晓明")
    with page.expect_navigation() as nav:
        page.locator("#user-qingrui_viewer a.edit-user").click()
    server_ms(nav.value, "an account")
    fits(page)
    page.screenshot(path=SHOTS.format("user-edit"), full_page=True)

    # API 密钥: created — shown once —, then only its prefix; revoked.
    server_ms(page.goto(f"{base}/admin/apikeys/"), "the API keys page")
    page.locator("#key-name").fill("市院绩效管理系统")
    page.locator("#key-orgs").select_option(["910100"])
    page.locator("#perm-score").check()
    with page.expect_navigation():
        page.locator("#create-key").click()
    token = page.locator("#token").input_value()
    assert token.startswith("rsk_")
    fits(page)
    page.screenshot(path=SHOTS.format("apikey-created"), full_page=True)
    page.goto(f"{base}/admin/apikeys/")
    expect(page.locator("#new-key")).to_have_count(0)
    assert token not in page.content()
    page.locator("#keys details.revoke-confirm summary").first.click()
    with page.expect_navigation():
        page.locator("#keys .revoke").first.click()
    expect(page.locator("#keys")).to_contain_text("已吊销")
    page.screenshot(path=SHOTS.format("apikeys"), full_page=True)

    # A Flask-Admin list with our words.
    page.goto(f"{base}/admin/prosecutors/")
    expect(page.locator("#page-size")).to_have_text("每页 50 条")
    expect(page.locator("#list-count")).to_contain_text("共 ")
    page.screenshot(path=SHOTS.format("list-prosecutors"), full_page=False)


def test_a_reviewer_and_a_designer_see_what_waits_for_them(page: Page, manage_server: str, csp_watch):
    base = manage_server
    sign_in(page, base, "province_reviewer")
    reviews = page.locator("#todo-reviews")
    expect(reviews).to_contain_text("第 2 版")
    expect(page.locator("#todo-drafts")).to_have_count(0)
    fits(page)
    page.screenshot(path=SHOTS.format("home-reviewer"), full_page=True)
    with page.expect_navigation():
        reviews.get_by_role("link").first.click()
    expect(page).to_have_url(f"{base}/admin/schemes/SFS-PROSECUTOR-TEMPLATE/2/")

    page.context.clear_cookies()
    sign_in(page, base, "county_designer")
    drafts = page.locator("#todo-drafts")
    expect(drafts).to_contain_text("个错误")
    expect(drafts).to_contain_text("本人")
    expect(page.locator("#todo-reviews")).to_have_count(0)
    fits(page)
    page.screenshot(path=SHOTS.format("home-designer"), full_page=True)
    # Pages a designer may not use: the menu does not offer them, their URLs answer 403 in Chinese.
    expect(page.locator("a.dropdown-toggle", has_text="系统管理")).to_have_count(1)  # the audit log is theirs
    for url in ("/admin/users/", "/admin/apikeys/", "/admin/import/"):
        response = page.goto(f"{base}{url}")
        assert response is not None and response.status == 403, url
    expect(page.locator("#error-403")).to_be_visible()
    page.screenshot(path=SHOTS.format("403"), full_page=True)
    response = page.goto(f"{base}/admin/no-such-page/")
    assert response is not None and response.status == 404
    expect(page.locator("#error-404")).to_contain_text("没有这个页面")
    page.screenshot(path=SHOTS.format("404"), full_page=True)
    page.locator("#lang-en").click()
    expect(page.locator("#error-404")).to_contain_text("There is no such page.")
    server_ms(page.goto(f"{base}/admin/"), "the designer's home page in English")
    expect(page.locator("#todo-drafts")).to_contain_text("Errors to fix")
    fits(page)
    page.screenshot(path=SHOTS.format("home-designer-en"), full_page=True)
