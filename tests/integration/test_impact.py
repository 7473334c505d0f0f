"""Live impact and preview of a draft (issue 12, page 5; ``rulesvc.services.impact``) on a small demo
province with the shipped rule library in force, through the real services.

The differential: for every kind of edit a designer makes — a weight, a tier threshold, a quota, a grade
band, an adjustment's points, an indicator switched off, a new indicator with a new formula, a new metric —
the draft scored from cached metrics is exactly the frame a whole ``evaluate_bulk`` of the edited scheme
gives on the same period, and the answer's counts are read off it. Then: what was recomputed, who counts
(the actor's tree and the scheme's scope), which period and which version in force, the errors, nothing
written, and the preview's two cards against the period's rows."""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from sqlalchemy import func, select

from rulesvc.catalogue import language
from rulesvc.engine.participation import EVALUATED
from rulesvc.engine.periods import parse_period
from rulesvc.errors import InvalidInput, NotFound, PermissionDenied
from rulesvc.extensions import db
from rulesvc.persistence.models import AuditRecord, Procuratorate, SchemeVersion, User
from rulesvc.services import impact, impact_data, results
from rulesvc.services.dictionary import get_dictionary
from rulesvc.services.governance import versions
from rulesvc.services.governance.access import actor_for_scope, actor_for_user, system_actor
from rulesvc.services.scoring import score_period
from tests.impact_edits import SCORING_ONLY, Doc
from tests.impact_edits import band as _band
from tests.impact_edits import new_formula as _new_formula
from tests.impact_edits import new_metric as _new_metric
from tests.impact_edits import quota as _quota
from tests.impact_edits import switched_off as _switched_off
from tests.impact_edits import tier as _tier
from tests.impact_edits import weight as _weight

TODAY = dt.date(2026, 12, 4)
TEMPLATE, COUNTY, ORG_SCHEME = "SFS-PROSECUTOR-TEMPLATE", "SFS-PROSECUTOR-910101", "SFS-PROCURATORATE-QUALITY-MONTHLY"
PASSWORD = "impact preview 2026"


@pytest.fixture(scope="module")
def world(sqlite_app_factory, tmp_path_factory):
    """A small demo province (the real generator, Jan–Feb 2020), the rule library in force from 2020-01-01
    (each version on a real simulation), designers of the province and of two counties, and drafts: the
    template's, the county localization's and the procuratorate scheme's."""
    from rulesvc.datagen.demo import DemoConfig, generate_and_load
    from rulesvc.services.governance.library import publish_library
    from rulesvc.services.users import create_user

    app = sqlite_app_factory(tmp_path_factory.mktemp("impact"))
    with app.app_context():
        generate_and_load(DemoConfig(seed=7, prosecutors=150, months=2))
        rules_dir = app.config["RULES_DIR"]
        publish_library(db.session(), rules_dir, get_dictionary(rules_dir),
                        app.extensions["rulesvc.simulation_settings"], today=TODAY)
        org = {c: db.session.scalar(select(Procuratorate.id).where(Procuratorate.code == c))
               for c in ("910000", "910101", "910102")}
        for name, role, code in (("prov", "designer", "910000"), ("county", "designer", "910101"),
                                 ("other", "designer", "910102"), ("cviewer", "viewer", "910101")):
            create_user(db.session, name, PASSWORD, role=role, procuratorate_id=org[code], display_name=name)
        db.session.commit()
        ids = {"template": versions.create_draft(db.session, _actor("prov"), TEMPLATE, from_version=1).id,
               "county": versions.create_draft(db.session, _actor("county"), COUNTY).id,
               "org": versions.create_draft(db.session, _actor("prov"), ORG_SCHEME).id}
        ids["template_v1"] = _version(TEMPLATE, 1).id
        ids["county_v1"] = _version(COUNTY, 1).id
        db.session.commit()
    results.clear_caches()
    impact.clear_caches()
    yield app, ids
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _actor(name: str):
    return actor_for_user(db.session, db.session.scalar(select(User).where(User.username == name)))


def _version(code: str, number: int) -> SchemeVersion:
    return versions.scheme_version(db.session, system_actor(), code, number)


