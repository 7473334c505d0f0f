"""The rule designer's pages (issue 12, pages 1–2) with the real app, on SQLite (the services under them run on
both databases in their own tests): who sees
which scheme and version (the API's rule: one's own tree, and the published versions of the schemes above),
invisible ones answering 404, and what the pages say — status words, the version in force, history,
the document's parts with their 继承 / 本地修改 / 本地新增 marks and reasons, in Chinese and English."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from rulesvc.config import PROJECT_ROOT
from rulesvc.extensions import db
from rulesvc.persistence.models import User
from rulesvc.schema.scheme import read_document
from rulesvc.services.dictionary import get_dictionary
from rulesvc.services.governance import versions
from rulesvc.services.governance.access import actor_for_user
from rulesvc.services.passwords import hash_password
from tests.integration.helpers import add_procuratorates, give_events, rendered_page, simulate
from tests.integration.test_admin import csrf_token

pytestmark = pytest.mark.sqlite_only  # the services under these pages run on both databases

MINI = PROJECT_ROOT / "tests" / "data" / "schemes" / "mini.yaml"
PASSWORD = "designer pages 2026"
ORGS = [("910000", "示范省人民检察院", "province", None), ("910100", "东川市人民检察院", "city", "910000"),
        ("910101", "清瑞区人民检察院", "county", "910100"), ("910102", "东湖区人民检察院", "county", "910100")]
PEOPLE = {"pdesigner": ("designer", "910000"), "previewer": ("reviewer", "910000"), "pviewer": ("viewer", "910000"),
          "citydesigner": ("designer", "910100"), "cdesigner": ("designer", "910101"),
          "cviewer": ("viewer", "910101"), "odesigner": ("designer", "910102")}
LOCAL_CHANGES = [
    {"op": "set", "path": "dimensions.quality.weight", "value": 45, "reason": "本院把考评重心放在办案质量上"},
    {"op": "set", "path": "indicators.plea_rate.scoring.tiers",
     "value": [{"min": 0.92, "points": 10}, {"min": 0.88, "points": 8}, {"min": 0.85, "points": 6}],
     "reason": "本院上年适用率已达 88.8%"},
    {"op": "disable", "path": "indicators.supervision_points", "reason": "监督数取决于分案"},
    {"op": "add", "path": "indicators.local_reviewed",
     "value": {"name": "本地审查起诉人数", "formula": "reviewed", "dimension": "efficiency",
               "scoring": {"method": "per_unit", "points": 0.5, "cap": 4}},
     "reason": "本院新增的工作量指标"},
]


def _actor(name: str):
    user = db.session.scalar(select(User).where(User.username == name))
    return actor_for_user(db.session, user)


@pytest.fixture
def world(app) -> dict[str, int]:
    """The province's template in force (v1) and a v2 draft; a localization draft of each county."""
    hashed = hash_password(PASSWORD)
    with app.app_context():
        ids = add_procuratorates(ORGS)
        for name, (role, code) in PEOPLE.items():
            db.session.add(User(username=name, password_hash=hashed, role=role, procuratorate_id=ids[code],
                                display_name=name))
        db.session.commit()
    give_events(app, "2020")
    with app.app_context():
        dictionary = get_dictionary(app.config["RULES_DIR"])
        doc = read_document(MINI.read_text(encoding="utf-8"))
        v1 = versions.create_scheme(db.session, _actor("pdesigner"), code="TPL", name="示范省检察官考评模板",
                                    procuratorate="910000", subject_kind="prosecutor", period_kind="month",
                                    document=doc, change_note="首版")
        versions.submit(db.session, _actor("pdesigner"), v1.id, dictionary)
        run = simulate(db.session, _actor("pdesigner"), v1.id, "2020")
        versions.attach_simulation(db.session, _actor("pdesigner"), v1.id, run_id=run.id)
        versions.approve(db.session, _actor("previewer"), v1.id, note="同意")
        versions.activate(db.session, _actor("previewer"), v1.id, effective_from=dt.date(2021, 1, 1))
        versions.create_draft(db.session, _actor("pdesigner"), "TPL", change_note="省院第二版修订")
        versions.localize(db.session, _actor("cdesigner"), parent_version_id=v1.id, procuratorate="910101",
                          code="LOC-910101", name="清瑞区检察官考评方案", overrides=LOCAL_CHANGES, change_note="本地化")
        versions.localize(db.session, _actor("odesigner"), parent_version_id=v1.id, procuratorate="910102",
                          code="LOC-910102", name="东湖区检察官考评方案", change_note="东湖区草稿")
        db.session.commit()
        return ids


