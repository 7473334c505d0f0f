"""The words and shapes of the 考评结果 pages (issue 12, pages 9–10), in Chinese or English: a ranking's
rows and filters, a score card read as a page, a history chart's points and the procuratorate comparison.

Nothing here scores anyone: the figures come from :mod:`.evaluation`, :mod:`.rankings` and
:mod:`.comparisons` (the API's services, called by the views with the signed-in person's actor); this
module only puts them into words — rates as percentages, 案-件比 as 1:x, units from the scheme (人 or 件),
the glossary's words (正式结果 / 临时结果, 提升空间, 上游 / 中游 / 下游) — and looks up what a page shows
beside them (the prosecutors' 员额 status, the events behind a bonus or penalty item).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rulesvc.engine.compile import CompiledScheme
from rulesvc.engine.dictionary import Dictionary
from rulesvc.engine.evaluate import ANALYSIS_ONLY
from rulesvc.engine.peers import fmt_share, quota_places
from rulesvc.engine.reasons_en import in_english
from rulesvc.engine.scoring import fmt, fmt_total
from rulesvc.errors import InvalidInput
from rulesvc.persistence import lifecycle
from rulesvc.persistence.models import EventType, Scheme, SchemeVersion
from rulesvc.services import facts, localtime, results
from rulesvc.services.designer_edit import one_language
from rulesvc.services.designer_words import LEVEL_WORDS, PEER_GROUP_WORDS, combination_words, veto_words, word
from rulesvc.services.governance import versions
from rulesvc.services.governance.access import Actor, tree_of

FIGURES_WORDS = {"zh": {"published": "正式结果", "provisional": "临时结果"},
                 "en": {"published": "published", "provisional": "provisional"}}
STATUS_WORDS = {"zh": {"evaluated": "参加考评", "not_graded": "不参加等次评定", "excluded": "不参加考评"},
                "en": {"evaluated": "evaluated", "not_graded": "not graded", "excluded": "not evaluated"}}
QUOTA_STATUS_WORDS = {"zh": {"quota": "员额检察官", "non_quota": "非员额人员", "exited": "已退出员额"},
                      "en": {"quota": "quota prosecutor", "non_quota": "non-quota staff", "exited": "left the quota"}}
POSITION_EN = {"上游": "above average", "中游": "near average", "下游": "below average"}
POSITION_CLASS = {"上游": "up", "中游": "mid", "下游": "down"}
KIND_WORDS = {"zh": {"base": "基础分", "cap": "封顶", "clip": "封顶保底", "round": "舍入"},
              "en": {"base": "base score", "cap": "cap", "clip": "cap / floor", "round": "rounding"}}
UNIT_EN = {"人": "persons", "件": "case files", "个": "", "次": "times", "天": "days", "案": "cases"}
MAX_EVENTS_SHOWN = 20


def _zh(lang: str) -> bool:
    return lang != "en"


_ENGLISH_ASIDE = re.compile(r"\s*\((?=[A-Za-z])[^()（）]*\)")  # " (may not be graded 优秀)" too


def said(text: str | None, lang: str) -> str:
    """An engine's words in one language: they read "中文 (English)", here only the reader's half."""
    if not text:
        return ""
    if _zh(lang):
        return _ENGLISH_ASIDE.sub("", text)
    return in_english(one_language(text, lang))  # a stored grade or participation reason: said in English


# -- where the figures come from --------------------------------------------------------------------------


def figures_words(meta: Mapping[str, Any], lang: str) -> dict[str, str]:
    """正式结果 / 临时结果 and what that means for this answer (who published it when, or that it may change)."""
    kind = meta["figures"]
    label = FIGURES_WORDS[lang][kind]
    v = meta["scheme"]
    if kind == "published":
        p = meta["publication"] or {}
        when = f"{localtime.label('zh')} {localtime.text(p.get('published_at'))}" if _zh(lang) else \
            f"{localtime.text(p.get('published_at'))} {localtime.label('en')}"
        note = (f"已于{when} 发布（第 {p.get('sequence')} 次发布），此后导入、更正或撤回数据都不改变这些结果。"
                if _zh(lang) else f"Published on {when} (publication {p.get('sequence')}): later imports, corrections "
                "or withdrawals do not change these figures.")
        if p.get("supersedes") is not None and p.get("sequence"):
            earlier = int(p["sequence"]) - 1
            note += (f"本次发布更正了第 {earlier} 次发布，理由：{p.get('reason') or '—'}" if _zh(lang)
                     else f" It corrects publication {earlier}: {p.get('reason') or '—'}")
    else:
        note = (f"尚未发布：按现有数据和第 {v['number']} 版即时计算，数据或规则变化时会随之改变。"
                if _zh(lang) else f"Not published: computed now from the data in use under version {v['number']}; "
                "they change when the data or the rules do.")
        if not meta.get("period_closed", True):
            note += "该期间尚未结束。" if _zh(lang) else " The period has not ended yet."
    return {"kind": kind, "label": label, "note": note}


# -- the rankings page -------------------------------------------------------------------------------------


def localized_in_force(session: Session, scheme: Scheme, period: str) -> list[dict[str, str]]:
    """The localizations of ``scheme`` in force on the period's first day (code, name, procuratorate): their
    procuratorates' people are scored under those, so a row of theirs on ``scheme``'s page is not their result (a
    city reviewer read a county's people on the template's ranking as official: a UI audit). The API's map
    (``own_schemes.localizations``): a version in force is published, so every reader may see it."""
    from rulesvc.services.own_schemes import localizations

    try:
        p = results.parse(period)
    except InvalidInput:
        return []
    return [{"code": x["code"], "name": x["name"], "procuratorate": x["procuratorate"]["name"],
             "procuratorate_code": org} for org, x in sorted(localizations(session, scheme.id, p.start).items(),
                                                             key=lambda kv: kv[1]["code"])]


def later_versions(session: Session, version_id: int | None, period: str, number: int | None, lang: str) -> str:
    """Versions of the scheme of version ``version_id`` (numbered ``number``) in force, or set to be, from a date
    after the period's first day, said beside that version's figures: a period is scored under the version in
    force on its first day, so a version put in force later never shows here (a designer put a new template
    version in force from 2021-01-01 and looked for it in the 2020 ranking: an audit)."""
    try:
        p = results.parse(period)
    except InvalidInput:
        return ""
    found = [(n, start) for n, status, start in session.execute(
        select(SchemeVersion.number, SchemeVersion.status, SchemeVersion.effective_from)
        .where(SchemeVersion.scheme_id == select(SchemeVersion.scheme_id).where(SchemeVersion.id == version_id)
               .scalar_subquery(), SchemeVersion.effective_from > p.start)
        .order_by(SchemeVersion.effective_from)).all()
             if start is not None and lifecycle.can_be_in_force(status) and n != number]
    if not found:
        return ""
    if lang == "zh":
        which = "、".join(f"第 {n} 版自 {start.isoformat()} 起生效" for n, start in found)
        return (f"{which}。一个考评期间按其第一天生效的版本计分：{period} 仍按第 {number} 版，此后开始的期间才按新版本；"
                f"新版本在已有数据上的结果见它的模拟测评。")
    which = ", ".join(f"version {n} is in force from {start.isoformat()}" for n, start in found)
    return (f"{which[0].upper()}{which[1:]}. A period is scored under the version in force on its first day: {period} "
            f"stays under version {number}, and periods starting later go by the new one; the new version's figures "
            f"on the data there is are in its simulation.")


def own_localization(card: Mapping[str, Any]) -> dict[str, str] | None:
    """The localization in force for the card's period that the card's subject's procuratorate (or the nearest
    unit above it with one) scores them under, when the card is under the scheme it localizes — the evaluation's
    ``own_scheme`` (``services.own_schemes``), as the page names it; else None."""
    own = card.get("own_scheme")
    if not own:
        return None
    return {"code": own["code"], "name": own["name"], "procuratorate": own["procuratorate"]["name"],
            "procuratorate_code": own["procuratorate"]["code"]}


def ranking_schemes(session: Session, actor: Actor, kind: str | None = None) -> list[Scheme]:
    """The schemes the person may read: those with a version put in force first (a county's localization that is
    still a draft comes after the template in force), then their own procuratorate's, the nearest above, those
    below (a county's localization before the template; a city's reader on the template)."""
    found = versions.list_schemes(session, actor)
    if kind is not None:
        found = [s for s in found if s.subject_kind == kind]
    # Schemes with a version put in force first; those scoring prosecutors before those scoring procuratorates.
    tree = tree_of(session)

    def depth(pid: int) -> int:
        n, seen = 0, set()
        while pid in tree.parent and tree.parent[pid] is not None and pid not in seen:
            seen.add(pid)
            pid = tree.parent[pid]
            n += 1
        return n

    def in_force(s: Scheme) -> bool:  # some version has been put in force (a scheme of drafts ranks nobody yet)
        return any(v.effective_from is not None and lifecycle.can_be_in_force(v.status) for v in s.versions)

    # Whose scheme: the person's own procuratorate's first; then the nearest above it (a city with no scheme of its
    # own reads the province's template, which scores all its people — an audit found a city reader opened on one
    # county's localization, 26 of the city's 290); then those below; an administrator of everything: top down.
    roots = set() if actor.scope is None else {i for i in actor.scope if tree.parent.get(i) not in actor.scope}

    def whose(pid: int) -> tuple[int, int]:
        if actor.scope is None:
            return 0, depth(pid)
        if pid in roots:
            return 0, 0
        if pid in actor.above:
            return 1, -depth(pid)
        return (2, depth(pid)) if actor.in_scope(pid) else (3, depth(pid))

    return sorted(found, key=lambda s: (not in_force(s), whose(s.procuratorate_id), s.subject_kind != "prosecutor"))


def default_period(session: Session, scheme: Scheme) -> str | None:
    """The last whole period of the scheme's cadence that ended before today and has data (as the impact
    preview picks it), or ``None`` when there is none."""
    from rulesvc.services.impact_data import chosen_period

    try:
        return chosen_period(session, scheme.period_kind, None, results.today()).label
    except InvalidInput:
        return None


def period_without_data(session: Session, scheme: Scheme, period: str) -> bool:
    """Whether a closed period is one no event dataset in use covers (an open or malformed one: not said here)."""
    from rulesvc.services.impact_data import chosen_period

    try:
        chosen_period(session, scheme.period_kind, period, results.today())
    except InvalidInput as exc:
        return exc.msg is not None and exc.msg.code == "impact.no_data"
    return False


def compiled_of(session: Session, dictionary: Dictionary, version_id: int) -> CompiledScheme:
    """The compiled version an answer names (cached per process by the results service)."""
    v = session.get(SchemeVersion, version_id)
    assert v is not None  # an answer only names versions that exist
    return results.compiled_version(v, dictionary)


def grade_names(compiled: CompiledScheme) -> list[str]:
    g = compiled.scheme.grading
    return [b.grade for b in g.bands] if g is not None else []


def procuratorate_choices(session: Session, actor: Actor, lang: str = "zh") -> list[tuple[str, str]]:
    """(code, name indented by level) of the procuratorates in the person's tree, top down. Choosing one shows it
    and those below it: a procuratorate with any below says so ("东川市人民检察院及下级院" — an audit read the city's
    name and expected its own 52 people, not the city's 290)."""
    tree = tree_of(session)
    ids = set(tree.names) if actor.scope is None else set(actor.scope)
    roots = sorted((i for i in ids if tree.parent.get(i) not in ids), key=lambda i: tree.names[i]["code"])
    out: list[tuple[str, str]] = []
    below = "及下级院" if _zh(lang) else " and those below"

    def walk(i: int, depth: int) -> None:
        has_below = any(c in ids for c in tree.children.get(i, []))
        out.append((tree.names[i]["code"], "\u3000" * depth + tree.names[i]["name"] + (below if has_below else "")))
        for c in sorted(tree.children.get(i, []), key=lambda j: tree.names[j]["code"]):
            if c in ids:
                walk(c, depth + 1)

    for r in roots:
        walk(r, 0)
    return out


def business_choices(dictionary: Dictionary, lang: str) -> list[tuple[str, str]]:
    return [(b.code, b.name if _zh(lang) else b.name_en) for b in sorted(dictionary.businesses, key=lambda b: b.sort)]


QUOTA_GROUP_WORDS = {"zh": {"all": "全体参评人员", "procuratorate": "检察院", "department": "部门", "business": "业务",
                           "line": "业务条线", "level": "院级"},
                     "en": {"all": "everyone", "procuratorate": "procuratorate", "department": "department",
                            "business": "business", "line": "line of work", "level": "level"}}


def quota_words(quota: Sequence[Mapping[str, Any]], lang: str) -> list[str]:
    """名额使用: per band with a quota, the places it gives, those taken and those whose total reaches it."""
    out = []
    for q in quota:
        group = word(QUOTA_GROUP_WORDS, lang, q["quota_group"])
        lower = bool(q.get("below_best"))  # those graded a better band are not counted as reaching it
        unused, over = q.get("unused") or 0, max(0, q["reached"] - q["taken"])
        per_group = (q.get("groups") or 1) > 1 and (unused or over)  # how the three numbers add up, group by group
        if _zh(lang):
            out.append(f"{q['grade']}名额 {fmt_share(q['quota'])}（按{group}分组，{q['size']} 人参评）：可评 "
                       f"{q['places']} 名，已评 {q['taken']} 名，总分达到{q['grade']}分数线"
                       f"{'、未评更高等次' if lower else ''}的 {q['reached']} 名"
                       + (f"。名额在每个{group}内分配：达线者少于名额的组共空出 {unused} 名；"
                          f"名额已满的组有 {over} 名达线者未评上（或被一票否决）" if per_group else ""))
        else:
            out.append(f"{q['grade']} quota {fmt_share(q['quota'])} (counted within {group}, {q['size']} evaluated): "
                       f"{q['places']} places, {q['taken']} taken, {q['reached']} reach its lowest total"
                       f"{' without a better grade' if lower else ''}"
                       + (f". Places are given within each group: {unused} left empty where fewer reach the line than "
                          f"the quota gives; {over} who reach it not given it where the places are full (or barred by "
                          f"a veto)" if per_group else ""))
    return out


def ranking_rows(session: Session, dictionary: Dictionary, rows: list[dict[str, Any]], kind: str,
                 lang: str) -> list[dict[str, Any]]:
    """The rows of one page (``rankings.rows``) as the table shows them, with each prosecutor's 员额 status."""
    names = {b.code: (b.name if _zh(lang) else b.name_en) for b in dictionary.businesses}
    out = []
    for r in rows:
        business = (r.get("business") or {}).get("code")
        out.append({**r, "business_name": names.get(business or "", ""),
                    "quota_status": word(QUOTA_STATUS_WORDS, lang, r.get("quota_status")),
                    "level_name": word(LEVEL_WORDS, lang, r.get("level")),
                    "status_word": word(STATUS_WORDS, lang, r["status"]),
                    "grade_reason": said(r.get("grade_reason"), lang),
                    "total_shown": "" if r.get("total") is None else fmt_total(r["total"]),
                    "percentile_shown": "" if r.get("percentile") is None else f"{r['percentile']:.1f}"})
    _apart(out)
    return out


def _apart(rows: list[dict[str, Any]]) -> None:
    """Two neighbouring rows whose totals differ but read the same at 2 decimals (95.1738 and 95.1707: 95.17 at
    places 8 and 9 — an audit asked why) get as many more digits as it takes to tell them apart (at most 6)."""
    for a, b in zip(rows, rows[1:], strict=False):
        ta, tb = a.get("total"), b.get("total")
        if ta is None or tb is None or ta == tb or a["total_shown"] != b["total_shown"]:
            continue
        for digits in range(3, 7):
            if fmt_total(ta, digits) != fmt_total(tb, digits):
                break
        for row in (a, b):
            if len(row["total_shown"].split(".")[-1]) < digits:
                row["total_shown"] = fmt_total(row["total"], digits)


# -- the score card ----------------------------------------------------------------------------------------


def _reference_words(ci: Any, i: Mapping[str, Any], unit: str, lang: str) -> str:
    """What a ratio indicator was compared with: "同院最优值 157.5（114 ÷ 157.5 = 0.7238）" — the best or the average
    of the peer group the rule names, as the card's ``compared`` records it (or, on cards made before it did, recovered
    from the value and the ratio the rule tested: own ÷ reference, or reference ÷ own when lower is better), so that a prosecutor can check the ratio (an audit: the card gave the
    ratio and the points, never what it was a ratio to)."""
    from rulesvc.engine.peers import RATIO_OF_ZERO

    pw = getattr(ci, "piecewise", None)
    value, x = i.get("value"), i.get("x")
    if pw is None or pw.derive not in ("ratio_to_best", "ratio_to_avg") or not isinstance(value, int | float) \
            or not isinstance(x, int | float) or x <= 0 or x >= RATIO_OF_ZERO or value == 0:
        return ""
    # The card's own record of it (``compared``, engine 2026.12.11 on); recovered for cards made before.
    ref = (i.get("compared") or {}).get("reference")
    if not isinstance(ref, int | float):
        ref = value / x if ci.higher_better else x * value
    group = word(PEER_GROUP_WORDS, "zh" if _zh(lang) else "en", ci.peer_group)
    if _zh(lang):
        what = "最优值" if pw.derive == "ratio_to_best" else "平均值"
        sum_ = f"{_value(value, unit)} ÷ {_value(ref, unit)}" if ci.higher_better else \
            f"{_value(ref, unit)} ÷ {_value(value, unit)}"
        return f"比较对象：{group}{what} {_value(ref, unit)}（{sum_} = {fmt(round(x, 4))}）"
    what = "best" if pw.derive == "ratio_to_best" else "average"
    sum_ = f"{_value(value, unit)} ÷ {_value(ref, unit)}" if ci.higher_better else \
        f"{_value(ref, unit)} ÷ {_value(value, unit)}"
    return f"Compared with the {what} of {group}: {_value(ref, unit)} ({sum_} = {fmt(round(x, 4))})"


def _prorated_words(card: Mapping[str, Any], trace: Mapping[str, Any], lang: str) -> Any:
    """For an indicator divided by the share of the period in office (``prorate``): "45 ÷ (125/366) = 131.76"
    and why, or "" — the card's formula line then says how its value came from the count (an audit read
    "= 45 * if(false, 2.5, 1) = 131.76" with nothing in between)."""
    from rulesvc.engine.periods import parse_period

    share = trace.get("office_share")
    raw_of = {i["code"]: i.get("prorated_from") for i in trace.get("indicators", [])}
    value_of = {i["code"]: i.get("value") for i in card.get("indicators", [])}
    try:
        p = parse_period(str(card.get("period")))
        days = (p.end - p.start).days + 1
    except Exception:
        days = 0
    in_office = round(share * days) if isinstance(share, int | float) and days else 0

    def words(code: str, unit: str) -> dict[str, str] | str:
        raw, value = raw_of.get(code), value_of.get(code)
        if raw is None or value is None or not isinstance(share, int | float) or share <= 0:
            return ""
        of = f"{in_office}/{days}" if in_office else fmt_share(share)
        return {"raw": _value(raw, unit), "share": of, "value": _value(value, unit),
                "why": (f"按任职时间折算：本期间在任 {in_office} 天，共 {days} 天" if lang == "zh"
                        else f"pro-rated by time in office: {in_office} of the period's {days} days") if in_office
                else ("按任职时间折算" if lang == "zh" else "pro-rated by time in office")}
    return words


def _column(x: float | None, unit: str) -> str:
    """A rate in a table's column: always one decimal (9.0% above 9.6%, never 9% — an audit), else as :func:`_value`."""
    return f"{x * 100:.1f}%" if unit == "%" and x is not None else _value(x, unit)


def _value(x: float | None, unit: str) -> str:
    if x is None:
        return "—"
    if unit == "ratio":
        return f"1:{x:.2f}"
    if unit == "%":
        return fmt(x, "%")
    return fmt(round(x, 4))


_LABEL = re.compile(r"“([^”]*)”")


def _filled(formula_labeled: str, numbers: Mapping[str, float | None]) -> str:
    """The labeled formula with each name's number beside it: “适用认罪认罚人数”(171) / “审查起诉审结人数”(196)."""
    def put(m: re.Match[str]) -> str:
        n = numbers.get(m.group(1))
        return m.group(0) if n is None else f"{m.group(0)}\u2009{fmt(round(n, 4))}"
    return _LABEL.sub(put, formula_labeled)


def _nearest(n: Mapping[str, Any], label: str, unit: str, lang: str) -> dict[str, Any]:
    """提升空间 of one indicator: how many more of what, the value then, and the effect on the total."""
    k, reached = n.get("events"), _value(n.get("reached"), unit)
    gain, total = fmt(round(n["gain"], 2)), fmt(round(n["total_gain"], 2))
    u = n.get("unit") or ""
    if _zh(lang) and n.get("needs"):
        text = str(n["needs"])  # the engine's words: what the extra ones must (not) count in, 本项 and 总分
    elif _zh(lang):
        text = f"再增加 {k} {u}“{label}”，达到 {reached}：本项 +{gain} 分，总分 +{total} 分"
    elif n.get("needs_en"):
        text = str(n["needs_en"])  # the engine's words, with what the extra ones must (not) count in
    else:
        text = f"{k} more {UNIT_EN.get(u, u)} of “{label}” → {reached}: +{gain} points on this indicator, +{total} on the total"
    return {"text": text, "total_gain": n["total_gain"], "full": n.get("needs", "")}


def said_once(text: str, *already: str) -> str:
    """``text``, or nothing when one of ``already`` (shown beside it) says it: "同组不足 5 人（3 人），不作比较" is both
    an indicator's peer note and, its x missing, its note — a UI audit read it twice under one indicator."""
    return "" if text and any(text in a for a in already if a) else text


def card_page(session: Session, dictionary: Dictionary, card: Mapping[str, Any], lang: str) -> dict[str, Any]:
    """A score card (``evaluation.evaluate`` with ``trace="full"``) as the page shows it: dimensions with
    their indicators (formula with numbers, the rule that fired, points, contribution, 提升空间), bonus and
    penalty items with their events, vetoes, the grade and why, and the attribution chart's lines."""
    compiled = compiled_of(session, dictionary, card["scheme"]["version_id"])
    by_code = {ci.indicator.code: ci.indicator for ci in compiled.indicators}
    compiled_of_code = {ci.indicator.code: ci for ci in compiled.indicators}
    trace = card.get("trace") or {}
    metric_numbers = {m["name"]: m["value"] for m in trace.get("metrics", [])}
    substituted = {i["code"]: i.get("substituted", "") for i in trace.get("indicators", [])}
    prorated = _prorated_words(card, trace, lang)
    indicator_numbers = {i["name"]: i.get("value") for i in card.get("indicators", [])}
    dims: dict[str | None, dict[str, Any]] = {}
    for d in card.get("dimensions", []):
        dims[d["code"]] = {**d, "items": [], "extras": []}
    nearest = []
    for i in card.get("indicators", []):
        ind = by_code.get(i["code"])
        unit = ind.unit if ind is not None else ""
        scored = ind.scored if ind is not None else True
        # Cards published by engines before 2026.12.5 do not say whether an indicator applies and counts.
        applicable = i["applies"] if "applies" in i else not (i.get("value") is None and not i.get("points")
                                                                and "不适用" in (i.get("note") or ""))
        counted = i["counted"] if "counted" in i else scored and applicable
        rule, note, peer_note = said(i.get("rule"), lang), said(i.get("note"), lang), said(i.get("peer_note"), lang)
        if not scored and i.get("note") == ANALYSIS_ONLY:
            note = ""  # the row's "仅作分析" badge says it
        peer_note = said_once(peer_note, rule, note)
        row = {**i, "value_shown": _value(i.get("value"), unit), "scored": scored, "applicable": applicable,
               "counted": counted, "rule": rule, "note": note, "peer_note": peer_note,
               "filled": _filled(i.get("formula_labeled") or "", {**indicator_numbers, **metric_numbers}),
               "substituted": substituted.get(i["code"], ""),
               "prorated": prorated(i["code"], unit),
               "reference": _reference_words(compiled_of_code.get(i["code"]), i, unit, lang),
               "points_shown": fmt(round(i.get("points") or 0, 2)), "max_shown": fmt(round(i.get("max_points") or 0, 2)),
               "contribution_shown": f"{i.get('contribution') or 0:+.2f}"}
        if i.get("nearest"):
            row["nearest_words"] = _nearest(i["nearest"], _metric_label(compiled, i["nearest"]), unit, lang)
            if i["nearest"].get("total_gain", 0) > 0:  # a dimension zeroed by a veto: nothing to gain on the total
                nearest.append({"name": i["name"], **row["nearest_words"]})
        dims.setdefault(i.get("dimension"), {"code": i.get("dimension"), "name": "", "items": [], "extras": []})
        dims[i.get("dimension")]["items"].append(row)
    for d in dims.values():  # scored first, then analysis only, those not applying to this person's business last
        d["items"].sort(key=lambda r: (not r["applicable"], not r["scored"]))
    events = _events_behind(session, card, trace, lang)
    for a in card.get("adjustments", []):
        behind = _full_part(trace, "adjustments", a["code"])
        item = {**a, "note": said(a.get("note"), lang), "points_shown": f"{a['points']:+.2f}",
                "events": [events[e] for e in behind.get("event_ids", []) if e in events],
                "cases": list(behind.get("case_ids", []))[:MAX_EVENTS_SHOWN]}
        dims.setdefault(a.get("dimension"), {"code": a.get("dimension"), "name": "", "items": [], "extras": []})
        dims[a.get("dimension")]["extras"].append(item)
    vetoes = []
    for x in card.get("vetoes", []):
        behind = _full_part(trace, "vetoes", x["code"])
        vt = compiled.scheme.vetoes.get(x["code"])
        effects = veto_words(compiled.scheme, vt, lang) if vt is not None else [x["effect"]]
        vetoes.append({**x, "detail": said(x.get("detail"), lang), "effects": effects,
                       "events": [events[e] for e in behind.get("event_ids", []) if e in events]})
    nearest.sort(key=lambda n: -n["total_gain"])
    return {"dimensions": list(dims.values()), "vetoes": vetoes, "nearest": nearest[:5],
            "grade": grade_words(compiled, card, lang), "waterfall": waterfall(card, compiled, lang),
            "status_word": word(STATUS_WORDS, lang, card.get("status")), "kind": compiled.scheme.subject,
            "total_shown": "" if card.get("total") is None else fmt_total(card["total"]),
            # how the points become the total, in the scheme's own words (its page says the same)
            "combination": combination_words(compiled.scheme, lang),
            "span": compiled.scheme.combination.span if compiled.scheme.combination.method == "weighted" else None}


def _full_part(trace: Mapping[str, Any], part: str, code: str) -> Mapping[str, Any]:
    """The full trace's entry of an adjustment or veto (its event ids), or nothing."""
    found: Mapping[str, Any] = next((x for x in trace.get(part, []) if x["code"] == code), {})
    return found


def _metric_label(compiled: CompiledScheme, n: Mapping[str, Any]) -> str:
    return str(compiled.metric_labels.get(n.get("metric") or "", n.get("metric") or ""))


def _events_behind(session: Session, card: Mapping[str, Any], trace: Mapping[str, Any], lang: str) -> dict[str, dict[str, Any]]:
    """The events behind the bonus and penalty items and the vetoes (at most 20 each): date, type, case."""
    ids: list[str] = []
    for part in ("adjustments", "vetoes"):
        for x in trace.get(part, []):
            ids.extend(list(x.get("event_ids", []))[:MAX_EVENTS_SHOWN])
    if not ids:
        return {}
    datasets = [int(d["id"]) for d in card.get("datasets") or [] if isinstance(d, Mapping) and "id" in d] or None
    rows = facts.events_by_id(session, ids, datasets)
    names = dict(session.execute(select(EventType.code, EventType.name if _zh(lang) else EventType.name_en)
                                 .where(EventType.code.in_({r[3] for r in rows}))).all())
    return {r[0]: {"id": r[0], "on": r[1].isoformat() if isinstance(r[1], dt.date) else str(r[1]), "case": r[2] or "",
                   "type": names.get(r[3], r[3])} for r in rows}


def grade_words(compiled: CompiledScheme, card: Mapping[str, Any], lang: str) -> dict[str, Any]:
    """The grade and why: the bands, the engine's reason (band, veto, quota), the place in the quota group and,
    for each band with a quota, how many places the group has — and how far the total is from the next band."""
    g = compiled.scheme.grading
    rank = card.get("rank") or {}
    total = card.get("total")
    out: dict[str, Any] = {"grade": card.get("grade"),
                           "reason": said(card.get("grade_reason") or card.get("status_reason"), lang),
                           "bands": [], "quota": [], "next": None}
    if g is None:
        return out
    group = word(PEER_GROUP_WORDS, lang, rank.get("group"))
    size, place = rank.get("of"), rank.get("place")
    for i, b in enumerate(g.bands):
        out["bands"].append({"grade": b.grade, "min": fmt(b.min), "current": b.grade == card.get("grade")})
        if b.quota is not None and size:
            places = quota_places(b.quota, size, b.quota_rounding)
            inside = place is not None and place <= places
            if i:  # those graded a better band take none of its places: the place in the group does not tell
                text = (f"{b.grade}名额 {fmt_share(b.quota)} × 同组（{group}）{size} 人 = {places} 名"
                        f"（已评更高等次者不占用）" if _zh(lang) else
                        f"{b.grade} quota {fmt_share(b.quota)} × {size} in the group ({group}) = {places} places "
                        f"(those graded higher take none)")
            elif _zh(lang):
                text = (f"{b.grade}名额 {fmt_share(b.quota)} × 同组（{group}）{size} 人 = {places} 名；"
                        f"本人组内第 {place} 名，{'在名额内' if inside else '在名额外'}")
            else:
                text = (f"{b.grade} quota {fmt_share(b.quota)} × {size} in the group ({group}) = {places} places; "
                        f"place {place} in the group: {'within' if inside else 'outside'} the quota")
            out["quota"].append(text)
    if total is not None and card.get("status") == "evaluated":
        better = [b for b in g.bands if b.min > total]
        if better:
            b = better[-1]
            gap = b.min - total
            out["next"] = (f"距{b.grade}分数线 {fmt(b.min)} 分还差 {gap:.2f} 分" if _zh(lang)
                           else f"{gap:.2f} points short of {b.grade}'s lowest total ({fmt(b.min)})")
            if b.quota is not None:
                out["next"] += "（另受名额限制）" if _zh(lang) else " (quota permitting)"
    return out


def waterfall(card: Mapping[str, Any], compiled: CompiledScheme, lang: str) -> dict[str, Any]:
    """The attribution lines as a waterfall from the base to the total: per line its label, where its bar
    starts and its points (lines under 0.005 points — a rounding, an indicator scoring nothing — are summed
    into one bar, so the bars still add up exactly to the total)."""
    lines = card.get("attribution") or []
    bars: list[dict[str, Any]] = []
    rest = 0.0
    for line in lines:
        if line["kind"] == "base":
            bars.append({"label": KIND_WORDS[lang]["base"], "points": line["points"], "kind": "base"})
        elif abs(line["points"]) < 0.005:
            rest += line["points"]
        else:
            label = line["label"] if line["kind"] in ("indicator", "adjustment") else KIND_WORDS[lang].get(
                line["kind"], line["label"])
            bars.append({"label": label, "points": line["points"], "kind": line["kind"]})
    if abs(rest) >= 0.005:
        bars.append({"label": "其余" if _zh(lang) else "others", "points": rest, "kind": "rest"})
    running = 0.0
    for b in bars:
        b["start"] = running if b["kind"] != "base" else 0.0
        running += b["points"]
        b["end"] = running
    total = card.get("total") or running
    return {"bars": bars, "total": total, "total_label": "总分" if _zh(lang) else "total",
            "base": next((b["points"] for b in bars if b["kind"] == "base"), 0.0)}


def history_points(h: Mapping[str, Any], lang: str) -> dict[str, Any]:
    """A history (``rankings.history``) as the chart's series: the total and grade of each period the subject
    was graded in (a gap where not), and why not — consecutive periods with the same reason said once."""
    out: dict[str, Any] = {"periods": [], "totals": [], "grades": [], "places": [], "notes": []}
    gaps: list[tuple[str, str, str]] = []  # (first period, last period, why)
    for p in h.get("periods", []):
        graded = p.get("status") == "evaluated" and p.get("total") is not None
        out["periods"].append(p["period"])
        out["totals"].append(round(p["total"], 2) if graded else None)
        out["grades"].append(p.get("grade") or "" if graded else "")
        out["places"].append(f"{p['place']}/{p['of']}" if graded and p.get("place") else "")
        if not graded:
            why = said(p.get("note"), lang) or word(STATUS_WORDS, lang, p.get("status") or "excluded")
            # The reason names its month ("不参加 2020-06 考评：…"): without it, a run of months with one reason is said
            # once, its span before it (an audit read the same reason seven times).
            why = why.replace(f" in {p['period']}", "").replace(f" {p['period']} ", "").replace(str(p["period"]), "")
            if gaps and gaps[-1][2] == why and out["periods"][-2:-1] == [gaps[-1][1]]:
                gaps[-1] = (gaps[-1][0], p["period"], why)
            else:
                gaps.append((p["period"], p["period"], why))
    for first, last, why in gaps:
        span = first if first == last else (f"{first} 至 {last}" if _zh(lang) else f"{first} to {last}")
        out["notes"].append(f"{span}：{why}" if _zh(lang) else f"{span}: {why}")
    return out


def history_range(period: str) -> tuple[str, str]:
    """The months a card's history chart covers: those of the card's year (up to 24 months of a longer span)."""
    p = results.parse(period)
    return f"{p.start.year}-01", f"{p.start.year}-12"


# -- the procuratorate comparison --------------------------------------------------------------------------


def _named_note(cell: Mapping[str, Any], method: Mapping[str, Any], lang: str) -> str:
    """Why a unit named for a run behind the average may read 中游 or 上游 this period (an audit: a leader reading
    "连续 6 个月差于平均" beside 中游 sees a contradiction): the run counts any month worse than the average; the
    position allows the band around it, and the run need not reach the period's last month."""
    pos, band = cell.get("position"), fmt_share(method.get("band") or 0)
    parts = []
    if pos in ("中游", "上游"):
        parts.append(f"本期为{pos}：与平均值的差距在平均值的 {band} 以内或更优；连续落后只看是否差于平均值" if _zh(lang) else
                     f"{POSITION_EN[pos]} this period: within {band} of the average or better; the run counts any "
                     f"month worse than the average")
    if cell.get("streak", 0) < cell.get("longest", 0):
        parts.append(f"该段连续落后未延续到本期最后一个月（现连续 {cell.get('streak', 0)} 个月）" if _zh(lang) else
                     f"the run did not last to the period's last month (now {cell.get('streak', 0)} running)")
    return ("；" if _zh(lang) else "; ").join(parts)


def comparison_page(answer: Mapping[str, Any], compiled: CompiledScheme, lang: str) -> dict[str, Any]:
    """The comparison (``comparisons.comparison``) as a table: per unit and indicator the value, the group's
    average, the position (上游/中游/下游 as a colour class) and the months behind; laggard and streak flags."""
    units_of = {ci.indicator.code: ci.indicator.unit for ci in compiled.indicators}
    method = answer["method"]
    heads = []
    first = answer["units"][0]["indicators"] if answer["units"] else []
    for i in first:
        heads.append({"code": i["code"], "name": i["name"]})
    units = []
    for u in answer["units"]:
        cells = []
        for i in u["indicators"]:
            unit = units_of.get(i["code"], "")
            pos = i.get("position")
            title = (f"同组平均值 {_column(i.get('average'), unit)}；劣于平均值的月份：{'、'.join(i['months_worse']) or '无'}"
                     if _zh(lang) else f"group average {_column(i.get('average'), unit)}; months worse than the average: "
                     f"{', '.join(i['months_worse']) or 'none'}")
            cells.append({**i, "title": title, "value_shown": _column(i.get("value"), unit),
                          "average_shown": _column(i.get("average"), unit),
                          "position_word": pos if _zh(lang) or pos is None else POSITION_EN.get(pos, pos),
                          "css": POSITION_CLASS.get(pos or "", "none")})
        named = [{"name": c["name"], "months": c.get("longest_months") or c["months_worse"], "longest": c["longest"],
                  "note": _named_note(c, method, lang)} for c in cells if c["named"]]
        units.append({**u, "cells": cells, "level_name": word(LEVEL_WORDS, lang, u.get("level")),
                      "total_shown": "" if u.get("total") is None else fmt_total(u["total"]), "named": named})
    order = {"province": 0, "city": 1, "county": 2}
    units.sort(key=lambda u: (order.get(u.get("level") or "", 3), u.get("place") or 10**9, u["code"]))
    band = method.get("band")
    if _zh(lang):
        b = fmt_share(band or 0)  # of the average, not percentage points (an audit read "5% 以内" as ±5 points)
        legend = (f"与同组（{word(PEER_GROUP_WORDS, lang, method['group'])}）平均值相比：优于平均值 {b} 以上为上游，"
                  f"差距在平均值的 {b} 以内为中游，劣于平均值 {b} 以上为下游（{b} 指平均值的 {b}，不是百分点）")
        empty = method.get("streak_months_without_data") or []
        streak = (f"连续 {method['streak']} 个月劣于平均值即点名（看 {'、'.join(method['streak_months'])}"
                  + (f"；其中 {'、'.join(empty)} 没有数据，谁也不算落后" if empty else "") + "）"
                  if method.get("streak") else "")
    else:
        b = fmt_share(band or 0)
        legend = (f"Against the group's average ({word(PEER_GROUP_WORDS, lang, method['group'])}): better by more "
                  f"than {b} of the average is above average, within {b} of it near average, worse by more than {b} "
                  f"of it below average ({b} of the average, not percentage points)")
        empty = method.get("streak_months_without_data") or []
        streak = (f"Called out when worse than the average {method['streak']} months running (months read: "
                  f"{', '.join(method['streak_months'])}"
                  + (f"; {', '.join(empty)} without data: nobody is behind in them" if empty else "") + ")"
                  if method.get("streak") else "")
    return {"heads": heads, "units": units, "legend": legend, "streak": streak,
            "rules": [r["note"] if _zh(lang) else in_english(r["note"]) for r in method.get("laggard_rules", [])],
            "counts": _counts(units)}


def _counts(units: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    units = list(units)
    return {"units": len(units), "bottom_k": sum(1 for u in units if u["bottom_k"]),
            "bottom_share": sum(1 for u in units if u["bottom_share"]),
            "named": sum(1 for u in units if u["named"])}


__all__ = ["card_page", "comparison_page", "default_period", "figures_words", "history_points", "quota_words",
           "ranking_rows", "ranking_schemes", "waterfall"]