def _dictionary(app):
    return get_dictionary(app.config["RULES_DIR"])


def _impact(app, who: str, version_id: int, **kw: Any) -> dict[str, Any]:
    return impact.impact(db.session, _actor(who), _dictionary(app), version_id=version_id, today=TODAY, **kw)


# -- the edits ---------------------------------------------------------------------------------------------




def _edited(edit: Callable[[Doc], None]) -> Doc:
    doc = copy.deepcopy(db.session.get(SchemeVersion, _ids["template"]).document)
    edit(doc)
    return doc


_ids: dict[str, int] = {}


@pytest.fixture
def ctx(world):
    app, ids = world
    _ids.update(ids)
    with app.app_context():
        yield app, ids
        db.session.rollback()


# -- the differential --------------------------------------------------------------------------------------


@pytest.mark.parametrize("edit", [*SCORING_ONLY, _new_metric], ids=lambda f: f.__name__.strip("_"))
def test_every_kind_of_edit_scores_exactly_as_a_whole_bulk_run(ctx, edit):
    app, ids = ctx
    dictionary = _dictionary(app)
    _impact(app, "prov", ids["template"])  # the draft as saved: the period's metrics are kept from here on
    doc = _edited(edit)
    answer = _impact(app, "prov", ids["template"], document=doc)

    looked = impact_data.looked_at(db.session, _actor("prov"), dictionary, ids["template"], doc)
    p = parse_period(answer["period"])
    base = results.provisional_figures(db.session, _version(TEMPLATE, 1), dictionary, p)
    scored = impact_data.score(db.session, dictionary, looked.compiled, p, base)
    whole, _ = score_period(db.session, looked.compiled, dictionary, p)
    assert_frame_equal(scored.bulk.frame.sort("prosecutor_id"), whole.frame.sort("prosecutor_id"))
    assert_frame_equal(scored.bulk.left_out.sort("prosecutor_id"), whole.left_out.sort("prosecutor_id"))
    assert scored.bulk.peers == whole.peers

    # The answer is read off that frame: the draft's grade counts are the whole run's.
    graded = whole.frame.filter((pl.col("status") == EVALUATED) & pl.col("grade").is_not_null())
    counts = dict(graded["grade"].value_counts().iter_rows())
    assert {d["grade"]: d["count"] for d in answer["distribution"]["draft"] if d["grade"]} == \
        {g: counts.get(g, 0) for g in answer["grades"] if g}
    assert answer["draft"]["unsaved"] is True and answer["computation"]["events"] == "shared"
    how = answer["computation"]
    if edit is _new_metric:  # the new count and "any event a metric counts": two group-bys' worth, no more
        assert how["metrics"] == "partial" and 1 <= how["aggregations_computed"] <= 2
    else:
        assert how["metrics"] == "reused" and how["aggregations_computed"] == 0


