"""Twelve (or N) months of events for every prosecutor of the demo province.

Calibrated on the figures of the seeds (see ``../shared/domain.md``): about 80 cases per prosecutor a
year; the province as a whole replays Jilin (案-件比 1:2.29 → 1:1.35, plea leniency 78.3 % → 84.4 %,
definite sentencing recommendations 69.3 % → 80.8 %) and county 910101 replays Meihekou
(:mod:`rulesvc.datagen.province` draws and calibrates the units); adoption about 96 %.

Time: the parameters hold their start values over the first two months, then move month by month in
equal steps to their end values in the last month. Each decision takes the value of the month it is
made in — an extra proceeding (件) the month it happens, plea leniency and the sentencing
recommendation the month the review concludes — so a month's measured figures are that month's
parameters, without the lag of cases accepted earlier. Each prosecutor works a little better or worse
than their unit (``Person.skill``) so indicators vary within a unit.

January is not empty of older work: the stream first simulates the cases accepted in the
``WARMUP_MONTHS`` before the start and keeps only their events dated inside the period (their extra
proceedings, reviews and judgments). No event lies outside its prosecutor's time in office.

Events are yielded as plain tuples in a stream (never all in memory), already typed per the data
dictionary, so the loader can write a million of them with ``COPY``.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import zlib
from collections.abc import Iterator
from typing import Any

from rulesvc.datagen.province import CRIMINAL_CASE_BUSINESSES, LEADER_CASELOAD, Person

# Per case-handling prosecutor; with leaders, execution and complaint staff the province averages ~80
# cases per prosecutor a year (seed: 83.2).
CASES_PER_YEAR = 100.0
# Cases accepted in these months before the start are simulated for their events inside the period.
WARMUP_MONTHS = 4
MAX_EXTRAS = 8  # extra proceedings of one case, at most
# Suspects, detention and the extra proceedings that do not come from the 案-件比 draw: reconsidered
# non-arrests (arrest_review.reconsidered) and withdrawn prosecutions. The draw leaves room for them.
SUSPECTS_MEAN = 1.65  # 1 + Poisson(0.65)
DETAINED = 0.55
ARREST_REVIEWED = 0.8
RECONSIDERED = 0.05
WITHDRAWN = 0.004
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


def _add_months(d: dt.date, n: int) -> dt.date:
    y, m = divmod(d.year * 12 + d.month - 1 + n, 12)
    return dt.date(y, m + 1, 1)


class EventStream:
    """Generates the events of one province, month by month, prosecutor by prosecutor."""

    def __init__(self, rng: random.Random, people: list[Person], start: dt.date, months: int,
                 warmup_months: int = WARMUP_MONTHS) -> None:
        self.rng = rng
        self.people = people
        self.months = month_starts(start, months)
        self.warmup = month_starts(_add_months(start, -warmup_months), warmup_months) if warmup_months else []
        self.start = self.months[0]
        self.end = self.months[-1] + dt.timedelta(days=_days_in_month(self.months[-1]) - 1)
        self.case_seq: dict[str, int] = {}
        # Progress from the start values (0) to the end values (1): flat over the first two months,
        # then equal monthly steps up to the last month.
        n = len(self.months)
        self.progress = [0.0 if n <= 2 else min(1.0, max(0.0, (i - 1) / (n - 2))) for i in range(n)]
        # The same by month number (year × 12 + month), from the warm-up to two years after the end.
        month0 = self.start.year * 12 + self.start.month
        self.progress_of = {month0 + i: self.progress[min(max(i, 0), n - 1)] for i in range(-warmup_months, n + 24)}
        # Each prosecutor's time in office within the period (first > last: never in office).
        self.office = [(max(self.start, p.active_from), min(self.end, p.active_to or self.end)) for p in people]
        # Extra proceedings per case drawn from 案-件比, as a line in the progress: a + b·t.
        self.extras_line = [self._extras_line(p) for p in people]

    def _extras_line(self, p: Person) -> tuple[float, float]:
        lo, hi = p.unit.params["ratio"]
        non_arrest = p.unit.params["non_arrest"][0]
        non_prosecute = p.unit.params["non_prosecute"][0]
        others = SUSPECTS_MEAN * (DETAINED * ARREST_REVIEWED * non_arrest * RECONSIDERED + (1 - non_prosecute) * WITHDRAWN)
        return lo - 1.0 - others - 0.12 * p.skill, hi - lo

    def _param(self, person: Person, name: str, t: float) -> float:
        lo, hi = person.unit.params[name]
        return lo + (hi - lo) * t

    def _new_case_id(self, person: Person, day: dt.date, prefix: str) -> str:
        key = f"{person.unit.code}-{prefix}-{day.year}"
        seq = self.case_seq.get(key, 0) + 1
        self.case_seq[key] = seq
        return f"{key}-{seq:06d}"

    def _days_in_office(self, p: Person, month: dt.date, dim: int) -> tuple[dt.date, int]:
        """First day in office in the month and the number of days from it (0: not in office)."""
        first = max(month, p.active_from)
        last = month + dt.timedelta(days=dim - 1)
        if p.active_to is not None and p.active_to < last:
            last = p.active_to
        return first, max(0, (last - first).days + 1)

    def __iter__(self) -> Iterator[RawEvent]:
        rng = self.rng
        for month in self.warmup:  # only criminal cases outlive their month
            dim = _days_in_month(month)
            for p in self.people:
                if p.business not in CRIMINAL_CASE_BUSINESSES or self.office[p.index][0] > self.office[p.index][1]:
                    continue
                first, days = self._days_in_office(p, month, dim)
                if days:
                    for _ in range(_poisson(rng, self._load(p, days))):
                        yield from self._criminal_case(p, first + dt.timedelta(days=rng.randrange(days)))
        for mi, month in enumerate(self.months):
            t = self.progress[mi]
            # Supervision actions rose sharply in Q2 (Jilin: +82.6 % filings, +60.6 % withdrawals).
            season = 1.6 if month.month in (4, 5, 6) else 1.0
            dim = _days_in_month(month)
            for p in self.people:
                first, days = self._days_in_office(p, month, dim)
                if days:
                    yield from self._month_of(p, first, days, dim, t, season)

    def _load(self, p: Person, days: int) -> float:
        """Expected cases over ``days`` days in office (cases arrive by the day, not by the month)."""
        return CASES_PER_YEAR / 365 * days * (LEADER_CASELOAD if p.is_leader else 1.0) * self.rng.uniform(0.8, 1.2)

    def _month_of(self, p: Person, first: dt.date, days: int, dim: int, t: float, season: float) -> Iterator[RawEvent]:
        """One month of a prosecutor in office ``days`` days from ``first`` (the whole month, mostly)."""
        rng = self.rng
        load = self._load(p, days)
        share = days / dim
        if p.business in CRIMINAL_CASE_BUSINESSES:
            for _ in range(_poisson(rng, load)):
                yield from self._criminal_case(p, first + dt.timedelta(days=rng.randrange(days)))
            for _ in range(_poisson(rng, 0.25 * season * share)):
                action = _choose(rng, (("filing", 0.4), ("withdrawal", 0.25), ("correction", 0.35)))
                yield ("supervision_action", p.index, p.unit.index, None,
                       first + dt.timedelta(days=rng.randrange(days)), {"action": action, "adopted": rng.random() < 0.9})
        elif p.business in ("civil", "administrative"):
            etype = "civil_supervision" if p.business == "civil" else "administrative_supervision"
            for _ in range(_poisson(rng, load)):
                day = first + dt.timedelta(days=rng.randrange(days))
                kind = _choose(rng, SUPERVISION_KINDS)
                r = rng.random()
                outcome = "pending" if r < 0.1 else ("adopted" if rng.random() < SUPERVISION_KIND_ADOPT[kind] else "rejected")
                attrs: dict[str, Any] = {"kind": kind, "outcome": outcome}
                if etype == "administrative_supervision":
                    attrs["dispute_resolved"] = rng.random() < 0.3
                yield (etype, p.index, p.unit.index, self._new_case_id(p, day, "MX"), day, attrs)
        elif p.business == "public_interest":
            for _ in range(_poisson(rng, load)):
                day = first + dt.timedelta(days=rng.randrange(days))
                if rng.random() < 0.9:
                    attrs = {"stage": "pre_litigation",
                             "outcome": "rectified" if rng.random() < 0.985 else "not_rectified"}
                else:
                    attrs = {"stage": "lawsuit", "outcome": "supported" if rng.random() < 0.895 else "rejected"}
                attrs["domain"] = _choose(rng, PIL_DOMAINS)
                yield ("public_interest_case", p.index, p.unit.index, self._new_case_id(p, day, "GY"), day, attrs)
        elif p.business == "complaint_appeal":
            for _ in range(_poisson(rng, 2.0 * share)):
                resolved = rng.random() < self._param(p, "hearing_resolved", t) + 0.03 * p.skill
                yield ("public_hearing", p.index, p.unit.index, None, first + dt.timedelta(days=rng.randrange(days)),
                       {"subject": rng.choice(HEARING_SUBJECTS), "resolved": resolved})
            for _ in range(_poisson(rng, 0.6 * share)):
                n = 1 + _poisson(rng, 0.4)
                yield ("judicial_aid", p.index, p.unit.index, None, first + dt.timedelta(days=rng.randrange(days)),
                       {"recipients": n, "amount": round(n * rng.uniform(3000, 30000), 2)})
        else:  # criminal execution: supervision of prisons and community correction
            for _ in range(_poisson(rng, load * 0.5)):
                yield ("supervision_action", p.index, p.unit.index, None,
                       first + dt.timedelta(days=rng.randrange(days)),
                       {"action": "correction", "adopted": rng.random() < 0.92})
        yield from self._people_events(p, first, days, share)

    def _people_events(self, p: Person, first: dt.date, days: int, share: float) -> Iterator[RawEvent]:
        rng = self.rng
        if p.business not in ("complaint_appeal",) and rng.random() < 0.04 * share:
            yield ("public_hearing", p.index, p.unit.index, None, first + dt.timedelta(days=rng.randrange(days)),
                   {"subject": "non_prosecution", "resolved": rng.random() < 0.8})
        if rng.random() < 0.008 * share:
            kind = _choose(rng, (("honour", 0.6), ("typical_case", 0.3), ("guiding_case", 0.1)))
            level = _choose(rng, (("city", 0.6), ("provincial", 0.33), ("national", 0.07)))
            title = {"honour": "优秀检察官", "typical_case": "典型案例", "guiding_case": "指导性案例"}[kind]
            yield ("honour", p.index, p.unit.index, None, first + dt.timedelta(days=rng.randrange(days)),
                   {"kind": kind, "level": level, "title": title})
        # Negative list: rare, and rarer for better prosecutors.
        if rng.random() < 0.012 * (1 - 0.5 * p.skill) * share:
            kind = _choose(rng, (("overdue", 0.45), ("overdue_detained", 0.1), ("procedural_defect", 0.2),
                                 ("late_disclosure", 0.23), ("wrongful_case", 0.02)))
            yield ("disciplinary_finding", p.index, p.unit.index, None,
                   first + dt.timedelta(days=rng.randrange(days)),
                   {"kind": kind, "responsible": kind != "wrongful_case" or rng.random() < 0.7})

    def _criminal_case(self, p: Person, accepted: dt.date) -> Iterator[RawEvent]:
        """One case from acceptance to judgment; only its events inside the prosecutor's office
        (``self.office``: within the period and their active dates) are yielded."""
        rng, u = self.rng, p.unit.index
        lo, hi = self.office[p.index]
        # The timeline first. Extra proceedings (件) each add one to 案-件比: up to ``most`` are drawn
        # (the prosecutor's highest rate over the period) and each happens with the rate of its own
        # month over that (thinning), so a month's extras follow that month's parameters.
        a, b = self.extras_line[p.index]
        most = max(a, a + b)
        progress_of = self.progress_of
        stages: list[dt.date] = []
        day = accepted
        for _ in range(min(MAX_EXTRAS, _poisson(rng, most)) if most > 0 else 0):
            at = day + dt.timedelta(days=rng.randint(5, 30))
            rate = a + b * progress_of[at.year * 12 + at.month]
            if rate < most and rng.random() * most >= rate:
                continue  # not needed this time: the case moves on without it
            day = at
            stages.append(at)
        concluded = day + dt.timedelta(days=rng.randint(7, 30))
        judged = concluded + dt.timedelta(days=rng.randint(15, 60))
        if judged < lo and concluded + dt.timedelta(days=40) < lo:
            return  # a warm-up case whose every event (the last: judgment or review) is before the period
        case_id = self._new_case_id(p, accepted, "XS")
        category = CATEGORY_OF[p.business]
        suspects = 1 + _poisson(rng, 0.65)
        detained = rng.random() < DETAINED
        organized = category == "serious" and rng.random() < 0.12
        charge = rng.choice(CHARGES[category])
        if accepted >= lo:
            yield ("case_accepted", p.index, u, case_id, accepted,
                   {"suspects": suspects, "detained": detained, "category": category, "organized_crime": organized,
                    "charge": charge})
        # Returns for supplementary investigation and extensions are a minority of the extra
        # proceedings (a county report: 退查率 4.56 %); the rest are the other extra stages of the
        # 16-item list (appeals, reviews, second instance …).
        returns = 0
        extensions = 0
        for day in stages:
            r = rng.random()
            if returns < 2 and r < 0.12:
                returns += 1
                if lo <= day <= hi:
                    yield ("supplementary_investigation", p.index, u, case_id, day, {"round": returns})
            elif extensions < 3 and r < 0.22:
                extensions += 1
                if lo <= day <= hi:
                    yield ("review_extension", p.index, u, case_id, day, {"days": 15})
            else:
                kind = _choose(rng, EXTRA_KINDS)
                if lo <= day <= hi:
                    yield ("extra_proceeding", p.index, u, case_id, day, {"kind": kind})
        tc = progress_of[concluded.year * 12 + concluded.month]  # plea, recommendation: decided at conclusion
        plea_p = _clip01(self._param(p, "plea", tc) + 0.03 * p.skill)
        def_p = _clip01(self._param(p, "definite", tc) + 0.04 * p.skill)
        adopt_p = _clip01(self._param(p, "adopt", tc) + 0.01 * p.skill)
        non_arrest_p = self._param(p, "non_arrest", tc)
        non_pros_p = self._param(p, "non_prosecute", tc)
        review_p = self._param(p, "review", tc)
        for s in range(1, suspects + 1):
            sid = f"{case_id}-S{s}"
            arrested = False
            if detained and rng.random() < ARREST_REVIEWED:
                arrested = rng.random() >= non_arrest_p
                reviewed_on = accepted - dt.timedelta(days=rng.randint(3, 7))
                if lo <= reviewed_on:
                    reconsidered = not arrested and rng.random() < RECONSIDERED
                    yield ("arrest_review", p.index, u, case_id, reviewed_on,
                           {"suspect_id": sid, "decision": "arrest" if arrested else "not_arrest",
                            "reconsidered": reconsidered, "reversed": reconsidered and rng.random() < 0.2})
            if concluded > hi:
                continue
            plea = rng.random() < plea_p
            r = rng.random()
            decision = "prosecute"
            if r < non_pros_p * (0.5 if arrested else 1.2):
                decision = "conditional_not_prosecute" if category == "juvenile" and rng.random() < 0.4 else "not_prosecute"
            rec = "none"
            if decision == "prosecute" and plea:
                rec = "definite" if rng.random() < def_p else "ranged"
            if concluded >= lo:
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
            if rng.random() < WITHDRAWN:
                withdrawn = concluded + dt.timedelta(days=10)
                if lo <= withdrawn <= hi:
                    yield ("prosecution_withdrawn", p.index, u, case_id, withdrawn,
                           {"suspect_id": sid, "reason": "证据发生变化"})
                continue
            if not lo <= judged <= hi:
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
        if concluded <= hi and rng.random() < review_p:
            # Reviewed 10–40 days after conclusion: a review due after the period is not in it (as cases
            # concluded before the period are reviewed inside it), so each month reads its review rate.
            review_day = concluded + dt.timedelta(days=rng.randint(10, 40))
            level = _choose(rng, (("province", 0.1), ("city", 0.3), ("county", 0.6)))
            q = rng.random() - 0.04 * p.skill
            rating = "excellent" if q < 0.10 else "qualified" if q < 0.90 else "flawed" if q < 0.98 else "failed"
            if lo <= review_day <= hi:
                attrs = {"reviewer_level": level, "rating": rating}
                if rating in ("flawed", "failed"):
                    # Flaw points found by the review (a failed case 20–50: about a third reach 40, a flawed one
                    # 5–35), drawn from the case id so that the main random stream, and every figure calibrated
                    # on it, stays put.
                    spread = zlib.crc32(case_id.encode()) % 31
                    attrs["flaw_points"] = (20 if rating == "failed" else 5) + spread
                yield ("quality_review", p.index, u, case_id, review_day, attrs)
