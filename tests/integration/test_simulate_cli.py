"""``rulesvc simulate`` as a designer runs it: a stored version against the version in force (the run the
API and the gate see), a scheme file in memory, readable Chinese tables (never a dataframe dump), the
report written as XLSX / CSV, and clear refusals."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
import yaml
from sqlalchemy import func, select

from rulesvc.extensions import db
from rulesvc.persistence.models import SimulationRun
from rulesvc.services.dictionary import get_dictionary
from rulesvc.services.governance import versions
from rulesvc.services.governance.access import system_actor
from tests.integration.simhelpers import BASELINE, CANDIDATE, SCHEME, import_province, remove_runs, scheme_doc


@pytest.fixture
def drafts(app, tmp_path):
    """The small province of July 2020; version 1 in force from 2020-01-01 (on a real run), version 2 a
    draft with the top tier lowered and the weights moved."""
    import_province(app, tmp_path / "province")
    author, reviewer = system_actor("设计"), system_actor("审核")
    with app.app_context():
        s = db.session
        v1 = versions.create_scheme(s, author, code=SCHEME, name="模拟测评测试方案", procuratorate="910000",
                                    subject_kind="prosecutor", period_kind="year", document=scheme_doc(**BASELINE))
        versions.submit(s, author, v1.id, get_dictionary(app.config["RULES_DIR"]))
        s.commit()
        ids = {"v1": v1.id}
    runner = app.test_cli_runner()
    ran = runner.invoke(args=["simulate", "--candidate", str(ids["v1"]), "--baseline", "none", "--period", "2020"])
    assert ran.exit_code == 0, ran.output
    with app.app_context():
        s = db.session
        versions.approve(s, reviewer, ids["v1"], note="首版")
        versions.activate(s, reviewer, ids["v1"], effective_from=__import__("datetime").date(2020, 1, 1))
        v2 = versions.create_draft(s, author, SCHEME, document=scheme_doc(**CANDIDATE), change_note="调档")
        s.commit()
        ids["v2"] = v2.id
    yield ids
    remove_runs(app)


def test_simulate_a_draft_prints_readable_tables_and_writes_the_workbook(app, drafts, tmp_path):
    runner = app.test_cli_runner()
    out = tmp_path / "report.xlsx"
    result = runner.invoke(args=["simulate", "--candidate", str(drafts["v2"]), "--period", "2020", "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = result.output
    for heading in ("概览", "平均分", "等次变化（行：基准版本，列：候选版本", "肯德尔 τ", "按四大检察", "已写入"):
        assert heading in text, text
    assert "shape:" not in text and "┌" not in text  # no polars frame printed
    assert f"基准 {SCHEME}" in text  # the default baseline: version 1, in force on 2020-01-01
    assert "名额（30%）已占/可占（达线）" in text  # how many reached the line beside the places
    book = openpyxl.load_workbook(out, read_only=True)
    assert {"概览", "等次变化", "逐人结果", "变动原因"} <= set(book.sheetnames)
    grades = list(book["等次分布"].iter_rows(values_only=True))
    assert grades[0][8] == "基准达线（未评更高等次）" and any(isinstance(r[8], int) for r in grades[1:])
    rows = list(book["逐人结果"].iter_rows(values_only=True))
    assert rows[0][:3] == ("期间", "代码", "姓名") and len(rows) > 5
    assert any(isinstance(r[9], float) for r in rows[1:])  # 候选总分 as numbers
    with app.app_context():
        run = db.session.scalar(select(SimulationRun).where(SimulationRun.candidate_version_id == drafts["v2"]))
        assert run.status == "succeeded" and run.baseline_version_id == drafts["v1"]
    # Asking again computes nothing: the same run is found, and the CSV has the per-subject rows.
    csv_path = tmp_path / "report.csv"
    again = runner.invoke(args=["simulate", "--candidate", str(drafts["v2"]), "--period", "2020", "--out",
                                str(csv_path)])
    assert again.exit_code == 0 and "已有同样的测评" in again.output, again.output
    assert csv_path.read_bytes().startswith("\ufeff期间,代码,姓名".encode())
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SimulationRun)) == 2


def test_a_scheme_file_is_simulated_in_memory_and_nothing_is_stored(app, drafts, tmp_path):
    path = tmp_path / "candidate.yaml"
    path.write_text(yaml.safe_dump(scheme_doc(**CANDIDATE) | {"code": SCHEME, "org": "910000"}, allow_unicode=True),
                    encoding="utf-8")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["simulate", "--candidate", str(path), "--period", "2020", "--out",
                                 str(tmp_path / "file.xlsx")])
    assert result.exit_code == 0, result.output
    assert "概览" in result.output and "方案文件的模拟测评不保存" in result.output
    assert Path(tmp_path / "file.xlsx").stat().st_size > 1000
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SimulationRun)) == 1  # only v1's own run


@pytest.mark.parametrize("args, words", [
    (["--period", "2999"], "尚未结束"),
    (["--period", "2020-13"], "无法识别的考评期间"),
    (["--period", "2019"], "没有可用的数据"),
    (["--period", "2020", "--baseline", "abc"], "应为版本编号"),
    (["--period", "2020", "--out", "report.pdf"], ".xlsx 或 .csv"),
])
def test_bad_requests_are_clear_messages_and_change_nothing(app, drafts, args, words):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["simulate", "--candidate", str(drafts["v2"]), *args])
    assert result.exit_code != 0
    assert words in result.output, result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SimulationRun)) == 1


def test_a_procuratorate_scheme_over_months_reports_who_trails_month_after_month(demo_app, tmp_path):
    """The shipped procuratorate-level scheme, as a file, over the demo's months: per month positions
    and laggards, and the units named for trailing the average month after month (its ``streak``)."""
    from rulesvc.config import PROJECT_ROOT

    scheme = PROJECT_ROOT / "rules" / "schemes" / "province-procuratorate-quality.yaml"
    out = tmp_path / "units.xlsx"
    result = demo_app.test_cli_runner().invoke(args=[
        "simulate", "--candidate", str(scheme), "--baseline", "none", "--period", "2020-01..2020-02",
        "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "══ 期间 2020-01" in result.output and "══ 期间 2020-02" in result.output
    assert "个月及以上差于同组平均的院" in result.output  # two months: nobody reaches a 6-month streak
    book = openpyxl.load_workbook(out, read_only=True)
    assert "连续落后" in book.sheetnames


def test_a_fairness_flag_says_under_which_version_it_is_raised():
    from rulesvc.commands.simulation import _flagged_in

    assert _flagged_in(["baseline"]) == " *（基准）" and _flagged_in(["candidate"]) == " *（候选）"
    assert _flagged_in(["candidate", "baseline"]) == " *（两版）" and _flagged_in([]) == ""


def test_no_total_falling_does_not_read_as_nobody_worse_off(capsys):
    """v2 of the template raises no one's total, yet 36 lose 优秀 to the quota: the line says so."""
    from rulesvc.commands.simulation import _movers

    _movers({"overview": {"transitions": {"changed": 215}}, "movers": {"risers": [], "fallers": [], "grade_up": 0,
                                                                       "grade_down": 36}}, 10)
    out = capsys.readouterr().out
    assert "总分下降最多：无（没有人的总分下降；但有 36 人等次下降（名额等原因，见等次变化））" in out
    assert "总分上升最多：无（没有人的总分上升）" in out