def signed_in(app, username: str):
    client = app.test_client()
    token = csrf_token(client.get("/admin/login/").get_data(as_text=True))
    assert client.post("/admin/login/", data={"csrf_token": token, "username": username,
                                              "password": PASSWORD}).status_code == 302
    return client


def page(client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, url
    return response.get_data(as_text=True)


def listed(html: str) -> set[str]:
    """The schemes on the schemes page, with the versions each shows: {"TPL v1", "LOC-910101 v1", …}."""
    out = set()
    for code, body in re.findall(r'<div class="card mb-3 scheme-card" id="scheme-([^"]+)">(.*?)</table>', html, re.S):
        out.update(f"{code} v{n}" for n in re.findall(rf'href="/admin/schemes/{re.escape(code)}/(\d+)/"', body))
    return out


# -- who sees what ------------------------------------------------------------------------------------------


def test_a_county_designer_sees_its_own_drafts_and_the_published_template_only(app, world):
    client = signed_in(app, "cdesigner")
    html = page(client, "/admin/schemes/")
    assert listed(html) == {"TPL v1", "LOC-910101 v1"}
    assert "LOC-910102" not in html and "东湖区检察官考评方案" not in html
    # Another county's draft, the province's draft, a scheme that does not exist: all simply "not found".
    answers = {url: page(client, url, 404) for url in ("/admin/schemes/LOC-910102/1/", "/admin/schemes/TPL/2/",
                                                        "/admin/schemes/NOPE/1/", "/admin/schemes/LOC-910101/9/")}
    # The same page for each, in the UI's language: nothing tells an invisible draft from a missing one.
    bodies = {re.search(r'<div class="designer">.*?</p>\s*</div>', html, re.S).group(0) for html in answers.values()}
    assert len(bodies) == 1
    assert "没有这个方案或版本" in answers["/admin/schemes/LOC-910102/1/"]
    page(client, "/admin/schemes/TPL/1/")
    page(client, "/admin/schemes/LOC-910101/1/")


def test_a_city_sees_its_counties_and_the_province_sees_everything(app, world):
    city = page(signed_in(app, "citydesigner"), "/admin/schemes/")
    assert listed(city) == {"TPL v1", "LOC-910101 v1", "LOC-910102 v1"}
    province = page(signed_in(app, "pdesigner"), "/admin/schemes/")
    assert listed(province) == {"TPL v1", "TPL v2", "LOC-910101 v1", "LOC-910102 v1"}
    client = signed_in(app, "pdesigner")
    page(client, "/admin/schemes/LOC-910102/1/")
    draft = page(client, "/admin/schemes/TPL/2/")  # a template's draft reads like any version
    assert 'data-status="draft">草稿</span>' in draft and "尚未生效" in draft and 'id="problems"' not in draft
    assert re.search(r'本方案各版本：\s*<a href="/admin/schemes/TPL/1/">第 1 版</a>', draft)


def test_the_list_matches_the_versions_service_for_every_person(app, world):
    with app.app_context():
        expected = {name: {f"{s['code']} v{v['number']}" for s in versions.scheme_summaries(db.session, _actor(name))
                           for v in s["versions"]} for name in PEOPLE}
    for name, shown in expected.items():
        assert listed(page(signed_in(app, name), "/admin/schemes/")) == shown, name


def test_anonymous_visitors_are_sent_to_the_login_page(app, world):
    client = app.test_client()
    for url in ("/admin/schemes/", "/admin/schemes/TPL/1/"):
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response.headers["Location"]


# -- page 1: the schemes ----------------------------------------------------------------------------------


def test_schemes_page_shows_statuses_the_version_in_force_and_history(app, world):
    html = page(signed_in(app, "pdesigner"), "/admin/schemes/")
    tpl = html[html.index('id="scheme-TPL"'):html.index('id="scheme-LOC-910101"')]
    assert '<span class="badge badge-success status-badge" data-status="active">已生效</span>' in tpl
    assert 'data-status="draft">草稿</span>' in tpl
    assert "现行版本" in tpl and 'href="/admin/schemes/TPL/1/">第 1 版</a>' in tpl
    assert "省院第二版修订" in tpl and "2021-01-01" in tpl
    # A designer reads the audit log: who did what, in Chinese, no English beside it.
    assert "最近变更（审计日志）" in tpl
    for action in ("新建方案", "提交审核", "批准", "生效"):
        assert action in tpl
    assert "previewer" in tpl and "(created scheme" not in html


def test_a_viewer_sees_history_from_the_versions_not_the_audit_log(app, world):
    html = page(signed_in(app, "pviewer"), "/admin/schemes/")
    assert "审计日志" not in html
    assert "最近变更" in html and "批准" in html and "previewer" in html


def test_a_county_sees_the_template_as_one_from_above(app, world):
    html = page(signed_in(app, "cviewer"), "/admin/schemes/")
    tpl = html[html.index('id="scheme-TPL"'):]
    assert "上级院方案" in tpl
    assert "基于 示范省检察官考评模板 第 1 版" in html


def test_schemes_page_in_english_has_no_chinese_interface_words(app, world):
    client = signed_in(app, "pdesigner")
    client.get("/admin/lang/en/")
    html = page(client, "/admin/schemes/")
    assert "Evaluation schemes" in html and "In force today:" in html and ">active</span>" in html
    for word in (">已生效<", ">草稿<", "现行版本", "最近变更", "审计日志"):
        assert word not in html


# -- page 2: a version as a document ------------------------------------------------------------------------


def test_a_template_version_reads_as_a_document_not_json(app, world):
    html = page(signed_in(app, "cdesigner"), "/admin/schemes/TPL/1/")
    # Dimensions with weights, their shares and the running total.
    assert re.search(r'data-code="quality">\s*<td>质量</td><td class="text-right">40</td>', html)
    assert '<td class="text-right" id="weight-total">100</td>' in html
    assert re.search(r"70<span class=\"text-muted\"> · 70%</span>", html)
    # Formulas with the data dictionary's names, never metric codes; rules in words, rates as percentages.
    assert "“认罪认罚人数” / “审查起诉人数”" in html
    assert "plea / reviewed" not in html
    assert "≥ 90% → 10 分" in html and "≥ 85% → 8 分" in html and "其余 2 分" in html
    assert "不高于 1:1 得满分 10 分" in html and "1:2.3 及更差 0 分" in html  # 案-件比, lower is better
    assert "达到 75% → 5 分" in html  # pass-fail
    assert "每件 1 分" in html and "封顶 3 分" in html  # per unit
    assert "仅作分析" in html
    assert "总分 = 基础分 80 分 + 20 分 × Σ" in html
    # What each name in the formulas counts, in words.
    plea = re.search(r'<tr class="metric" data-code="plea">.*?</tr>', html, re.S).group(0)
    assert "认罪认罚人数" in plea and "审查起诉" in plea and "条件：" in plea and "plea_leniency" not in plea
    assert re.search(r'data-code="distinct_cases">\s*<td>审结案件数</td><td>案件去重计数</td>', html)
    # Not a localization: no provenance marks.
    assert 'data-origin="' not in html
    assert '"op"' not in html and "{&#34;" not in html


def test_a_localization_marks_every_part_inherited_changed_or_local_with_reasons(app, world):
    html = page(signed_in(app, "cdesigner"), "/admin/schemes/LOC-910101/1/")

    def origin_of(code: str) -> str:
        row = re.search(rf'data-code="{code}".*?</tr>', html, re.S)
        assert row, code
        found = re.search(r'data-origin="(\w+)">([^<]+)<', row.group(0))
        assert found, code
        return found.group(2)

    assert origin_of("quality") == "本地修改" and "本院把考评重心放在办案质量上" in html
    assert origin_of("efficiency") == "继承"
    assert origin_of("plea_rate") == "本地修改" and "≥ 92% → 10 分" in html
    assert origin_of("supervision_points") == "本地修改" and "监督数取决于分案" in html
    assert origin_of("local_reviewed") == "本地新增" and "本院新增的工作量指标" in html
    assert origin_of("case_ratio") == "继承"
    assert "权重合计为 105" in html  # 45 + 30 + 30: said, not hidden
    # The list of local changes, each with what it changes and why.
    assert html.count('<tr class="override">') == len(LOCAL_CHANGES)
    assert "调整权重" in html and "停用指标" in html
    assert 'id="parent-link"' in html and 'href="/admin/schemes/TPL/1/"' in html


def test_a_version_page_says_who_changed_it_and_when(app, world):
    own = page(signed_in(app, "pdesigner"), "/admin/schemes/TPL/1/")
    history = own[own.index('id="sec-history"'):]
    assert "变更记录（审计日志）" in history
    for action in ("新建版本", "提交审核", "指定模拟测评", "批准", "生效"):
        assert action in history, action
    assert "（自 2021-01-01 起）" in history and "previewer" in history
    # A county reads the province's version, but not the province's audit log: the version's own fields.
    above = page(signed_in(app, "cdesigner"), "/admin/schemes/TPL/1/")
    history = above[above.index('id="sec-history"'):]
    assert "审计日志" not in history and "批准" in history and "previewer" in history


def test_a_version_page_in_english(app, world):
    client = signed_in(app, "cdesigner")
    client.get("/admin/lang/en/")
    html = page(client, "/admin/schemes/LOC-910101/1/")
    assert "Scoring rule" in html and "changed locally" in html and "added locally" in html
    assert "≥ 92% → 10 points" in html
    for word in ("计分规则", "本地修改", "本地新增", "继承", "维度与权重", "其余"):
        assert word not in html


def test_a_draft_whose_overrides_no_longer_apply_says_why(app, world):
    with app.app_context():
        v = versions.scheme_version(db.session, _actor("cdesigner"), "LOC-910101", 1)
        broken = {**v.document, "overrides": [{"op": "set", "path": "indicators.plea_rate.formula",
                                               "value": "plea / nothing_here", "reason": "试错"}]}
        versions.update_draft(db.session, _actor("cdesigner"), v.id, lock_version=v.lock_version, document=broken)
        db.session.commit()
    html = page(signed_in(app, "cdesigner"), "/admin/schemes/LOC-910101/1/")
    assert 'id="problems"' in html and "该草稿暂不能解析为完整方案" in html


def test_pages_say_how_long_they_took_on_the_server(app, world):
    """Every page says its server time (``X-Render-Ms``: what ``bench/bench_admin_pages.py`` holds to 300 ms)."""
    client = signed_in(app, "pdesigner")
    for url in ("/admin/schemes/", "/admin/schemes/TPL/1/", "/admin/schemes/LOC-910101/1/"):
        rendered_page(client, url)


def test_vendored_assets_are_served_locally(app):
    client = app.test_client()
    for path in ("/admin/assets/vendor/htmx/htmx.min.js", "/admin/assets/vendor/echarts/echarts.min.js",
                 "/admin/assets/designer.css"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "Content-Security-Policy" in response.headers
        response.close()
