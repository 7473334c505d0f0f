"""The rule designer's editing pages (issue 12, pages 3–4) through the real app, on SQLite (the services under
them run on both databases in their own tests):
localize with one button, change a weight and a threshold with reasons, a save without a reason refused with a
field message and nothing saved, an indicator switched off, a local indicator added with a formula, a change taken
back, a stale save, and who may do what (a viewer or another county: 403/404 and no buttons)."""

from __future__ import annotations

import re
from html import unescape

import pytest
from sqlalchemy import select

from rulesvc.extensions import db
from rulesvc.persistence.models import AuditRecord, Procuratorate, SchemeVersion, User
from rulesvc.persistence.models import Scheme as SchemeRow
from rulesvc.services.passwords import hash_password
from tests.integration.helpers import rendered_page
from tests.integration.test_admin import csrf_token
from tests.integration.test_admin_designer import PASSWORD, page, signed_in, world  # noqa: F401 (fixture)

pytestmark = pytest.mark.sqlite_only  # the services under these pages run on both databases

TPL = "/admin/schemes/TPL/1/"


def _new_county(app) -> None:
    """A county of the city with no localization yet (西山区, 910103) and its designer."""
    with app.app_context():
        city = db.session.scalar(select(Procuratorate.id).where(Procuratorate.code == "910100"))
        p = Procuratorate(code="910103", name="西山区人民检察院", level="county", parent_id=city)
        db.session.add(p)
        db.session.flush()
        db.session.add(User(username="ndesigner", password_hash=hash_password(PASSWORD), role="designer",
                            procuratorate_id=p.id, display_name="西山区规则设计人员"))
        db.session.add(User(username="nviewer", password_hash=hash_password(PASSWORD), role="viewer",
                            procuratorate_id=p.id, display_name="西山区查看人员"))
        db.session.commit()


def _draft(app, code: str):
    with app.app_context():
        v = db.session.scalars(select(SchemeVersion).join(SchemeRow).where(SchemeRow.code == code)
                               .order_by(SchemeVersion.number.desc())).first()
        return {"number": v.number, "lock": v.lock_version, "overrides": list(v.document.get("overrides") or [])}


def _form(html: str, action_part: str) -> dict[str, str]:
    """The hidden fields (csrf_token, lock_version) of the form whose action contains ``action_part``."""
    m = re.search(rf'<form method="post" action="[^"]*{re.escape(action_part)}"[^>]*>(.*?)</form>', html, re.S)
    assert m, action_part
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', m.group(1)))


def _localize(app, client) -> str:
    html = page(client, TPL)
    response = client.post(f"{TPL}localize/", data={"csrf_token": csrf_token(html)})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response.headers["Location"]


