"""The rule designer's workflow and diff pages (issue 12, pages 6–7) through the real app, on SQLite and PostgreSQL:
a designer submits with a change note; the same person may not approve (four eyes); a reviewer approves only on a
succeeded simulation, sends back only with a note; activation from a date (a bad date is a field message); who may
use which button (absent buttons, 403 for a role, 404 for another tree); a stale submit; the diff in words; taking
up a newer version above with its conflicts; the drift report; the reviewer's inbox."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select, update

from rulesvc.extensions import db
from rulesvc.persistence.models import AuditRecord, SchemeVersion, SimulationRun, User
from rulesvc.persistence.models import Scheme as SchemeRow
from rulesvc.services.dictionary import get_dictionary
from rulesvc.services.governance import versions
from rulesvc.services.governance.access import system_actor
from rulesvc.services.passwords import hash_password
from tests.integration.helpers import give_events, rendered_page, simulation_run
from tests.integration.test_admin import csrf_token
from tests.integration.test_admin_designer import PASSWORD, _actor, page, signed_in, world  # noqa: F401 (fixture)

pytestmark = pytest.mark.sqlite_only  # the services under these pages run on both databases

LOC = "/admin/schemes/LOC-910101/1/"


def _version(app, code: str, number: int) -> dict:
    with app.app_context():
        v = db.session.scalar(select(SchemeVersion).join(SchemeRow).where(SchemeRow.code == code,
                                                                         SchemeVersion.number == number))
        out = {"id": v.id, "status": v.status, "lock": v.lock_version, "note": v.change_note,
               "from": v.effective_from, "review_note": v.review_note}
        db.session.remove()
        return out


def _hidden(html: str, action_part: str) -> dict[str, str]:
    m = re.search(rf'<form method="post" action="[^"]*{re.escape(action_part)}"[^>]*>(.*?)</form>', html, re.S)
    assert m, action_part
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', m.group(1)))


def _button(html: str, button_id: str) -> str | None:
    """The button's tag (None when absent)."""
    m = re.search(rf'<button [^>]*id="{button_id}"[^>]*>', html)
    return m.group(0) if m else None


def _post(client, url: str, **data):
    if "csrf_token" not in data:
        data["csrf_token"] = csrf_token(client.get("/admin/schemes/").get_data(as_text=True))
    return client.post(url, data=data)


def _add_admin(app, name: str, code: str = "910000") -> None:
    from rulesvc.persistence.models import Procuratorate

    with app.app_context():
        pid = db.session.scalar(select(Procuratorate.id).where(Procuratorate.code == code))
        db.session.add(User(username=name, password_hash=hash_password(PASSWORD), role="admin",
                            procuratorate_id=pid, display_name=name))
        db.session.commit()


def _submit_loc(app, client) -> None:
    html = page(client, LOC)
    r = client.post(f"{LOC}submit/", data={**_hidden(html, "/submit/"), "change_note": "清瑞区本地化：质量权重、认罪认罚档次"})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]


def test_a_designer_submits_with_a_change_note_and_nothing_is_saved_without_one(app, world):  # noqa: F811
    client = signed_in(app, "cdesigner")
    html = page(client, LOC)
    submit = _button(html, "submit-button")
    assert submit is not None and "disabled" not in submit
    assert _button(html, "approve-button") is None and _button(html, "activate-button") is None  # not a designer's
    assert 'id="simulations-link"' in html and "/admin/schemes/LOC-910101/1/simulations/" in html
    # Without a change note: 422, the message beside the field, still a draft.
    r = client.post(f"{LOC}submit/", data={**_hidden(html, "/submit/"), "change_note": "  "})
    assert r.status_code == 422
    text = r.get_data(as_text=True)
    assert 'data-field="change_note"' in text and "请说明本版本改了什么" in text
    assert _version(app, "LOC-910101", 1)["status"] == "draft"
    _submit_loc(app, client)
    v = _version(app, "LOC-910101", 1)
    assert v["status"] == "in_review" and v["note"] == "清瑞区本地化：质量权重、认罪认罚档次"
    with app.app_context():
        db.session.execute(update(User).where(User.username == "cdesigner").values(display_name="李设计"))
        db.session.commit()
    html = page(client, LOC)
    assert "已提交审核" in html and _button(html, "submit-button") is None
    # Who drafted and submitted it, as people know them (their name, then the sign-in name)
    assert "李设计（cdesigner）" in html
    assert 'id="wf-waiting"' in html and "等待审核人员" in html
    # The editor's address afterwards (a bookmark, the back button) says why it cannot edit: the version is in
    # review — not a matter of the person's rights — and leads back to the version.
    editor = client.get(f"{LOC}edit/")
    said = editor.get_data(as_text=True)
    assert editor.status_code == 403 and "第 1 版审核中，已不是草稿，不能修改。审核人退回后可继续修改" in said
    assert "无权修改" not in said and f'id="forbidden-version" href="{LOC}"' in said
    with app.app_context():
        actions = db.session.scalars(select(AuditRecord.action).where(AuditRecord.version_id == v["id"])).all()
    assert "version.submit" in actions and "version.update" in actions  # the note saved with the draft, then submit