def test_the_edits_move_people_and_the_answer_adds_up(ctx):
    app, ids = ctx
    answer = _impact(app, "prov", ids["template"], document=_edited(_band))  # 良好 from 87 instead of 90
    moves, n = answer["moves"], answer["people"]
    assert moves["up"] > 0 and moves["down"] == 0  # a lower bar only lifts
    matrix = answer["matrix"]["counts"]
    assert sum(map(sum, matrix)) == n
    assert sum(matrix[i][i] for i in range(len(matrix))) == moves["same"] + matrix[-1][-1]
    assert answer["crossers_total"] == moves["up"] + moves["down"] + moves["into_grading"] + moves["out_of_grading"]
    for side in ("in_force", "draft"):
        assert sum(d["count"] for d in answer["distribution"][side]) == n
    for c in answer["crossers"]:
        assert c["direction"] == "up" and c["in_force"]["grade"] == "合格" and c["draft"]["grade"] == "良好"
        assert 87 <= c["draft"]["total"] < 90
        # Each side's grade and why (a veto or a quota moves a grade the points do not explain: an audit)
        assert c["draft"]["grade_reason"].endswith("→ 良好") and "合格" in c["in_force"]["grade_reason"]
        assert c["by_places"] is False and c["line_band"] == "良好"  # the line moved: the points decide
    assert answer["in_force"]["version_id"] == ids["template_v1"] and answer["period"] == "2020"

    tier = _impact(app, "prov", ids["template"], document=_edited(_tier))
    moved = [c for c in tier["crossers"] if c["why"]]
    assert moved and all(c["why"][0]["code"] == "PLEA_APPLY_RATE" for c in moved if c["direction"] == "up")

    # A new indicator dilutes the others of its dimension: it is named among the parts that moved a total even where
    # its own change is small (the panel blamed the diluted ones alone: a provincial designer's first day).
    def dilute(d: Doc) -> None:  # a new indicator worth much, on which everyone scores almost nothing
        _new_formula(d)
        d["indicators"]["LOCAL_ADOPTED_SHARE"]["scoring"].update(best=100, points=5)

    added = _impact(app, "prov", ids["template"], document=_edited(dilute))
    from rulesvc.services.impact import WHY_TOP

    named = [c for c in added["crossers"] if any(w["code"] == "LOCAL_ADOPTED_SHARE" for w in c["why"])]
    assert any([w["code"] for w in c["why"]].index("LOCAL_ADOPTED_SHARE") >= WHY_TOP for c in named)  # past the top
    for c in named:
        [w] = [w for w in c["why"] if w["code"] == "LOCAL_ADOPTED_SHARE"]
        assert w["only"] == "candidate" and w["max_c"] == 5
        assert sum(x["delta"] for x in c["why"]) + c["why_rest"] == pytest.approx(c["delta"], abs=0.005)


def test_totals_up_and_down_are_counted_as_the_simulation_report_counts_them(ctx):
    """Among those graded under both versions (a designer compared "25 whose total changed" on the panel with
    "12 up, 12 down" in the report: the 25th was not graded under one of them), from a whole bulk run of each."""
    from rulesvc.engine.simreport import Side, subjects_table

    app, ids = ctx
    dictionary = _dictionary(app)
    doc = _edited(_weight)
    m = _impact(app, "prov", ids["template"], document=doc)["moves"]
    looked = impact_data.looked_at(db.session, _actor("prov"), dictionary, ids["template"], doc)
    p = parse_period("2020")
    draft, _ = score_period(db.session, looked.compiled, dictionary, p)
    base = results.provisional_figures(db.session, _version(TEMPLATE, 1), dictionary, p)
    grades = [b.grade for b in looked.compiled.scheme.grading.bands]
    t = subjects_table(Side(looked.compiled, draft.frame, draft.left_out),
                       Side(base.compiled, base.frame, base.left_out), "prosecutor_id", grades)
    both = t.filter(pl.col("total_c").is_not_null() & pl.col("total_b").is_not_null())
    up, down = both.filter(pl.col("delta_total") > 1e-9).height, both.filter(pl.col("delta_total") < -1e-9).height
    assert (m["total_up"], m["total_down"]) == (up, down) and up > 0 and down > 0
    assert m["total_changed"] >= up + down


