"""Rankings (排名) of a period and a subject's history over periods (纵向比较), published or provisional.

A ranking's place is among the *evaluated* subjects of the group asked for (default: the scheme's quota
group), ties sharing the better place, over everyone the scheme scores — a county reading its own
prosecutors sees their places in the whole province, not among themselves. Filters (procuratorate,
business, grade) only choose which rows are shown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from rulesvc.catalogue import current_language, msg
from rulesvc.engine.dictionary import Dictionary
from rulesvc.engine.participation import EVALUATED, LEVEL_LABELS, STATUS_LABELS
from rulesvc.engine.periods import Period, parse_period
from rulesvc.engine.reasons_en import in_english
from rulesvc.errors import InvalidInput, NotEvaluated, NotFound, RulesvcError
from rulesvc.persistence.models import Prosecutor
from rulesvc.services import results
from rulesvc.services.governance.access import Actor, Tree, procuratorate_in_view, tree_of
from rulesvc.services.results_words import QUOTA_STATUS_WORDS, figures_words
from rulesvc.services.scoring import RANK_GROUPS, departments_of, scope_ids

MAX_HISTORY_PERIODS = 24
ROW_COLUMNS = ("place", "code", "name", "procuratorate_id", "department_id", "business_code", "line", "level", "quota_status",
               "status", "total", "grade", "group_size", "percentile", "grade_reason", "status_reason")  # a ranking row's makings
EVERYONE = "全部考评对象"  # the group of a ranking with one group
NO_GROUP_VALUE = {"procuratorate": "（未登记检察院）", "department": "（未登记部门）", "business": "（未登记业务）",
                  "line": "（未登记条线）", "level": "（未登记院级）"}  # ranked together


def rankings(session: Session, actor: Actor, dictionary: Dictionary, *, period: str, scheme: str | None = None,
             version_id: int | None = None, group: str | None = None, procuratorate: str | None = None,
             business: str | None = None, grade: str | None = None,
             cache_dir: str | Path | None = None) -> tuple[dict[str, Any], pl.DataFrame]:
    """(what the figures rest on + quota use, the ranked rows the caller may see, best first)."""
    if group is not None and group not in RANK_GROUPS:
        bad = msg("ranking.group_bad", choices="、".join(RANK_GROUPS), choices_en=", ".join(RANK_GROUPS))
        raise InvalidInput(bad, errors={"group": [bad]})
    fig = results.require_data(results.figures(session, actor, dictionary, period=period, scheme=scheme,
                                               version_id=version_id, cache_dir=cache_dir))
    f = fig.ranked() if group is None or group == fig.quota_group else results.ranked(fig, group)
    f = f.select([c for c in ROW_COLUMNS if c in f.columns])  # what rows() shows: not the trace's hundreds of columns
    part: set[int] | None = None  # the procuratorates looked at (the caller's tree, the one asked for)
    if actor.scope is not None:
        part = set(actor.scope)
        f = f.filter(pl.col("procuratorate_id").is_in(sorted(actor.scope)))
    if procuratorate:
        procuratorate_in_view(session, actor, procuratorate)
        below = set(scope_ids(session, procuratorate) or ())
        part = below if part is None else part & below
        f = f.filter(pl.col("procuratorate_id").is_in(sorted(below)))
    # A filter value that cannot match is a mistake to say, not an empty page (a typo would read as "nobody").
    if business and fig.compiled.scheme.subject != "prosecutor":  # procuratorates have no business: nobody matches
        bad = msg("ranking.business_not_applicable", scheme=fig.scheme.code)
        raise InvalidInput(bad, errors={"business": [bad]})
    codes = [b.code for b in dictionary.businesses]
    if business and business not in codes:  # the name the rows show (公益诉讼检察) names it too, as on imports
        named = {b.name: b.code for b in dictionary.businesses} | {_loose(b.name_en): b.code
                                                                    for b in dictionary.businesses}
        business = named.get(business.strip(), named.get(_loose(business), business))
    if business and business not in codes:
        bad = msg("ranking.business_bad", value=business[:40], choices="、".join(codes), choices_en=", ".join(codes))
        raise InvalidInput(bad, errors={"business": [bad]})
    grades = [b.grade for b in fig.compiled.scheme.grading.bands] if fig.compiled.scheme.grading else []
    if grade and not grades:
        bad = msg("ranking.no_grades", scheme=fig.scheme.code)
        raise InvalidInput(bad, errors={"grade": [bad]})
    if grade and grade not in grades:
        bad = msg("ranking.grade_bad", value=grade[:40], choices="、".join(grades) or "—",
                  choices_en=", ".join(grades) or "—")
        raise InvalidInput(bad, errors={"grade": [bad]})
    if business and "business_code" in f.columns:
        f = f.filter(pl.col("business_code") == business)
    if grade:
        f = f.filter(pl.col("grade") == grade)
    f = f.sort(["place", "total", "code"], descending=[False, True, False], nulls_last=True)
    meta = {"period": fig.period.label, **fig.provenance(), "group": group or fig.quota_group,
            "quota": results.quota_use(fig) if part is None else results.quota_use_within(fig, part),
            "subject_kind": fig.compiled.scheme.subject}
    from rulesvc.services.own_schemes import localizations

    # The units that evaluate their people under their own localization of this scheme in the period: their rows
    # here are figures under this scheme, not their results (the evaluation's own_scheme).
    meta["own_schemes"] = [{"procuratorate": org, "scheme": x["code"]}
                           for org, x in sorted(localizations(session, fig.scheme.id, fig.period.start).items())]
    return meta, f


def _loose(name: str) -> str:
    """An English name as typed, however spelled: case, hyphens and spaces aside (Public-interest litigation =
    public interest litigation)."""
    return "".join(c for c in name.casefold() if c.isalnum())


def rows(session: Session, dictionary: Dictionary, frame: pl.DataFrame, kind: str,
         group: str = "all", own_schemes: Sequence[Mapping[str, str]] = ()) -> list[dict[str, Any]]:
    """Ranked rows as JSON objects: codes and names, never internal ids. Each row names the group its place is
    counted in (``group``: the ranking's), so that two first places of a page read as first of two groups, and
    the localization its unit scores it under when there is one (``own_schemes``: ``rankings``'s meta)."""
    tree = tree_of(session)
    orgs = tree.names
    own_of = _own_of(tree, own_schemes)
    businesses = {b.code: b.name for b in dictionary.businesses}
    lines = {b.line: b.line_name for b in dictionary.businesses}
    departments = departments_of(session, frame) if kind == "prosecutor" else {}
    quota = _quota_statuses(session, frame) if kind == "prosecutor" else {}
    out = []
    for r in frame.iter_rows(named=True):
        item: dict[str, Any] = {"place": r.get("place"), "code": r["code"], "name": r.get("name") or ""}
        org = orgs.get(r["procuratorate_id"])
        if kind == "prosecutor":
            item["procuratorate"] = dict(org) if org else None
            dept = departments.get(r.get("department_id") or 0)  # no department: none (ids start at 1)
            item["department"] = {"code": dept[0], "name": dept[1]} if dept else None
            item["business"] = {"code": r.get("business_code"), "name": businesses.get(r.get("business_code") or "")}
            item["line"] = r.get("line")
            item["quota_status"] = r.get("quota_status") or quota.get(r["code"])
        else:
            item["level"] = r.get("level")
        item["group"] = _group_of(group, r, org, item.get("department"), businesses, lines)
        item.update({"status": r["status"], "total": r.get("total"),
                     "grade": r.get("grade") if r["status"] == EVALUATED else None,
                     "group_size": r.get("group_size"), "percentile": r.get("percentile"),
                     "grade_reason": r.get("grade_reason") if r["status"] == EVALUATED else r.get("status_reason"),
                     "own_scheme": own_of(r["procuratorate_id"])})
        out.append(item)
    return out


def _own_of(tree: Tree, own_schemes: Sequence[Mapping[str, str]]) -> Callable[[int | None], str | None]:
    """procuratorate id → the code of the localization it (or the nearest unit above it that has one) scores its
    people under in the period, as the evaluation's ``own_scheme`` finds it; None when there is none."""
    from rulesvc.services.own_schemes import localization_above

    by_code = {o["procuratorate"]: o["scheme"] for o in own_schemes}
    known: dict[int | None, str | None] = {}

    def own(pid: int | None) -> str | None:
        if by_code and pid not in known:
            known[pid] = localization_above(tree, by_code, pid)
        return known.get(pid)

    return own


def _group_of(group: str, r: Mapping[str, Any], org: Mapping[str, str] | None, dept: Mapping[str, str] | None,
              businesses: Mapping[str, str], lines: Mapping[str, str]) -> dict[str, Any]:
    """The group a row's place is counted in: ``{"by", "code", "name"}`` (code None: everyone, or a row
    without a value for the group — they are ranked together)."""
    code: Any
    if group == "procuratorate":
        code, name = (org["code"], org["name"]) if org else (None, "")
    elif group == "department":  # a department's code is its procuratorate's own: qualified by the procuratorate's
        code, name = ((f"{org['code']}/{dept['code']}", f"{dept['name']}（{org['name']}）") if dept and org
                      else (dept["code"], dept["name"]) if dept else (None, ""))
    elif group == "business":
        code = r.get("business_code")
        name = businesses.get(code or "", code or "")
    elif group == "line":
        code = r.get("line")
        name = lines.get(code or "", code or "")
    elif group == "level":
        code = r.get("level")
        name = LEVEL_LABELS.get(code, code or "")
    else:
        return {"by": "all", "code": None, "name": EVERYONE}
    return {"by": group, "code": code, "name": name or NO_GROUP_VALUE[group]}


def _quota_statuses(session: Session, frame: pl.DataFrame) -> dict[str, str]:
    """员额状态 of ``frame``'s prosecutors as the directory says it today, when the figures do not carry it."""
    if "quota_status" in frame.columns or frame.is_empty():
        return {}
    codes = frame["code"].to_list()
    return dict(session.execute(select(Prosecutor.code, Prosecutor.quota_status)
                                .where(Prosecutor.code.in_(codes))).all())


def table(session: Session, dictionary: Dictionary, frame: pl.DataFrame, kind: str, meta: Mapping[str, Any],
          ) -> tuple[list[str], Iterator[Sequence[Any]]]:
    """The ranking as a sheet with Chinese headers (CSV / XLSX). ``meta`` (``rankings``'s) puts on every row what
    the figures are and which version made them, so that a file kept on its own still says it."""
    if kind == "prosecutor":
        header = ["名次", "工号", "姓名", "检察院代码", "检察院", "部门", "业务", "员额状态", "名次分组", "总分", "等次",
                  "同组参评人数", "百分位", "参评情况", "说明", "本院方案", "结果", "方案版本"]
    else:
        header = ["名次", "检察院代码", "检察院", "级别", "名次分组", "总分", "等次", "同组参评数", "百分位", "参评情况",
                  "说明", "本院方案", "结果", "方案版本"]
    said = figures_words(meta, "zh")
    source = f"{said['label']}：{said['note']}"
    v = meta["scheme"]
    version = f"{v['code']} 第 {v['number']} 版（version_id {v['version_id']}，哈希 {v['content_hash'][:12]}）"

    # A row whose unit scores its people under its own localization says so in the file itself: its figures here
    # are under this scheme, not its result (the evaluation's own_scheme, the API's X-Own-Schemes header).
    own_words = {o["scheme"]: f"按本院本地化方案 {o['scheme']} 考评，本表分数不是其考评结果" for o in meta.get("own_schemes", ())}

    def body() -> Iterator[Sequence[Any]]:
        for r in rows(session, dictionary, frame, kind, meta["group"], meta.get("own_schemes", ())):
            status = STATUS_LABELS.get(r["status"], r["status"])
            own = own_words.get(r["own_scheme"] or "", "")
            if kind == "prosecutor":
                org = r["procuratorate"] or {}
                yield [r["place"], r["code"], r["name"], org.get("code"), org.get("name"),
                       (r["department"] or {}).get("name"), r["business"]["name"],
                       QUOTA_STATUS_WORDS["zh"].get(r["quota_status"] or "", r["quota_status"]), r["group"]["name"], r["total"],
                       r["grade"], r["group_size"], r["percentile"], status, r["grade_reason"], own, source, version]
            else:
                yield [r["place"], r["code"], r["name"], LEVEL_LABELS.get(r.get("level"), r.get("level")),
                       r["group"]["name"], r["total"], r["grade"], r["group_size"], r["percentile"], status,
                       r["grade_reason"], own, source, version]
    return header, body()


# -------------------------------------------------------------------------------------------- history


def periods_between(start: str, end: str, every: str) -> list[Period]:
    """Months (or quarters) from ``start`` to ``end`` inclusive, both written as months (2020-01)."""
    try:
        a, b = parse_period(start), parse_period(end)
        if a.kind != "month" or b.kind != "month":
            raise ValueError("应写月份，如 2020-01 (months, e.g. 2020-01)")
    except Exception as exc:
        bad = msg("history.range_bad", detail=str(exc)[:120])
        raise InvalidInput(bad, errors={"from": [bad]}) from None
    if b.start < a.start:
        bad = msg("history.range_order", start=start, end=end)
        raise InvalidInput(bad, errors={"to": [bad]})
    step = 1 if every == "month" else 3  # how many periods, counted before any is made (the message says how many)
    count = ((b.start.year * 12 + b.start.month - 1) // step) - ((a.start.year * 12 + a.start.month - 1) // step) + 1
    if count > MAX_HISTORY_PERIODS:
        bad = msg("history.too_long", limit=MAX_HISTORY_PERIODS, count=count)
        raise InvalidInput(bad, errors={"to": [bad]})
    out: list[Period] = []
    y, m = a.start.year, a.start.month
    while (y, m) <= (b.start.year, b.start.month):
        label = f"{y}-{m:02d}" if every == "month" else f"{y}-Q{(m - 1) // 3 + 1}"
        if not out or out[-1].label != label:
            out.append(parse_period(label))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def history(session: Session, actor: Actor, dictionary: Dictionary, *, code: str, scheme: str, start: str, end: str,
            every: str = "month", cache_dir: str | Path | None = None) -> dict[str, Any]:
    """A subject's total, grade and place period by period, each under the version in force then and
    published where a publication covers it."""
    from rulesvc.services.evaluation import Directory, _subject_row

    directory = Directory(session)
    out = []
    seen = False  # the subject found in some period (else: no such subject, or no data in any of them)
    without_data = 0  # periods no event dataset covers
    outside: NotFound | None = None  # the subject outside the scheme's procuratorates in some period
    for p in periods_between(start, end, every):
        item: dict[str, Any] = {"period": p.label, "period_closed": p.end < results.today()}
        try:
            fig = results.require_data(results.figures(session, actor, dictionary, period=p, scheme=scheme,
                                                       cache_dir=cache_dir))
            ranked = fig.ranked()
            row = _subject_row(session, actor, fig, code, directory)
            seen = True
            r = ranked.filter(pl.col("code") == code).row(0, named=True)
            evaluated = r["status"] == EVALUATED
            item.update({"figures": fig.figures, "version": {"id": fig.version.id, "number": fig.version.number},
                         "publication": fig.publication.id if fig.publication is not None else None,
                         "status": row["status"], "total": r.get("total"),
                         "grade": r.get("grade") if evaluated else None,
                         "place": r.get("place") if evaluated else None, "of": r.get("group_size"),
                         "percentile": r.get("percentile") if evaluated else None})
            if not evaluated:  # scored but not graded (time in office, no activity): why, as a card says it —
                # in the caller's language like every other note here (the stored reason is Chinese)
                reason = r.get("status_reason") or ""
                item["note"] = in_english(reason) if current_language() == "en" and reason else reason
        except NotEvaluated as exc:
            seen = True
            item.update({"figures": None, "status": "excluded", "note": exc.message})
        except NotFound as exc:
            # not theirs that period: another tree's, or (moved) outside the scheme's procuratorates then
            if exc.error_code in ("scoring.no_subject", "scoring.outside_scheme", "scoring.not_in_publication"):
                item.update({"figures": None, "status": None, "note": exc.message})
                outside = exc if exc.error_code != "scoring.no_subject" else outside
            elif exc.error_code == "scoring.no_data":  # the same words each month: a chart says them once for a run
                item.update({"figures": None, "status": None, "note": msg("history.no_data").render()})
                without_data += 1
            elif exc.error_code == "not_found.in_force":
                item.update({"figures": None, "status": None, "note": exc.message})
            else:
                raise
        except RulesvcError:
            raise
        out.append(item)
    if not seen and out and without_data == len(out):
        raise NotFound(results.no_data(parse_period(out[0]["period"]), f"{out[0]['period']}–{out[-1]['period']}"))
    if not seen:
        raise outside if outside is not None else NotFound(msg("scoring.no_subject", code=code))
    return {"subject": code, "scheme": scheme, "every": every, "periods": out}


__all__ = ["history", "periods_between", "rankings", "rows", "table"]