def test_the_reviewer_is_told_what_changed_since_the_simulation_besides_the_content(app, world, monkeypatch):  # noqa: F811
    """An engine upgrade, new case data or a changed dictionary since the run an approval rests on: said beside the
    buttons (its figures may not be today's), approval still open — the reviewer approves the rules, and an upgrade
    would otherwise void every simulation in review."""
    _submit_loc(app, signed_in(app, "cdesigner"))
    run_id = simulation_run(app, _version(app, "LOC-910101", 1)["id"], "2020")
    reviewer = signed_in(app, "previewer")
    html = page(reviewer, LOC)
    assert f"模拟测评 #{run_id}" in html and 'id="gate-since"' not in html
    give_events(app, "2020-07", per_org=2)  # another dataset holding events of 2020
    html = page(reviewer, LOC)
    since = re.search(r'id="gate-since">(.*?)</div>', html, re.S).group(1)
    assert since.startswith("这次模拟之后，本期的案件数据有变动（导入、更正或撤回）：") and "计分引擎" not in since
    assert "disabled" not in _button(html, "approve-button")
    from rulesvc.services.simulation import gate

    monkeypatch.setattr(gate, "ENGINE_VERSION", "2099.01.01")
    with app.app_context():
        engine_then = db.session.scalar(select(SimulationRun.engine_version).where(SimulationRun.id == run_id))
        db.session.remove()
    since = re.search(r'id="gate-since">(.*?)</div>', page(reviewer, LOC), re.S).group(1)
    assert f"计分引擎已升级（{engine_then} → 2099.01.01），本期的案件数据有变动" in since
    reviewer.get("/admin/lang/en/")
    since = re.search(r'id="gate-since">(.*?)</div>', page(reviewer, LOC), re.S).group(1)
    assert since.startswith(f"Since this simulation the scoring engine has been upgraded ({engine_then} → 2099.01.01); "
                            "the case data of its periods has changed")


