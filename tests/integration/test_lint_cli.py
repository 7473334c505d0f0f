"""``rulesvc lint`` on the command line: every error of a file in one run, in Chinese, with its path;
exit status 1 on errors (with ``--strict``, on warnings too)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from rulesvc.config import PROJECT_ROOT

MINI = yaml.safe_load((PROJECT_ROOT / "tests/data/schemes/mini.yaml").read_text(encoding="utf-8"))


def write(tmp_path: Path, mutate, name: str = "scheme.yaml") -> Path:
    doc = copy.deepcopy(MINI)
    mutate(doc)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def five_errors(d) -> None:
    d["grading"]["bands"][0]["quota"] = 1.5
    d["indicators"]["definite_rate"]["formula"] = "definite / recz"
    d["metrics"]["supervision"]["event"] = "supervision_actoin"
    d["indicators"]["plea_rate"]["scoring"]["tiers"] = [{"min": 0.9, "points": 10}, {"min": 0.95, "points": 8}]
    d["indicators"]["caseload"]["dimension"] = "efficency"
    d["dimensions"]["quality"]["weight"] = 30


def lines_of(output: str) -> list[str]:
    return [line.strip() for line in output.splitlines() if line.strip().startswith("[")]


def test_every_error_of_a_file_in_one_run_errors_first(runner, tmp_path):
    path = write(tmp_path, five_errors)
    result = runner.invoke(args=["lint", str(path)])
    assert result.exit_code == 1, result.output
    assert "5 个错误, 1 个警告" in result.output
    lines = lines_of(result.output)
    assert lines[0].startswith("[错误 error] grading.bands[0].quota:") and "须大于 0 且不大于 1（当前为 1.5）" in lines[0]
    for path_, word in (("indicators.definite_rate.formula", "未知名称"), ("metrics.supervision.events[0]", "未知的事件类型"),
                        ("indicators.plea_rate.scoring.tiers[1].min", "档位"), ("indicators.caseload.dimension", "未知的维度")):
        assert any(line.startswith(f"[错误 error] {path_}:") and word in line for line in lines), (path_, lines)
    assert any(line.startswith("[警告 warning] dimensions:") and "维度权重合计 90" in line for line in lines)
    assert any(line.startswith("[提示 info] (document):") for line in lines)
    tags = [line.split("]")[0] for line in lines]
    order = ["[错误 error", "[警告 warning", "[提示 info"]
    assert tags == sorted(tags, key=order.index)
    assert "Must be" not in result.output


@pytest.mark.parametrize(("strict", "status"), [(False, 0), (True, 1)])
def test_warnings_fail_only_with_strict(runner, tmp_path, strict, status):
    path = write(tmp_path, lambda d: d["dimensions"]["quality"].update(weight=30))
    result = runner.invoke(args=["lint", str(path), *(["--strict"] if strict else [])])
    assert result.exit_code == status, result.output
    assert "0 个错误, 1 个警告" in result.output


def test_a_clean_file_passes_and_a_directory_is_checked_file_by_file(runner, tmp_path):
    write(tmp_path, lambda d: None, "good.yaml")
    write(tmp_path, lambda d: d["grading"]["bands"][0].update(quota=1.5), "bad.yaml")
    result = runner.invoke(args=["lint", str(tmp_path)])
    assert result.exit_code == 1, result.output
    assert "good.yaml: ✓ 通过" in result.output
    assert "bad.yaml: 1 个错误" in result.output


def test_a_yaml_syntax_error_is_still_one_error(runner, tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("code: [unclosed\n", encoding="utf-8")
    result = runner.invoke(args=["lint", str(path)])
    assert result.exit_code == 1 and "YAML" in result.output
