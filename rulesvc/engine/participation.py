"""Who is evaluated in a period (参加考评), who is scored but not graded, and who is left out.

One function decides it for both executors, from the subject's reference data and the period:

- **left out** (不参加考评: no score, no rank, in no group): a prosecutor whose quota status the scheme
  does not take (default: only 员额 — quota prosecutors, including one who has since left the quota,
  for the days before they left), who was not in office on any day of the period (active dates), or
  whose procuratorate's level the scheme does not take;
- **not graded** (不参加等次评定: scored and shown with the reason, but no grade, no rank, and in no
  quota group or peer statistic): in office for less than ``min_office_share`` of the period, or (decided
  after the metrics, see ``no_activity``) without any event the scheme's metrics count;
- **evaluated** (参加考评): everyone else.

The share of the period in office is days in office within the period ÷ days of the period, both
counted inclusively (a prosecutor in office from 1 July in 2020 has 184 / 366 = 50.3 %).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rulesvc.engine.model import Scheme
from rulesvc.engine.scoring import fmt

EVALUATED, NOT_GRADED, EXCLUDED = "evaluated", "not_graded", "excluded"
STATUS_LABELS = {EVALUATED: "参加考评", NOT_GRADED: "不参加等次评定", EXCLUDED: "不参加考评"}
QUOTA_LABELS = {"quota": "员额检察官", "non_quota": "非员额人员", "exited": "已退出员额"}
LEVEL_LABELS: dict[Any, str] = {"province": "省级院", "city": "市级院", "county": "基层院"}
NO_ACTIVITY_REASON = "本期间没有计入本方案各项指标的业务数据（零办案），不参加等次评定"
# The reason codes in words that hold for everyone with the code (a count of people is told this way;
# each person's own reason, with their dates, is in ``Participation.reason``).
REASON_LABELS = {
    "quota_status": "员额状态不在本方案考评之列（如非员额人员），不参加考评",
    "not_in_office": "本期间不在任，不参加考评",
    "level": "检察院层级不在本方案考评之列，不参加考评",
    "short_tenure": "本期间在任时间不足方案规定的比例，不参加等次评定",
    "no_activity": NO_ACTIVITY_REASON,
}
REASON_LABELS_EN = {
    "quota_status": "their quota status is not one this scheme evaluates (e.g. not a quota prosecutor)",
    "not_in_office": "not in office during the period",
    "level": "the procuratorate's level is not one this scheme evaluates",
    "short_tenure": "in office for less of the period than the scheme requires, so not graded",
    "no_activity": "nothing this scheme's indicators count was recorded in the period (no cases), so not graded",
}


@dataclass(frozen=True)
class Participation:
    """How one subject takes part in one period: ``status``, a reason ``code`` and its words."""

    status: str
    code: str = ""  # quota_status | not_in_office | level | short_tenure | no_activity
    reason: str = ""
    office_share: float = 1.0
    days_in_office: int | None = None


def _days(a: dt.date, b: dt.date) -> int:
    return (b - a).days + 1


def office_days(active_from: dt.date | None, active_to: dt.date | None, start: dt.date, end: dt.date) -> int:
    """Days in office within ``[start, end]`` (both inclusive, as are the active dates)."""
    lo = max(active_from, start) if active_from else start
    hi = min(active_to, end) if active_to else end
    return max(0, _days(lo, hi)) if lo <= hi else 0


def participation(scheme: Scheme, row: Mapping[str, Any], start: dt.date | None, end: dt.date | None) -> Participation:
    """The participation of the subject described by ``row`` (a subjects-frame row: ``level``, and for
    prosecutors ``quota_status``, ``active_from``, ``active_to``) in the period ``[start, end]``.
    Without a period (``start`` None) only the quota status and level are checked."""
    rules = scheme.participants
    level = row.get("level")
    if rules.levels and level not in rules.levels:
        taken = "、".join(LEVEL_LABELS.get(x, x) for x in rules.levels)
        return Participation(EXCLUDED, "level", f"本方案只考评{taken}，{LEVEL_LABELS.get(level, level or '—')}不参加考评",
                             0.0)
    if scheme.subject != "prosecutor":
        return Participation(EVALUATED)
    status = row.get("quota_status") or "quota"
    as_quota = "quota" if status == "exited" else status  # in the quota until the day they left it
    if as_quota not in rules.quota_statuses:
        return Participation(EXCLUDED, "quota_status", f"{QUOTA_LABELS.get(status, status)}，不参加考评", 0.0)
    if start is None or end is None:
        return Participation(EVALUATED)
    a_from, a_to = row.get("active_from"), row.get("active_to")
    days = office_days(a_from, a_to, start, end)
    span = f"任职 {a_from or '—'} 至 {a_to}" if a_to else f"任职 {a_from or '—'} 至今"
    if days == 0:
        return Participation(EXCLUDED, "not_in_office", f"本期间不在任（{span}），不参加考评", 0.0, 0)
    total = _days(start, end)
    share = days / total
    if share < rules.min_office_share:
        return Participation(
            NOT_GRADED, "short_tenure",
            f"本期间在任 {days} 天（{span}），不足期间 {total} 天的 {fmt(rules.min_office_share, '%')}，不参加等次评定",
            share, days)
    return Participation(EVALUATED, office_share=share, days_in_office=days)