def test_a_quota_edit_shows_in_the_quota_use_of_both_sides(ctx):
    app, ids = ctx
    answer = _impact(app, "prov", ids["template"], document=_edited(_quota))
    before, after = answer["quota"]["in_force"][0], answer["quota"]["draft"][0]
    assert (before["grade"], before["quota"], after["quota"]) == ("优秀", 0.15, 0.3)
    assert after["places"] >= before["places"] and after["taken"] >= before["taken"]
    assert before["size"] == after["size"] and after["taken"] <= after["places"]
    assert answer["distribution"]["draft"][0]["count"] == after["taken"]
    # More places lift people whose totals reached 优秀's line under both: the places decided, not the points
    # (a county designer read "主要因为：<indicator> +0.27" under a move the quota made: an audit).
    lifted = [c for c in answer["crossers"] if c["direction"] == "up" and c["draft"]["grade"] == "优秀"]
    assert lifted and all(c["by_places"] and c["line_band"] == "优秀" for c in lifted
                          if c["in_force"]["total"] >= 95 and c["draft"]["total"] >= 95)
    assert any(c["by_places"] for c in lifted)
    assert all("名额" in c["in_force"]["grade_reason"] for c in lifted if c["by_places"])
    assert all(c["cause"] == "quota" for c in lifted if c["by_places"])  # said as the quota, not "quota or veto"
    for c in answer["crossers"]:  # the parts named and the rest add up to the change of total
        assert sum(w["delta"] for w in c["why"]) + c["why_rest"] == pytest.approx(c["delta"], abs=0.005)
        for side in ("in_force", "draft"):  # the total as its grade reason shows it
            assert c[side]["total_shown"] in c[side]["grade_reason"] or not c[side]["grade_reason"].startswith("总分")
    # In force, the whole province in view: the quota use the rankings report.
    fig = results.provisional_figures(db.session, _version(TEMPLATE, 1), _dictionary(app), parse_period("2020"))
    (use,) = results.quota_use(fig)
    assert {k: before[k] for k in ("size", "places", "taken", "reached")} == \
        {k: use[k] for k in ("size", "places", "taken", "reached")}
    assert before["groups_partly_in_view"] == 0
    county = _impact(app, "county", ids["template_v1"])["quota"]["in_force"][0]  # one group (910101), whole
    assert (county["groups"], county["groups_partly_in_view"]) == (1, 0) and county["size"] < use["size"]


# -- who counts, which period, which rules -----------------------------------------------------------------


def test_a_county_designer_sees_their_county_against_its_version_in_force(ctx):
    app, ids = ctx
    doc = copy.deepcopy(db.session.get(SchemeVersion, ids["county"]).document)
    weight = next(o for o in doc["overrides"] if o["path"] == "dimensions.quality.weight")
    weight["value"] = 60  # a change of a local change: the reason stays
    answer = _impact(app, "county", ids["county"], document=doc)
    assert answer["in_force"]["version_id"] == ids["county_v1"]
    codes = {c["procuratorate"]["code"] for c in answer["crossers"]}
    assert codes <= {"910101"}
    # Everyone counted is a prosecutor of 910101 taking part in the period.
    p = parse_period(answer["period"])
    fig = results.provisional_figures(db.session, _version(COUNTY, 1), _dictionary(app), p)
    assert answer["people"] == fig.frame.height > 0
    assert answer["computation"]["events"] == "shared"


def test_the_province_narrows_to_one_procuratorate_and_a_county_sees_no_more_than_its_tree(ctx):
    app, ids = ctx
    whole = _impact(app, "prov", ids["template"], document=_edited(_band))
    narrow = _impact(app, "prov", ids["template"], document=_edited(_band), procuratorate="910101")
    assert narrow["procuratorate"]["code"] == "910101" and 0 < narrow["people"] < whole["people"]
    assert {c["procuratorate"]["code"] for c in narrow["crossers"]} <= {"910101"}
    # A county designer reading the published template sees only their county's people in it.
    county = _impact(app, "county", ids["template_v1"])
    assert county["people"] == narrow["people"]
    with pytest.raises(NotFound):
        _impact(app, "county", ids["template"], procuratorate="910102")  # the draft above is not theirs to read
    with pytest.raises(NotFound):
        _impact(app, "county", ids["template_v1"], procuratorate="910102")  # a sibling county: as if absent


def test_another_county_cannot_read_the_draft(ctx):
    app, ids = ctx
    with pytest.raises(NotFound):
        _impact(app, "other", ids["county"])
    with pytest.raises(NotFound):
        impact.preview(db.session, _actor("other"), _dictionary(app), version_id=ids["county"], subject="x",
                       today=TODAY)


def test_the_period_is_the_last_closed_one_of_the_schemes_cadence_with_data(ctx):
    app, ids = ctx
    assert _impact(app, "prov", ids["template"])["period"] == "2020"  # a yearly scheme
    monthly = _impact(app, "prov", ids["org"])
    assert (monthly["period"], monthly["period_choice"]) == ("2020-02", "latest")  # data ends in February
    given = _impact(app, "prov", ids["org"], period="2020-01")
    assert (given["period"], given["period_choice"]) == ("2020-01", "given")