def test_one_button_localizes_and_the_loop_of_changes_works(app, world):  # noqa: F811
    _new_county(app)
    client = signed_in(app, "ndesigner")
    schemes = page(client, "/admin/schemes/")
    assert "为本院本地化" in schemes  # the button beside the template in force
    edit_url = _localize(app, client)
    assert edit_url.endswith("/admin/schemes/TPL-910103/1/edit/")
    html = page(client, edit_url)
    assert "本地修改" in html and "还没有本地修改" in html and "本院已有该方案的本地化方案" not in html
    # Once there is one, the template's card says so and the button reads as what it does (a UI audit: 为本院本地化
    # still offered to a county that had its localization); its own card has 修订 once a version is in force.
    schemes = page(client, "/admin/schemes/")
    template_card = schemes.split('id="scheme-TPL"')[1].split('class="card mb-3 scheme-card"')[0]
    assert "本院已本地化：" in template_card and 'href="#scheme-TPL-910103"' in template_card
    assert "修订本院本地化方案" in template_card and "为本院本地化" not in template_card
    own_card = schemes.split('id="scheme-TPL-910103"')[1].split('class="card mb-3 scheme-card"')[0]
    assert "revise-form" not in own_card  # nothing of it in force yet: 修订 comes with a version in force
    # The same button again opens the same draft: one localization per procuratorate — and says so.
    assert _localize(app, client) == edit_url
    assert "本院已有该方案的本地化方案：已为您打开其草稿第 1 版" in page(client, edit_url)
    html = page(client, edit_url)

    # A weight without a reason: refused, with the message beside the field, nothing saved.
    hidden = _form(html, "/edit/weights/")
    weights = {"weight.quality": "45", "weight.efficiency": "30", "weight.effect": "30"}
    refused = client.post(f"{edit_url}weights/", data={**hidden, **weights, "reason": ""})
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert 'data-field="reason"' in text and "请填写修改理由" in text
    assert 'value="45"' in text  # what was typed is kept
    assert _draft(app, "TPL-910103")["overrides"] == []
    client.get("/admin/lang/en/")  # the English page says it in English (it said the Chinese)
    english = client.post(f"{edit_url}weights/", data={**hidden, **weights, "reason": ""}).get_data(as_text=True)
    assert "Enter a reason: every change of a localization needs one" in english and "请填写修改理由" not in english
    client.get("/admin/lang/zh/")

    # With a reason: saved as an override; the weights' total of 105 is a warning beside the weights.
    saved = client.post(f"{edit_url}weights/", data={**hidden, **weights, "reason": "本院重在办案质量"})
    assert saved.status_code == 302
    assert _draft(app, "TPL-910103")["overrides"] == [
        {"op": "set", "path": "dimensions.quality.weight", "value": 45, "reason": "本院重在办案质量"}]
    html = page(client, edit_url)
    weights_section = html[html.index('id="sec-weights"'):html.index('id="sec-indicators"')]
    assert "维度权重合计 105，不是 100" in weights_section and "finding-warning" in weights_section

    # A threshold, typed as a percentage (the indicator is a rate): stored as a fraction.
    form_html = page(client, f"{edit_url}indicators/plea_rate/")
    assert 'value="90"' in form_html  # 0.9 shown as 90 (%)
    hidden = _form(form_html, "/edit/indicators/plea_rate/")
    ticked = re.findall(r'name="lines" id="line-\w+" value="(\w+)" checked', form_html)
    assert ticked == ["criminal"] and 'id="line-civil"' in form_html  # its lines of work, the others offered
    r = client.post(f"{edit_url}indicators/plea_rate/", data={
        **hidden, "lines": ticked, "method": "tiers", "tier_bound": ["92", "88", "85"], "tier_points": ["10", "8", "6"], "else": "2",
        "missing": "zero", "formula": "plea / reviewed", "reason": "本院上年适用率已达 88.8%"})
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]
    ovs = _draft(app, "TPL-910103")["overrides"]
    assert not any(o["path"].endswith(".lines") for o in ovs)  # the lines as they were: no change
    assert {"op": "set", "path": "indicators.plea_rate.scoring.tiers", "reason": "本院上年适用率已达 88.8%",
            "value": [{"min": 0.92, "points": 10}, {"min": 0.88, "points": 8}, {"min": 0.85, "points": 6}]} in ovs
    # The change list says the rule before and after in the rule's words (it said nothing for tiers or a whole rule).
    html = page(client, edit_url)
    row = re.search(r'<tr class="override" data-path="indicators.plea_rate.scoring.tiers">.*?</tr>', html, re.S)
    assert row, html[html.index('id="sec-overrides"'):][:2000]
    cell = unescape(re.search(r'class="change-cell tabular">(.*?)</td>', row.group(0), re.S).group(1))
    before, after = cell.split("】 → 【")
    assert before.startswith("【≥ ") and "其余" in before and after == "≥ 92% → 10 分；≥ 88% → 8 分；≥ 85% → 6 分；其余 2 分】"

    # Switch an indicator off: one form, one reason.
    html = page(client, edit_url)
    hidden = _form(html, "/edit/indicators/supervision_points/switch/")
    r = client.post(f"{edit_url}indicators/supervision_points/switch/", data={**hidden, "on": "0",
                                                                             "reason": "监督数取决于分案"})
    assert r.status_code == 302
    assert {"op": "disable", "path": "indicators.supervision_points", "reason": "监督数取决于分案"} \
        in _draft(app, "TPL-910103")["overrides"]

    # A local indicator with a formula: a typo is refused with the formula language's own message.
    new_html = page(client, f"{edit_url}new-indicator/")
    hidden = _form(new_html, "/edit/new-indicator/")
    local = {**hidden, "name": "本地审查起诉人数", "code": "local_reviewed", "dimension": "efficiency",
             "direction": "higher_better", "unit": "", "formula": "reviewd", "method": "per_unit", "points": "0.5",
             "cap": "4", "missing": "zero", "reason": "本院新增的工作量指标"}
    r = client.post(f"{edit_url}new-indicator/", data=local)
    assert r.status_code == 422
    assert "是否为“reviewed”？" in r.get_data(as_text=True)
    before = _draft(app, "TPL-910103")["overrides"]
    # Written by the name the pages show (“审查起诉人数”): saved as the code a formula reads.
    # Limited to a business, finer than its line (未成年人检察 only: the form had the four lines alone).
    assert 'id="business-juvenile"' in new_html
    r = client.post(f"{edit_url}new-indicator/", data={**local, "formula": "“审查起诉人数”", "lines_shown": "1",
                                                       "lines": "criminal", "businesses": "juvenile"})
    assert r.status_code == 302 and r.headers["Location"].endswith("#ind-local_reviewed")
    added = _draft(app, "TPL-910103")["overrides"]
    assert added[-1]["value"]["formula"] == "reviewed"
    assert (added[-1]["value"]["lines"], added[-1]["value"]["businesses"]) == (["criminal"], ["juvenile"])
    assert re.search(r'id="business-juvenile" value="juvenile" checked',
                     page(client, f"{edit_url}indicators/local_reviewed/"))
    assert len(added) == len(before) + 1 and added[-1]["op"] == "add" and added[-1]["path"] == "indicators.local_reviewed"
    assert added[-1]["value"]["scoring"] == {"method": "per_unit", "points": 0.5, "cap": 4}
    read = page(client, "/admin/schemes/TPL-910103/1/")
    assert "本地审查起诉人数" in read and "本地新增" in read

    # The list of local changes, each taken back on its own: the weight is inherited again.
    html = page(client, edit_url)
    assert html.count('class="override"') == 4
    index = next(i for i, o in enumerate(_draft(app, "TPL-910103")["overrides"]) if o["path"].startswith("dimensions"))
    hidden = _form(html, f"/edit/overrides/{index}/revert/")
    assert client.post(f"{edit_url}overrides/{index}/revert/", data=hidden).status_code == 302
    assert not any(o["path"].startswith("dimensions") for o in _draft(app, "TPL-910103")["overrides"])

    # Every change is in the audit log, by the designer.
    with app.app_context():
        actions = db.session.scalars(select(AuditRecord.action).where(AuditRecord.actor == "ndesigner")).all()
    assert actions.count("version.update") == 5 and "version.localize" in actions


