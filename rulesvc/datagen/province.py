"""The demo province's organisations and people: 1 provincial, 9 city and 87 county procuratorates.

Everything is drawn from one seeded ``random.Random``, so the same seed gives the same province.
Names are invented (a fictional province with code prefix 91, unused by real administrative codes).

The province as a whole replays the pilot province Jilin (案-件比 1:2.29 → 1:1.35, plea leniency
78.3 % → 84.4 %, definite sentencing recommendations 69.3 % → 80.8 %), and county 910101 replays
Meihekou (1:1.8 → 1:1.33, 84 % → 88.8 %): each unit draws its start and end around the province's,
then :func:`calibrate` scales them so that the caseload-weighted province figures are Jilin's exactly.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

PROVINCE_CODE = "910000"
PROVINCE_NAME = "示范省人民检察院"
CITY_NAMES = ("东川", "西岭", "南湖", "北原", "青山", "白河", "松江", "梅林", "长岗")
# Counties per city: 87 in all, as in Jilin's 97 procuratorates (1 + 9 + 87).
COUNTIES_PER_CITY = (10, 10, 10, 10, 10, 10, 9, 9, 9)
COUNTY_SYLLABLES = (
    "安", "宝", "昌", "丰", "福", "富", "广", "海", "和", "红", "华", "桦", "惠", "吉", "嘉", "江", "金", "靖",
    "康", "兰", "乐", "林", "柳", "龙", "隆", "明", "宁", "平", "清", "庆", "泉", "瑞", "山", "盛", "水",
    "顺", "泰", "通", "万", "文", "祥", "兴", "阳", "永", "榆", "元", "云", "泽", "镇", "舒", "柏", "桐",
)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬鹏辉俊峰宇浩凯健斌晨建新国庆志文"

# (business code, share of prosecutors). Criminal businesses hold about two thirds of the staff.
BUSINESS_MIX = (
    ("ordinary_crime", 0.40),
    ("serious_crime", 0.08),
    ("duty_crime", 0.05),
    ("economic_crime", 0.08),
    ("criminal_execution", 0.04),
    ("juvenile", 0.05),
    ("civil", 0.10),
    ("administrative", 0.05),
    ("public_interest", 0.10),
    ("complaint_appeal", 0.05),
)
# Departments (检察部) of a city or provincial procuratorate: one per business.
FULL_DEPARTMENTS = (
    ("D01", "第一检察部", "ordinary_crime"),
    ("D02", "第二检察部", "serious_crime"),
    ("D03", "第三检察部", "duty_crime"),
    ("D04", "第四检察部", "economic_crime"),
    ("D05", "第五检察部", "criminal_execution"),
    ("D06", "第六检察部", "civil"),
    ("D07", "第七检察部", "administrative"),
    ("D08", "第八检察部", "public_interest"),
    ("D09", "第九检察部", "juvenile"),
    ("D10", "第十检察部", "complaint_appeal"),
)
# County procuratorates merge departments (内设机构改革): business → department code.
COUNTY_DEPARTMENTS = (
    ("D01", "第一检察部（刑事检察）", "ordinary_crime"),
    ("D02", "第二检察部（刑事执行与未成年人检察）", "criminal_execution"),
    ("D03", "第三检察部（民事行政检察）", "civil"),
    ("D04", "第四检察部（公益诉讼与控告申诉检察）", "public_interest"),
)
COUNTY_DEPT_OF = {
    "ordinary_crime": "D01", "serious_crime": "D01", "duty_crime": "D01", "economic_crime": "D01",
    "criminal_execution": "D02", "juvenile": "D02", "civil": "D03", "administrative": "D03",
    "public_interest": "D04", "complaint_appeal": "D04",
}
LEADER_TITLES = ("检察长", "副检察长", "副检察长", "检察委员会专职委员")
# Share of all prosecutors at each level (provincial procuratorates handle few first-instance cases).
LEVEL_SHARE = {"province": 0.02, "city": 0.21, "county": 0.77}

# Businesses whose prosecutors handle criminal cases (and so make 案-件比, plea and sentencing figures).
CRIMINAL_CASE_BUSINESSES = frozenset({"ordinary_crime", "serious_crime", "duty_crime", "economic_crime", "juvenile"})
LEADER_CASELOAD = 0.4  # leaders handle cases too, fewer of them (Yunnan: a ratio coefficient)

# (start, end) of the year, province-wide: Jilin, the pilot province.
PROVINCE_TARGETS = {"ratio": (2.29, 1.35), "plea": (0.783, 0.844), "definite": (0.693, 0.808)}
# The county that replays Meihekou (梅河口): the one with a localized scheme in the rule library.
MEIHEKOU_CODE = "910101"
MEIHEKOU_NAME = "清瑞"  # as the rule library names it (rules/schemes/county-910101-localized.yaml)
MEIHEKOU_PARAMS = {"ratio": (1.80, 1.33), "plea": (0.84, 0.888)}
LITTLE_IMPROVER_SHARE = 0.10  # units that improve little over the year; the others improve as Jilin did
JOINER_SHARE = 0.015  # prosecutors appointed during the period (quota seats filled)
LEFT_BEFORE_SHARE = 0.010  # prosecutors who left the quota before the period: in the directory, no events


@dataclass
class Unit:
    """One procuratorate of the demo province, with the parameters its case data is drawn from."""

    index: int
    code: str
    name: str
    level: str
    parent_code: str | None
    departments: tuple[tuple[str, str, str], ...]
    params: dict[str, tuple[float, float]] = field(default_factory=dict)
    improving: bool = False


@dataclass
class Person:
    index: int
    code: str
    name: str
    unit: Unit
    department_code: str
    business: str
    quota_status: str
    is_leader: bool
    leader_title: str | None
    active_from: dt.date
    active_to: dt.date | None
    skill: float  # −1 … +1: how much better (or worse) than the unit this prosecutor works


def _county_names(rng: random.Random, n: int) -> list[str]:
    names: set[str] = set()
    while len(names) < n:
        names.add(rng.choice(COUNTY_SYLLABLES) + rng.choice(COUNTY_SYLLABLES))
    # Shuffle from a sorted list: a set's order changes with the process's hash seed.
    return sorted(sorted(names), key=lambda s: rng.random())


def _gap(name: str, value: float) -> float:
    """Distance from the ideal: ratio − 1 for 案-件比 (1:1 is ideal), 1 − rate for a rate."""
    return value - 1.0 if name == "ratio" else 1.0 - value


def _from_gap(name: str, gap: float) -> float:
    return 1.0 + gap if name == "ratio" else 1.0 - gap


def _unit_params(rng: random.Random) -> tuple[dict[str, tuple[float, float]], bool]:
    """(start-of-period, end-of-period) values of one unit, drawn around the province's (Jilin's).

    A unit's distance from the ideal starts at 0.7–1.35 × the province's and most units keep 12–30 %
    (案-件比), 55–83 % (plea) or 43–75 % (definite) of it by the end, as Jilin did (27 %, 72 %, 63 %); a
    few (``LITTLE_IMPROVER_SHARE``) keep 70–100 % of it. :func:`calibrate` then scales the lot so the
    province lands on Jilin's figures. Always exactly 13 draws, as in generator v1, so a seed still
    draws the same county names and people.
    """
    improving = rng.random() >= LITTLE_IMPROVER_SHARE

    def moving(name: str, spread: tuple[float, float], keep: tuple[float, float],
               little: tuple[float, float]) -> tuple[float, float]:
        gap = _gap(name, PROVINCE_TARGETS[name][0]) * rng.uniform(*spread)
        share = rng.uniform(*keep) if improving else rng.uniform(*little)
        return _from_gap(name, gap), _from_gap(name, gap * share)

    params = {
        "ratio": moving("ratio", (0.70, 1.35), (0.12, 0.30), (0.70, 0.95)),
        "plea": moving("plea", (0.75, 1.30), (0.55, 0.83), (0.92, 1.00)),
        "definite": moving("definite", (0.80, 1.25), (0.43, 0.75), (0.90, 1.00)),
        "adopt": (rng.uniform(0.94, 0.98),) * 2,  # Ningxia 96%
        "non_arrest": (rng.uniform(0.18, 0.32),) * 2,
        "non_prosecute": (rng.uniform(0.08, 0.20),) * 2,
    }
    review = rng.uniform(0.045, 0.06)  # Dongpo: case quality review 5% → 10%
    params["review"] = (review, review + (rng.uniform(0.035, 0.06) if improving else rng.uniform(0.0, 0.01)))
    params["hearing_resolved"] = (rng.uniform(0.70, 0.83),) * 2  # Anhui 76.5%
    return params, improving


def build_units(rng: random.Random) -> list[Unit]:
    """The 97 procuratorates in a stable order: province, then each city followed by its counties."""
    units: list[Unit] = []

    def add(code: str, name: str, level: str, parent: str | None) -> None:
        depts = COUNTY_DEPARTMENTS if level == "county" else FULL_DEPARTMENTS
        params, improving = _unit_params(rng)
        if code == MEIHEKOU_CODE:
            params.update(MEIHEKOU_PARAMS)
            improving = True
        units.append(Unit(len(units), code, name, level, parent, depts, params, improving))

    add(PROVINCE_CODE, PROVINCE_NAME, "province", None)
    county_names = _county_names(rng, sum(COUNTIES_PER_CITY))
    first = int(MEIHEKOU_CODE[2:4]) - 1, int(MEIHEKOU_CODE[4:6]) - 1
    at = sum(COUNTIES_PER_CITY[: first[0]]) + first[1]
    if MEIHEKOU_NAME in county_names:  # drawn for another county: that one gets 910101's name
        county_names[county_names.index(MEIHEKOU_NAME)] = county_names[at]
    county_names[at] = MEIHEKOU_NAME
    taken = 0
    for c, (city, n_counties) in enumerate(zip(CITY_NAMES, COUNTIES_PER_CITY, strict=True), start=1):
        city_code = f"91{c:02d}00"
        add(city_code, f"{city}市人民检察院", "city", PROVINCE_CODE)
        for k in range(1, n_counties + 1):
            base = county_names[taken]
            taken += 1
            suffix = "区" if k <= 2 else "县"
            add(f"91{c:02d}{k:02d}", f"{base}{suffix}人民检察院", "county", city_code)
    return units


def _staff_counts(rng: random.Random, units: list[Unit], total: int) -> list[int]:
    by_level: dict[str, list[Unit]] = {}
    for u in units:
        by_level.setdefault(u.level, []).append(u)
    counts = [0] * len(units)
    for level, members in by_level.items():
        weights = [rng.uniform(0.6, 1.4) for _ in members]
        budget = total * LEVEL_SHARE[level]
        for u, w in zip(members, weights, strict=True):
            counts[u.index] = max(6, round(budget * w / sum(weights)))
    return counts


def _pick_business(rng: random.Random) -> str:
    r = rng.random()
    acc = 0.0
    for code, share in BUSINESS_MIX:
        acc += share
        if r < acc:
            return code
    return BUSINESS_MIX[0][0]


def build_people(rng: random.Random, units: list[Unit], total: int, start: dt.date, end: dt.date) -> list[Person]:
    """About ``total`` prosecutors; each unit has 2–4 leaders who also handle cases.

    Who is in office from ``start`` to ``end``: most since 2005–2019; 3 % outside the quota; about 1 %
    leave the quota during the period, about 1.5 % join during it (``JOINER_SHARE``) and about 1 % left
    before it (``LEFT_BEFORE_SHARE``: in the directory, without events). Ends by calibrating the units
    (:func:`calibrate`), which needs their staff.
    """
    people: list[Person] = []
    for unit, n in zip(units, _staff_counts(rng, units, total), strict=True):
        for k in range(n):
            business = _pick_business(rng)
            leader = k < (4 if unit.level != "county" else 3)
            if leader:
                business = rng.choice(("ordinary_crime", "ordinary_crime", "serious_crime", "civil", "public_interest"))
            dept = COUNTY_DEPT_OF[business] if unit.level == "county" else next(
                d for d, _, b in unit.departments if b == business
            )
            status, active_to = "quota", None
            r = rng.random()
            if r < 0.03:
                status = "non_quota"
            elif r < 0.04:  # left the quota during the year (员额退出)
                status = "exited"
                active_to = start + (end - start) * rng.uniform(0.3, 0.9)
            name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
            people.append(
                Person(
                    index=len(people),
                    code=f"{unit.code}{k + 1:03d}",
                    name=name,
                    unit=unit,
                    department_code=dept,
                    business=business,
                    quota_status=status,
                    is_leader=leader,
                    leader_title=LEADER_TITLES[k] if leader else None,
                    active_from=dt.date(rng.randint(2005, 2019), rng.randint(1, 12), 1),
                    active_to=active_to,
                    skill=max(-1.0, min(1.0, rng.gauss(0, 0.45))),
                )
            )
    _joiners_and_leavers(rng, people, start, end)
    _centre_skills(people, start)
    calibrate(units, people, start, end)
    return people


def _joiners_and_leavers(rng: random.Random, people: list[Person], start: dt.date, end: dt.date) -> None:
    """A second pass over quota prosecutors who are not leaders: some joined during the period, some
    left the quota before it. (A pass of its own, so everyone drawn above stays as it was.)"""
    span = (end - start).days
    for p in people:
        if p.is_leader or p.quota_status != "quota":
            continue
        r = rng.random()
        if r < JOINER_SHARE:  # appointed during the period, after its first months (e.g. April, September)
            p.active_from = start + dt.timedelta(days=int(span * rng.uniform(0.2, 0.85)))
        elif r < JOINER_SHARE + LEFT_BEFORE_SHARE:  # 员额退出 before the period
            p.quota_status = "exited"
            p.active_to = start - dt.timedelta(days=rng.randint(20, 400))
            if p.active_from >= p.active_to:
                p.active_from = dt.date(p.active_to.year - 3, p.active_from.month, 1)


def caseload_weight(p: Person) -> float:
    """Expected criminal cases of a prosecutor relative to a full-time case handler (0 outside crime)."""
    if p.business not in CRIMINAL_CASE_BUSINESSES:
        return 0.0
    return LEADER_CASELOAD if p.is_leader else 1.0


def in_office(p: Person, day: dt.date) -> bool:
    return p.active_from <= day and (p.active_to is None or day <= p.active_to)


def _centre_skills(people: list[Person], start: dt.date) -> None:
    """Skill is relative to the unit: shift it so a unit's case handlers average 0 (weighted by caseload)
    and the unit's expected figures are its parameters."""
    totals: dict[int, list[float]] = {}
    for p in people:
        w = caseload_weight(p)
        if w and (p.active_to is None or p.active_to >= start):
            acc = totals.setdefault(p.unit.index, [0.0, 0.0])
            acc[0] += w * p.skill
            acc[1] += w
    for p in people:
        unit = totals.get(p.unit.index)
        if unit and unit[1]:
            p.skill = max(-1.0, min(1.0, p.skill - unit[0] / unit[1]))