@pytest.mark.parametrize(("kw", "code"), [
    ({"period": "2026"}, "impact.period_open"),
    ({"period": "2019"}, "impact.no_data"),
    ({"period": "20-20"}, "evaluation.period_bad"),
])
def test_bad_periods_are_field_errors(ctx, kw, code):
    app, ids = ctx
    with pytest.raises(InvalidInput) as err:
        _impact(app, "prov", ids["template"], **kw)
    assert err.value.error_code == code and "period" in err.value.errors
    with language("en"):
        assert not re.search(r"[\u4e00-\u9fff]", err.value.message)


def test_an_unsaved_document_is_for_drafts_and_is_checked_like_a_save(ctx):
    app, ids = ctx
    with pytest.raises(InvalidInput) as err:
        _impact(app, "prov", ids["template_v1"], document=_edited(_weight))
    assert err.value.error_code == "impact.not_a_draft"
    broken = _edited(lambda d: d["indicators"]["PLEA_APPLY_RATE"].update(formula="plea_persons / reviewd_persons"))
    with pytest.raises(InvalidInput) as err:
        _impact(app, "prov", ids["template"], document=broken)
    assert any("PLEA_APPLY_RATE" in path for path in err.value.errors)


def test_nothing_is_written(ctx):
    app, ids = ctx
    draft = db.session.get(SchemeVersion, ids["template"])
    before = (db.session.scalar(select(func.count()).select_from(AuditRecord)), draft.lock_version, draft.document)
    _impact(app, "prov", ids["template"], document=_edited(_weight))
    impact.preview(db.session, _actor("prov"), _dictionary(app), version_id=ids["template"],
                   subject=_someone(app, "910101"), document=_edited(_weight), today=TODAY)
    db.session.expire_all()
    draft = db.session.get(SchemeVersion, ids["template"])
    assert (db.session.scalar(select(func.count()).select_from(AuditRecord)), draft.lock_version,
            draft.document) == before


# -- the preview -------------------------------------------------------------------------------------------


def _someone(app, org: str, *, moved_by: Callable[[Doc], None] | None = None) -> str:
    """A prosecutor of ``org`` graded under the version in force (whose total ``moved_by`` changes)."""
    fig = results.provisional_figures(db.session, _version(TEMPLATE, 1), _dictionary(app), parse_period("2020"))
    org_id = db.session.scalar(select(Procuratorate.id).where(Procuratorate.code == org))
    rows = fig.frame.filter((pl.col("status") == EVALUATED) & (pl.col("procuratorate_id") == org_id))
    if moved_by is None:
        return str(rows["code"][0])
    answer = _impact(app, "prov", _ids["template"], document=_edited(moved_by), procuratorate=org, limit=1000)
    moved = [c["code"] for c in answer["crossers"]]
    return moved[0] if moved else str(rows["code"][0])


def test_preview_puts_both_cards_side_by_side_with_the_difference(ctx):
    app, ids = ctx
    code = _someone(app, "910000", moved_by=_tier)
    doc = _edited(_tier)
    out = impact.preview(db.session, _actor("prov"), _dictionary(app), version_id=ids["template"], subject=code,
                         document=doc, today=TODAY)
    d, b = out["cards"]["draft"], out["cards"]["in_force"]
    assert out["subject"]["code"] == code and out["period"] == "2020"
    # Each head is the period's row: the draft's from a whole run of the edited scheme, the other the ranking's.
    looked = impact_data.looked_at(db.session, _actor("prov"), _dictionary(app), ids["template"], doc)
    whole, _ = score_period(db.session, looked.compiled, _dictionary(app), parse_period("2020"))
    row = whole.frame.filter(pl.col("code") == code).row(0, named=True)
    assert (d["total"], d["grade"]) == (pytest.approx(row["total"], abs=1e-6), row["grade"])
    fig = results.provisional_figures(db.session, _version(TEMPLATE, 1), _dictionary(app), parse_period("2020"))
    in_force = fig.row(code)
    assert (b["total"], b["grade"]) == (pytest.approx(in_force["total"], abs=1e-6), in_force["grade"])
    # The explanation adds up to the head on each side, and the difference is theirs.
    for card in (d, b):
        assert card["total"] == pytest.approx(sum(line["points"] for line in card["attribution"]), abs=1e-4)
    diff = out["difference"]
    assert diff["total"]["delta"] == pytest.approx(d["total"] - b["total"], abs=1e-6)
    plea = next(i for i in diff["indicators"] if i["code"] == "PLEA_APPLY_RATE")
    assert plea["value"]["delta"] == 0  # the facts are the same; only the rule changed
    assert plea["change"] in ("same", "changed")
    changed = [i for i in diff["indicators"] if i["change"] == "changed"]
    assert all(i["points"]["delta"] or i["contribution"]["delta"] for i in changed)
    # Another business line's indicators say so on both sides, and the page folds them away (also when their
    # value is a count of 0, not "no data": a row of 0 against 0 says nothing).
    from admin.designer_impact import _split

    elsewhere = [i for i in diff["indicators"] if i.get("applies") == {"in_force": False, "draft": False}]
    assert elsewhere
    _, rest = _split(diff["indicators"])
    assert all(i in rest for i in elsewhere if i["change"] == "same")