def test_a_stale_save_shows_what_the_other_person_changed_and_keeps_the_input(app, world):  # noqa: F811
    _new_county(app)
    first, second = signed_in(app, "ndesigner"), signed_in(app, "ndesigner")
    edit_url = _localize(app, first)
    html_first = page(first, edit_url)
    html_second = page(second, edit_url)
    ok = client_post(second, f"{edit_url}weights/", _form(html_second, "/edit/weights/"),
                     {"weight.quality": "50", "weight.efficiency": "25", "weight.effect": "25", "reason": "第二人的修改"})
    assert ok.status_code == 302
    stale = client_post(first, f"{edit_url}weights/", _form(html_first, "/edit/weights/"),
                        {"weight.quality": "45", "weight.efficiency": "30", "weight.effect": "25", "reason": "我的修改"})
    assert stale.status_code == 409
    text = stale.get_data(as_text=True)
    assert 'id="stale"' in text and "质量权重 40 → 50" in text and "ndesigner" in text
    assert 'value="45"' in text and 'value="我的修改"' in text  # the input is kept
    overrides = _draft(app, "TPL-910103")["overrides"]
    assert {o["value"] for o in overrides} == {50, 25}  # nothing of the stale save
    # Saving again from the re-rendered form (its new counter) goes through.
    again = client_post(first, f"{edit_url}weights/", _form(text, "/edit/weights/"),
                        {"weight.quality": "45", "weight.efficiency": "30", "weight.effect": "25", "reason": "我的修改"})
    assert again.status_code == 302


def client_post(client, url: str, hidden: dict[str, str], data: dict[str, str]):
    return client.post(url, data={**hidden, **data})


