"""The demo province's organisations and people: 1 provincial, 9 city and 87 county procuratorates.

Everything is drawn from one seeded ``random.Random``, so the same seed gives the same province.
Names are invented (a fictional province with code prefix 91, unused by real administrative codes).
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
    return sorted(names, key=lambda s: rng.random())


def _unit_params(rng: random.Random, improving: bool) -> dict[str, tuple[float, float]]:
    """(start-of-year, end-of-year) values the seeds report; improving units move as Jilin did."""

    def moving(lo: float, hi: float, step_lo: float, step_hi: float, cap: float) -> tuple[float, float]:
        start = rng.uniform(lo, hi)
        if improving:
            end = start + rng.uniform(step_lo, step_hi)
            end = min(end, cap) if step_hi > 0 else max(end, cap)
        else:
            end = start + rng.uniform(-0.01, 0.01)
        return start, end

    if improving:  # 案-件比 1:2.29 → 1:1.35 in Jilin; units land between 1:1.2 and 1:2.3
        ratio_start = rng.uniform(1.8, 2.6)
        ratio = (ratio_start, max(1.25, ratio_start - rng.uniform(0.4, 0.9)))
    else:
        ratio_start = rng.uniform(1.2, 2.3)
        ratio = (ratio_start, ratio_start + rng.uniform(-0.05, 0.05))
    return {
        "plea": moving(0.79, 0.85, 0.03, 0.06, 0.885),  # Jilin 78.3% → 84.4%
        "definite": moving(0.69, 0.75, 0.04, 0.10, 0.81),  # Jilin 69.3% → 80.8%
        "adopt": (rng.uniform(0.94, 0.98),) * 2,  # Ningxia 96%
        "ratio": ratio,
        "non_arrest": (rng.uniform(0.18, 0.32),) * 2,
        "non_prosecute": (rng.uniform(0.08, 0.20),) * 2,
        "review": moving(0.05, 0.07, 0.02, 0.04, 0.10),  # Dongpo 5% → 10%
        "hearing_resolved": (rng.uniform(0.70, 0.83),) * 2,  # Anhui 76.5%
    }


def build_units(rng: random.Random) -> list[Unit]:
    """The 97 procuratorates in a stable order: province, then each city followed by its counties."""
    units: list[Unit] = []

    def add(code: str, name: str, level: str, parent: str | None) -> None:
        depts = COUNTY_DEPARTMENTS if level == "county" else FULL_DEPARTMENTS
        improving = rng.random() < 0.45
        units.append(Unit(len(units), code, name, level, parent, depts, _unit_params(rng, improving), improving))

    add(PROVINCE_CODE, PROVINCE_NAME, "province", None)
    county_names = _county_names(rng, sum(COUNTIES_PER_CITY))
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
    """About ``total`` prosecutors; each unit has 2–4 leaders who also handle cases."""
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
    return people
