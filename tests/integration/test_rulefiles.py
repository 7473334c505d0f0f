"""Rule sets as files: export, import into an empty database, idempotency, byte-identical re-export,
refusal of tampered or bad files; ``rulesvc rules`` and ``rulesvc apikeys`` on the command line."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from rulesvc.errors import Conflict, InvalidInput
from rulesvc.extensions import db
from rulesvc.persistence.models import (
    ApiKey,
    AuditRecord,
    Procuratorate,
    Scheme,
    SchemeVersion,
    SimulationRun,
)
from rulesvc.schema.scheme import content_hash, read_document
from rulesvc.services.dictionary import get_dictionary
from rulesvc.services.governance import versions
from rulesvc.services.governance.access import ACTIONS, Actor, system_actor
from rulesvc.services.governance.apikeys import actor_for_token
from rulesvc.services.governance.rulefiles import export_rules, import_rules, version_data
from tests.integration.helpers import give_events, simulate

TEMPLATE = "SFS-PROSECUTOR-TEMPLATE"
LOCAL = "SFS-PROSECUTOR-910101"
ORGS = (("910000", "示范省人民检察院", "province", None), ("910100", "东川市人民检察院", "city", "910000"),
        ("910101", "清瑞区人民检察院", "county", "910100"))
OVERRIDES = [
    {"op": "set", "path": "dimensions.quality.weight", "value": 45, "reason": "本院把考评重心放在办案质量上"},
    {"op": "set", "path": "dimensions.efficiency.weight", "value": 25, "reason": "与质量权重的调整相抵"},
    {"op": "disable", "path": "indicators.PUBLIC_HEARING_COUNT", "reason": "本区听证案件少，仅作分析"},
]
REVIEWER = Actor(ref="user:99", name="审核员", actions=frozenset(ACTIONS), scope=None)


# -- helpers -----------------------------------------------------------------------------------------


def add_orgs(app, codes=("910000", "910100", "910101")) -> None:
    with app.app_context():
        by_code: dict[str, Procuratorate] = {}
        for code, name, level, parent in ORGS:
            if code in codes:
                by_code[code] = Procuratorate(code=code, name=name, level=level, parent=by_code.get(parent))
                db.session.add(by_code[code])
        db.session.commit()


def build_rules(app) -> None:
    """Template (active from 2021), its localization for 910101 (active from 2022), a draft after it; each
    published version approved on a real simulation run on 2020's events."""
    add_orgs(app)
    give_events(app, "2020")
    rules_dir = Path(app.config["RULES_DIR"])
    text = (rules_dir / "schemes" / "province-prosecutor-template.yaml").read_text(encoding="utf-8")
    doc = read_document(text, source="province-prosecutor-template.yaml")
    dictionary = get_dictionary(app.config["RULES_DIR"])
    author = system_actor()
    with app.app_context():
        s = db.session
        t1 = versions.create_scheme(s, author, code=TEMPLATE, name=doc["name"], procuratorate="910000",
                                    subject_kind="prosecutor", period_kind="year", document=doc, change_note="初版")
        versions.submit(s, author, t1.id, dictionary)
        run = simulate(s, author, t1.id, "2020")
        versions.attach_simulation(s, author, t1.id, run_id=run.id)
        versions.approve(s, REVIEWER, t1.id, note="同意")
        versions.activate(s, REVIEWER, t1.id, effective_from=dt.date(2021, 1, 1))
        l1 = versions.localize(s, author, parent_version_id=t1.id, procuratorate="910101", code=LOCAL,
                               name="清瑞区人民检察院检察官业绩考评方案", overrides=OVERRIDES,
                               description="清瑞区院依据省院模板本地化的方案。\n质量权重提高。", change_note="本地化")
        versions.submit(s, author, l1.id, dictionary)
        run = simulate(s, author, l1.id, "2020")
        versions.attach_simulation(s, author, l1.id, run_id=run.id)
        versions.approve(s, REVIEWER, l1.id)
        versions.activate(s, REVIEWER, l1.id, effective_from=dt.date(2022, 1, 1))
        l2 = versions.create_draft(s, author, LOCAL, change_note="下一版：停用更多指标")
        versions.set_overrides(s, author, l2.id, lock_version=l2.lock_version, overrides=[
            *OVERRIDES, {"op": "disable", "path": "indicators.JUDICIAL_AID", "reason": "本院司法救助由专人办理"}])
        s.commit()


