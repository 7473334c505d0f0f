"""Procuratorate-level comparisons (院际比较): position against the average, laggard flags, streaks.

- **Position** (Jieyang): each indicator of a unit is 上游 / 中游 / 下游 against its peer group's
  average — within ±``band`` (relative) of the average is midstream, better is upstream.
- **Laggards** (Guangxi): the ``bottom_k`` lowest totals and the lowest ``bottom_share`` of each peer
  group are flagged (they explain in writing).
- **Streaks** (Guangxi): a unit worse than its group's average on an indicator for ``streak`` months
  running is named.

Pure polars over bulk results; the same frames feed the ranking CLI and, later, the API.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from rulesvc.engine.bulk import GROUP_COLUMNS
from rulesvc.engine.compile import CompiledScheme
from rulesvc.engine.participation import LEVEL_LABELS
from rulesvc.engine.peers import ROUNDING_LABELS, fmt_share, quota_places

POSITIONS = ("上游", "中游", "下游")


def _group(group: str) -> pl.Expr:
    return pl.lit(0) if group == "all" else pl.col(GROUP_COLUMNS[group])


def _evaluated(frame: pl.DataFrame) -> pl.Expr:
    return (pl.col("status") == "evaluated") if "status" in frame.columns else pl.lit(True)


def _average(code: str, frame: pl.DataFrame, g: pl.Expr) -> pl.Expr:
    """The group's average over its evaluated units (those not graded are placed, never counted)."""
    return pl.when(_evaluated(frame)).then(pl.col(code)).mean().over(g)


def _worse_than_average(code: str, higher_better: bool, frame: pl.DataFrame, g: pl.Expr) -> pl.Expr:
    avg = _average(code, frame, g)
    worse = (pl.col(code) < avg) if higher_better else (pl.col(code) > avg)
    return worse & _evaluated(frame)


def positions(compiled: CompiledScheme, frame: pl.DataFrame) -> pl.DataFrame:
    """Add ``avg__<ind>`` and ``pos__<ind>`` (上游/中游/下游) per compared indicator. Only evaluated units
    with a value are placed, and only in a group with at least ``peer_min_size`` of them; the others are
    null (not placed)."""
    pc = compiled.scheme.peers
    if pc is None:
        return frame
    g = _group(pc.group)
    evaluated = _evaluated(frame)
    by_code = {ci.indicator.code: ci for ci in compiled.indicators}
    cols = []
    for code in pc.indicators:
        ci = by_code[code]
        v, avg = pl.col(code), _average(code, frame, g)
        n = pl.when(evaluated).then(v).count().over(g)
        hi, lo = avg * (1 + pc.band), avg * (1 - pc.band)
        better = (v > hi) if ci.higher_better else (v < lo)
        worse = (v < lo) if ci.higher_better else (v > hi)
        unplaced = v.is_null() | ~evaluated | (n < ci.peer_min_size)
        cols += [avg.alias(f"avg__{code}"),
                 pl.when(unplaced).then(None).when(better).then(pl.lit(POSITIONS[0]))
                 .when(worse).then(pl.lit(POSITIONS[2])).otherwise(pl.lit(POSITIONS[1])).alias(f"pos__{code}")]
    return frame.with_columns(cols)


@dataclass(frozen=True)
class LaggardRule:
    """How one laggard rule applied to one peer group: for the comparison output to say what it did."""

    rule: str  # bottom_k | bottom_share
    group: Any
    size: int  # evaluated units in the group
    places: int  # units the rule flags before ties (0: none)
    note: str  # in words, e.g. "市级院 9 个：末 3 位须书面说明" or why nothing was flagged


def _group_label(group: str, key: Any) -> str:
    if group == "level":
        return LEVEL_LABELS.get(key, str(key))
    return "全部" if group == "all" else str(key)