def test_a_reviewer_approves_only_on_a_simulation_sends_back_with_a_note_and_activates_from_a_date(app, world):  # noqa: F811
    _submit_loc(app, signed_in(app, "cdesigner"))
    reviewer = signed_in(app, "previewer")
    # The inbox: waiting for review, not simulated yet.
    schemes = page(reviewer, "/admin/schemes/")
    assert 'id="inbox-review"' in schemes and 'data-scheme="LOC-910101"' in schemes and "尚无模拟测评" in schemes
    html = page(reviewer, LOC)
    approve = _button(html, "approve-button")
    assert approve is not None and "disabled" in approve
    assert "批准前须先完成该版本内容的模拟测评" in html
    assert _button(html, "submit-button") is None  # not a reviewer's
    r = client_post(reviewer, f"{LOC}approve/", html, "/approve/")
    assert r.status_code == 409 and "批准前须先完成该版本内容的模拟测评" in r.get_data(as_text=True)
    assert _version(app, "LOC-910101", 1)["status"] == "in_review"

    run_id = simulation_run(app, _version(app, "LOC-910101", 1)["id"], "2020")
    html = page(reviewer, LOC)
    assert "disabled" not in _button(html, "approve-button") and f"模拟测评 #{run_id}" in html
    # ...and what that run found, beside the buttons (a reviewer signed off with nothing but the run's number)
    with app.app_context():
        from rulesvc.persistence.models import SimulationRun
        from rulesvc.services.designer_simulation import gate_summary
        from rulesvc.services.simulation.runs import report_of

        run = db.session.get(SimulationRun, run_id)
        found, movers = gate_summary(run, "zh"), report_of(run)["periods"][0]["movers"]
        db.session.remove()
    summary = re.search(r'id="gate-summary">(.*?)</div>\s*</div>', html, re.S).group(1)
    assert "模拟测评结果：" in summary and found and all(line in summary for line in found)
    if movers.get("moved") is None:  # nothing in force in 2020 here (the template from 2021): said so
        assert found[0].startswith("2020：没有与之比较的版本，只计了本版的分")
    else:
        assert found[0].startswith(f"2020：等次上升 {movers['grade_up']} 人、下降 {movers['grade_down']} 人；"
                                   f"总分上升 {movers['up']} 人、下降 {movers['down']} 人")
    assert "已模拟测评" in page(reviewer, "/admin/schemes/")
    # 退回 needs a note: refused with the message beside the field, nothing changed.
    r = client_post(reviewer, f"{LOC}reject/", html, "/reject/", note=" ")
    assert r.status_code == 422 and "退回须说明理由" in r.get_data(as_text=True)
    assert _version(app, "LOC-910101", 1)["status"] == "in_review"
    r = client_post(reviewer, f"{LOC}approve/", html, "/approve/", note="同意本地化")
    assert r.status_code == 302
    assert _version(app, "LOC-910101", 1)["status"] == "approved"

    html = page(reviewer, LOC)
    assert _button(html, "activate-button") is not None and _button(html, "retire-button") is not None
    # The earliest date said once and the same way (the template in force from 2021-01-01 binds the localization);
    # no year written into the page's words (it read "已结束的期间（2020 年）" whatever the data).
    periods = re.search(r'id="wf-activate-periods">(.*?)</div>', html, re.S).group(1)
    assert "最早可选 2021-01-01" in periods and "2020" not in periods
    assert "2021-01-01" in re.search(r'id="wf-activate-parent">(.*?)</div>', html, re.S).group(1)
    assert 'id="inbox-activate"' in page(reviewer, "/admin/schemes/")
    for bad, message in (("2027-13-01", "不是日期"), ("", "请填写日期")):
        r = client_post(reviewer, f"{LOC}activate/", html, "/activate/", effective_from=bad)
        assert r.status_code == 422, bad
        text = r.get_data(as_text=True)
        assert 'data-field="effective_from"' in text and message in text
    assert _version(app, "LOC-910101", 1)["status"] == "approved"
    # What going live ends, and what a date does: said beside it (a localization's first version: the template).
    assert "本方案尚无生效的版本：在此日期之前，本院人员按上级方案" in html and "已发布的结果不受影响" in html
    # A date activation refuses is said at once, before any question (an audit: 2020-01-01 first asked to confirm a
    # past date, then was refused once ticked) — here the template it is built on starts in 2021.
    r = client_post(reviewer, f"{LOC}activate/", html, "/activate/", effective_from="2020-01-01")
    text = r.get_data(as_text=True)
    assert r.status_code == 422 and "生效日期请选 2021-01-01 或以后" in text and 'id="confirm_past"' not in text
    # A date in the past rescores closed periods: asked once more, with a box to tick.
    r = client_post(reviewer, f"{LOC}activate/", html, "/activate/", effective_from="2021-01-01")
    text = r.get_data(as_text=True)
    assert r.status_code == 422 and "生效日期 2021-01-01 早于今天" in text and 'id="confirm_past"' in text
    # A day inside a period leaves that period under the rules in force on its first day: asked too.
    r = client_post(reviewer, f"{LOC}activate/", html, "/activate/", effective_from="2027-01-15")
    text = r.get_data(as_text=True)
    assert r.status_code == 422 and 'id="confirm_mid"' in text
    assert "2027-01-15 不是考评期间的第一天：2027 年 1 月（自 2027-01-01 起）仍按该期间第一天生效的规则计分" in text
    assert _version(app, "LOC-910101", 1)["status"] == "approved"
    r = client_post(reviewer, f"{LOC}activate/", html, "/activate/", effective_from="2027-01-01")
    assert r.status_code == 302
    v = _version(app, "LOC-910101", 1)
    assert v["status"] == "active" and v["from"] == dt.date(2027, 1, 1)
    html = page(reviewer, LOC)
    assert _button(html, "activate-button") is None and _button(html, "retire-button") is not None
    assert _button(html, "revise-button") is None  # a reviewer does not edit
    # 修订: the designer starts the next draft from the version in force — once; then the button opens it.
    designer = signed_in(app, "cdesigner")
    mine = page(designer, LOC)
    assert "修订：基于本版新建草稿" in mine
    r = client_post(designer, f"{LOC}revise/", mine, "/revise/")
    assert r.status_code == 302 and r.headers["Location"].endswith("/admin/schemes/LOC-910101/2/edit/")
    assert _version(app, "LOC-910101", 2)["status"] == "draft"
    # Its 版本对比 is against version 1 in force — what this round changes (a copy: nothing yet) — not the template.
    diff = page(designer, "/admin/schemes/LOC-910101/2/diff/")
    assert "两个版本没有差异" in diff and "示范省检察官考评模板 · 第 1 版 " not in diff
    mine = page(designer, LOC)
    assert "本方案已有草稿第 2 版" in mine and "打开草稿第 2 版" in mine
    r = client_post(designer, f"{LOC}revise/", mine, "/revise/")
    assert r.headers["Location"].endswith("/admin/schemes/LOC-910101/2/edit/")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SchemeVersion).join(SchemeRow).where(
            SchemeRow.code == "LOC-910101")) == 2
    # Retire with a date before the start: the service's field message.
    r = client_post(reviewer, f"{LOC}retire/", html, "/retire/", effective_to="2026-01-01")
    assert r.status_code == 422 and "停用日期不能早于生效日期 2027-01-01" in r.get_data(as_text=True)
    assert _version(app, "LOC-910101", 1)["status"] == "active"
    # With nothing in force after its last day, asked once more (an audit: one click left a county without rules).
    r = client_post(reviewer, f"{LOC}retire/", html, "/retire/", effective_to="2027-06-30")
    text = r.get_data(as_text=True)
    assert r.status_code == 422 and 'id="confirm_gap"' in text
    assert "自 2027-07-01 起本方案没有生效的版本：本院人员不再按本方案考评（仍按上级方案" in text
    assert _version(app, "LOC-910101", 1)["status"] == "active"
    r = client_post(reviewer, f"{LOC}retire/", html, "/retire/", effective_to="2027-06-30", confirm_gap="1")
    assert r.status_code == 302
    assert "第 1 版已停用，最后生效日为 2027-06-30。" in page(reviewer, LOC)


def test_the_same_person_cannot_approve_what_they_submitted(app, world):  # noqa: F811
    _add_admin(app, "padmin")
    admin = signed_in(app, "padmin")
    html = page(admin, "/admin/schemes/TPL/2/")
    r = admin.post("/admin/schemes/TPL/2/submit/", data={**_hidden(html, "/submit/"), "change_note": "省院第二版"})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    simulation_run(app, _version(app, "TPL", 2)["id"], "2020")
    html = page(admin, "/admin/schemes/TPL/2/")
    approve, reject = _button(html, "approve-button"), _button(html, "reject-button")
    assert approve is not None and "disabled" in approve and "disabled" in reject
    assert "不能审核自己参与过的版本" in html
    assert 'data-scheme="TPL"' not in page(admin, "/admin/schemes/")  # not in their inbox
    r = client_post(admin, "/admin/schemes/TPL/2/approve/", html, "/approve/")
    assert r.status_code == 403
    assert _version(app, "TPL", 2)["status"] == "in_review"
    # Another reviewer may.
    html = page(signed_in(app, "previewer"), "/admin/schemes/TPL/2/")
    assert "disabled" not in _button(html, "approve-button")


