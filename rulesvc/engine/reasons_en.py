"""A grade's reason and a participation reason in English, from the Chinese the engine stores.

The engine writes a grade's reason (``peers.grade_for``) and a subject's participation reason
(``participation.participation``) in Chinese, and that text is what rankings, cards and publications keep —
a published reason never changes. An English page or answer reads the same facts: each clause of the
stored text (clauses are separated by "；") is matched against the forms the engine writes and said again
in English; a clause of no known form (a veto's own name, a designer's words) stays as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from rulesvc.engine.participation import LEVEL_LABELS, NO_ACTIVITY_REASON, QUOTA_LABELS, REASON_LABELS_EN
from rulesvc.engine.scoring import points_en

ROUNDING_EN = {"向下取整": "rounded down", "四舍五入": "rounded half up", "向上取整": "rounded up",
               "向下取整但至少 1 名": "rounded down, at least 1"}
QUOTA_EN = {"员额检察官": "a quota prosecutor", "非员额人员": "not a quota prosecutor", "已退出员额": "left the quota"}
LEVEL_EN = {"省级院": "provincial", "市级院": "city-level", "基层院": "county-level"}
assert set(QUOTA_EN) == set(QUOTA_LABELS.values()) and set(LEVEL_EN) == set(LEVEL_LABELS.values())

_ROUNDING = "|".join(re.escape(k) for k in sorted(ROUNDING_EN, key=len, reverse=True))


def _quota(m: re.Match[str]) -> str:
    grade, share, size, rounding, places, above = (m.group(k) for k in ("g", "share", "n", "r", "p", "above"))
    text = (f"{grade} quota {share} × {size} evaluated = {places} place{'s' if places != '1' else ''} "
            f"({ROUNDING_EN[rounding]}); {above} who may be graded {grade} have a total at least this one's")
    if m.group("others"):
        text += " (those graded a better band take none of its places)"
    text += ": over the quota"
    if m.group("tied"):
        text += f" (tied with {m.group('tied')}: the tied stand or fall together, the quota is never exceeded)"
    return text


def _levels(words: str) -> str:
    return ", ".join(LEVEL_EN.get(w, w) for w in words.split("、"))


_FORMS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (re.compile(r"总分 (?P<t>\S+) ≥ (?P<min>\S+) → (?P<g>.+)"), lambda m: f"total {m['t']} ≥ {m['min']} → {m['g']}"),
    (re.compile(r"总分 (?P<t>\S+) 低于最低等次分数线.*"), lambda m: f"total {m['t']} is below every band's lowest total"),
    (re.compile(r"总分 (?P<t>\S+) 低于(?P<b>.+?)分数线 (?P<min>\S+) → (?P<g>.+)"),
     lambda m: f"total {m['t']} is below {m['b']}'s lowest total {m['min']} → {m['g']}"),
    (re.compile(r"一票否决：不得评为(?P<g>(?:(?! → ).)+)"), lambda m: f"veto: may not be graded {m['g']}"),
    (re.compile(r"(?P<v>.+)：等次最高为(?P<g>(?:(?! → ).)+)"), lambda m: f"{m['v']}: graded {m['g']} at best"),
    (re.compile(r"(?P<g>.+?)名额 (?P<share>\S+) × (?P<n>\d+) 人，(?P<r>" + _ROUNDING + r")共 (?P<p>\d+) 名，"
                r"可评(?P=g)且总分不低于本人者 (?P<above>\d+) 名(?P<others>（已评更高等次者不占本等次名额）)?"
                r"(?:，超出名额| → 顺延)"  # (the second: reasons stored before engine 2026.12.12)
                r"(?:（与 (?P<tied>\d+) 人同分，同分者(?:同进同退，名额不得超出|一并顺延，名额不超出)）)?"), _quota),
    (re.compile(r"(?P<g>.+?)名额（(?P<q>[^）]+)）未核定：缺少同组总分.*"),
     lambda m: f"{m['g']} quota ({m['q']}) not checked: the group's totals are missing"),
    (re.compile(re.escape(NO_ACTIVITY_REASON)), lambda m: REASON_LABELS_EN["no_activity"]),
    (re.compile(r"本期间不在任（任职 (?P<a>\S+) 至 ?(?P<b>\S+)），不参加考评"),
     lambda m: f"not in office during the period (in office {m['a']} to {_until(m['b'])}): not evaluated"),
    (re.compile(r"本期间在任 (?P<d>\d+) 天（任职 (?P<a>\S+) 至 ?(?P<b>\S+)），不足期间 (?P<t>\d+) 天的 (?P<s>\S+)，不参加等次评定"),
     lambda m: f"in office {m['d']} of the period's {m['t']} days (in office {m['a']} to {_until(m['b'])}), "
               f"less than {m['s']}: not graded"),
    (re.compile(r"(?P<q>" + "|".join(map(re.escape, QUOTA_EN)) + r")，不参加考评"),
     lambda m: f"{QUOTA_EN[m['q']]}: not evaluated by this scheme"),
    (re.compile(r"本方案只考评(?P<l>[^，]+)，(?P<x>[^，]+)不参加考评"),
     lambda m: f"this scheme evaluates only {_levels(m['l'])} procuratorates: {_levels(m['x'])} ones are not evaluated"),
)


_GROUP = r"(?P<label>省级院|市级院|基层院|全部|\S+?)"
_WHEN_SMALL_EN = {"不作末位标记": "none is flagged", "全部标记": "all are flagged", "只标记末位 1 个": "only the last is flagged"}


def _group_en(label: str) -> str:
    return {"全部": "all units", **{k: f"{v} units" for k, v in LEVEL_EN.items()}}.get(label, label)


# A procuratorate comparison's laggard rules (``comparison.laggard_rules``), as the method states them.
_FORMS += (
    (re.compile(_GROUP + r" (?P<n>\d+) 个：排名末 (?P<k>\d+) 位须书面说明"),
     lambda m: f"{_group_en(m['label'])} ({m['n']}): the last {m['k']} must explain in writing"),
    (re.compile(_GROUP + r"仅 (?P<n>\d+) 个，不多于 (?P<k>\d+) 个：(?P<what>[^（]+)（bottom_k_when_small: \w+）"),
     lambda m: f"{_group_en(m['label'])}: only {m['n']}, not more than {m['k']}: "
               f"{_WHEN_SMALL_EN.get(m['what'], m['what'])}"),
    (re.compile(_GROUP + r" (?P<n>\d+) 个：后 (?P<s>\S+) 即 (?P=n) × (?P=s) (?P<r>" + _ROUNDING
                + r")为 (?P<p>\d+) 个须书面说明"),
     lambda m: f"{_group_en(m['label'])} ({m['n']}): the last {m['s']} ({m['n']} × {m['s']}, {ROUNDING_EN[m['r']]}"
               f" = {m['p']}) must explain in writing"),
)


# An indicator's rule that fired (``scoring`` branch texts, ``explain.describe_branch``): "{x} 达到 ≥ 80% 档 → 4 分".
_X_EN = (("组内百分位 ", "percentile in the group "), ("与平均值之比 ", "ratio to the average "),
         ("与最优者之比 ", "ratio to the best "), ("平均值与本值之比 ", "the average's ratio to this value "),
         ("最优值与本值之比 ", "the best's ratio to this value "))
_MISSING_EN = {"计零分": "scores 0", "计最低分": "scores the lowest points", "计满分": "scores full points",
               "不计入": "excluded"}


def _x(text: str) -> str:
    if text == "无数据":
        return "no data"
    if text.startswith("本人为 0（"):
        return "0 (lower is better: better than any ratio in the group)"
    for zh, en in _X_EN:
        if text.startswith(zh):
            return en + text[len(zh):]
    return text


def _pts(n: str) -> str:
    return f"{n} {points_en(n)}"


_N = r"(?P<{}>\S+)"
_FORMS += tuple((re.compile(r"(?P<x>.+?) " + pattern), say) for pattern, say in (
    (r"在 (?P<w>\S+) 与 (?P<b>\S+) 之间，按(?:比例计|线性插值得) (?P<p>\S+) 分",  # (the second: cards before 2026.12.12)
     lambda m: f"{_x(m['x'])} is between {m['w']} and {m['b']}: in proportion, {_pts(m['p'])}"),
    (r"在“(?P<op>[≥≤]) (?P<t>\S+)”档 → (?P<p>\S+) 分",
     lambda m: f"{_x(m['x'])} is in the {m['op']} {m['t']} tier → {_pts(m['p'])}"),
    (r"(?P<dir>低于|高于) (?P<t>\S+)，不在任何一档 → (?P<p>\S+) 分",
     lambda m: f"{_x(m['x'])} is {'below' if m['dir'] == '低于' else 'above'} {m['t']}, in no tier → {_pts(m['p'])}"),
    (r"达到 (?P<b>\S+) → 满分 (?P<p>\S+) 分", lambda m: f"{_x(m['x'])} reaches {m['b']} → full {_pts(m['p'])}"),
    (r"达到 (?P<op>[≥≤]) (?P<t>\S+) 档 → (?P<p>\S+) 分",
     lambda m: f"{_x(m['x'])} reaches the {m['op']} {m['t']} tier → {_pts(m['p'])}"),
    (r"低于最低档 (?P<t>\S+) → (?P<p>\S+) 分", lambda m: f"{_x(m['x'])} is below the lowest tier {m['t']} → {_pts(m['p'])}"),
    (r"高于最低档 (?P<t>\S+) → (?P<p>\S+) 分", lambda m: f"{_x(m['x'])} is above the lowest tier {m['t']} → {_pts(m['p'])}"),
    (r"未达到 (?P<t>\S+) → (?P<p>\S+) 分", lambda m: f"{_x(m['x'])} falls short of {m['t']} → {_pts(m['p'])}"),
    (r"不优于 (?P<t>\S+) → (?P<p>\S+) 分", lambda m: f"{_x(m['x'])} is no better than {m['t']} → {_pts(m['p'])}"),
    (r"达到 (?P<t>\S+) → (?P<p>\S+) 分", lambda m: f"{_x(m['x'])} reaches {m['t']} → {_pts(m['p'])}"),
    (r"不高于 (?P<t>\S+) → (?P<p>\S+) 分", lambda m: f"{_x(m['x'])} is not above {m['t']} → {_pts(m['p'])}"),
    (r"高于 (?P<t>\S+) → (?P<p>\S+) 分", lambda m: f"{_x(m['x'])} is above {m['t']} → {_pts(m['p'])}"),
    (r"无计分事项 → 0 分", lambda m: f"{_x(m['x'])}: nothing to score → 0 points"),
    (r"× (?P<e>\S+) 分 = (?P<p>\S+) 分", lambda m: f"{_x(m['x'])} × {_pts(m['e'])} = {_pts(m['p'])}"),
    (r"× (?P<e>\S+) 分，封顶 (?P<c>\S+) 分", lambda m: f"{_x(m['x'])} × {_pts(m['e'])}, capped at {_pts(m['c'])}"),
))
_FORMS += (
    (re.compile(r"(?P<w>无数据|无数据或同组无从比较（原因见说明）) → (?P<m>计零分|计最低分|计满分|不计入)(?:：(?P<p>\S+) 分)?"),
     lambda m: ("no data" if m["w"] == "无数据" else "no data, or nothing to compare with in the group (see the note)")
     + f" → {_MISSING_EN[m['m']]}" + (f": {_pts(m['p'])}" if m["p"] else "")),
)


def _until(day: str) -> str:
    return "today" if day == "今" else day


def _clause(text: str) -> str | None:
    for pattern, say in _FORMS:
        m = pattern.fullmatch(text)
        if m:
            return say(m)
    return None


def in_english(text: str) -> str:
    """``text`` (a stored grade or participation reason) in English, clause by clause; a clause of no known
    form is kept as written. The last clause may carry the grade it ends in (" → 良好"), which stays."""
    clauses = text.split("；")
    out = []
    for i, clause in enumerate(clauses):
        said = _clause(clause)
        if said is None and i == len(clauses) - 1 and " → " in clause:
            head, _, grade = clause.rpartition(" → ")
            head_said = _clause(head)
            said = None if head_said is None else f"{head_said} → {grade}"
        out.append(clause if said is None else said)
    return "; ".join(out)


__all__ = ["in_english"]