def snapshot(app) -> dict[tuple[str, int], dict]:
    """Every version as its file holds it, plus its resolved document."""
    with app.app_context():
        out = {}
        for v in db.session.scalars(select(SchemeVersion)):
            out[(v.scheme.code, v.number)] = {**version_data(v), "resolved": v.resolved}
        db.session.rollback()
        return out


def files_of(directory: Path) -> dict[str, bytes]:
    return {p.relative_to(directory).as_posix(): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def counts(app) -> tuple[int, int, int]:
    with app.app_context():
        n = tuple(db.session.scalar(select(func.count()).select_from(m)) for m in (Scheme, SchemeVersion, AuditRecord))
        db.session.rollback()
        return n  # type: ignore[return-value]


def export(app, directory: Path, **kwargs):
    with app.app_context():
        summary = export_rules(db.session, system_actor(), directory, **kwargs)
        db.session.rollback()
        return summary


def run_import(app, directory: Path):
    with app.app_context():
        try:
            summary = import_rules(db.session, system_actor(), directory)
            db.session.commit()
            return summary
        finally:
            db.session.rollback()


def version_path(directory: Path, org: str, code: str, number: int) -> Path:
    return directory / "schemes" / org / code / f"v{number:04d}.yaml"


# -- export and import -------------------------------------------------------------------------------


def test_export_layout_and_stable_bytes(app, tmp_path):
    build_rules(app)
    summary = export(app, tmp_path / "a")
    assert (summary.schemes, summary.versions) == (2, 3)
    a = files_of(tmp_path / "a")
    assert sorted(a) == [
        f"schemes/910000/{TEMPLATE}/scheme.yaml", f"schemes/910000/{TEMPLATE}/v0001.yaml",
        f"schemes/910101/{LOCAL}/scheme.yaml", f"schemes/910101/{LOCAL}/v0001.yaml",
        f"schemes/910101/{LOCAL}/v0002.yaml",
    ]
    scheme = yaml.safe_load(a[f"schemes/910101/{LOCAL}/scheme.yaml"])
    assert scheme == {"code": LOCAL, "name": "清瑞区人民检察院检察官业绩考评方案", "procuratorate": "910101",
                      "subject_kind": "prosecutor", "period_kind": "year"}
    text = a[f"schemes/910101/{LOCAL}/v0001.yaml"].decode()
    assert "清瑞区院" in text and "\\u" not in text  # unicode written as is
    v1 = yaml.safe_load(text)
    assert list(v1) == ["number", "status", "parent", "author", "author_ref", "created_at", "change_note",
                        "content_hash", "simulation", "scenarios", "submitted_by", "submitted_at", "reviewed_by", "reviewed_by_ref",
                        "reviewed_at", "review_note", "activated_by", "activated_at", "effective_from", "effective_to",
                        "document"]
    assert "resolved" not in v1
    assert v1["status"] == "active" and v1["effective_from"] == "2022-01-01" and v1["reviewed_by_ref"] == "user:99"
    assert v1["document"]["overrides"][0]["path"] == "dimensions.quality.weight"
    # the run approval rested on, as the version records it
    assert v1["simulation"]["periods"] == ["2020"] and v1["simulation"]["content_hash"] == v1["content_hash"]
    assert v1["simulation"]["run_id"] and v1["simulation"]["result_hash"] and v1["scenarios"] == []
    with app.app_context():
        t1 = versions.scheme_version(db.session, system_actor(), TEMPLATE, 1)
        assert v1["parent"] == {"scheme": TEMPLATE, "number": 1, "content_hash": t1.content_hash}
        db.session.rollback()
    draft = yaml.safe_load(a[f"schemes/910101/{LOCAL}/v0002.yaml"])
    assert draft["status"] == "draft" and draft["content_hash"] is None
    assert b"key_hash" not in b"".join(a.values()) and b"password" not in b"".join(a.values())

    # The same database exported again: byte-identical; a stale version file is removed.
    stale = tmp_path / "a" / "schemes" / "910101" / LOCAL / "v0009.yaml"
    stale.write_text("number: 9\n", encoding="utf-8")
    again = export(app, tmp_path / "a")
    assert again.removed == [str(stale)]
    assert files_of(tmp_path / "a") == a
    export(app, tmp_path / "b")
    assert files_of(tmp_path / "b") == a

    only = export(app, tmp_path / "c", schemes=[LOCAL])
    assert (only.schemes, only.versions) == (1, 2)
    assert sorted(files_of(tmp_path / "c")) == [k for k in sorted(a) if LOCAL in k]


def test_import_into_an_empty_database_round_trips(app, other_app, tmp_path):
    build_rules(app)
    export(app, tmp_path / "a")
    original = snapshot(app)
    add_orgs(other_app)

    summary = run_import(other_app, tmp_path / "a")
    assert (summary.schemes_created, summary.versions_created, summary.versions_unchanged) == (2, 3, 0)
    imported = snapshot(other_app)
    assert imported == original  # content hashes, statuses, dates, people, documents, resolved documents
    for v in imported.values():
        if v["status"] != "draft":
            assert content_hash(v["resolved"]) == v["content_hash"]
    with other_app.app_context():
        audit = db.session.scalars(select(AuditRecord).where(AuditRecord.action == "rules.import")).all()
        assert len(audit) == 5 and sum(1 for r in audit if r.version_id is not None) == 3
        local = versions.scheme_version(db.session, system_actor(), LOCAL, 1)
        assert local.parent is not None and local.parent.scheme.code == TEMPLATE
        in_force = versions.version_in_effect(db.session, system_actor(), LOCAL, dt.date(2023, 6, 1))
        assert in_force.number == 1
        db.session.rollback()

    again = run_import(other_app, tmp_path / "a")
    assert (again.schemes_created, again.versions_created, again.versions_unchanged) == (0, 0, 3)
    assert counts(other_app) == (2, 3, 5)

    export(other_app, tmp_path / "b")
    assert files_of(tmp_path / "b") == files_of(tmp_path / "a")


def test_import_adds_only_what_is_new(app, tmp_path):
    """Into the database the files came from: nothing new; a new published version in the files is added."""
    build_rules(app)
    export(app, tmp_path / "a")
    before = counts(app)
    summary = run_import(app, tmp_path / "a")
    assert (summary.schemes_created, summary.versions_created, summary.versions_unchanged) == (0, 0, 3)
    assert counts(app) == before


def test_a_tampered_published_version_is_refused(app, other_app, tmp_path):
    build_rules(app)
    export(app, tmp_path / "a")
    tampered = tmp_path / "tampered"
    shutil.copytree(tmp_path / "a", tampered)
    path = version_path(tampered, "910000", TEMPLATE, 1)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["document"]["dimensions"]["quality"]["weight"] = 41
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    add_orgs(other_app)

    with pytest.raises(InvalidInput) as info:
        run_import(other_app, tampered)
    assert str(path) in info.value.errors
    assert any("content hash mismatch" in m for m in info.value.errors[str(path)])
    assert counts(other_app) == (0, 0, 0)

    # The localization's overrides edited: refused as well.
    tampered2 = tmp_path / "tampered2"
    shutil.copytree(tmp_path / "a", tampered2)
    path2 = version_path(tampered2, "910101", LOCAL, 1)
    path2.write_text(path2.read_text(encoding="utf-8").replace("value: 45", "value: 50"), encoding="utf-8")
    with pytest.raises(InvalidInput) as info:
        run_import(other_app, tampered2)
    assert list(info.value.errors) == [str(path2)]
    assert counts(other_app) == (0, 0, 0)


def test_a_missing_procuratorate_is_named(app, other_app, tmp_path):
    build_rules(app)
    export(app, tmp_path / "a")
    add_orgs(other_app, codes=("910000",))
    with pytest.raises(InvalidInput) as info:
        run_import(other_app, tmp_path / "a")
    scheme_file = str(tmp_path / "a" / "schemes" / "910101" / LOCAL / "scheme.yaml")
    assert list(info.value.errors) == [scheme_file]
    assert "910101" in info.value.errors[scheme_file][0]
    assert counts(other_app) == (0, 0, 0)  # not even the template


def test_a_version_that_differs_from_the_database_is_a_conflict(app, tmp_path):
    build_rules(app)
    export(app, tmp_path / "a")
    path = version_path(tmp_path / "a", "910101", LOCAL, 2)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["document"]["overrides"] = data["document"]["overrides"][:1]
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    before = counts(app)
    with pytest.raises(Conflict) as info:
        run_import(app, tmp_path / "a")
    assert list(info.value.errors) == [str(path)]
    assert counts(app) == before


def test_a_parent_missing_everywhere_is_named(app, other_app, tmp_path):
    build_rules(app)
    export(app, tmp_path / "a", schemes=[LOCAL])
    add_orgs(other_app)
    with pytest.raises(InvalidInput) as info:
        run_import(other_app, tmp_path / "a")
    assert set(info.value.errors) == {str(version_path(tmp_path / "a", "910101", LOCAL, n)) for n in (1, 2)}
    assert counts(other_app) == (0, 0, 0)


def test_bad_files_are_listed_and_nothing_is_written(app, tmp_path):
    build_rules(app)
    export(app, tmp_path / "a")
    folder = tmp_path / "a" / "schemes" / "910101" / LOCAL
    t_folder = tmp_path / "a" / "schemes" / "910000" / TEMPLATE
    (folder / "v0002.yaml").write_text("number: 2\nstatus: [draft\n", encoding="utf-8")  # YAML syntax
    good = (t_folder / "v0001.yaml").read_text(encoding="utf-8")
    (t_folder / "v1.yaml").write_text(good, encoding="utf-8")  # duplicate number
    (t_folder / "v0003.yaml").write_text(good.replace("number: 1\n", "number: 3\n").replace(
        "status: active", "status: published"), encoding="utf-8")  # unknown status
    (t_folder / "v0004.yaml").write_text("number: 4\nstatus: draft\n", encoding="utf-8")  # missing keys
    before = counts(app)
    with pytest.raises(InvalidInput) as info:
        run_import(app, tmp_path / "a")
    errors = info.value.errors
    assert set(errors) == {str(folder / "v0002.yaml"), str(t_folder / "v1.yaml"), str(t_folder / "v0003.yaml"),
                           str(t_folder / "v0004.yaml")}
    assert "YAML" in errors[str(folder / "v0002.yaml")][0]
    assert "duplicate version number" in errors[str(t_folder / "v1.yaml")][0]
    assert any("unknown status" in m for m in errors[str(t_folder / "v0003.yaml")])
    assert {"missing key author", "missing key document"} <= {m.split("(")[-1].rstrip(")")
                                                              for m in errors[str(t_folder / "v0004.yaml")]}
    assert counts(app) == before

    with pytest.raises(InvalidInput) as info:
        run_import(app, tmp_path / "nothing-here")
    assert str(tmp_path / "nothing-here") in info.value.errors


# -- the command line --------------------------------------------------------------------------------


def test_cli_rules_export_and_import(app, other_app, runner, tmp_path):
    build_rules(app)
    out = tmp_path / "cli"
    result = runner.invoke(args=["rules", "export", str(out)])
    assert result.exit_code == 0, result.output
    assert "exported 2 schemes, 3 versions" in result.output
    result = runner.invoke(args=["rules", "export", str(tmp_path / "one"), "--scheme", TEMPLATE])
    assert result.exit_code == 0 and "exported 1 schemes, 1 versions" in result.output
    result = runner.invoke(args=["rules", "export", str(tmp_path / "none"), "--scheme", "NO-SUCH"])
    assert result.exit_code == 1 and "NO-SUCH" in result.output

    other = other_app.test_cli_runner()
    result = other.invoke(args=["rules", "import", str(out)])
    assert result.exit_code == 1
    assert "910000" in result.output and str(out / "schemes" / "910000" / TEMPLATE / "scheme.yaml") in result.output
    add_orgs(other_app)
    result = other.invoke(args=["rules", "import", str(out)])
    assert result.exit_code == 0, result.output
    assert "versions created: 3" in result.output and "新增版本 3 个" in result.output
    result = other.invoke(args=["rules", "import", str(out)])
    assert result.exit_code == 0 and "versions created: 0, versions unchanged: 3" in result.output
    assert counts(other_app)[:2] == (2, 3)


def test_cli_apikeys(app, runner):
    add_orgs(app)
    result = runner.invoke(args=["apikeys", "create", "--name", "办案系统", "--procuratorate", "910100",
                                 "--permission", "read", "--permission", "audit", "--expires", "2099-12-31"])
    assert result.exit_code == 0, result.output
    tokens = re.findall(r"rsk_[0-9a-f]+_[A-Za-z0-9_-]+", result.output)
    assert len(tokens) == 1
    token = tokens[0]
    assert "shown only once" in result.output
    with app.app_context():
        key = db.session.scalar(select(ApiKey))
        assert key.expires_at is not None and key.permissions == ["audit", "read"]
        prefix, key_hash = key.prefix, key.key_hash
        assert actor_for_token(db.session, token) is not None
        db.session.commit()

    result = runner.invoke(args=["apikeys", "list"])
    assert result.exit_code == 0
    assert prefix in result.output and "办案系统" in result.output and "910100" in result.output
    assert "audit,read" in result.output
    assert token not in result.output and key_hash not in result.output

    result = runner.invoke(args=["apikeys", "create", "--name", "x", "--procuratorate", "999999",
                                 "--permission", "read"])
    assert result.exit_code == 1 and "999999" in result.output

    result = runner.invoke(args=["apikeys", "revoke", prefix])
    assert result.exit_code == 0 and prefix in result.output
    with app.app_context():
        assert actor_for_token(db.session, token) is None
        db.session.rollback()
    listed = runner.invoke(args=["apikeys", "list"]).output
    row = next(line for line in listed.splitlines() if line.startswith(prefix))
    assert row.split("  ")[-1] != "-"  # revoked: a date
    result = runner.invoke(args=["apikeys", "revoke", "nosuch"])
    assert result.exit_code == 1


def test_cli_publishes_the_shipped_library_through_the_lifecycle(app, runner):
    """``rules publish-library`` (also run on the demo's first start): templates and the county
    localization go live through submit, a real simulation run on 2020, approval on that run by a second
    actor and activation; the template's shipped revision (v2) is simulated against v1 and left in review."""
    add_orgs(app)
    give_events(app, "2020")
    result = runner.invoke(args=["rules", "publish-library"])
    assert result.exit_code == 0, result.output
    assert "SFS-PROSECUTOR-910101 v1" in result.output and f"? {TEMPLATE} v2" in result.output
    rules_dir = Path(app.config["RULES_DIR"])
    county_file = rules_dir / "schemes" / "county-910101-localized.yaml"
    county_doc = read_document(county_file.read_text(encoding="utf-8"), source=county_file.name)
    with app.app_context():
        rows = db.session.scalars(select(SchemeVersion).order_by(SchemeVersion.id)).all()
        assert {(v.scheme.code, v.number, v.status) for v in rows} == {
            (TEMPLATE, 1, "active"), (LOCAL, 1, "active"), ("SFS-PROCURATORATE-QUALITY-MONTHLY", 1, "active"),
            (TEMPLATE, 2, "in_review")}
        county = next(v for v in rows if v.scheme.code == LOCAL)
        # Stored as overrides of the template, it resolves to exactly the full county file.
        assert county.parent.scheme.code == TEMPLATE and county.document["overrides"]
        assert county.content_hash == content_hash(county_doc)
        assert county.author_ref != county.reviewed_by_ref
        # Approved on a real run of exactly its content on 2020.
        run = db.session.get(SimulationRun, county.simulation["run_id"])
        assert run.status == "succeeded" and run.candidate_hash == county.content_hash
        assert county.simulation["periods"] == ["2020"] == run.periods
        assert county.simulation["content_hash"] == county.content_hash
        assert county.simulation["result_hash"] == run.result_hash and run.subjects_count > 0
        in_force = versions.version_in_effect(db.session, system_actor(), LOCAL, dt.date(2020, 7, 1))
        assert in_force.id == county.id
        steps = [r.action for r in db.session.scalars(
            select(AuditRecord).where(AuditRecord.version_id == county.id).order_by(AuditRecord.id))]
        assert steps == ["version.localize", "version.submit", "simulation.create", "version.approve",
                         "version.activate"]
        approval = db.session.scalar(select(AuditRecord).where(AuditRecord.version_id == county.id,
                                                               AuditRecord.action == "version.approve"))
        assert approval.detail["simulation"]["run_id"] == run.id
        record = db.session.scalar(select(AuditRecord).where(AuditRecord.version_id == county.id).limit(1))
        assert record.client.startswith("rulesvc 服务器本机") and record.actor_ref.startswith("system:")
        # The revision: simulated against v1 (in force in 2020), its run attached, waiting for a person.
        t1, t2 = (next(v for v in rows if v.scheme.code == TEMPLATE and v.number == n) for n in (1, 2))
        revision_run = db.session.get(SimulationRun, t2.simulation["run_id"])
        assert revision_run.baseline_version_id == t1.id and revision_run.candidate_hash == t2.content_hash
        assert t2.reviewed_by is None
    again = runner.invoke(args=["rules", "publish-library"])
    assert again.exit_code == 0 and "已发布 0" in again.output and f"= {LOCAL}" in again.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SchemeVersion)) == 4