def test_buttons_a_role_may_not_use_are_absent_and_their_urls_answer_403_or_404(app, world):  # noqa: F811
    viewer = signed_in(app, "cviewer")
    html = page(viewer, LOC)
    assert 'id="workflow"' in html and 'class="wf-step"' not in html  # the links, no forms
    for step in ("submit", "approve", "reject", "activate", "retire", "rebase"):
        assert _post(viewer, f"{LOC}{step}/", change_note="x", note="x", effective_from="2027-01-01",
                     new_parent_id="1").status_code == 403, step
    assert _post(viewer, f"{LOC}conflicts/settle/", path="x", choice="edit", value="1").status_code == 403
    page(viewer, f"{LOC}conflicts/", 403)
    # Another county's designer: the version does not exist for them.
    other = signed_in(app, "odesigner")
    for step in ("submit", "approve", "activate"):
        assert _post(other, f"{LOC}{step}/", change_note="x").status_code == 404, step
    assert _post(other, "/admin/schemes/LOC-910101/1/conflicts/settle/", path="x", choice="keep").status_code == 404
    page(other, "/admin/schemes/LOC-910101/1/diff/", 404)
    page(other, "/admin/schemes/LOC-910101/1/conflicts/", 404)
    # A designer may not approve; a reviewer may not submit (a bad date does not hide the 403).
    _submit_loc(app, signed_in(app, "cdesigner"))
    assert _post(signed_in(app, "cdesigner"), f"{LOC}approve/").status_code == 403
    assert _post(signed_in(app, "previewer"), "/admin/schemes/LOC-910102/1/submit/", change_note="x").status_code == 403
    assert _post(signed_in(app, "cdesigner"), f"{LOC}activate/", effective_from="bad").status_code == 403
    # The province's draft is invisible to a county: 404.
    assert _post(signed_in(app, "cdesigner"), "/admin/schemes/TPL/2/submit/", change_note="x").status_code == 404


def test_a_stale_submit_is_refused_and_says_who_saved_what(app, world):  # noqa: F811
    client = signed_in(app, "cdesigner")
    html = page(client, LOC)
    with app.app_context():
        v = versions.scheme_version(db.session, _actor("cdesigner"), "LOC-910101", 1)
        versions.update_draft(db.session, _actor("citydesigner"), v.id, lock_version=v.lock_version,
                              change_note="市院改过")
        db.session.commit()
    r = client.post(f"{LOC}submit/", data={**_hidden(html, "/submit/"), "change_note": "提交"})
    assert r.status_code == 409
    text = r.get_data(as_text=True)
    assert "该草稿已被他人修改" in text and "citydesigner" in text
    assert _version(app, "LOC-910101", 1)["status"] == "draft"
    assert 'value="提交"' in text or ">提交</textarea>" in text  # what was typed is kept


def test_the_diff_reads_in_words_with_the_reasons(app, world):  # noqa: F811
    client = signed_in(app, "cdesigner")
    html = page(client, f"{LOC}diff/")  # a localization: against its parent version by default
    assert "示范省检察官考评模板 · 第 1 版" in html and "清瑞区检察官考评方案 · 第 1 版" in html
    weights = html[html.index('id="diff-weights"'):html.index('id="diff-indicators"')]
    assert re.search(r"质量</td>\s*<td[^>]*>40", weights) and "<strong>45</strong>" in weights
    assert "本院把考评重心放在办案质量上" in weights and "<strong>105</strong>" in weights
    indicators = html[html.index('id="diff-indicators"'):]
    plea = re.search(r'data-code="plea_rate".*?</tr>', indicators, re.S).group(0)
    assert "≥ 90% → 10 分" in plea and "≥ 92% → 10 分" in plea and "本院上年适用率已达 88.8%" in plea
    assert '<span class="clause marked">≥ 92% → 10 分</span>' in plea
    assert re.search(r'data-code="supervision_points".*?仅作分析', indicators, re.S)
    assert re.search(r'data-code="local_reviewed" data-kind="added".*?审查起诉人数', indicators, re.S)
    assert "scoring.tiers" not in html and "tiers[0]" not in html and "plea_rate" not in re.sub(r'data-code="[^"]*"', "", html)
    # Against itself: nothing; the picker leads to any two versions the person may see.
    assert "两个版本没有差异" in page(client, f"{LOC}diff/?against=LOC-910101/1")
    r = client.get("/admin/schemes/diff/?from=TPL/1&to=LOC-910101/1")
    assert r.status_code == 302 and r.headers["Location"].endswith("/admin/schemes/LOC-910101/1/diff/?against=TPL/1")
    page(client, f"{LOC}diff/?against=TPL/2", 404)  # the province's draft: invisible to the county
    # The picker offers schemes scoring the same kind of subject only (a UI audit: a procuratorates' bulletin was
    # offered beside a prosecutors' localization).
    with app.app_context():
        from rulesvc.services import designer_diff

        by_kind = {k: [name for name, _ in designer_diff.choices(db.session, _actor("cdesigner"), subject_kind=k)]
                   for k in ("prosecutor", "procuratorate")}
        db.session.remove()
    assert sorted(by_kind["prosecutor"]) == ["清瑞区检察官考评方案", "示范省检察官考评模板"] and by_kind["procuratorate"] == []
    # A version in force says from when (two 已生效 versions of one scheme read alike: a reviewer's audit)
    assert "示范省检察官考评模板 · 第 1 版（已生效，2021-01-01 起）" in html
    page(client, f"{LOC}diff/?against=LOC-910102/1", 404)
    # In English: the same change in English words.
    client.get("/admin/lang/en/")
    english = page(client, f"{LOC}diff/")
    assert "Compare versions" in english and "≥ 92% → 10 points" in english and "analysis only" in english
    assert "Submit for review" in page(client, LOC) and "提交审核" not in page(client, LOC)
    # A template's draft: against the version in force.
    province = page(signed_in(app, "pdesigner"), "/admin/schemes/TPL/2/diff/")
    assert "两个版本没有差异" in province and "示范省检察官考评模板 · 第 1 版" in province