def test_preview_of_a_new_indicator_and_a_switched_off_one(ctx):
    app, ids = ctx
    code = _someone(app, "910101")
    doc = _edited(lambda d: (_new_formula(d), _switched_off(d)))
    out = impact.preview(db.session, _actor("county"), _dictionary(app), version_id=ids["template_v1"],
                         subject=code, today=TODAY)
    assert out["difference"]["total"]["delta"] == 0  # the version in force against itself
    assert out["difference"]["place"]["delta"] == 0 and out["cards"]["draft"]["rank"] == out["cards"]["in_force"]["rank"]
    out = impact.preview(db.session, _actor("prov"), _dictionary(app), version_id=ids["template"], subject=code,
                         document=doc, today=TODAY)
    by = {i["code"]: i for i in out["difference"]["indicators"]}
    assert by["LOCAL_ADOPTED_SHARE"]["change"] == "added" and by["LOCAL_ADOPTED_SHARE"]["points"]["in_force"] is None
    plea = by["PLEA_APPLY_RATE"]
    assert plea["scored"] == {"in_force": True, "draft": False} and plea["change"] == "switched_off"
    assert plea["points"]["draft"] == 0 and plea["contribution"]["draft"] == 0


def test_preview_refuses_people_outside_the_actors_tree_or_the_schemes_scope(ctx):
    app, ids = ctx
    elsewhere = _someone(app, "910102")
    with pytest.raises(NotFound) as err:
        impact.preview(db.session, _actor("county"), _dictionary(app), version_id=ids["county"], subject=elsewhere,
                       today=TODAY)
    assert err.value.error_code == "scoring.no_subject"  # another county's prosecutor: as if absent
    with pytest.raises(NotFound) as err:
        impact.preview(db.session, _actor("prov"), _dictionary(app), version_id=ids["county"], subject=elsewhere,
                       today=TODAY)
    assert err.value.error_code == "scoring.outside_scheme"
    with pytest.raises(NotFound):
        impact.preview(db.session, _actor("prov"), _dictionary(app), version_id=ids["template"], subject="nobody",
                       today=TODAY)


def test_a_viewer_may_preview_but_not_edit_anything(ctx):
    app, ids = ctx
    code = _someone(app, "910101")
    out = impact.preview(db.session, _actor("cviewer"), _dictionary(app), version_id=ids["county"], subject=code,
                         today=TODAY)
    assert out["cards"]["draft"]["subject"]["code"] == code


# -- when the version in force cannot lend its data ----------------------------------------------------------