def calibrate(units: list[Unit], people: list[Person], start: dt.date, end: dt.date) -> None:
    """Scale the units' 案-件比, plea and definite parameters so the province replays Jilin.

    Each unit weighs by its expected number of criminal cases (of suspects with a sentencing
    recommendation for the definite rate) at the start and at the end. Distances from the ideal are
    scaled, never shifted, so every unit stays valid (ratio ≥ 1, rates ≤ 1). Units
    with fixed parameters (Meihekou) count but are not scaled; at the end only the improving units are
    scaled, so the little improvers still improve little.
    """
    w_start = [0.0] * len(units)
    w_end = [0.0] * len(units)
    for p in people:
        w = caseload_weight(p)
        if w:
            w_start[p.unit.index] += w * in_office(p, start)
            w_end[p.unit.index] += w * in_office(p, end)
    for name, (target_start, target_end) in PROVINCE_TARGETS.items():
        fixed = [name in MEIHEKOU_PARAMS and u.code == MEIHEKOU_CODE for u in units]
        if name == "definite":  # only plea cases that go to court carry a sentencing recommendation
            ws = [w * u.params["plea"][0] * (1 - u.params["non_prosecute"][0]) for w, u in zip(w_start, units, strict=True)]
            we = [w * u.params["plea"][1] * (1 - u.params["non_prosecute"][1]) for w, u in zip(w_end, units, strict=True)]
        else:
            ws, we = w_start, w_end
        gaps = [[_gap(name, v) for v in u.params[name]] for u in units]
        k = _scale(target_start, name, ws, [g[0] for g in gaps], fixed)
        for g, f in zip(gaps, fixed, strict=True):
            if not f:
                g[0] *= k
                g[1] *= k
        scaled = [f or not u.improving for u, f in zip(units, fixed, strict=True)]
        k = _scale(target_end, name, we, [g[1] for g in gaps], scaled)
        for u, g, f in zip(units, gaps, scaled, strict=True):
            if not f:
                g[1] *= k
            u.params[name] = (_from_gap(name, g[0]), _from_gap(name, g[1]))


def _scale(target: float, name: str, weights: list[float], gaps: list[float], kept: list[bool]) -> float:
    """The factor on the gaps not ``kept`` that makes the weighted mean gap the target's."""
    total = sum(weights)
    if not total:
        return 1.0
    kept_part = sum(w * g for w, g, k in zip(weights, gaps, kept, strict=True) if k)
    free_part = sum(w * g for w, g, k in zip(weights, gaps, kept, strict=True) if not k)
    return max(0.0, _gap(name, target) * total - kept_part) / free_part if free_part else 1.0
