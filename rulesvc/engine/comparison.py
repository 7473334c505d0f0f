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

import polars as pl

from rulesvc.engine.bulk import GROUP_COLUMNS
from rulesvc.engine.compile import CompiledScheme

POSITIONS = ("上游", "中游", "下游")


def _group(group: str) -> pl.Expr:
    return pl.lit(0) if group == "all" else pl.col(GROUP_COLUMNS[group])


def _in(g: pl.Expr, values: Sequence[str]) -> pl.Expr:
    return g.cast(pl.Utf8).is_in(list(values)) if values else pl.lit(True)


def _worse_than_average(code: str, higher_better: bool, g: pl.Expr) -> pl.Expr:
    avg = pl.col(code).mean().over(g)
    return (pl.col(code) < avg) if higher_better else (pl.col(code) > avg)


def positions(compiled: CompiledScheme, frame: pl.DataFrame) -> pl.DataFrame:
    """Add ``avg__<ind>`` and ``pos__<ind>`` (上游/中游/下游, null without a value) per compared indicator."""
    pc = compiled.scheme.peers
    if pc is None:
        return frame
    g = _group(pc.group)
    by_code = {ci.indicator.code: ci for ci in compiled.indicators}
    cols = []
    for code in pc.indicators:
        ci = by_code[code]
        v, avg = pl.col(code), pl.col(code).mean().over(g)
        hi, lo = avg * (1 + pc.band), avg * (1 - pc.band)
        better = (v > hi) if ci.higher_better else (v < lo)
        worse = (v < lo) if ci.higher_better else (v > hi)
        cols += [avg.alias(f"avg__{code}"),
                 pl.when(v.is_null()).then(None).when(better).then(pl.lit(POSITIONS[0]))
                 .when(worse).then(pl.lit(POSITIONS[2])).otherwise(pl.lit(POSITIONS[1])).alias(f"pos__{code}")]
    return frame.with_columns(cols)


def laggards(compiled: CompiledScheme, frame: pl.DataFrame) -> pl.DataFrame:
    """Add ``bottom_k`` / ``bottom_share`` flags: the lowest totals in each peer group.

    Ties at the boundary are all flagged (nobody escapes an explanation by a tie).
    """
    pc = compiled.scheme.peers
    if pc is None:
        return frame
    g = _group(pc.group)
    n = pl.len().over(g)
    cols = []
    low = pl.col("total").rank("min").over(g)  # 1 = lowest total; ties share a place, so all are flagged
    if pc.bottom_k is not None:
        # A group of k or fewer would be flagged whole: the rule is meant for groups with a bottom.
        cols.append(((low <= pc.bottom_k) & (n > pc.bottom_k) & _in(g, pc.bottom_k_groups)).alias("bottom_k"))
    if pc.bottom_share is not None:
        places = (n.cast(pl.Float64) * pc.bottom_share + 1e-9).floor().cast(pl.Int64)
        cols.append(((low <= places) & _in(g, pc.bottom_share_groups)).alias("bottom_share"))
    return frame.with_columns(cols) if cols else frame


def streaks(compiled: CompiledScheme, monthly: Sequence[tuple[str, pl.DataFrame]], key: str) -> pl.DataFrame:
    """Per subject and compared indicator: the run of consecutive months worse than the group average
    that ends with the last month, the longest run, and whether it reaches ``streak`` (named)."""
    pc = compiled.scheme.peers
    if pc is None or not monthly:
        return pl.DataFrame()
    g = _group(pc.group)
    by_code = {ci.indicator.code: ci for ci in compiled.indicators}
    marks = []
    for label, frame in monthly:
        cols = [pl.col(key)]
        for code in pc.indicators:
            worse = _worse_than_average(code, by_code[code].higher_better, g).fill_null(False)
            cols.append(worse.alias(code))
        marks.append(frame.select(cols).with_columns(pl.lit(label).alias("month")))
    long = pl.concat(marks).sort([key, "month"])
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


def _current_and_longest(seq: pl.Series) -> list[int]:
    current = longest = 0
    for worse in seq:
        current = current + 1 if worse else 0
        longest = max(longest, current)
    return [current, longest]
