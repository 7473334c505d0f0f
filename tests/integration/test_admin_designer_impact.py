"""The designer's page 5 (issue 12) through the real app, on SQLite and PostgreSQL: the preview (预览) of a
prosecutor under a draft and the version in force, and the live impact (影响预览) of an unsaved edit beside the
editor — the same answer as :func:`rulesvc.services.impact.impact` on the same edit, nothing saved, the save's
field messages for bad input, and who may see what (another county's prosecutor: 404; a viewer: the preview but
not the editor's impact)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from rulesvc.extensions import db
from rulesvc.persistence.models import AuditRecord, SchemeVersion
from rulesvc.persistence.models import Scheme as SchemeRow
from rulesvc.services import designer_edit, impact
from rulesvc.services.dictionary import get_dictionary
from tests.integration.test_admin import csrf_token
from tests.integration.test_admin_designer import _actor, page, signed_in, world  # noqa: F401 (fixture)

pytestmark = pytest.mark.sqlite_only  # the services under these pages run on both databases

LOC = "/admin/schemes/LOC-910101/1/"
OWN, OTHER = "S9101010", "S9101020"  # a prosecutor of 清瑞区 (910101) and one of 东湖区 (910102)


def _draft(app) -> tuple[int, int, int]:
    """The county draft's id and lock counter, and how many audit records there are."""
    with app.app_context():
        v = db.session.scalar(select(SchemeVersion).join(SchemeRow).where(SchemeRow.code == "LOC-910101"))
        return v.id, v.lock_version, db.session.scalar(select(func.count(AuditRecord.id)))


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_preview_shows_a_prosecutor_of_ones_own_county_under_both_versions(app, world):  # noqa: F811
    client = signed_in(app, "cdesigner")
    html = page(client, f"{LOC}preview/")
    assert "预览" in html and 'id="preview-pick"' in html
    # Only the county's people to pick from; the first is chosen by default and its card follows as a fragment.
    picked = re.findall(r'<option value="(S\d+)"', html)
    assert picked == ["S9101010", "S9101011", "S9101012"]
    assert f"preview/card/?subject={OWN}" in html and "计算中" in html

    card = client.get(f"{LOC}preview/card/?subject={OWN}")
    assert card.status_code == 200 and float(card.headers["X-Render-Ms"]) >= 0
    body = card.get_data(as_text=True)
    with app.app_context():
        v_id = _draft(app)[0]
        expected = impact.preview(db.session, _actor("cdesigner"), get_dictionary(app.config["RULES_DIR"]),
                                  version_id=v_id, subject=OWN)
        db.session.rollback()
    d = expected["difference"]
    assert f'data-subject="{OWN}"' in body and expected["subject"]["name"] in body
    assert f"{d['total']['in_force']:.2f}" in body and f"{d['total']['draft']:.2f}" in body
    # The version in force is the template's (another scheme): named, not "version 1" beside "version 1"
    assert f"现行：{expected['in_force']['scheme_name']} 第 1 版" in body and "本草稿（第 1 版）" in body
    # The local changes show per indicator: plea_rate's tiers changed, supervision_points switched off, one added.
    changes = {code: change for change, code in re.findall(r'<tr class="pv-ind pv-(\w+)" data-code="(\w+)"', body)}
    assert changes.get("local_reviewed") == "added" and changes.get("supervision_points") == "switched_off"
    assert "停用" in body and "新增" in body
    by_code = {i["code"]: i for i in d["indicators"]}
    assert all(by_code[c]["change"] == change for c, change in changes.items())
    assert {c for c, i in by_code.items() if i["change"] != "same"} <= set(changes)  # every difference has its row

    # By name: one match opens it; the period list offers closed periods only, newest first.
    found = page(client, f"{LOC}preview/?q=模拟910101-1")
    assert "preview/card/?subject=S9101011" in found
    offered = re.findall(r'<option value="(2020-\d\d)"', found)
    assert offered[0] == expected["period"] and offered == sorted(offered, reverse=True) and len(offered) > 1