def laggard_rules(compiled: CompiledScheme, frame: pl.DataFrame) -> list[LaggardRule]:
    """For each peer group and each laggard rule that applies to it: how many units it flags.

    - ``bottom_k`` (Guangxi: the last 3 city-level units): in a group of ``bottom_k`` units or fewer the
      rule would flag everyone; ``bottom_k_when_small`` says what happens then — ``none`` (nobody is
      flagged, the default), ``all`` or ``lowest`` (only the lowest).
    - ``bottom_share`` (the last 30 % of county-level units): ``bottom_share × size`` rounded per
      ``bottom_share_rounding`` (default ``floor``: 30 % of 5 is 1 unit, of 3 is none).
    Only evaluated units count (``status``); ties at the boundary are all flagged (see :func:`laggards`).
    """
    pc = compiled.scheme.peers
    if pc is None:
        return []
    gcol = None if pc.group == "all" else GROUP_COLUMNS[pc.group]
    f = frame.filter(pl.col("status") == "evaluated") if "status" in frame.columns else frame
    sizes = (f.group_by(pl.col(gcol) if gcol else pl.lit(None).alias("g")).len().to_dicts())
    out = []
    for row in sorted(sizes, key=lambda r: str(r[gcol or "g"])):
        key, n = row[gcol or "g"], row["len"]
        label = _group_label(pc.group, key)
        if pc.bottom_k is not None and (not pc.bottom_k_groups or str(key) in pc.bottom_k_groups):
            k = pc.bottom_k
            if n > k:
                out.append(LaggardRule("bottom_k", key, n, k, f"{label} {n} 个：排名末 {k} 位须书面说明"))
            else:
                places = {"none": 0, "all": n, "lowest": min(1, n)}[pc.bottom_k_when_small]
                what = {"none": "不作末位标记", "all": "全部标记", "lowest": "只标记末位 1 个"}[pc.bottom_k_when_small]
                out.append(LaggardRule("bottom_k", key, n, places,
                                       f"{label}仅 {n} 个，不多于 {k} 个：{what}（bottom_k_when_small: {pc.bottom_k_when_small}）"))
        if pc.bottom_share is not None and (not pc.bottom_share_groups or str(key) in pc.bottom_share_groups):
            places = quota_places(pc.bottom_share, n, pc.bottom_share_rounding)
            out.append(LaggardRule("bottom_share", key, n, places,
                                   f"{label} {n} 个：后 {fmt_share(pc.bottom_share)} 即 {n} × {fmt_share(pc.bottom_share)} "
                                   f"{ROUNDING_LABELS[pc.bottom_share_rounding]}为 {places} 个须书面说明"))
    return out


def laggards(compiled: CompiledScheme, frame: pl.DataFrame) -> pl.DataFrame:
    """Add ``bottom_k`` / ``bottom_share`` flags: the lowest totals of the evaluated units of each peer
    group, as many as :func:`laggard_rules` says. Ties at the boundary are all flagged (nobody escapes an
    explanation by a tie)."""
    pc = compiled.scheme.peers
    if pc is None:
        return frame
    g = _group(pc.group)
    evaluated = (pl.col("status") == "evaluated") if "status" in frame.columns else pl.lit(True)
    low = pl.when(evaluated).then(pl.col("total")).rank("min").over(g)  # 1 = lowest; ties share a place
    rules = laggard_rules(compiled, frame)
    cols = []
    for rule in ("bottom_k", "bottom_share"):
        if getattr(pc, rule) is None:
            continue
        places = {r.group: r.places for r in rules if r.rule == rule}
        key = pl.lit(None) if pc.group == "all" else pl.col(GROUP_COLUMNS[pc.group])
        limit = key.replace_strict(places, default=0, return_dtype=pl.Int64) if pc.group != "all" else \
            pl.lit(places.get(None, 0))
        cols.append((evaluated & (low <= limit)).fill_null(False).alias(rule))
    return frame.with_columns(cols)


def streaks(compiled: CompiledScheme, monthly: Sequence[tuple[str, pl.DataFrame]], key: str) -> pl.DataFrame:
    """Per subject and compared indicator: the run of consecutive months worse than the group average
    that ends with the last month, the longest run, and whether it reaches ``streak`` (named)."""
    pc = compiled.scheme.peers
    if pc is None or not monthly:
        return pl.DataFrame()
    long = monthly_marks(compiled, monthly, key)
    out = long.select(key).unique().sort(key)
    need = pc.streak or math.inf
    for code in pc.indicators:
        runs = (long.group_by(key, maintain_order=True)
                .agg(pl.col(code).alias("seq"))
                .with_columns(pl.col("seq").map_elements(_current_and_longest, return_dtype=pl.List(pl.Int64)).alias("r")))
        runs = runs.select(key, pl.col("r").list.get(0).alias(f"streak__{code}"),
                           pl.col("r").list.get(1).alias(f"longest__{code}"))
        out = out.join(runs, on=key, how="left").with_columns(
            (pl.col(f"longest__{code}") >= need).alias(f"named__{code}"))
    return out


def monthly_marks(compiled: CompiledScheme, monthly: Sequence[tuple[str, pl.DataFrame]], key: str) -> pl.DataFrame:
    """One row per subject and month: ``month`` and, per compared indicator, whether the unit was worse
    than its group's average that month (evaluated units only)."""
    pc = compiled.scheme.peers
    if pc is None or not monthly:
        return pl.DataFrame()
    g = _group(pc.group)
    by_code = {ci.indicator.code: ci for ci in compiled.indicators}
    marks = []
    for label, frame in monthly:
        cols = [pl.col(key)]
        for code in pc.indicators:
            worse = _worse_than_average(code, by_code[code].higher_better, frame, g).fill_null(False)
            cols.append(worse.alias(code))
        marks.append(frame.select(cols).with_columns(pl.lit(label).alias("month")))
    return pl.concat(marks).sort([key, "month"])


def _current_and_longest(seq: pl.Series) -> list[int]:
    current = longest = 0
    for worse in seq:
        current = current + 1 if worse else 0
        longest = max(longest, current)
    return [current, longest]