def test_viewers_and_other_trees_get_no_buttons_and_403_or_404(app, world):  # noqa: F811
    _new_county(app)
    edit_url = _localize(app, signed_in(app, "ndesigner"))
    viewer = signed_in(app, "nviewer")
    assert "为本院本地化" not in page(viewer, "/admin/schemes/")
    read = page(viewer, "/admin/schemes/TPL-910103/1/")
    assert 'id="edit-draft"' not in read and 'id="localize"' not in read
    page(viewer, edit_url, 403)
    token = csrf_token(read)
    assert viewer.post(f"{edit_url}weights/", data={"csrf_token": token, "lock_version": "1",
                                                    "weight.quality": "1", "reason": "x"}).status_code == 403
    assert viewer.post(f"{TPL}localize/", data={"csrf_token": token}).status_code == 403
    # Another county's designer: the draft does not exist for them.
    other = signed_in(app, "cdesigner")
    page(other, edit_url, 404)
    page(other, f"{edit_url}indicators/plea_rate/", 404)
    mine = csrf_token(page(other, "/admin/schemes/"))
    assert other.post(f"{edit_url}weights/", data={"csrf_token": mine, "lock_version": "1"}).status_code == 404
    # A published version is not a draft: no editor.
    page(signed_in(app, "pdesigner"), "/admin/schemes/TPL/1/edit/", 403)
    assert _draft(app, "TPL-910103")["overrides"] == []


def test_the_formula_is_checked_as_it_is_typed(app, world):  # noqa: F811
    client = signed_in(app, "cdesigner")
    html = page(client, "/admin/schemes/LOC-910101/1/edit/indicators/plea_rate/")
    token = csrf_token(html)
    url = "/admin/schemes/LOC-910101/1/edit/check-formula/"
    ok = client.post(url, data={"csrf_token": token, "formula": "plea / reviewed", "indicator": "plea_rate"})
    assert "公式有效" in ok.get_data(as_text=True) and "“认罪认罚人数” / “审查起诉人数”" in ok.get_data(as_text=True)
    bad = client.post(url, data={"csrf_token": token, "formula": "plea / reviewd", "indicator": "plea_rate"})
    assert "是否为“reviewed”？" in bad.get_data(as_text=True) and "^" in bad.get_data(as_text=True)
    refused = client.post(url, data={"formula": "plea"})  # CSRF on every form: refused, back to sign in
    assert refused.status_code == 302 and "公式有效" not in refused.get_data(as_text=True)


def test_editor_pages_say_their_server_time(app, world):  # noqa: F811
    client = signed_in(app, "cdesigner")
    for url in ("/admin/schemes/LOC-910101/1/edit/", "/admin/schemes/LOC-910101/1/edit/indicators/plea_rate/",
                "/admin/schemes/LOC-910101/1/edit/new-indicator/"):
        rendered_page(client, url)


def test_the_editor_speaks_english_when_asked(app, world):  # noqa: F811
    client = signed_in(app, "cdesigner")
    client.get("/admin/lang/en/")
    html = page(client, "/admin/schemes/LOC-910101/1/edit/")
    assert "Local changes" in html and "Reason for the change" in html and "本地修改" not in html


