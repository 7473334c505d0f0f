"""A succeeded run as a spreadsheet: XLSX with one sheet per report section (Chinese headers, numbers as
numbers), or CSV of the per-subject results. Streamed: the per-subject rows come from the database in
batches as the file is written (never all of them in memory), and the bytes are the same on every
export of the same run (:mod:`rulesvc.spreadsheet` writes no timestamps).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import select

from rulesvc.engine.participation import STATUS_LABELS
from rulesvc.engine.simreport import flags_on
from rulesvc.persistence.models import (
    SIMULATION_STATUS_LABELS,
    BusinessLine,
    Procuratorate,
    SimulationRun,
    SimulationSubject,
)
from rulesvc.services.simulation.execute import SessionScope
from rulesvc.services.simulation.runs import report_of
from rulesvc.spreadsheet import Sheet, iter_csv, iter_xlsx

SIDE = {"baseline": "基准版本", "candidate": "候选版本"}
KIND = {"base": "基础分", "indicator": "指标", "adjustment": "加减分项", "cap": "加减分封顶", "clip": "总分封顶/保底"}
STATUS = dict(STATUS_LABELS)  # 参加考评 / 不参加等次评定 / 不参加考评, as everywhere else
SUBJECT_HEADER = ("期间", "代码", "姓名", "检察院", "业务", "条线", "基准参评情况", "候选参评情况", "基准总分", "候选总分",
                  "总分变化", "基准名次", "候选名次", "名次变化（正为上升）", "基准等次", "候选等次", "等次升降档数")
FLAGS = {"flat": "区分度不足", "tiers_never_reached": "有无人达到的档次", "tier_everyone": "所有人同一档",
         "mostly_excluded": "多数人不计入"}


def iter_csv_export(scope: SessionScope, run_id: int) -> Iterator[str]:
    return iter_csv(SUBJECT_HEADER, _subject_rows(scope, run_id))


def iter_xlsx_export(scope: SessionScope, run_id: int, changes: Sequence[Sequence[Any]] | None = None) -> Iterator[bytes]:
    """The workbook; ``changes``: what the candidate changes against the baseline, as rows (部分, 名称, 变化, 项目,
    修改前, 修改后, 理由 — :func:`rulesvc.services.designer_simulation.change_rows`), its own sheet when given."""
    with scope() as s:
        run = s.get(SimulationRun, run_id)
        assert run is not None
        report = report_of(run) or {"periods": []}
        info = _info(run)
        results = list(run.scenario_results or [])
    if changes is not None:
        info.append(("改动", f"候选版本相对基准版本共 {len(changes)} 项改动，见“改动”工作表" if changes
                     else "候选版本与基准版本计分相同"))
    out = sheets(info, report, _subject_rows(scope, run_id), results)
    if changes is not None:
        out.insert(1, Sheet("改动", ("部分", "名称", "变化", "项目", "修改前", "修改后", "理由"), list(changes),
                            widths=(12, 24, 8, 14, 40, 40, 40)))
    return iter_xlsx(out)


def sheets(info: list[tuple[Any, ...]], report: dict[str, Any], subject_rows: Iterable[Sequence[Any]],
           scenario_results: list[dict[str, Any]]) -> list[Sheet]:
    """The workbook of a report: an information sheet, one sheet per section, the per-subject rows
    (:data:`SUBJECT_HEADER`, consumed lazily) and the scenario results."""
    periods = report["periods"]
    out = [
        Sheet("说明", ("项目", "内容"), info, widths=(16, 80)),
        Sheet("概览", ("期间", "项目", "基准版本", "候选版本", "变化"), _overview(periods)),
        Sheet("等次分布", ("期间", "等次", "基准人数", "基准占比", "候选人数", "候选占比", "基准名额", "基准已占",
                       "基准达线（未评更高等次）", "候选名额", "候选已占", "候选达线（未评更高等次）"), _grades(periods)),
        Sheet("等次变化", ("期间", "基准等次", "候选等次", "人数"), _transitions(periods)),
        Sheet("升降最大", ("期间", "方向", "代码", "姓名", "检察院", "基准总分", "候选总分", "总分变化", "基准名次", "候选名次",
                       "名次变化", "基准等次", "候选等次"), _movers(periods)),
        Sheet("变动原因", ("期间", "代码", "姓名", "类别", "项目代码", "项目名称", "基准得分", "候选得分", "基准贡献", "候选贡献",
                       "对总分变化的贡献"), _why(periods)),
        Sheet("指标区分度", ("期间", "指标代码", "指标名称", "维度", "版本", "适用人数", "满分占比", "零分占比", "缺数据占比",
                        "平均得分", "标准差", "最低", "最高", "与总分相关系数", "平均贡献", "平均贡献变化", "提示"),
              _indicators(periods)),
        Sheet("档位分布", ("期间", "指标代码", "指标名称", "版本", "档位代码", "规则", "人数", "占比"), _tiers(periods)),
        Sheet("公平性", ("期间", "分组方式", "分组", "基准人数", "基准平均分", "基准与其余之差", "候选人数", "候选平均分",
                      "候选与其余之差", "平均分变化", "提示"), _fairness(periods)),
        Sheet("逐人结果", SUBJECT_HEADER, subject_rows),
        Sheet("回归用例", ("代码", "期间", "结果", "核对项", "预期", "实际", "说明"), _scenarios(scenario_results)),
    ]
    if any(p.get("org_level") for p in periods):
        out.insert(-2, Sheet("检察院层级变化", ("期间", "代码", "名称", "变化"), _org_changes(periods)))
    if report.get("streaks"):
        out.insert(-2, Sheet("连续落后", ("版本", "代码", "名称", "连续差于平均的指标"), _streak_rows(report["streaks"])))
    return out


def _streak_rows(data: dict[str, Any]) -> Iterator[tuple[Any, ...]]:
    for side in ("baseline", "candidate"):
        for u in (data.get(side) or {}).get("named") or []:
            yield (SIDE[side], u["code"], u["name"], "、".join(u["indicators"]))
    for c in data.get("changes") or []:
        yield ("变化", c["code"], c["name"], f"{'、'.join(c['baseline']) or '无'} → {'、'.join(c['candidate']) or '无'}")


def _info(run: SimulationRun) -> list[tuple[Any, ...]]:
    cand = run.candidate
    base = run.baseline
    return [
        ("模拟测评编号", run.id), ("方案", run.scheme.code),
        ("候选版本", f"第 {cand.number} 版" if cand else "（已删除的草稿）"), ("候选内容哈希", run.candidate_hash),
        ("基准版本", f"{base.scheme.code} 第 {base.number} 版" if base else "无"), ("基准内容哈希", run.baseline_hash or ""),
        ("期间", "、".join(run.periods)),
        ("数据集", "；".join(f"#{d[0]} {d[1][:12]}" for d in run.datasets)),
        ("数据字典哈希", run.dictionary_hash), ("引擎版本", run.engine_version), ("结果哈希", run.result_hash or ""),
        ("身份哈希", run.run_hash), ("状态", SIMULATION_STATUS_LABELS.get(run.status, run.status)),
    ]


def _num(v: Any) -> Any:
    return v if v is not None else None


def _overview(periods: list[dict[str, Any]]) -> Iterator[tuple[Any, ...]]:
    labels = (("count", "评定等次人数"), ("mean", "平均分"), ("median", "中位数"), ("sd", "标准差"), ("min", "最低分"),
              ("max", "最高分"))
    for p in periods:
        sides = p["overview"]["sides"]
        b, c = sides.get("baseline") or {}, sides.get("candidate") or {}
        for key, label in labels:
            yield _triple(p["period"], label, b.get(key), c.get(key))
        for q in ("p10", "p25", "p50", "p75", "p90"):
            yield _triple(p["period"], f"{q[1:]} 分位数", (b.get("quantiles") or {}).get(q), (c.get("quantiles") or {}).get(q))
        for key, label in (("taking_part", "参评人数"), ("not_graded", "计分不定等次"), ("left_out", "不参加考评")):
            yield _triple(p["period"], label, b.get(key), c.get(key))
        agreement = p["overview"].get("agreement") or {}
        if agreement:
            yield (p["period"], "肯德尔 τ（两版本名次一致程度）", None, agreement.get("kendall_tau_b"), None)
            yield (p["period"], "斯皮尔曼 ρ", None, agreement.get("spearman_rho"), None)
        movers = p.get("movers") or {}
        for key, label in (("up", "总分上升人数"), ("down", "总分下降人数"), ("grade_up", "等次上升人数"),
                           ("grade_down", "等次下降人数")):
            if movers.get(key) is not None:
                yield (p["period"], label, None, movers[key], None)


def _triple(period: str, label: str, b: Any, c: Any) -> tuple[Any, ...]:
    delta = round(c - b, 6) if isinstance(b, int | float) and isinstance(c, int | float) else None
    return (period, label, b, c, delta)


def _grades(periods: list[dict[str, Any]]) -> Iterator[tuple[Any, ...]]:
    for p in periods:
        sides = p["overview"]["sides"]
        b, c = sides.get("baseline") or {}, sides.get("candidate") or {}
        gb = {g["grade"]: g for g in b.get("grades") or []}
        gc = {g["grade"]: g for g in c.get("grades") or []}
        quota = {q["grade"]: q for q in c.get("quota") or []}
        old_quota = {q["grade"]: q for q in b.get("quota") or []}
        for grade in p.get("grades") or list(dict.fromkeys([*gc, *gb])):
            x, y, q, o = gb.get(grade) or {}, gc.get(grade) or {}, quota.get(grade) or {}, old_quota.get(grade) or {}
            yield (p["period"], grade, x.get("count"), x.get("share"), y.get("count"), y.get("share"),
                   o.get("places"), o.get("taken"), o.get("reached"), q.get("places"), q.get("taken"), q.get("reached"))


def _transitions(periods: list[dict[str, Any]]) -> Iterator[tuple[Any, ...]]:
    for p in periods:
        t = p["overview"].get("transitions")
        if not t:
            continue
        for i, a in enumerate(t["grades"]):
            for j, b in enumerate(t["grades"]):
                if t["matrix"][i][j]:
                    yield (p["period"], a, b, t["matrix"][i][j])


def _movers(periods: list[dict[str, Any]]) -> Iterator[tuple[Any, ...]]:
    for p in periods:
        for direction, key in (("上升", "risers"), ("下降", "fallers")):
            for m in (p.get("movers") or {}).get(key) or []:
                yield (p["period"], direction, m["code"], m["name"], m.get("org"), m["total_b"], m["total_c"],
                       m["delta_total"], m["rank_b"], m["rank_c"], m["delta_rank"], m["grade_b"], m["grade_c"])


def _why(periods: list[dict[str, Any]]) -> Iterator[tuple[Any, ...]]:
    for p in periods:
        for key in ("risers", "fallers"):
            for m in (p.get("movers") or {}).get(key) or []:
                for w in m.get("why") or []:
                    yield (p["period"], m["code"], m["name"], KIND.get(w["kind"], w["kind"]), w["code"], w["name"],
                           w["points_b"], w["points_c"], w["contrib_b"], w["contrib_c"], w["delta"])


def _indicators(periods: list[dict[str, Any]]) -> Iterator[tuple[Any, ...]]:
    for p in periods:
        for ind in p.get("indicators") or []:
            for side in ("baseline", "candidate"):
                s = ind.get(side)
                if not s:
                    continue
                flags = "、".join(FLAGS[f] for f in flags_on(s))
                delta = ind.get("delta_mean_contrib_all") if side == "candidate" else None
                yield (p["period"], ind["code"], ind["name"], ind.get("dimension_name") or ind.get("dimension"),
                       SIDE[side], s["applies"],
                       s["full_share"], s["zero_share"], s["missing_share"], s["mean"], s["sd"], s["min"], s["max"],
                       s["corr_total"], s["mean_contrib_all"], delta, flags)


def _tiers(periods: list[dict[str, Any]]) -> Iterator[tuple[Any, ...]]:
    for p in periods:
        for ind in p.get("indicators") or []:
            for side in ("baseline", "candidate"):
                s = ind.get(side)
                for t in (s or {}).get("tiers") or []:
                    yield (p["period"], ind["code"], ind["name"], SIDE[side], t["branch"], t["label"], t["count"],
                           t["share"])


def _fairness(periods: list[dict[str, Any]]) -> Iterator[tuple[Any, ...]]:
    by = {"line": "四大检察", "business": "业务", "level": "检察院层级", "procuratorate": "检察院"}
    for p in periods:
        for grouping in (p.get("fairness") or {}).get("groupings") or []:
            for g in grouping["groups"]:
                b, c = g.get("baseline") or {}, g.get("candidate") or {}
                note = "、".join(f"{SIDE[s]}偏离其余超过阈值" for s in g.get("flagged") or [])
                yield (p["period"], by.get(grouping["by"], grouping["by"]), g.get("label") or g.get("group"),
                       b.get("count"), b.get("mean"), b.get("diff_from_rest"), c.get("count"), c.get("mean"),
                       c.get("diff_from_rest"), g.get("delta_mean"), note)


def _org_changes(periods: list[dict[str, Any]]) -> Iterator[tuple[Any, ...]]:
    for p in periods:
        for ch in (p.get("org_level") or {}).get("changes") or []:
            parts = [f"{k}：{v['baseline']} → {v['candidate']}" for k, v in ch.get("positions", {}).items()]
            parts += [f"{k}：{v['baseline']} → {v['candidate']}" for k, v in ch.get("laggard", {}).items()]
            yield (p["period"], ch.get("code"), ch.get("name"), "；".join(parts))


def _scenarios(results: list[dict[str, Any]]) -> Iterator[tuple[Any, ...]]:
    for r in results:
        verdict = "通过" if r["passed"] else "未通过"
        if not r["checks"]:
            yield (r["subject"], r["period"], verdict, None, None, None, r.get("message"))
        for c in r["checks"]:
            yield (r["subject"], r["period"], verdict, c["what"], _cell(c["expected"]), _cell(c["actual"]), None)


def _cell(v: Any) -> Any:
    return v if v is None or isinstance(v, int | float | str) else str(v)


def _subject_rows(scope: SessionScope, run_id: int) -> Iterator[tuple[Any, ...]]:
    with scope() as s:
        orgs = dict(s.execute(select(Procuratorate.id, Procuratorate.name)).all())
        lines = s.execute(select(BusinessLine.code, BusinessLine.name, BusinessLine.line, BusinessLine.line_name)).all()
        business = {r.code: r.name for r in lines}
        line_names = {r.line: r.line_name for r in lines}
        q = (select(SimulationSubject.period, SimulationSubject.code, SimulationSubject.name,
                    SimulationSubject.procuratorate_id, SimulationSubject.business_code, SimulationSubject.line,
                    SimulationSubject.status_b, SimulationSubject.status_c, SimulationSubject.total_b,
                    SimulationSubject.total_c, SimulationSubject.delta_total, SimulationSubject.rank_b,
                    SimulationSubject.rank_c, SimulationSubject.delta_rank, SimulationSubject.grade_b,
                    SimulationSubject.grade_c, SimulationSubject.grade_move)
             .where(SimulationSubject.run_id == run_id)
             .order_by(SimulationSubject.period, SimulationSubject.code))
        for r in s.execute(q.execution_options(yield_per=2000)):
            yield (r.period, r.code, r.name, orgs.get(r.procuratorate_id), business.get(r.business_code or "", r.business_code),
                   line_names.get(r.line or "", r.line),
                   STATUS.get(r.status_b or "", r.status_b), STATUS.get(r.status_c or "", r.status_c), r.total_b,
                   r.total_c, r.delta_total, r.rank_b, r.rank_c, r.delta_rank, r.grade_b, r.grade_c, r.grade_move)


def subject_rows(rows: Iterable[dict[str, Any]], period: str, orgs: dict[int, str], business: dict[str, str],
                 line_names: dict[str, str]) -> Iterator[tuple[Any, ...]]:
    """:data:`SUBJECT_HEADER` rows from report subject rows (``engine.simreport.SUBJECT_SCHEMA`` dicts)."""
    for r in rows:
        yield (period, r["code"], r["name"], orgs.get(r["procuratorate_id"]),
               business.get(r["business_code"] or "", r["business_code"]), line_names.get(r["line"] or "", r["line"]),
               STATUS.get(r["status_b"] or "", r["status_b"]), STATUS.get(r["status_c"] or "", r["status_c"]),
               r["total_b"], r["total_c"], r["delta_total"], r["rank_b"], r["rank_c"], r["delta_rank"], r["grade_b"],
               r["grade_c"], r["grade_move"])


__all__ = ["SUBJECT_HEADER", "iter_csv_export", "iter_xlsx_export", "sheets", "subject_rows"]