def test_publish_library_without_data_leaves_versions_in_review_until_data_is_imported(app, runner):
    """Without events for 2020 nothing can be simulated, so nothing is approved: the templates wait in
    review, the command says why and what to do; run again after importing data, it finishes them (and
    localizes and revises the template then)."""
    add_orgs(app)
    result = runner.invoke(args=["rules", "publish-library"])
    assert result.exit_code == 0, result.output
    assert "已发布 0" in result.output
    assert f"! {TEMPLATE} v1 没有 2020 年数据" in result.output and "导入数据后再运行本命令" in result.output
    with app.app_context():
        rows = db.session.scalars(select(SchemeVersion)).all()
        assert {(v.scheme.code, v.number, v.status) for v in rows} == {
            (TEMPLATE, 1, "in_review"), ("SFS-PROCURATORATE-QUALITY-MONTHLY", 1, "in_review")}
        assert all(v.simulation is None and v.reviewed_by is None for v in rows)
        assert db.session.scalar(select(func.count()).select_from(SimulationRun)) == 0
        db.session.rollback()

    give_events(app, "2020")
    again = runner.invoke(args=["rules", "publish-library"])
    assert again.exit_code == 0, again.output
    assert f"+ {TEMPLATE} v1" in again.output and f"+ {LOCAL} v1" in again.output and "没有 2020 年数据" not in again.output
    with app.app_context():
        rows = db.session.scalars(select(SchemeVersion)).all()
        assert {(v.scheme.code, v.number, v.status) for v in rows} == {
            (TEMPLATE, 1, "active"), (LOCAL, 1, "active"), ("SFS-PROCURATORATE-QUALITY-MONTHLY", 1, "active"),
            (TEMPLATE, 2, "in_review")}
        template = next(v for v in rows if v.scheme.code == TEMPLATE and v.number == 1)
        assert template.simulation["periods"] == ["2020"] and template.simulation["content_hash"] == template.content_hash
        assert template.author_ref != template.reviewed_by_ref