def test_taking_up_a_new_version_above_settles_conflicts_and_the_drift_report(app, world):  # noqa: F811
    dictionary = get_dictionary(app.config["RULES_DIR"])
    with app.app_context():  # the province publishes version 2, raising the plea-rate tiers the county changed
        v2 = versions.scheme_version(db.session, _actor("pdesigner"), "TPL", 2)
        doc = dict(v2.document)
        doc["indicators"] = dict(doc["indicators"])
        plea = dict(doc["indicators"]["plea_rate"])
        plea["scoring"] = {**plea["scoring"], "tiers": [{"min": 0.93, "points": 10}, {"min": 0.87, "points": 8}]}
        doc["indicators"]["plea_rate"] = plea
        doc["adjustments"] = {**doc["adjustments"], "honour": {**doc["adjustments"]["honour"], "points": 2}}
        doc["dimensions"] = {**doc["dimensions"], "effect": {**doc["dimensions"]["effect"],
                                                             "weight": doc["dimensions"]["effect"]["weight"] + 5}}
        versions.update_draft(db.session, _actor("pdesigner"), v2.id, lock_version=v2.lock_version, document=doc)
        versions.submit(db.session, _actor("pdesigner"), v2.id, dictionary)
        db.session.commit()
        v2_id = v2.id
    simulation_run(app, v2_id, "2020", actor=system_actor("tests"))
    with app.app_context():
        versions.approve(db.session, _actor("previewer"), v2_id)
        versions.activate(db.session, _actor("previewer"), v2_id, effective_from=dt.date(2022, 1, 1))
        db.session.commit()
    client = signed_in(app, "cdesigner")
    html = page(client, LOC)
    rebase = _button(html, "rebase-button")
    assert rebase is not None and "disabled" not in rebase and "跟进上级新版本" in html
    r = client.post(f"{LOC}rebase/", data={**_hidden(html, "/rebase/"), "new_parent_id": str(v2_id)})
    assert r.status_code == 302 and r.headers["Location"].endswith("/admin/schemes/LOC-910101/2/conflicts/")
    conflicts = page(client, "/admin/schemes/LOC-910101/2/conflicts/")
    card = re.search(r'<div class="card mb-3 conflict-card" data-path="indicators.plea_rate.scoring.tiers">.*?</form>\s*</div>',
                     conflicts, re.S)
    assert card, conflicts[:3000]
    text = card.group(0)
    assert "≥ 90% → 10 分" in text and "≥ 93% → 10 分" in text and "≥ 92% → 10 分" in text
    assert "保留本地" in text and "采用上级" in text and "修改" in text
    # The county's own weight is asked again (the province moved 效果's): both splits, each with its total.
    weight = re.search(r'<div class="card mb-3 conflict-card" data-path="dimensions.quality.weight">.*?</dl>',
                       conflicts, re.S)
    assert weight and "上级新版本调整了其他维度的权重" in weight.group(0), conflicts[:3000]
    assert "上级现在的权重" in weight.group(0) and "本草稿现在的权重" in weight.group(0) and "合计" in weight.group(0)
    # The draft cannot be submitted while the conflict stands.
    draft = page(client, "/admin/schemes/LOC-910101/2/")
    assert "disabled" in _button(draft, "submit-button") and "处与上级新版本的冲突未处理" in draft
    # 修改: new tiers typed as percentages.
    hidden = _hidden(text, "/conflicts/settle/")
    r = client.post("/admin/schemes/LOC-910101/2/conflicts/settle/", data={
        **hidden, "path": "indicators.plea_rate.scoring.tiers", "choice": "edit", "tier_bound": ["94", "89", ""],
        "tier_points": ["10", "8", ""], "reason": "跟进省院新版，仍高于省院"})
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]
    with app.app_context():
        v = versions.scheme_version(db.session, _actor("cdesigner"), "LOC-910101", 2)
        tiers = next(o for o in v.document["overrides"] if o["path"] == "indicators.plea_rate.scoring.tiers")
        assert tiers["value"] == [{"min": 0.94, "points": 10}, {"min": 0.89, "points": 8}]
        assert tiers["reason"] == "跟进省院新版，仍高于省院"
        left = len(v.document.get("conflicts") or [])
    # The new draft against the county's version 1: the rule changed with the new reason, the earlier one beside it.
    diff = page(client, "/admin/schemes/LOC-910101/2/diff/?against=1")
    plea = re.search(r'data-code="plea_rate".*?</tr>', diff, re.S).group(0)
    assert "≥ 92% → 10 分" in plea and "≥ 94% → 10 分" in plea
    assert "理由：跟进省院新版，仍高于省院" in plea and "原修改理由：本院上年适用率已达 88.8%" in plea
    honour = re.search(r'data-code="honour".*?</tr>', diff, re.S).group(0)
    assert "每件 +2 分" in honour and "上级版本的修改" in honour  # no local change made it: it came from above
    page_after = page(client, "/admin/schemes/LOC-910101/2/conflicts/")
    assert left == page_after.count('class="card mb-3 conflict-card"')
    # The drift report of the template's version 2: the county's new draft with its changes and reasons.
    drift = page(signed_in(app, "pdesigner"), "/admin/schemes/TPL/2/drift/")
    assert "清瑞区检察官考评方案 · 第 2 版" in drift and "跟进省院新版，仍高于省院" in drift and "≥ 94% → 10 分" in drift
    drift_v1 = page(signed_in(app, "pdesigner"), "/admin/schemes/TPL/1/drift/")
    assert "东湖区人民检察院" in drift_v1 and "本院把考评重心放在办案质量上" in drift_v1
    assert "本地审查起诉人数" in drift_v1 and "indicators.local_reviewed" not in drift_v1  # an added entry by its name
    assert "东湖区" not in page(signed_in(app, "cdesigner"), "/admin/schemes/TPL/1/drift/")  # only what they may see
    english = signed_in(app, "pdesigner")
    english.get("/admin/lang/en/")
    drift_en = page(english, "/admin/schemes/TPL/1/drift/")
    assert "Drift report" in drift_en and "weight changed" in drift_en and "≥ 92% → 10 points" in drift_en