def test_another_countys_prosecutor_or_draft_is_not_found(app, world):  # noqa: F811
    client = signed_in(app, "cdesigner")
    assert client.get(f"{LOC}preview/?subject={OTHER}").status_code == 404
    assert "没有这个" in client.get(f"{LOC}preview/?subject={OTHER}").get_data(as_text=True)
    assert client.get(f"{LOC}preview/card/?subject={OTHER}").status_code == 404
    assert client.get(f"{LOC}preview/card/?subject=NOBODY").status_code == 404
    searched = page(client, f"{LOC}preview/?q=模拟910102")  # by name: not among those one may see
    assert 'id="preview-found"' in searched and "S910102" not in searched
    # Another county's designer does not see this draft at all.
    other = signed_in(app, "odesigner")
    assert other.get(f"{LOC}preview/").status_code == 404
    assert other.get(f"{LOC}preview/card/?subject={OWN}").status_code == 404
    assert other.get(f"{LOC}edit/impact/").status_code == 404


def test_a_viewer_may_preview_but_not_ask_the_editors_impact(app, world):  # noqa: F811
    viewer = signed_in(app, "cviewer")
    html = page(viewer, f"{LOC}preview/")
    assert 'href="/admin/schemes/LOC-910101/1/edit/"' not in html  # no way into the editor
    assert viewer.get(f"{LOC}preview/card/?subject={OWN}").status_code == 200
    assert viewer.get(f"{LOC}edit/impact/").status_code == 403
    token = csrf_token(page(viewer, "/admin/schemes/"))
    r = viewer.post(f"{LOC}edit/impact/", data={"csrf_token": token, "impact_part": "weights",
                                                  "weight.quality": "50", "weight.efficiency": "30",
                                                  "weight.effect": "20"})
    assert r.status_code == 403


def test_the_live_impact_of_an_unsaved_weight_is_the_services_answer_and_saves_nothing(app, world):  # noqa: F811
    client = signed_in(app, "cdesigner")
    editor = page(client, f"{LOC}edit/")
    assert 'id="impact-panel"' in editor and 'hx-get="/admin/schemes/LOC-910101/1/edit/impact/"' in editor
    # A localization says why scores move with no rule changed (a designer's first day): among its own people only.
    assert 'id="impact-scope"' in editor and "本地化方案只在本院人员中比较、分配名额" in editor
    assert "impact_part&#34;: &#34;weights" in editor or '"impact_part": "weights"' in editor
    v_id, lock, audits = _draft(app)
    saved = client.get(f"{LOC}edit/impact/")
    assert saved.status_code == 200 and "已保存的草稿" in saved.get_data(as_text=True)
    # The editor and its impact panel count the same warnings (notes are not warnings)
    with app.app_context():
        from rulesvc.services.governance import versions as V

        v = db.session.get(SchemeVersion, v_id)
        found = V.check_resolved(v.scheme, V.resolve(v), get_dictionary(app.config["RULES_DIR"]))
        db.session.rollback()
    warned = sum(1 for f in found if f["level"] == "warning")
    assert warned and any(f["level"] == "info" for f in found)  # this draft has both
    checks = re.search(r'id="checks">(.*?)</div>', editor, re.S).group(1)
    assert f"{warned} 个警告" in checks and f"检查发现 {warned} 条警告" in saved.get_data(as_text=True)

    form = {"csrf_token": csrf_token(editor), "lock_version": str(lock), "impact_part": "weights",
            "weight.quality": "80", "weight.efficiency": "10", "weight.effect": "10", "reason": ""}
    r = client.post(f"{LOC}edit/impact/", data=form)
    assert r.status_code == 200, r.get_data(as_text=True)[:2000]
    html = r.get_data(as_text=True)
    assert "未保存的修改" in html
    with app.app_context():
        changes = [{"op": "set", "path": f"dimensions.{d}.weight", "value": w}
                   for d, w in (("quality", 80), ("efficiency", 10), ("effect", 10))]
        doc = designer_edit.unsaved_document(db.session, _actor("cdesigner"), v_id, changes=changes)
        expected = impact.impact(db.session, _actor("cdesigner"), get_dictionary(app.config["RULES_DIR"]),
                                 version_id=v_id, document=doc, limit=8)
        db.session.rollback()
    assert expected["draft"]["unsaved"] is True
    m = expected["moves"]
    text = _text(html)
    assert f"等次上升 {m['up']} 人" in text and f"等次下降 {m['down']} 人" in text and f"等次不变 {m['same']} 人" in text
    assert f"共 {expected['people']} 人" in text
    shown = {g: (int(b), int(d)) for g, b, d in re.findall(
        r'data-grade="([^"]*)">\s*<td>[^<]*</td>\s*<td class="text-right">(\d+)</td>\s*<td class="text-right">(\d+)</td>',
        html)}
    want = {row["grade"] or "": (b["count"], row["count"])
            for row, b in zip(expected["distribution"]["draft"], expected["distribution"]["in_force"], strict=True)}
    assert shown == want
    if expected["crossers"]:
        assert expected["crossers"][0]["name"] in html
        # Each crosser's grade and why under both versions (a quota decides grades the points do not explain)
        assert html.count("现行版本的等次依据") == sum(1 for c in expected["crossers"] if c["in_force"]["grade_reason"])
        assert html.count("不是分数跨线所致") == sum(1 for c in expected["crossers"] if c["by_places"])
        for c in expected["crossers"]:  # each total with the digits its grade reason shows (never 90.00 for 89.996)
            assert f'{c["in_force"]["total_shown"]} → {c["draft"]["total_shown"]}' in html
    # Nothing saved, nothing recorded: the draft's lock counter and the audit log are as before.
    assert _draft(app) == (v_id, lock, audits)

    # The same weights with a reason would be a real change; typed here, still nothing is saved.
    r = client.post(f"{LOC}edit/impact/", data={**form, "reason": "试算"})
    assert r.status_code == 200 and _draft(app) == (v_id, lock, audits)