def test_a_local_count_is_picked_from_the_dictionary_then_used_by_a_local_indicator(app, world):  # noqa: F811
    _new_county(app)
    client = signed_in(app, "ndesigner")
    edit_url = _localize(app, client)
    html = page(client, f"{edit_url}new-metric/")
    assert "“领域”为黑土地保护" in html  # the dictionary's choices, by their labels
    hidden = _form(html, "/edit/new-metric/")
    metric = {**hidden, "name": "黑土地保护公益诉讼案件数", "event": "public_interest_case", "agg": "distinct",
              "reason": "黑土地保护是本地专项重点"}
    # A condition that is not one of the offered choices is refused: nothing typed is run.
    refused = client.post(f"{edit_url}new-metric/", data={**metric, "where": "__import__('os')"})
    assert refused.status_code == 422 and _draft(app, "TPL-910103")["overrides"] == []
    r = client.post(f"{edit_url}new-metric/", data={**metric, "where": "domain == 'black_soil'"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/new-indicator/?metric=local_m1")
    assert _draft(app, "TPL-910103")["overrides"][0]["value"] == {
        "name": "黑土地保护公益诉讼案件数", "event": "public_interest_case", "where": "domain == 'black_soil'",
        "agg": "distinct", "field": "case_id"}
    html = page(client, r.headers["Location"])
    assert 'value="local_m1"' in html  # the formula starts with the new count
    r = client.post(f"{edit_url}new-indicator/", data={
        **_form(html, "/edit/new-indicator/"), "name": "黑土地保护公益诉讼案件数", "code": "", "dimension": "effect",
        "direction": "higher_better", "unit": "", "formula": "local_m1", "method": "per_unit", "points": "1", "cap": "3",
        "missing": "zero", "lines": ["public_interest", "nonsense"], "reason": "黑土地保护是本地专项重点"})
    assert r.status_code == 302 and r.headers["Location"].endswith("#ind-LOCAL_1")
    added = _draft(app, "TPL-910103")["overrides"][1]
    assert added["path"] == "indicators.LOCAL_1" and added["value"]["lines"] == ["public_interest"]  # known lines only
    diff = page(client, "/admin/schemes/TPL-910103/1/diff/")  # against the version above: what it adds, lines too
    row = re.search(r'<tr class="part-change" data-code="LOCAL_1".*?(?=<tr class="part-change" data-code="(?!LOCAL_1)|</tbody>)',
                    diff, re.S).group(0)
    assert "业务条线" in row and "公益诉讼检察" in row
    read = page(client, "/admin/schemes/TPL-910103/1/")
    assert "黑土地保护公益诉讼案件数" in read and "“领域”为黑土地保护" in read
    # Taking back the count while the local indicator uses it is refused, saying why.
    html = page(client, edit_url)
    r = client.post(f"{edit_url}overrides/0/revert/", data=_form(html, "/edit/overrides/0/revert/"))
    assert r.status_code == 422 and 'id="edit-errors"' in r.get_data(as_text=True)
    assert "local_m1" in r.get_data(as_text=True) and len(_draft(app, "TPL-910103")["overrides"]) == 2


def test_bonus_and_penalty_items_and_vetoes_are_changed_added_and_taken_out(app, world):  # noqa: F811
    _new_county(app)
    client = signed_in(app, "ndesigner")
    edit_url = _localize(app, client)
    html = page(client, edit_url)
    assert 'id="sec-adjustments"' in html and "超期办案" in html and 'id="sec-vetoes"' in html

    # An inherited penalty: its points and a cap, with a reason.
    form_html = page(client, f"{edit_url}adjustments/overdue/")
    assert 'value="-3"' in form_html and "超期办案" in form_html
    r = client.post(f"{edit_url}adjustments/overdue/", data={**_form(form_html, "/edit/adjustments/overdue/"),
                                                              "points": "-4", "cap": "9", "dimension": "",
                                                              "reason": "本院超期问题突出，加大扣分"})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    ovs = _draft(app, "TPL-910103")["overrides"]
    assert {"op": "set", "path": "adjustments.overdue.points", "value": -4, "reason": "本院超期问题突出，加大扣分"} in ovs
    assert {"op": "set", "path": "adjustments.overdue.cap", "value": 9, "reason": "本院超期问题突出，加大扣分"} in ovs

    # A local bonus from the dictionary's choices; a condition not offered is refused.
    new_html = page(client, f"{edit_url}adjustments-new/")
    bonus = {**_form(new_html, "/edit/adjustments-new/"), "name": "获评优秀公诉人", "event": "honour", "where": "",
             "where2": "", "points": "2", "cap": "4", "dimension": "effect", "per_case": "1",
             "reason": "本院鼓励业务竞赛"}
    assert client.post(f"{edit_url}adjustments-new/", data={**bonus, "where": "1 == 1"}).status_code == 422
    r = client.post(f"{edit_url}adjustments-new/", data=bonus)
    assert r.status_code == 302 and r.headers["Location"].endswith("#item-local_adj1")
    added = _draft(app, "TPL-910103")["overrides"][-1]
    assert added["op"] == "add" and added["value"] == {"name": "获评优秀公诉人", "event": "honour", "points": 2, "cap": 4,
                                                       "per_case": True, "dimension": "effect"}

    # A veto's effect: from "never 优秀" to "at best 合格".
    veto_html = page(client, f"{edit_url}vetoes/wrongful_bar/")
    r = client.post(f"{edit_url}vetoes/wrongful_bar/", data={**_form(veto_html, "/edit/vetoes/wrongful_bar/"),
                                                              "effect": "cap_grade", "grade": "合格",
                                                              "veto_dimension": "quality", "reason": "错案从严"})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    assert {"op": "set", "path": "vetoes.wrongful_bar.effect", "value": "cap_grade", "reason": "错案从严"} \
        in _draft(app, "TPL-910103")["overrides"]

    # A new veto names its grade: the select starts empty (its first grade, the best, would make "at best 优秀"
    # a veto that changes nothing), and "at best …" without a grade is refused at the field.
    new_veto = page(client, f"{edit_url}vetoes-new/")
    assert '<option value="" selected>请选择…</option>' in new_veto
    no_grade = client.post(f"{edit_url}vetoes-new/", data={**_form(new_veto, "/edit/vetoes-new/"), "name": "本院否决",
                                                            "event": "honour", "where": "", "where2": "",
                                                            "effect": "cap_grade", "grade": "", "reason": "试"})
    assert no_grade.status_code == 422 and 'data-field="grade"' in no_grade.get_data(as_text=True)
    assert '<option value="合格" selected>' in page(client, f"{edit_url}vetoes/wrongful_bar/")  # a set grade stays

    # Taken out: an inherited item becomes a "remove"; the local one simply goes.
    html = page(client, edit_url)
    r = client.post(f"{edit_url}adjustments/honour/remove/",
                    data={**_form(html, "/edit/adjustments/honour/remove/"), "reason": ""})
    assert r.status_code == 422 and 'data-field="reason"' in r.get_data(as_text=True)
    r = client.post(f"{edit_url}adjustments/honour/remove/",
                    data={**_form(html, "/edit/adjustments/honour/remove/"), "reason": "荣誉另行奖励，不再计分"})
    assert r.status_code == 302
    html = page(client, edit_url)
    r = client.post(f"{edit_url}adjustments/local_adj1/remove/",
                    data={**_form(html, "/edit/adjustments/local_adj1/remove/"), "reason": "改由院里统一表彰"})
    assert r.status_code == 302
    ovs = _draft(app, "TPL-910103")["overrides"]
    assert {"op": "remove", "path": "adjustments.honour", "reason": "荣誉另行奖励，不再计分"} in ovs
    assert not any(o["path"] == "adjustments.local_adj1" for o in ovs)


def test_the_yaml_tab_saves_with_the_same_checks(app, world):  # noqa: F811
    client = signed_in(app, "cdesigner")
    url = "/admin/schemes/LOC-910101/1/edit/yaml/"
    html = page(client, url)
    assert "dimensions.quality.weight" in html and "本院把考评重心放在办案质量上" in html
    hidden = _form(html, "/edit/yaml/")
    before = _draft(app, "LOC-910101")["overrides"]
    text = "description: ''\noverrides:\n- op: set\n  path: dimensions.quality.weight\n  value: 50\n"
    missing_reason = client.post(url, data={**hidden, "yaml": text})
    assert missing_reason.status_code == 422 and "缺少理由" in missing_reason.get_data(as_text=True)
    bad_formula = ("overrides:\n- op: set\n  path: indicators.plea_rate.formula\n  value: plea / reviewd\n"
                   "  reason: 试一试\n")
    refused = client.post(url, data={**hidden, "yaml": bad_formula})
    assert refused.status_code == 422 and "是否为“reviewed”？" in refused.get_data(as_text=True)
    bomb = "a: &a [x, x]\nb: &b [*a, *a]\noverrides: []\n"
    refused = client.post(url, data={**hidden, "yaml": bomb})
    assert refused.status_code == 422 and "锚点和别名" in refused.get_data(as_text=True)
    syntax = client.post(url, data={**hidden, "yaml": "overrides: [\n"})
    assert syntax.status_code == 422 and "YAML 语法错误" in syntax.get_data(as_text=True)
    assert _draft(app, "LOC-910101")["overrides"] == before  # nothing saved
    ok = client.post(url, data={**hidden, "yaml": text.replace("  value: 50\n", "  value: 50\n  reason: 质量优先\n")})
    assert ok.status_code == 302
    assert _draft(app, "LOC-910101")["overrides"] == [
        {"op": "set", "path": "dimensions.quality.weight", "value": 50, "reason": "质量优先"}]
    page(signed_in(app, "cviewer"), url, 403)
    page(signed_in(app, "odesigner"), url, 404)


def test_grades_and_quotas_and_a_template_draft_edited_without_reasons(app, world):  # noqa: F811
    client = signed_in(app, "cdesigner")
    url = "/admin/schemes/LOC-910101/1/edit/"
    html = page(client, url)
    assert 'name="quota.0" aria-label="优秀 名额（不超过，按百分比）" value="15"' in html
    hidden = _form(html, "/edit/grades/")
    bands = {"min.0": "93", "quota.0": "20", "min.1": "85", "min.2": "80", "min.3": "0"}
    refused = client.post(f"{url}grades/", data={**hidden, **bands, "quota.0": "120", "reason": "x"})
    assert refused.status_code == 422
    # The page comes back at its top: it says there that nothing was saved and where to look (a designer's first day).
    assert '<div class="alert alert-danger py-2" id="edit-errors-below"><strong>未保存：</strong> <a href="#sec-grades">下方有 1 处' \
        in refused.get_data(as_text=True)
    r = client.post(f"{url}grades/", data={**hidden, **bands, "reason": "本院优秀比例按市院要求"})
    assert r.status_code == 302
    ovs = _draft(app, "LOC-910101")["overrides"]
    assert {"op": "set", "path": "grading.bands[0].min", "value": 93, "reason": "本院优秀比例按市院要求"} in ovs
    assert {"op": "set", "path": "grading.bands[0].quota", "value": 0.2, "reason": "本院优秀比例按市院要求"} in ovs
    # The list of local changes names the band and what of it, with the value before and after — never a path.
    listed = page(client, url)
    assert re.search(r"<td>调整等次与名额</td><td>优秀 · 名额</td><td class=\"change-cell tabular\">15% → 20%</td>", listed)
    assert "grading.bands[0]" not in re.search(r'id="sec-overrides".*?</section>', listed, re.S).group(0).replace(
        'data-path="grading.bands[0]', "")
    # The version comparison points the reviewer at what makes a grade easier to reach (a UI audit: a county's
    # 优秀 quota raised from the province's 15 % went to review with nothing pointing at it).
    diff = page(client, "/admin/schemes/LOC-910101/1/diff/")
    flags = re.findall(r'<div class="badge badge-warning[^"]*grade-flag">([^<]*)</div>', diff)
    # ... and says a band made harder beside it ("放宽" alone read one-sided: a provincial designer's first day).
    assert flags == ["收紧：优秀的总分下限 92 → 93", "放宽：优秀名额 15% → 20%", "放宽：良好的总分下限 86 → 85"], flags

    # The province's template draft: the same forms change the document itself, no reason asked.
    province = signed_in(app, "pdesigner")
    tpl = "/admin/schemes/TPL/2/edit/"
    html = page(province, tpl)
    assert 'id="sec-overrides"' not in html and "说明（可不填）" in html
    r = province.post(f"{tpl}weights/", data={**_form(html, "/edit/weights/"), "weight.quality": "50",
                                               "weight.efficiency": "25", "weight.effect": "25", "reason": ""})
    assert r.status_code == 302
    with app.app_context():
        doc = db.session.scalars(select(SchemeVersion).join(SchemeRow).where(SchemeRow.code == "TPL",
                                                                            SchemeVersion.number == 2)).one().document
    assert {c: d["weight"] for c, d in doc["dimensions"].items()} == {"quality": 50, "efficiency": 25, "effect": 25}


def test_the_total_and_the_peer_group(app, world):  # noqa: F811
    client = signed_in(app, "cdesigner")
    url = "/admin/schemes/LOC-910101/1/edit/"
    html = page(client, url)
    assert 'id="t-base"' in html and '<option value="business" selected>同业务类别</option>' in html
    hidden = _form(html, "/edit/total/")
    data = {**hidden, "base": "85", "span": "20", "cap": "", "floor": "0", "peer_group": "department",
            "peer_min_size": "3", "reason": "本院人少，按部门比较"}
    assert client.post(f"{url}total/", data={**data, "peer_group": "nobody"}).status_code == 422
    # An emptied base score: the message beside the field, and the top of the page points to it — never the
    # field's code (the list at the top read "base 必填").
    empty = client.post(f"{url}total/", data={**data, "base": ""})
    assert empty.status_code == 422
    text = empty.get_data(as_text=True)
    assert 'class="invalid-feedback d-block field-error" data-field="base">必填' in text
    assert 'id="edit-errors-below"' in text and "<code>base</code>" not in text
    assert client.post(f"{url}total/", data=data).status_code == 302
    ovs = [o for o in _draft(app, "LOC-910101")["overrides"] if o["reason"] == "本院人少，按部门比较"]
    assert {"op": "set", "path": "peer_group", "value": "department", "reason": "本院人少，按部门比较"} in ovs
    assert {"op": "set", "path": "peer_min_size", "value": 3, "reason": "本院人少，按部门比较"} in ovs
    whole = next(o for o in ovs if o["path"] == "combination")
    assert whole["value"] == {"method": "weighted", "base": 85, "span": 20, "floor": 0}  # the cap emptied: none


def test_an_indicators_lines_of_work_are_ticked_and_the_change_is_said_in_words(app, world):  # noqa: F811
    """The indicator form offers the lines of work (四大检察): ticking one more is an override whose change list
    reads 刑事检察 → 刑事检察、民事检察; none ticked is every line."""
    _new_county(app)
    client = signed_in(app, "ndesigner")
    edit_url = _localize(app, client)
    form_html = page(client, f"{edit_url}indicators/plea_rate/")
    hidden = _form(form_html, "/edit/indicators/plea_rate/")
    base = {**hidden, "method": "tiers", "tier_bound": ["90", "85", "80"], "tier_points": ["10", "8", "6"],
            "else": "0", "missing": "zero", "formula": "plea / reviewed"}
    tiers = re.findall(r'name="tier_bound"[^>]*value="([^"]*)"', form_html)
    if tiers:
        base["tier_bound"] = tiers
        base["tier_points"] = re.findall(r'name="tier_points"[^>]*value="([^"]*)"', form_html)
    r = client.post(f"{edit_url}indicators/plea_rate/", data={**base, "lines": ["criminal", "civil"],
                                                             "reason": "民事检察也办理认罪认罚相关案件"})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    ovs = [o for o in _draft(app, "TPL-910103")["overrides"] if o["path"] == "indicators.plea_rate.lines"]
    assert ovs and ovs[0]["value"] == ["civil", "criminal"]
    html = page(client, edit_url)
    assert "刑事检察 → 刑事检察、民事检察" in html and "适用业务条线" in html
    row = re.search(r'<tr class="indicator[^"]*" id="ind-plea_rate".*?</tr>', html, re.S).group(0)
    assert "适用：刑事检察、民事检察" in row  # the editor's table says which lines an indicator is for
    assert re.findall(r'name="lines" id="line-\w+" value="(\w+)" checked', page(client, f"{edit_url}indicators/plea_rate/")) \
        == ["criminal", "civil"]


def test_a_template_designers_reasons_reach_the_reviewers_diff(app, world):  # noqa: F811
    """A designer audit (2026-12-07): the province typed a 说明 for each change of its template draft, and the
    reviewer's 版本对比 showed an empty 修改理由 column — the words were dropped. They are kept with the save (its
    audit record) and shown beside the part they explain; a save without one stays possible."""
    province = signed_in(app, "pdesigner")
    tpl = "/admin/schemes/TPL/2/edit/"
    html = page(province, tpl)
    r = province.post(f"{tpl}weights/", data={**_form(html, "/edit/weights/"), "weight.quality": "50",
                                               "weight.efficiency": "25", "weight.effect": "25",
                                               "reason": "全省案件质量仍是短板，提高质量权重"})
    assert r.status_code == 302
    html = page(province, tpl)
    r = province.post(f"{tpl}grades/", data={**_form(html, "/edit/grades/"), "min.0": "96", "quota.0": "15",
                                              "min.1": "85", "min.2": "75", "min.3": "0", "reason": ""})
    assert r.status_code == 302, r.get_data(as_text=True)[:1500]
    diff = page(province, "/admin/schemes/TPL/2/diff/?against=TPL/1")
    weights = diff[diff.index('id="diff-weights"'):]
    assert "理由：全省案件质量仍是短板，提高质量权重" in weights[:weights.index("</section>")]
    audit = page(signed_in(app, "previewer"), "/admin/audit/?action=version.update")
    assert "修改 TPL 第 2 版草稿：全省案件质量仍是短板，提高质量权重" in audit


def test_the_schemes_description_is_edited_in_the_editor(app, world):  # noqa: F811
    """A designer audit (2026-12-07): 方案说明 still said 40%/30%/30% after the weights changed, and no form could
    change it. The editor's last section edits it, for a template and a localization; the version page shows it."""
    for user, code, number in (("pdesigner", "TPL", 2), ("cdesigner", "LOC-910101", 1)):
        client = signed_in(app, user)
        url = f"/admin/schemes/{code}/{number}/edit/"
        html = page(client, url)
        assert 'id="sec-description"' in html
        r = client.post(f"{url}description/", data={**_form(html, "/edit/description/"),
                                                     "description": "三维度按 50%、25%、25% 计分。"})
        assert r.status_code == 302, r.get_data(as_text=True)[:1000]
        assert "三维度按 50%、25%、25% 计分。" in page(client, f"/admin/schemes/{code}/{number}/")
        too_long = client.post(f"{url}description/", data={**_form(page(client, url), "/edit/description/"),
                                                            "description": "长" * 4001})
        assert too_long.status_code == 422
