"""The default demo province replays the seeds month by month (generated in memory, no database).

Province-wide it starts and ends where the pilot province Jilin did; county 910101 replays Meihekou;
units and prosecutors vary around the province; and prosecutors join and leave, with every event
inside its prosecutor's time in office. The figures use the formulas of the shipped rule library
(``rules/schemes/province-procuratorate-quality.yaml``), counting events dated in the month.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
from dataclasses import dataclass

import pytest

from rulesvc.datagen.demo import DemoConfig, _end_of
from rulesvc.datagen.events import EventStream
from rulesvc.datagen.province import MEIHEKOU_CODE, Person, Unit, build_people, build_units

pytestmark = pytest.mark.slow

JILIN = {"ratio": (2.29, 1.35), "plea": (0.783, 0.844), "definite": (0.693, 0.808)}
MEIHEKOU = {"ratio": (1.80, 1.33), "plea": (0.84, 0.888)}
# Extra proceedings (件) beyond the case itself, as CASE_RATIO_CRIM counts them.
EXTRA_EVENTS = {"supplementary_investigation", "review_extension", "prosecution_withdrawn"}


@dataclass
class Tally:
    """The counts behind 案-件比, plea leniency and definite recommendations."""

    cases: int = 0
    extras: int = 0
    reviews: int = 0
    plea: int = 0
    recs: int = 0
    definite: int = 0

    def add(self, other: Tally) -> Tally:
        return Tally(*(a + b for a, b in zip(vars(self).values(), vars(other).values(), strict=True)))

    @property
    def ratio(self) -> float:
        return (self.cases + self.extras) / self.cases

    @property
    def plea_rate(self) -> float:
        return self.plea / self.reviews

    @property
    def definite_rate(self) -> float:
        return self.definite / self.recs

    def figures(self) -> dict[str, float]:
        return {"ratio": self.ratio, "plea": self.plea_rate, "definite": self.definite_rate}


@dataclass
class Demo:
    units: list[Unit]
    people: list[Person]
    start: dt.date
    end: dt.date
    by_unit_month: dict[tuple[int, int], Tally]
    first_event: list[dt.date | None]  # per prosecutor index
    last_event: list[dt.date | None]
    outside_period: int

    def months(self, unit_indexes: list[int] | None, *months: int) -> Tally:
        total = Tally()
        for (u, m), tally in self.by_unit_month.items():
            if m in months and (unit_indexes is None or u in unit_indexes):
                total = total.add(tally)
        return total


@pytest.fixture(scope="module")
def demo() -> Demo:
    """The stream of ``rulesvc demo`` with the defaults: the same seeds as ``generate_and_load``."""
    cfg = DemoConfig()
    rng = random.Random(cfg.seed)
    units = build_units(rng)
    end = _end_of(cfg.start, cfg.months)
    people = build_people(rng, units, cfg.total_prosecutors, cfg.start, end)
    # counts[unit][month]: cases, extras, reviews, plea, recs, definite (the fields of Tally)
    counts = [[[0] * 6 for _ in range(13)] for _ in units]
    first: list[dt.date | None] = [None] * len(people)
    last: list[dt.date | None] = [None] * len(people)
    outside = 0
    start = cfg.start
    for etype, pidx, uidx, _, day, a in EventStream(random.Random(cfg.seed + 1), people, cfg.start, cfg.months):
        if day < start or day > end:
            outside += 1
        if pidx is not None:
            f = first[pidx]
            if f is None or day < f:
                first[pidx] = day
            la = last[pidx]
            if la is None or day > la:
                last[pidx] = day
        c = counts[uidx][day.month]
        if etype == "case_accepted":
            c[0] += 1
        elif etype == "prosecution_review":
            c[2] += 1
            c[3] += a["plea_leniency"]
            rec = a["sentencing_rec"]
            c[4] += rec in ("definite", "ranged")
            c[5] += rec == "definite"
        elif (
            etype in EXTRA_EVENTS
            or (etype == "arrest_review" and a["reconsidered"])
            or (etype == "extra_proceeding" and a["kind"] != "non_arrest_review")
        ):
            c[1] += 1
    tallies = {(u, m): Tally(*counts[u][m]) for u in range(len(units)) for m in range(1, 13)}
    return Demo(units, people, cfg.start, end, tallies, first, last, outside)


def _show(figures: dict[str, float]) -> str:
    return f"1:{figures['ratio']:.3f}, plea {figures['plea']:.1%}, definite {figures['definite']:.1%}"


@pytest.mark.parametrize(("month", "end"), [(1, 0), (2, 0), (12, 1)], ids=["January", "February", "December"])
def test_the_province_starts_and_ends_where_jilin_did(demo, month, end):
    """January and February at Jilin's start (1:2.29, 78.3 %, 69.3 %), December at its end (1:1.35,
    84.4 %, 80.8 %): within 0.05 of the ratio and 1.5 points of each rate. With ~15,000 cases and
    ~25,000 persons reviewed a month the sampling error is about 0.01 and 0.3 points."""
    got = demo.months(None, month).figures()
    want = {name: pair[end] for name, pair in JILIN.items()}
    assert abs(got["ratio"] - want["ratio"]) <= 0.05, _show(got)
    assert abs(got["plea"] - want["plea"]) <= 0.015, _show(got)
    assert abs(got["definite"] - want["definite"]) <= 0.015, _show(got)


def test_the_province_improves_month_by_month(demo):
    """Between the ends the figures move steadily: no month is far off the straight line."""
    ratios = [demo.months(None, m).ratio for m in range(1, 13)]
    assert all(a > b for a, b in zip(ratios[1:], ratios[2:], strict=False)), ratios
    pleas = [demo.months(None, m).plea_rate for m in range(1, 13)]
    assert pleas[-1] - pleas[0] > 0.04, pleas


def test_county_910101_replays_meihekou(demo):
    """Meihekou went 1:1.8 → 1:1.33 and plea 84 % → 88.8 %; 910101 has exactly these parameters.

    A county of ~25 prosecutors sees ~140 cases and ~230 persons reviewed a month, too few for a
    single month, so the test compares two-month windows: January–February (both at the start
    values) and November–December (November is one tenth of the way short of the end values, so the
    window's expected figures are 1:1.354 and 88.56 %). Per window (~280 cases, ~460 persons) the
    standard error is about 0.05 (ratio, Poisson extras) and 1.7 points (plea, binomial); the test
    allows 3 standard errors: ±0.15 and ±5 points, and checks the sample is that large. Its ratio
    falls by 0.45: the test requires more than 0.25 (the difference's standard error is ~0.06).
    """
    county = [u.index for u in demo.units if u.code == MEIHEKOU_CODE]
    first, last = demo.months(county, 1, 2), demo.months(county, 11, 12)
    for window in (first, last):
        assert window.cases >= 200 and window.reviews >= 350, window
    assert abs(first.ratio - MEIHEKOU["ratio"][0]) <= 0.15, _show(first.figures())
    assert abs(last.ratio - MEIHEKOU["ratio"][1]) <= 0.15, _show(last.figures())
    assert abs(first.plea_rate - MEIHEKOU["plea"][0]) <= 0.05, _show(first.figures())
    assert abs(last.plea_rate - MEIHEKOU["plea"][1]) <= 0.05, _show(last.figures())
    assert first.ratio - last.ratio > 0.25, (_show(first.figures()), _show(last.figures()))
    unit = next(u for u in demo.units if u.code == MEIHEKOU_CODE)
    assert unit.params["ratio"] == MEIHEKOU["ratio"] and unit.params["plea"] == MEIHEKOU["plea"]
    assert unit.name == "清瑞区人民检察院"  # as the rule library's localized scheme names it


def test_units_vary_around_the_province_and_a_few_improve_little(demo):
    """Each unit draws its own start and end: December's unit ratios spread, most units improve a
    lot, a few improve little (unit figures over two-month windows; units with few cases left out)."""
    starts, ends, improving = [], [], []
    for u in demo.units:
        first, last = demo.months([u.index], 1, 2), demo.months([u.index], 11, 12)
        if first.cases >= 150 and last.cases >= 150:
            starts.append(first.figures())
            ends.append(last.figures())
            improving.append(u.improving)
    assert len(starts) >= 80
    assert statistics.pstdev(f["ratio"] for f in ends) > 0.1
    assert statistics.pstdev(f["plea"] for f in ends) > 0.01
    assert statistics.pstdev(f["definite"] for f in ends) > 0.01
    drops = [s["ratio"] - e["ratio"] for s, e in zip(starts, ends, strict=True)]
    big = [d for d, imp in zip(drops, improving, strict=True) if imp]
    little = [d for d, imp in zip(drops, improving, strict=True) if not imp]
    assert len(little) >= 3 and len(big) >= 0.8 * len(drops)
    assert statistics.median(big) > 0.6 and statistics.median(little) < 0.4, (big, little)
    assert sum(d > 0.3 for d in big) >= 0.9 * len(big)


def test_prosecutors_join_and_leave_and_every_event_is_inside_their_office(demo):
    """About 1.5 % join during the period and about 1 % left the quota before it (no events); about 1 %
    leave during it; no event before a prosecutor's ``active_from`` or after their ``active_to``."""
    people, start, end = demo.people, demo.start, demo.end
    joiners = [p for p in people if start < p.active_from <= end]
    left_before = [p for p in people if p.active_to is not None and p.active_to < start]
    leaving = [p for p in people if p.active_to is not None and start <= p.active_to <= end]
    n = len(people)
    assert 0.01 * n <= len(joiners) <= 0.02 * n
    assert 0.005 * n <= len(left_before) <= 0.015 * n
    assert 0.005 * n <= len(leaving) <= 0.02 * n
    assert all(p.quota_status == "exited" for p in left_before + leaving)
    assert len({p.active_from.month for p in joiners}) >= 5  # appointed across the year (e.g. April, September)
    assert all(demo.first_event[p.index] is None for p in left_before)
    assert sum(demo.first_event[p.index] is not None for p in joiners) >= 0.9 * len(joiners)
    assert demo.outside_period == 0
    for p in people:
        first, last = demo.first_event[p.index], demo.last_event[p.index]
        if first is not None:
            assert p.active_from <= first, (p.code, p.active_from, first)
            assert p.active_to is None or last <= p.active_to, (p.code, p.active_to, last)


def test_january_carries_the_work_of_cases_accepted_before_it(demo):
    """Cases accepted in the months before the start still conclude in January: January reviews as
    many persons as February, not a fraction of them."""
    jan, feb = demo.months(None, 1), demo.months(None, 2)
    assert jan.reviews >= 0.9 * feb.reviews * 31 / 29