def test_bad_unsaved_input_answers_with_the_saves_field_messages(app, world):  # noqa: F811
    client = signed_in(app, "cdesigner")
    editor = page(client, f"{LOC}edit/")
    v_id, lock, audits = _draft(app)
    base = {"csrf_token": csrf_token(editor), "lock_version": str(lock)}
    r = client.post(f"{LOC}edit/impact/", data={**base, "impact_part": "weights", "weight.quality": "abc",
                                                "weight.efficiency": "30", "weight.effect": "20"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert 'id="impact-errors"' in html and 'data-field="weight.quality"' in html
    # The same message the save gives beside the field.
    saved = client.post(f"{LOC}edit/weights/", data={**base, "weight.quality": "abc", "weight.efficiency": "30",
                                                     "weight.effect": "20", "reason": "试"})
    assert saved.status_code == 422
    message = re.search(r'data-field="weight.quality">([^<]+)<', saved.get_data(as_text=True)).group(1)
    assert message in html
    # A tier row with a threshold but no points, on the indicator's form.
    r = client.post(f"{LOC}edit/impact/", data={**base, "impact_part": "indicator", "impact_target": "plea_rate",
                                                "method": "tiers", "tier_bound": ["92", "88"], "tier_points": ["10", ""],
                                                "missing": "zero", "formula": "plea / reviewed"})
    assert r.status_code == 422 and "data-field=\"tier_points[1]\"" in r.get_data(as_text=True)
    # An unknown part of the editor, a formula with a typo: answered, never a 500.
    assert client.post(f"{LOC}edit/impact/", data={**base, "impact_part": "nope"}).status_code == 404
    r = client.post(f"{LOC}edit/impact/", data={**base, "impact_part": "indicator", "impact_target": "plea_rate",
                                                "method": "tiers", "tier_bound": ["92"], "tier_points": ["10"],
                                                "missing": "zero", "formula": "plea / reviewd"})
    assert r.status_code == 422 and 'data-field="formula"' in r.get_data(as_text=True)
    assert _draft(app) == (v_id, lock, audits)


# -- the editor's gaps: who is evaluated, an indicator's own peer group, a new dimension ---------------------


def _overrides(app) -> list[dict]:
    with app.app_context():
        v = db.session.scalar(select(SchemeVersion).join(SchemeRow).where(SchemeRow.code == "LOC-910101"))
        return list(v.document.get("overrides") or [])


def test_who_is_evaluated_has_a_form_and_its_impact_shows_before_saving(app, world):  # noqa: F811
    client = signed_in(app, "cdesigner")
    editor = page(client, f"{LOC}edit/")
    assert 'id="participants-form"' in editor and ">参加考评" in editor
    assert 'name="p_status" value="quota" checked' in editor and 'value="50"' in editor
    v_id, lock, audits = _draft(app)
    base = {"csrf_token": csrf_token(editor), "lock_version": str(lock)}
    form = {**base, "p_status": ["quota", "non_quota"], "p_office": "80", "p_no_activity": "score"}
    # Before saving: the live impact of the unsaved participation rules (the service's answer), nothing saved.
    r = client.post(f"{LOC}edit/impact/", data={**form, "impact_part": "participants"})
    assert r.status_code == 200 and "未保存的修改" in r.get_data(as_text=True)
    assert _draft(app) == (v_id, lock, audits)
    # No status ticked, a share over 100: field messages, nothing saved.
    bad = client.post(f"{LOC}edit/participants/", data={**base, "p_office": "120", "p_no_activity": "score",
                                                         "reason": "试"})
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert 'data-field="p_status"' in text and 'data-field="p_office"' in text
    assert _draft(app)[1] == lock
    # Saved with a reason: one override per value that changed.
    saved = client.post(f"{LOC}edit/participants/", data={**form, "reason": "本院非员额人员也参加考评"})
    assert saved.status_code == 302 and saved.headers["Location"].endswith("#sec-participants")
    ovs = [o for o in _overrides(app) if o["path"].startswith("participants")]
    assert ovs == [{"op": "set", "path": "participants", "reason": "本院非员额人员也参加考评",
                    "value": {"quota_status": ["quota", "non_quota"], "min_office_share": 0.8,
                              "no_activity": "score"}}]
    html = page(client, f"{LOC}edit/")
    assert 'name="p_status" value="non_quota" checked' in html and 'value="80"' in html


def test_an_indicators_own_peer_group_and_a_new_dimension(app, world):  # noqa: F811
    client = signed_in(app, "cdesigner")
    form_html = page(client, f"{LOC}edit/indicators/adoption/")
    assert 'name="ind_peer_group"' in form_html and "按方案：同业务类别" in form_html
    lock = _draft(app)[1]
    base = {"csrf_token": csrf_token(form_html), "lock_version": str(lock)}
    r = client.post(f"{LOC}edit/indicators/adoption/", data={
        **base, "method": "ratio_to_avg", "points": "6", "worst": "0.8", "best": "1.1", "missing": "worst",
        "formula": re.search(r'id="formula" name="formula"[^>]*value="([^"]*)"', form_html).group(1),
        "ind_peer_group": "procuratorate", "reason": "与本院同事比较"})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    assert {"op": "set", "path": "indicators.adoption.peer_group", "value": "procuratorate",
            "reason": "与本院同事比较"} in _overrides(app)
    assert 'value="procuratorate" selected' in page(client, f"{LOC}edit/indicators/adoption/")

    editor = page(client, f"{LOC}edit/")
    base = {"csrf_token": csrf_token(editor), "lock_version": str(_draft(app)[1])}
    bad = client.post(f"{LOC}edit/new-dimension/", data={**base, "dim_name": "", "dim_weight": "x", "reason": "试"})
    assert bad.status_code == 422
    assert 'data-field="dim_name"' in bad.get_data(as_text=True) and 'data-field="dim_weight"' in bad.get_data(as_text=True)
    r = client.post(f"{LOC}edit/new-dimension/", data={**base, "dim_name": "特色工作", "dim_weight": "10",
                                                      "reason": "本院特色工作单列"})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    assert {"op": "add", "path": "dimensions.local_dim_1", "value": {"name": "特色工作", "weight": 10},
            "reason": "本院特色工作单列"} in _overrides(app)
    html = page(client, f"{LOC}edit/")
    assert 'id="w-local_dim_1"' in html
    assert '<option value="local_dim_1">特色工作</option>' in page(client, f"{LOC}edit/new-indicator/")


def test_many_people_are_found_by_name_or_code_instead_of_listed(app, world, monkeypatch):  # noqa: F811
    import admin.designer_impact as views

    monkeypatch.setattr(views, "PICK_LIST", 5)  # the province sees 12 people here: more than a list holds
    client = signed_in(app, "pdesigner")
    html = page(client, "/admin/schemes/TPL/2/preview/")
    assert 'id="pv-q"' in html and 'id="pv-subject"' not in html
    assert "preview/card/?subject=S9100000" in html  # the first of one's own procuratorate, to start with
    found = page(client, "/admin/schemes/TPL/2/preview/?q=模拟910102")
    listed = re.findall(r'subject=(S\d+)', found)
    assert listed == ["S9101020", "S9101021", "S9101022"] and "preview/card/" not in found
    one = page(client, "/admin/schemes/TPL/2/preview/?q=S9101021")
    assert "preview/card/?subject=S9101021" in one
    assert "没有姓名或编号为" in page(client, "/admin/schemes/TPL/2/preview/?q=nobody")


def test_the_procuratorate_comparison_has_a_form(app, world):  # noqa: F811
    from rulesvc.config import PROJECT_ROOT
    from rulesvc.schema.scheme import read_document
    from rulesvc.services.governance import versions

    text = (PROJECT_ROOT / "rules" / "schemes" / "province-procuratorate-quality.yaml").read_text(encoding="utf-8")
    doc = read_document(text)
    doc.update(code="ORGQ", org="910000")
    with app.app_context():
        versions.create_scheme(db.session, _actor("pdesigner"), code="ORGQ", name="检察院质量通报",
                               procuratorate="910000", subject_kind="procuratorate", period_kind="month",
                               document=doc, change_note="草稿")
        db.session.commit()
    client = signed_in(app, "pdesigner")
    editor = page(client, "/admin/schemes/ORGQ/1/edit/")
    assert 'id="comparison-form"' in editor and 'name="cmp_indicators" value="CASE_RATIO_CRIM" checked' in editor
    assert 'id="cmp_band" name="cmp_band" value="5"' in editor and 'id="participants-form"' in editor
    base = {"csrf_token": csrf_token(editor), "lock_version": re.search(r'name="lock_version" value="(\d+)"', editor).group(1)}
    keep = dict(cmp_indicators=["CASE_RATIO_CRIM", "PLEA_APPLY_RATE"], cmp_bottom_k_groups=["city"],
                cmp_bottom_share_groups=["county"], cmp_rounding="floor")
    bad = client.post("/admin/schemes/ORGQ/1/edit/comparison/", data={**base, **keep, "cmp_band": "150",
                                                                      "cmp_streak": "1", "cmp_bottom_k": "3"})
    assert bad.status_code == 422
    assert 'data-field="cmp_band"' in bad.get_data(as_text=True) and 'data-field="cmp_streak"' in bad.get_data(as_text=True)
    r = client.post("/admin/schemes/ORGQ/1/edit/comparison/", data={**base, **keep, "cmp_band": "10", "cmp_bottom_k": "2",
                                                                    "cmp_bottom_share": "25", "cmp_streak": ""})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    with app.app_context():
        v = db.session.scalar(select(SchemeVersion).join(SchemeRow).where(SchemeRow.code == "ORGQ"))
        peers = v.document["peers"]
    assert peers["indicators"] == ["CASE_RATIO_CRIM", "PLEA_APPLY_RATE"]
    assert (peers["band"], peers["bottom_k"], peers["bottom_share"]) == (0.1, 2, 0.25) and "streak" not in peers
    assert peers["bottom_k_groups"] == ["city"] and peers["group"] == "level"