def test_a_new_event_type_reads_the_period_for_the_draft_and_still_scores_as_a_whole_run(ctx):
    app, ids = ctx
    doc = copy.deepcopy(db.session.get(SchemeVersion, ids["org"]).document)
    doc["metrics"]["hearings_held"] = {"name": "公开听证数", "event": "public_hearing"}  # not read in force
    doc["indicators"]["LOCAL_HEARINGS"] = {
        "name": "公开听证数", "formula": "hearings_held", "unit": "件", "direction": "higher_better",
        "dimension": "effect", "scoring": {"method": "linear", "worst": 0, "best": 40, "points": 5}}
    answer = impact.impact(db.session, _actor("prov"), _dictionary(app), version_id=ids["org"], document=doc,
                           today=TODAY)
    assert answer["computation"]["events"] in ("loaded", "kept") and answer["computation"]["metrics"] == "full"
    looked = impact_data.looked_at(db.session, _actor("prov"), _dictionary(app), ids["org"], doc)
    p = parse_period(answer["period"])
    scored = impact_data.score(db.session, _dictionary(app), looked.compiled, p, None)
    whole, _ = score_period(db.session, looked.compiled, _dictionary(app), p)
    assert_frame_equal(scored.bulk.frame.sort("procuratorate_id"), whole.frame.sort("procuratorate_id"))
    assert answer["people"] == whole.frame.height and answer["in_force"] is not None


def test_a_scheme_with_nothing_in_force_shows_the_draft_alone(ctx):
    app, ids = ctx
    doc = copy.deepcopy(db.session.get(SchemeVersion, ids["template_v1"]).resolved)
    new = versions.create_scheme(db.session, _actor("prov"), code="IMPACT-NEW", name="新方案", procuratorate="910000",
                                 subject_kind="prosecutor", period_kind="year", document=doc, change_note="新")
    answer = impact.impact(db.session, _actor("prov"), _dictionary(app), version_id=new.id, today=TODAY)
    assert answer["in_force"] is None and answer["matrix"] is None and answer["crossers"] == []
    assert answer["moves"]["up"] == answer["moves"]["down"] == 0 and answer["quota"]["in_force"] == []
    assert sum(d["count"] for d in answer["distribution"]["draft"]) == answer["people"] > 0
    assert answer["distribution"]["in_force"] == []
    code = _someone(app, "910101")
    out = impact.preview(db.session, _actor("prov"), _dictionary(app), version_id=new.id, subject=code, today=TODAY)
    assert out["cards"]["in_force"] is None and out["difference"]["total"]["delta"] is None
    assert {i["change"] for i in out["difference"]["indicators"]} == {"added"}


def test_preview_of_a_procuratorate_under_a_procuratorate_level_scheme(ctx):
    app, ids = ctx
    out = impact.preview(db.session, _actor("prov"), _dictionary(app), version_id=ids["org"], subject="910101",
                         today=TODAY)
    d, b = out["cards"]["draft"], out["cards"]["in_force"]
    assert out["period"] == "2020-02" and d["subject"]["code"] == "910101"
    assert (d["total"], d["rank"]) == (b["total"], b["rank"])  # the draft is a copy of the version in force
    assert {i["change"] for i in out["difference"]["indicators"]} == {"same"}


def test_people_s_figures_need_the_score_permission(ctx):
    app, ids = ctx
    province = db.session.scalar(select(Procuratorate.id).where(Procuratorate.code == "910000"))
    reader = actor_for_scope(db.session, "key:99", "只读密钥", ["read"], [province])
    with pytest.raises(PermissionDenied):
        impact.impact(db.session, reader, _dictionary(app), version_id=ids["template"], today=TODAY)
    with pytest.raises(PermissionDenied):
        impact.preview(db.session, reader, _dictionary(app), version_id=ids["template"], subject=_someone(app, "910101"),
                       today=TODAY)


def test_the_same_document_again_is_answered_from_what_is_kept_and_the_caches_stay_bounded(ctx):
    app, ids = ctx
    doc = _edited(_weight)
    _impact(app, "prov", ids["template"], document=doc)
    again = _impact(app, "prov", ids["template"], document=doc)
    assert (again["computation"]["scored"], again["computation"]["metrics"]) == ("kept", "reused")
    for i in range(12):  # a designer typing: each weight new content
        _impact(app, "prov", ids["template"], document=_edited(lambda d, i=i: d["dimensions"]["quality"].update(
            weight=30 + i)))
    state = impact.cache_state()
    assert state["scored"]["entries"] <= 6 and state["metrics"]["entries"] <= 8 and state["stores"]["entries"] <= 4
    assert all(v["bytes"] <= 192 * 2**20 for v in state.values())