def test_workflow_pages_say_their_server_time(app, world):  # noqa: F811
    client = signed_in(app, "previewer")
    for url in (LOC, f"{LOC}diff/", "/admin/schemes/", "/admin/schemes/TPL/1/drift/"):
        rendered_page(client, url)


def client_post(client, url: str, html: str, action_part: str, **fields):
    return client.post(url, data={**_hidden(html, action_part), **fields})


def test_every_part_of_a_template_change_reads_in_words(app, world):  # noqa: F811
    """A template's new draft changes an item's points, drops a veto, moves a grade band and its quota, caps the
    total and changes a metric's condition: the diff says each in the version page's words, never a path."""
    with app.app_context():
        v2 = versions.scheme_version(db.session, _actor("pdesigner"), "TPL", 2)
        doc = {k: (dict(x) if isinstance(x, dict) else x) for k, x in v2.document.items()}
        doc["adjustments"]["honour"] = {**doc["adjustments"]["honour"], "points": 2, "cap": 4}
        del doc["vetoes"]["wrongful_bar"]
        bands = [dict(b) for b in doc["grading"]["bands"]]
        bands[0].update(min=93, quota=0.2)
        doc["grading"] = {**doc["grading"], "bands": bands}
        doc["combination"] = {**doc["combination"], "cap": 100}
        doc["metrics"]["plea"] = {**doc["metrics"]["plea"], "where": "plea_leniency and sentencing_rec == 'definite'"}
        versions.update_draft(db.session, _actor("pdesigner"), v2.id, lock_version=v2.lock_version, document=doc,
                              change_note="省院第二版：荣誉加分、优秀线")
        db.session.commit()
    html = page(signed_in(app, "pdesigner"), "/admin/schemes/TPL/2/diff/")
    assert "修改说明：省院第二版：荣誉加分、优秀线" in html
    honour = re.search(r'data-code="honour".*?</tr>\s*(<tr[^>]*data-code="honour".*?</tr>\s*)*', html, re.S).group(0)
    assert "每件 +1 分" in honour and "每件 +2 分" in honour and "2 分" in honour and "4 分" in honour
    assert re.search(r'data-code="wrongful_bar" data-kind="removed".*?不得评为优秀', html, re.S)
    assert "优秀：总分 ≥ 92，名额不超过 15%" in html and "优秀：总分 ≥ 93，名额不超过 20%" in html
    assert "总分封顶 105 分" in html and "总分封顶 100 分" in html
    assert re.search(r'data-code="plea".*?确定刑', html, re.S)
    for path_like in ("bands[0]", "combination.cap", "adjustments.honour", "vetoes.wrongful_bar", "where:"):
        assert path_like not in html, path_like


def test_a_version_sent_back_says_why_and_is_submitted_again(app, world):  # noqa: F811
    _submit_loc(app, signed_in(app, "cdesigner"))
    reviewer = signed_in(app, "previewer")
    html = page(reviewer, LOC)
    r = client_post(reviewer, f"{LOC}reject/", html, "/reject/", note="效率权重下调的理由不充分")
    assert r.status_code == 302
    v = _version(app, "LOC-910101", 1)
    assert v["status"] == "draft" and v["review_note"] == "效率权重下调的理由不充分"
    designer = signed_in(app, "cdesigner")
    html = page(designer, LOC)
    assert 'id="wf-sent-back"' in html and "previewer" in html and "效率权重下调的理由不充分" in html
    assert "disabled" not in _button(html, "submit-button")
    _submit_loc(app, designer)
    assert _version(app, "LOC-910101", 1)["status"] == "in_review"


