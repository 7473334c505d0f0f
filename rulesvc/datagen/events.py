"""Twelve (or N) months of events for every prosecutor of the demo province.

Calibrated on the figures of the seeds (see ``../shared/domain.md``): about 80 cases per prosecutor a
year, 案-件比 between 1:1.2 and 1:2.3, plea leniency 78–89 %, definite sentencing recommendations
69–81 %, adoption about 96 %; about 45 % of units improve over the year as Jilin did. Each unit's
parameters move linearly from their start-of-year to their end-of-year value, and each prosecutor
works a little better or worse than their unit (``Person.skill``) so indicators vary within a unit.

Events are yielded as plain tuples in a stream (never all in memory), already typed per the data
dictionary, so the loader can write a million of them with ``COPY``.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Iterator
from typing import Any

from rulesvc.datagen.province import Person

# Per case-handling prosecutor; with leaders, execution and complaint staff the province averages ~80
# cases per prosecutor a year (seed: 83.2).
CASES_PER_YEAR = 100.0
LEADER_CASELOAD = 0.4  # leaders handle cases too, fewer of them (Yunnan: a ratio coefficient)
CRIMINAL_CASE_BUSINESSES = {"ordinary_crime", "serious_crime", "duty_crime", "economic_crime", "juvenile"}
CATEGORY_OF = {
    "ordinary_crime": "ordinary", "serious_crime": "serious", "duty_crime": "duty",
    "economic_crime": "economic", "juvenile": "juvenile",
}
CHARGES = {
    "ordinary": ("盗窃罪", "危险驾驶罪", "故意伤害罪", "诈骗罪", "寻衅滋事罪", "交通肇事罪", "开设赌场罪"),
    "serious": ("故意杀人罪", "抢劫罪", "贩卖毒品罪", "组织、领导、参加黑社会性质组织罪", "强奸罪"),
    "duty": ("贪污罪", "受贿罪", "挪用公款罪", "滥用职权罪", "玩忽职守罪"),
    "economic": ("非法吸收公众存款罪", "集资诈骗罪", "合同诈骗罪", "虚开增值税专用发票罪", "非法经营罪"),
    "juvenile": ("盗窃罪", "抢劫罪", "聚众斗殴罪", "寻衅滋事罪"),
}
SUPERVISION_KIND_ADOPT = {"protest": 0.90, "retrial_rec": 0.73, "trial_rec": 0.87, "execution_rec": 0.81}
SUPERVISION_KINDS = (("protest", 0.10), ("retrial_rec", 0.20), ("trial_rec", 0.35), ("execution_rec", 0.35))
PIL_DOMAINS = (("ecology", 0.40), ("black_soil", 0.10), ("food_drug", 0.20), ("state_assets", 0.15),
               ("land", 0.10), ("other", 0.05))
# 不批捕复议/复核 is recorded on the arrest review itself (arrest_review.reconsidered), not here.
EXTRA_KINDS = (("arrest_complaint", 0.14), ("non_arrest_review", 0.0), ("non_prosecution_review", 0.14),
               ("detention_extension", 0.30), ("second_instance", 0.25), ("remand", 0.06), ("retrial", 0.02),
               ("other", 0.07))
HEARING_SUBJECTS = ("complaint", "non_prosecution", "judicial_aid", "civil_administrative", "public_interest")

# (event_type, prosecutor index or None, unit index, case_id, date, attrs)
RawEvent = tuple[str, int | None, int, str | None, dt.date, dict[str, Any]]


def month_starts(start: dt.date, months: int) -> list[dt.date]:
    out = []
    y, m = start.year, start.month
    for _ in range(months):
        out.append(dt.date(y, m, 1))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _days_in_month(d: dt.date) -> int:
    nxt = dt.date(d.year + 1, 1, 1) if d.month == 12 else dt.date(d.year, d.month + 1, 1)
    return (nxt - d).days


def _poisson(rng: random.Random, lam: float) -> int:
    """Knuth's method; fine for the small means used here."""
    if lam <= 0:
        return 0
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _choose(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    r, acc = rng.random(), 0.0
    for value, w in weighted:
        acc += w
        if r < acc:
            return value
    return weighted[-1][0]


def _clip01(x: float) -> float:
    return min(0.999, max(0.001, x))


class EventStream:
    """Generates the events of one province, month by month, prosecutor by prosecutor."""

    def __init__(self, rng: random.Random, people: list[Person], start: dt.date, months: int) -> None:
        self.rng = rng
        self.people = people
        self.months = month_starts(start, months)
        self.end = self.months[-1] + dt.timedelta(days=_days_in_month(self.months[-1]) - 1)
        self.case_seq: dict[str, int] = {}

    def _param(self, person: Person, name: str, t: float) -> float:
        lo, hi = person.unit.params[name]
        return lo + (hi - lo) * t

    def _active(self, person: Person, month: dt.date) -> bool:
        return person.active_to is None or person.active_to >= month

    def _new_case_id(self, person: Person, day: dt.date, prefix: str) -> str:
        key = f"{person.unit.code}-{prefix}-{day.year}"
        seq = self.case_seq.get(key, 0) + 1
        self.case_seq[key] = seq
        return f"{key}-{seq:06d}"

    def __iter__(self) -> Iterator[RawEvent]:
        n_months = len(self.months)
        for mi, month in enumerate(self.months):
            t = mi / max(1, n_months - 1)
            # Supervision actions rose sharply in Q2 (Jilin: +82.6 % filings, +60.6 % withdrawals).
            season = 1.6 if month.month in (4, 5, 6) else 1.0
            for person in self.people:
                if not self._active(person, month):
                    continue
                yield from self._month_of(person, month, t, season)

    def _month_of(self, p: Person, month: dt.date, t: float, season: float) -> Iterator[RawEvent]:
        rng = self.rng
        load = CASES_PER_YEAR / 12 * (LEADER_CASELOAD if p.is_leader else 1.0) * rng.uniform(0.8, 1.2)
        dim = _days_in_month(month)
        if p.business in CRIMINAL_CASE_BUSINESSES:
            for _ in range(_poisson(rng, load)):
                yield from self._criminal_case(p, month + dt.timedelta(days=rng.randrange(dim)), t)
            for _ in range(_poisson(rng, 0.25 * season)):
                action = _choose(rng, (("filing", 0.4), ("withdrawal", 0.25), ("correction", 0.35)))
                yield ("supervision_action", p.index, p.unit.index, None,
                       month + dt.timedelta(days=rng.randrange(dim)), {"action": action, "adopted": rng.random() < 0.9})
        elif p.business in ("civil", "administrative"):
            etype = "civil_supervision" if p.business == "civil" else "administrative_supervision"
            for _ in range(_poisson(rng, load)):
                day = month + dt.timedelta(days=rng.randrange(dim))
                kind = _choose(rng, SUPERVISION_KINDS)
                r = rng.random()
                outcome = "pending" if r < 0.1 else ("adopted" if rng.random() < SUPERVISION_KIND_ADOPT[kind] else "rejected")
                attrs: dict[str, Any] = {"kind": kind, "outcome": outcome}
                if etype == "administrative_supervision":
                    attrs["dispute_resolved"] = rng.random() < 0.3
                yield (etype, p.index, p.unit.index, self._new_case_id(p, day, "MX"), day, attrs)
        elif p.business == "public_interest":
            for _ in range(_poisson(rng, load)):
                day = month + dt.timedelta(days=rng.randrange(dim))
                if rng.random() < 0.9:
                    attrs = {"stage": "pre_litigation",
                             "outcome": "rectified" if rng.random() < 0.985 else "not_rectified"}
                else:
                    attrs = {"stage": "lawsuit", "outcome": "supported" if rng.random() < 0.895 else "rejected"}
                attrs["domain"] = _choose(rng, PIL_DOMAINS)
                yield ("public_interest_case", p.index, p.unit.index, self._new_case_id(p, day, "GY"), day, attrs)
        elif p.business == "complaint_appeal":
            for _ in range(_poisson(rng, 2.0)):
                resolved = rng.random() < self._param(p, "hearing_resolved", t) + 0.03 * p.skill
                yield ("public_hearing", p.index, p.unit.index, None, month + dt.timedelta(days=rng.randrange(dim)),
                       {"subject": rng.choice(HEARING_SUBJECTS), "resolved": resolved})
            for _ in range(_poisson(rng, 0.6)):
                n = 1 + _poisson(rng, 0.4)
                yield ("judicial_aid", p.index, p.unit.index, None, month + dt.timedelta(days=rng.randrange(dim)),
                       {"recipients": n, "amount": round(n * rng.uniform(3000, 30000), 2)})
        else:  # criminal execution: supervision of prisons and community correction
            for _ in range(_poisson(rng, load * 0.5)):
                yield ("supervision_action", p.index, p.unit.index, None,
                       month + dt.timedelta(days=rng.randrange(dim)),
                       {"action": "correction", "adopted": rng.random() < 0.92})
        yield from self._people_events(p, month, dim)

    def _people_events(self, p: Person, month: dt.date, dim: int) -> Iterator[RawEvent]:
        rng = self.rng
        if p.business not in ("complaint_appeal",) and rng.random() < 0.04:
            yield ("public_hearing", p.index, p.unit.index, None, month + dt.timedelta(days=rng.randrange(dim)),
                   {"subject": "non_prosecution", "resolved": rng.random() < 0.8})
        if rng.random() < 0.008:
            kind = _choose(rng, (("honour", 0.6), ("typical_case", 0.3), ("guiding_case", 0.1)))
            level = _choose(rng, (("city", 0.6), ("provincial", 0.33), ("national", 0.07)))
            title = {"honour": "优秀检察官", "typical_case": "典型案例", "guiding_case": "指导性案例"}[kind]
            yield ("honour", p.index, p.unit.index, None, month + dt.timedelta(days=rng.randrange(dim)),
                   {"kind": kind, "level": level, "title": title})
        # Negative list: rare, and rarer for better prosecutors.
        if rng.random() < 0.012 * (1 - 0.5 * p.skill):
            kind = _choose(rng, (("overdue", 0.45), ("overdue_detained", 0.1), ("procedural_defect", 0.2),
                                 ("late_disclosure", 0.23), ("wrongful_case", 0.02)))
            yield ("disciplinary_finding", p.index, p.unit.index, None,
                   month + dt.timedelta(days=rng.randrange(dim)),
                   {"kind": kind, "responsible": kind != "wrongful_case" or rng.random() < 0.7})

    def _criminal_case(self, p: Person, accepted: dt.date, t: float) -> Iterator[RawEvent]:
        rng, u = self.rng, p.unit.index
        end = self.end
        case_id = self._new_case_id(p, accepted, "XS")
        category = CATEGORY_OF[p.business]
        suspects = 1 + _poisson(rng, 0.65)
        detained = rng.random() < 0.55
        organized = category == "serious" and rng.random() < 0.12
        yield ("case_accepted", p.index, u, case_id, accepted,
               {"suspects": suspects, "detained": detained, "category": category, "organized_crime": organized,
                "charge": rng.choice(CHARGES[category])})
        # Extra proceedings (件): each adds one to 案-件比. Returns for supplementary investigation
        # and extensions are a minority of them (a county report: 退查率 4.56 %); the rest are the
        # other extra stages of the 16-item list (appeals, reviews, second instance …).
        ratio = self._param(p, "ratio", t) - 0.12 * p.skill
        extras = min(6, _poisson(rng, max(0.0, ratio - 1.0)))
        day = accepted
        returns = 0
        extensions = 0
        for _ in range(extras):
            day = day + dt.timedelta(days=rng.randint(5, 30))
            r = rng.random()
            if returns < 2 and r < 0.12:
                returns += 1
                if day <= end:
                    yield ("supplementary_investigation", p.index, u, case_id, day, {"round": returns})
            elif extensions < 3 and r < 0.22:
                extensions += 1
                if day <= end:
                    yield ("review_extension", p.index, u, case_id, day, {"days": 15})
            elif day <= end:
                yield ("extra_proceeding", p.index, u, case_id, day, {"kind": _choose(rng, EXTRA_KINDS)})
        concluded = day + dt.timedelta(days=rng.randint(7, 30))
        judged = concluded + dt.timedelta(days=rng.randint(15, 60))
        plea_p = _clip01(self._param(p, "plea", t) + 0.03 * p.skill)
        def_p = _clip01(self._param(p, "definite", t) + 0.04 * p.skill)
        adopt_p = _clip01(self._param(p, "adopt", t) + 0.01 * p.skill)
        non_arrest_p = self._param(p, "non_arrest", t)
        non_pros_p = self._param(p, "non_prosecute", t)
        review_p = self._param(p, "review", t)
        for s in range(1, suspects + 1):
            sid = f"{case_id}-S{s}"
            arrested = False
            if detained and rng.random() < 0.8:
                arrested = rng.random() >= non_arrest_p
                reconsidered = not arrested and rng.random() < 0.05
                yield ("arrest_review", p.index, u, case_id, accepted - dt.timedelta(days=rng.randint(3, 7)),
                       {"suspect_id": sid, "decision": "arrest" if arrested else "not_arrest",
                        "reconsidered": reconsidered, "reversed": reconsidered and rng.random() < 0.2})
            if concluded > end:
                continue
            plea = rng.random() < plea_p
            r = rng.random()
            decision = "prosecute"
            if r < non_pros_p * (0.5 if arrested else 1.2):
                decision = "conditional_not_prosecute" if category == "juvenile" and rng.random() < 0.4 else "not_prosecute"
            rec = "none"
            if decision == "prosecute" and plea:
                rec = "definite" if rng.random() < def_p else "ranged"
            attrs: dict[str, Any] = {
                "suspect_id": sid, "decision": decision, "accepted_on": accepted.isoformat(),
                "arrested": arrested, "plea_leniency": plea, "sentencing_rec": rec,
                "juvenile": category == "juvenile", "organized_crime": organized,
                "self_investigated": rng.random() < 0.05,
            }
            if not plea:  # Ningxia: a written reason for every case without plea leniency (反向审核说明)
                attrs["no_plea_reason"] = rng.choice(("犯罪嫌疑人不认罪", "对指控事实有异议", "不同意量刑建议"))
            yield ("prosecution_review", p.index, u, case_id, concluded, attrs)
            if decision != "prosecute":
                continue
            if rng.random() < 0.004:
                if concluded + dt.timedelta(days=10) <= end:
                    yield ("prosecution_withdrawn", p.index, u, case_id, concluded + dt.timedelta(days=10),
                           {"suspect_id": sid, "reason": "证据发生变化"})
                continue
            if judged > end:
                continue
            r = rng.random()
            result = "acquitted" if r < 0.001 else ("exempt" if r < 0.03 else "convicted")
            yield ("court_judgment", p.index, u, case_id, judged, {
                "suspect_id": sid, "result": result,
                "charge_changed": rng.random() < (0.03 if organized else 0.01),
                "rec_made": rec != "none", "rec_adopted": rec != "none" and rng.random() < adopt_p,
                "appealed": rng.random() < (0.036 if plea else 0.15), "protested": rng.random() < 0.005,
                "plea_leniency": plea,
            })
        if concluded <= end and rng.random() < review_p:
            review_day = min(end, concluded + dt.timedelta(days=rng.randint(10, 40)))
            level = _choose(rng, (("province", 0.1), ("city", 0.3), ("county", 0.6)))
            q = rng.random() - 0.04 * p.skill
            rating = "excellent" if q < 0.10 else "qualified" if q < 0.90 else "flawed" if q < 0.98 else "failed"
            yield ("quality_review", p.index, u, case_id, review_day, {"reviewer_level": level, "rating": rating})