def test_a_revision_from_an_older_version_says_what_waits_in_review_and_the_older_one_warns_its_reviewer(app, world):  # noqa: F811
    """A designer audit (2026-12-07): 修订 on version 1 while version 2 waited in review made version 3 without
    version 2's changes, silently; once version 3 was approved, version 2 could still be approved and put in force,
    replacing it with older content. The revision says so, and version 2's page warns its reviewer."""
    dictionary = get_dictionary(app.config["RULES_DIR"])
    with app.app_context():
        v2 = versions.scheme_version(db.session, _actor("pdesigner"), "TPL", 2)
        versions.submit(db.session, _actor("pdesigner"), v2.id, dictionary)
        db.session.commit()
    designer = signed_in(app, "pdesigner")
    r = _post(designer, "/admin/schemes/TPL/1/revise/")
    assert r.status_code == 302 and r.headers["Location"].endswith("/admin/schemes/TPL/3/edit/")
    assert "第 2 版正在审核中：它的修改不在本草稿里，本草稿从第 1 版修订。" in page(designer, r.headers["Location"])
    reviewer = signed_in(app, "previewer")
    assert 'id="wf-newer"' not in page(reviewer, "/admin/schemes/TPL/2/")  # nothing newer is approved yet
    with app.app_context():
        v3 = versions.scheme_version(db.session, _actor("pdesigner"), "TPL", 3)
        versions.submit(db.session, _actor("pdesigner"), v3.id, dictionary)
        versions.approve(db.session, _actor("previewer"), v3.id, run_id=simulation_run(app, v3.id, "2020"))
        db.session.commit()
    html = page(reviewer, "/admin/schemes/TPL/2/")
    assert 'id="wf-newer"' in html and "比本版本新的第 3 版已批准" in html
    assert "/admin/schemes/TPL/3/diff/?against=TPL/2" in html.replace("%2F", "/")


def _schedule_v2(app, start: dt.date) -> None:
    """The template's draft version 2: submitted, simulated, approved and put in force from ``start``."""
    dictionary = get_dictionary(app.config["RULES_DIR"])
    with app.app_context():
        v2 = versions.scheme_version(db.session, _actor("pdesigner"), "TPL", 2)
        versions.submit(db.session, _actor("pdesigner"), v2.id, dictionary)
        db.session.commit()
        versions.approve(db.session, _actor("previewer"), v2.id, run_id=simulation_run(app, v2.id, "2020"))
        versions.activate(db.session, _actor("previewer"), v2.id, effective_from=start)
        db.session.commit()


def test_a_version_still_to_come_reads_scheduled_and_the_next_one_is_read_against_it(app, world):  # noqa: F811
    """A designer audit (2026-12-07): a version put in force from a future date read 已生效 and "– 至今"; the go-live
    card of the version after it named version 1 as the one it ends and offered the scheduled version's own start;
    版本对比 of that next version compared it with version 1 by default."""
    from rulesvc.services import localtime

    dictionary = get_dictionary(app.config["RULES_DIR"])
    today = localtime.today()
    start = (today.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    _schedule_v2(app, start)
    with app.app_context():
        v3 = versions.create_draft(db.session, _actor("pdesigner"), "TPL", from_version=2, change_note="第三版")
        versions.submit(db.session, _actor("pdesigner"), v3.id, dictionary)
        db.session.commit()
        versions.approve(db.session, _actor("previewer"), v3.id, run_id=simulation_run(app, v3.id, "2020"))
        db.session.commit()
    reviewer = signed_in(app, "previewer")
    html = page(reviewer, "/admin/schemes/TPL/2/")
    assert 'data-status="active">待生效</span>' in html and f"自 {start.isoformat()} 起（尚未开始）" in html
    html = page(reviewer, "/admin/schemes/TPL/3/")
    assert f"第 2 版（定于 {start.isoformat()} 起生效）将于本版本生效日期的前一日停止生效" in html
    offered = re.search(r'id="effective_from" name="effective_from" value="([^"]+)"', html).group(1)
    assert offered > start.isoformat()  # after the scheduled version's start: a date activation accepts
    diff = page(reviewer, "/admin/schemes/TPL/3/diff/")
    assert re.search(r'<option value="TPL/2"[^>]*selected', diff)  # read against the version it revises


def test_a_go_live_still_ahead_is_taken_back_on_the_version_page(app, world):  # noqa: F811
    """撤销生效安排 on page 7: a reviewer sees what taking it back does (version 1 stays in force), must give a
    reason, and the version is approved again with the go-live card back; a designer has no such button."""
    from rulesvc.services import localtime

    start = localtime.today() + dt.timedelta(days=40)
    _schedule_v2(app, start)
    assert 'id="unschedule-button"' not in page(signed_in(app, "pdesigner"), "/admin/schemes/TPL/2/")
    reviewer = signed_in(app, "previewer")
    html = page(reviewer, "/admin/schemes/TPL/2/")
    assert "disabled" not in _button(html, "unschedule-button")
    assert f"第 2 版定于 {start.isoformat()} 起生效，尚未开始。" in html
    assert f"现行的第 1 版随之不再于 {(start - dt.timedelta(days=1)).isoformat()} 停止生效，继续有效。" in html
    hidden = _hidden(html, "/unschedule/")
    r = reviewer.post("/admin/schemes/TPL/2/unschedule/", data={**hidden, "note": " "})
    assert r.status_code == 422 and "请写明撤销生效安排的理由。" in r.get_data(as_text=True)
    assert _version(app, "TPL", 2)["status"] == "active"
    r = reviewer.post("/admin/schemes/TPL/2/unschedule/", data={**hidden, "note": "生效日期排错了"})
    assert r.status_code == 302
    html = page(reviewer, r.headers["Location"])
    assert f"第 2 版不会于 {start.isoformat()} 起生效：它回到“已批准”，可以另定日期生效。" in html
    assert 'id="activate-button"' in html and 'id="unschedule-button"' not in html
    assert _version(app, "TPL", 2)["status"] == "approved" and _version(app, "TPL", 1)["from"] is not None
    # Version 1, in force since before today, cannot be taken back: no button, and the step itself says why.
    html = page(reviewer, "/admin/schemes/TPL/1/")
    assert 'id="unschedule-button"' not in html
    r = reviewer.post("/admin/schemes/TPL/1/unschedule/", data={"csrf_token": hidden["csrf_token"], "note": "试试"})
    assert r.status_code == 409 and "生效安排不能撤销" in r.get_data(as_text=True)


def test_a_draft_nobody_will_submit_is_deleted_with_a_confirmation(app, world):  # noqa: F811
    """A UI audit (2026-12-07): a take-up abandoned halfway left a draft with open conflicts that nothing could
    remove, and 为本院本地化 kept opening it. 删除本草稿 asks for a tick, then deletes it — its content kept in the
    audit log; a viewer cannot."""
    client = signed_in(app, "pdesigner")
    card = page(client, "/admin/schemes/").split('id="scheme-TPL"')[1].split('class="card mb-3 scheme-card"')[0]
    assert "revise-form" in card and "打开草稿第 2 版" in card  # 修订 on the scheme's card opens its draft
    html = page(client, "/admin/schemes/TPL/2/")
    assert 'id="wf-delete"' in html
    hidden = _hidden(html, "/delete/")
    r = client.post("/admin/schemes/TPL/2/delete/", data=hidden)
    assert r.status_code == 422 and "请勾选确认：草稿将被删除。" in r.get_data(as_text=True)
    assert _version(app, "TPL", 2)["status"] == "draft"
    r = client.post("/admin/schemes/TPL/2/delete/", data={**hidden, "confirm_delete": "1"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/admin/schemes/")
    assert "第 2 版草稿已删除，其内容保存在审计日志中。" in page(client, "/admin/schemes/")
    card = page(client, "/admin/schemes/").split('id="scheme-TPL"')[1].split('class="card mb-3 scheme-card"')[0]
    assert "修订：基于本版新建草稿" in card  # no draft left: 修订 starts one from the version in force
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SchemeVersion).join(SchemeRow)
                                 .where(SchemeRow.code == "TPL", SchemeVersion.number == 2)) == 0
        assert db.session.scalar(select(AuditRecord.summary).where(AuditRecord.action == "version.delete"))
    viewer = signed_in(app, "pviewer")
    assert 'id="wf-delete"' not in page(viewer, "/admin/schemes/LOC-910101/1/")


def test_submit_says_when_the_content_as_it_is_has_no_simulation_and_the_list_marks_a_run_of_older_content(app, world):  # noqa: F811
    """Found by a provincial designer's first day: after simulating they corrected only the description, submitted
    with no word said, and the reviewer found "尚无模拟测评" — the run #5 in the list looked as good as ever."""
    client = signed_in(app, "cdesigner")
    html = page(client, LOC)
    assert 'id="wf-unsimulated"' in html and "本版本当前的内容还没有模拟测评" in html
    v_id = _version(app, "LOC-910101", 1)["id"]
    run_id = simulation_run(app, v_id, "2020")
    html = page(client, LOC)
    assert 'id="wf-unsimulated"' not in html  # the run is of the content as it is
    runs_page = page(client, f"{LOC}simulations/")
    assert f'data-run="{run_id}"' in runs_page and "run-stale" not in runs_page
    with app.app_context():  # a change after the run (any: a description's counts too)
        v = db.session.get(SchemeVersion, v_id)
        dim, d = next(iter(versions.resolve(v)["dimensions"].items()))
        path = f"dimensions.{dim}.weight"
        overrides = [*(o for o in v.document.get("overrides", []) if o["path"] != path),
                     {"op": "set", "path": path, "value": d["weight"] + 1, "reason": "权重"}]
        versions.set_overrides(db.session, _actor("cdesigner"), v_id, lock_version=v.lock_version, overrides=overrides)
        db.session.commit()
    html = page(client, LOC)
    assert f"模拟测评 #{run_id} 针对的是之后又修改过的内容" in html and 'id="wf-unsimulated"' in html
    runs_page = page(client, f"{LOC}simulations/")
    assert "run-stale" in runs_page and "此后内容又有修改，不能作为批准依据" in runs_page

