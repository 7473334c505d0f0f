"""The report of a simulation (模拟测评) for one period: what a candidate version (候选版本) changes against a
baseline version (基准版本), scored by the bulk executor on the same facts and the same subjects.

Input: each side's compiled scheme and its ``BulkResult`` (``frame``: the subjects taking part, evaluated
or not graded; ``left_out``), display names (:class:`Labels`: the engine knows no database) and
:class:`Options`. Output, :class:`Report`:

- ``subjects``: one row per subject taking part on either side (the columns of :data:`SUBJECT_SCHEMA`,
  stored as rows by the services): totals, competition ranks among the subjects graded on that side,
  grades, Δ total, Δ rank (positive: moved up), grade move in bands (positive: up) and, per side, the
  subject's attribution as compact JSON (``detail_c`` / ``detail_b``, see :func:`detail_expr`);
- ``summary``: JSON-able, deterministic, floats rounded to 6 decimals (NaN → None), in sections
  ``overview`` (the numbers of :func:`rulesvc.engine.runcompare.compare` with grades in band order,
  quota places available and taken, who takes part), ``movers`` (risers and fallers, the first ones with
  why they moved), ``indicators`` (区分度: points distribution, full / zero / missing shares, tier
  occupancy, flags), ``fairness`` (公平性: by line, business, level and procuratorate, flagged when a
  group's mean total differs from everyone else's by more than the threshold) and ``org_level``
  (procuratorate-level schemes with ``peers``: positions and laggard flags under both versions).

Totals, grades and ranks are those of the subjects *graded* on a side (status ``evaluated``); a subject
scored but not graded keeps its total in its detail only. :func:`why_moved` splits a change of total into
base, indicator contributions, adjustments, dimension caps and the total's clip: the items add up to
``total_c − total_b``.

Pure: polars and the standard library.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import polars as pl

from rulesvc.engine.bulk import GROUP_COLUMNS, reached_band
from rulesvc.engine.comparison import POSITIONS, laggard_rules, laggards, positions
from rulesvc.engine.compile import CompiledIndicator, CompiledScheme
from rulesvc.engine.participation import (
    EVALUATED,
    EXCLUDED,
    LEVEL_LABELS,
    NOT_GRADED,
    REASON_LABELS,
    STATUS_LABELS,
)
from rulesvc.engine.peers import ROUNDING_LABELS, fmt_share, quota_places
from rulesvc.engine.runcompare import NO_GRADE, kendall_tau_b, overview, shared_bins, spearman
from rulesvc.engine.scoring import Piecewise

DIGITS = 6  # of every float in the summary
DETAIL_VERSION = 1
WHY_ITEMS = 10_000  # why_moved items per mover in the summary: all that moved, so that they add up to the change
MISSING_BRANCH = "missing"  # the bulk executor's branch when an indicator applies but has no x

SUBJECT_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "subject_id": pl.Int64, "code": pl.Utf8, "name": pl.Utf8, "procuratorate_id": pl.Int64,
    "business_code": pl.Utf8, "line": pl.Utf8, "level": pl.Utf8,
    "status_c": pl.Utf8, "status_b": pl.Utf8, "total_c": pl.Float64, "total_b": pl.Float64,
    "grade_c": pl.Utf8, "grade_b": pl.Utf8, "rank_c": pl.Int64, "rank_b": pl.Int64,
    "delta_total": pl.Float64, "delta_rank": pl.Int64, "grade_move": pl.Int64,
    "detail_c": pl.Utf8, "detail_b": pl.Utf8,
}
ATTRIBUTES: dict[str, pl.DataType | type[pl.DataType]] = {
    "code": pl.Utf8, "name": pl.Utf8, "procuratorate_id": pl.Int64, "business_code": pl.Utf8, "line": pl.Utf8,
    "level": pl.Utf8}
SIDES = ("candidate", "baseline")
KIND_NAMES = {"base": "基础分", "clip": "总分封顶/保底"}


@dataclass(frozen=True)
class Side:
    """One version's scoring of the period."""

    compiled: CompiledScheme
    frame: pl.DataFrame  # BulkResult.frame: subjects taking part (status evaluated or not_graded)
    left_out: pl.DataFrame  # BulkResult.left_out


@dataclass(frozen=True)
class Labels:
    """Display names: the engine knows no database."""

    procuratorates: dict[int, tuple[str, str, str]]  # procuratorate_id -> (code, name, level)
    businesses: dict[str, str]  # business code -> Chinese name
    lines: dict[str, str]  # line code -> Chinese name (四大检察)
    levels: dict[str, str]  # procuratorate level code -> 省级院/市级院/基层院


@dataclass(frozen=True)
class Options:
    top: int = 10  # risers/fallers listed
    bins: int = 20  # histogram bins
    why_top: int = 5  # risers and fallers whose "why it moved" is in the summary
    fairness_threshold: float = 1.5  # points: flag a group whose mean differs from the rest by more
    flat_share: float = 0.9  # flag an indicator when >= this share of subjects have the same points
    excluded_share: float = 0.5  # flag an indicator left out (不计入) for >= this share of those it applies to
    list_limit: int = 100  # subjects listed per grade entering / leaving (the subjects table has them all)


@dataclass(frozen=True)
class Report:
    summary: dict[str, Any]  # JSON-able, deterministic
    subjects: pl.DataFrame  # one row per subject taking part on either side (SUBJECT_SCHEMA)


# -- small helpers ------------------------------------------------------------------------------------------

def clean(obj: Any) -> Any:
    """JSON-able and deterministic: floats rounded to ``DIGITS`` (NaN and infinities → None), tuples as
    lists, mapping keys as text."""
    if isinstance(obj, bool) or obj is None or isinstance(obj, str | int):
        return obj
    if isinstance(obj, float):
        if not math.isfinite(obj):
            return None
        r = round(obj, DIGITS)
        return 0.0 if r == 0 else r  # no −0.0
    if isinstance(obj, Mapping):
        return {str(k): clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [clean(v) for v in obj]
    raise TypeError(f"not JSON-able: {type(obj).__name__}")


def _col(frame: pl.DataFrame, name: str, dtype: pl.DataType | type[pl.DataType]) -> pl.Expr:
    return pl.col(name).cast(dtype) if name in frame.columns else pl.lit(None, dtype=dtype)


def _scored(compiled: CompiledScheme) -> list[tuple[CompiledIndicator, Piecewise]]:
    return [(ci, ci.piecewise) for ci in compiled.indicators if ci.piecewise is not None]


def _bands(compiled: CompiledScheme | None) -> list[str]:
    g = compiled.scheme.grading if compiled is not None else None
    return [b.grade for b in g.bands] if g is not None else []


def grade_order(candidate: CompiledScheme, baseline: CompiledScheme | None) -> list[str]:
    """The grades of both versions, best first: the candidate's bands, each baseline-only grade placed after
    the baseline grade it follows there (so the same band list gives the same order)."""
    order = _bands(candidate)
    prev: str | None = None
    for g in _bands(baseline):
        if g not in order:
            order.insert(order.index(prev) + 1 if prev is not None else 0, g)
        prev = g
    return order


def _ordered_grades(grades: Sequence[str], order: Sequence[str]) -> list[str]:
    """``grades`` in band order, anything else (``NO_GRADE``) after, sorted."""
    rest = sorted(set(grades) - set(order))
    return [g for g in order if g in set(grades)] + rest


# -- the attribution of one subject, as compact JSON -------------------------------------------------------

def _json_number(e: pl.Expr) -> pl.Expr:
    """A Float64 as JSON text: polars writes the shortest text that reads back as the same float; null,
    NaN and infinities (never produced by the executor) are written null."""
    return pl.when(e.is_finite()).then(e.cast(pl.Utf8)).otherwise(pl.lit("null"))


def detail_expr(compiled: CompiledScheme, frame: pl.DataFrame) -> pl.Expr:
    """Each row's attribution as one compact JSON object (built by polars, no per-row Python)::

        {"ind": {CODE: {name, value, [x,] branch, pts, max, contrib}},  # indicators that apply (branch set);
                                                                        # x: the percentile / ratio tested
         "adj": {CODE: {name, n, pts}},                                  # adjustments that matched
         "cap": {DIMENSION: {name, pts}},                                # dimension caps that bit
         "veto": {CODE: name},                                           # vetoes that fired
         "base", "raw_total", "clip" (total − raw_total: the cap/floor and rounding), "total", "grade",
         "grade_reason", "status", "v"}

    ``base + Σ contrib + Σ adj.pts + Σ cap.pts + clip`` is ``total`` (to floating-point residue)."""
    s = compiled.scheme
    ind: list[pl.Expr] = []
    for ci, pw in _scored(compiled):
        code = ci.indicator.code
        # Text built by concatenation (no json_encode: this is the bulk of the report's time): the name
        # is encoded once here, the branch ids are identifiers, numbers are written as they round-trip.
        parts = [pl.lit(f'{json.dumps(code)}:{{"name":{json.dumps(ci.indicator.name, ensure_ascii=False)},"value":'),
                 _json_number(_col(frame, code, pl.Float64))]
        if pw.derive != "value":  # the percentile or ratio the rule tests
            parts += [pl.lit(',"x":'), _json_number(_col(frame, f"x__{code}", pl.Float64))]
        parts += [pl.lit(',"branch":"'), pl.col(f"branch__{code}").cast(pl.Utf8), pl.lit('","pts":'),
                  _json_number(pl.col(f"pts__{code}").cast(pl.Float64)),
                  pl.lit(f',"max":{json.dumps(float(pw.max_points))},"contrib":'),
                  _json_number(pl.col(f"contrib__{code}").cast(pl.Float64)), pl.lit("}")]
        entry = pl.concat_str(parts)
        ind.append(pl.when(pl.col(f"branch__{code}").is_not_null()).then(entry))
    adj: list[pl.Expr] = []
    for ca in compiled.adjustments:
        a = ca.adjustment
        n, pts = pl.col(f"adjn__{a.code}").cast(pl.Int64), pl.col(f"adj__{a.code}").cast(pl.Float64)
        entry = pl.struct(pl.lit(a.name, dtype=pl.Utf8).alias("name"), n.alias("n"), pts.alias("pts")).struct.json_encode()
        adj.append(pl.when((n > 0) | (pts != 0)).then(pl.lit(json.dumps(a.code) + ":") + entry))
    cap: list[pl.Expr] = []
    for dim, d in s.dimensions.items():
        col = f"cap__{dim}"
        if col in frame.columns:
            entry = pl.struct(pl.lit(f"{d.name}加减分封顶", dtype=pl.Utf8).alias("name"),
                              pl.col(col).cast(pl.Float64).alias("pts")).struct.json_encode()
            cap.append(pl.when(pl.col(col) != 0).then(pl.lit(json.dumps(dim) + ":") + entry))
    veto: list[pl.Expr] = [pl.when(pl.col(f"veto__{cv.veto.code}")).then(pl.lit(f"{json.dumps(cv.veto.code)}:{json.dumps(cv.veto.name, ensure_ascii=False)}"))
            for cv in compiled.vetoes]
    top = pl.struct(
        pl.lit(DETAIL_VERSION).alias("v"), pl.lit(float(s.combination.base)).alias("base"),
        pl.col("raw_total").cast(pl.Float64).alias("raw_total"),
        (pl.col("total") - pl.col("raw_total")).cast(pl.Float64).alias("clip"),
        pl.col("total").cast(pl.Float64).alias("total"), _col(frame, "grade", pl.Utf8).alias("grade"),
        _col(frame, "grade_reason", pl.Utf8).alias("grade_reason"), _col(frame, "status", pl.Utf8).alias("status"),
    ).struct.json_encode()

    def obj(parts: Sequence[pl.Expr]) -> pl.Expr:
        return pl.lit("{") + pl.concat_str(parts, separator=",", ignore_nulls=True) + pl.lit("}") if parts \
            else pl.lit("{}")

    return (pl.lit('{"ind":') + obj(ind) + pl.lit(',"adj":') + obj(adj) + pl.lit(',"cap":') + obj(cap)
            + pl.lit(',"veto":') + obj(veto) + pl.lit(",") + top.str.slice(1))


def _tier_label(text: str, name: str) -> str:
    """A branch as a tier of the report: the indicator's name for the value, and where the points depend on the
    value, said so ("按比例计 {points} 分" would read "按比例计 相应 分")."""
    return (text.replace("，按比例计 {points} 分", "，按比例计分").replace(" = {points} 分", "")
            .replace("{points}", "相应").replace("{x}", name))


def explaining(items: Sequence[Mapping[str, Any]], limit: int) -> list[dict[str, Any]]:
    """The items of :func:`why_moved` worth reading: those that moved the total (``limit`` of them, largest
    first), then up to three indicators that score on one side only and moved nothing themselves — an indicator
    added at 0 of its 3 points is why the rest of its dimension counts for less, and must be named."""
    moved = [dict(w) for w in items if abs(float(w.get("delta") or 0.0)) > 1e-9][:limit]
    one_sided = [dict(w) for w in items if abs(float(w.get("delta") or 0.0)) <= 1e-9 and w.get("kind") == "indicator"
                 and w.get("only")][:3]
    return moved + one_sided


def _detail(d: Mapping[str, Any] | str | None) -> Mapping[str, Any]:
    if d is None:
        return {}
    if isinstance(d, str):
        loaded: dict[str, Any] = json.loads(d)
        return loaded
    return d


def why_moved(detail_candidate: Mapping[str, Any] | str | None,
              detail_baseline: Mapping[str, Any] | str | None) -> list[dict[str, Any]]:
    """Why a subject's total moved, from the two stored details (dicts, or their JSON text; None: not
    scored on that side): one item per base, indicator, adjustment, dimension cap and clip present on
    either side — ``{kind, code, name, points_b, points_c, contrib_b, contrib_c, delta}`` with ``delta`` the
    contribution's change (c − b; absent or null counts 0) — sorted by |delta| descending, then code.
    The deltas add up to ``total_c − total_b`` (to floating-point residue). A clip (total cap / floor)
    appears only when it moved a total."""
    c, b = _detail(detail_candidate), _detail(detail_baseline)
    items: list[dict[str, Any]] = []

    def add(kind: str, code: str, name: str, pb: Any, pc: Any, cb: Any, cc: Any) -> dict[str, Any]:
        delta = (cc or 0.0) - (cb or 0.0)
        item = {"kind": kind, "code": code, "name": name, "points_b": pb, "points_c": pc,
                "contrib_b": cb, "contrib_c": cc, "delta": delta}
        items.append(item)
        return item

    if c or b:
        add("base", "base", KIND_NAMES["base"], b.get("base"), c.get("base"), b.get("base"), c.get("base"))
    for kind, section, contrib in (("indicator", "ind", "contrib"), ("adjustment", "adj", "pts"), ("cap", "cap", "pts")):
        ec, eb = c.get(section) or {}, b.get(section) or {}
        for code in sorted(set(ec) | set(eb)):
            x, y = ec.get(code) or {}, eb.get(code) or {}
            name = x.get("name") or y.get("name") or code
            item = add(kind, code, name, y.get("pts"), x.get("pts"), y.get(contrib), x.get(contrib))
            if kind == "indicator":
                # Its most points on each side, and whether it scores on one side only (added, switched off,
                # applying to other lines): such an indicator moves the others of its dimension even at 0 points.
                item["max_b"], item["max_c"] = y.get("max"), x.get("max")
                item["only"] = "candidate" if not y else "baseline" if not x else None
    clip_c, clip_b = c.get("clip") or 0.0, b.get("clip") or 0.0
    if abs(clip_c) > 1e-9 or abs(clip_b) > 1e-9:
        add("clip", "clip", KIND_NAMES["clip"], clip_b if b else None, clip_c if c else None,
            clip_b if b else None, clip_c if c else None)
    items.sort(key=lambda i: (-abs(i["delta"]), i["code"], i["kind"]))
    return items


# -- the subjects table ------------------------------------------------------------------------------------

def _side_rows(side: Side, key: str) -> pl.DataFrame:
    """One row per subject of one side (taking part or left out): attributes, status, total and grade when
    graded, competition rank among the graded, and the detail."""
    f = side.frame
    graded = pl.col("status") == EVALUATED
    rows = f.select(
        pl.col(key).cast(pl.Int64).alias("subject_id"),
        *[_col(f, c, t).alias(c) for c, t in ATTRIBUTES.items()],
        pl.col("status").cast(pl.Utf8),
        pl.when(graded).then(pl.col("total").cast(pl.Float64)).alias("total"),
        pl.when(graded).then(_col(f, "grade", pl.Utf8)).alias("grade"),
        detail_expr(side.compiled, f).alias("detail"),
    ).with_columns(pl.col("total").rank("min", descending=True).cast(pl.Int64).alias("rank"))
    lo = side.left_out
    if key in lo.columns and lo.height:
        left = lo.select(
            pl.col(key).cast(pl.Int64).alias("subject_id"), *[_col(lo, c, t).alias(c) for c, t in ATTRIBUTES.items()],
            pl.lit(EXCLUDED, dtype=pl.Utf8).alias("status"), pl.lit(None, dtype=pl.Float64).alias("total"),
            pl.lit(None, dtype=pl.Utf8).alias("grade"), pl.lit(None, dtype=pl.Utf8).alias("detail"),
            pl.lit(None, dtype=pl.Int64).alias("rank"))
        rows = pl.concat([rows, left.filter(~pl.col("subject_id").is_in(rows["subject_id"].implode()))])
    if key == "procuratorate_id":
        rows = rows.with_columns(pl.col("subject_id").alias("procuratorate_id"))
    return rows


def subjects_table(candidate: Side, baseline: Side | None, key: str, order: Sequence[str]) -> pl.DataFrame:
    """The rows of :data:`SUBJECT_SCHEMA`, sorted by subject id."""
    per = {"c": _side_rows(candidate, key)}
    if baseline is not None:
        per["b"] = _side_rows(baseline, key)
    else:
        per["b"] = per["c"].clear()
    renamed = {s: f.rename({c: f"{c}_{s}" for c in f.columns if c != "subject_id"}) for s, f in per.items()}
    t = renamed["c"].join(renamed["b"], on="subject_id", how="full", coalesce=True)
    # Subjects left out on both sides take no part in the simulation.
    t = t.filter(~((pl.col("status_c").is_null() | (pl.col("status_c") == EXCLUDED))
                   & (pl.col("status_b").is_null() | (pl.col("status_b") == EXCLUDED))))
    pos = {g: i for i, g in enumerate(order)}
    band = {s: pl.col(f"grade_{s}").replace_strict(pos, default=None, return_dtype=pl.Int64) for s in ("c", "b")}
    t = t.with_columns(
        *[pl.coalesce(pl.col(f"{c}_c"), pl.col(f"{c}_b")).alias(c) for c in ATTRIBUTES],
        (pl.col("total_c") - pl.col("total_b")).round(9).alias("delta_total"),
        (pl.col("rank_b") - pl.col("rank_c")).alias("delta_rank"),
        (band["b"] - band["c"]).alias("grade_move"),
    )
    return t.select([pl.col(c).cast(dt) for c, dt in SUBJECT_SCHEMA.items()]).sort("subject_id")


# -- summary sections --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Ctx:
    candidate: Side
    baseline: Side | None
    key: str
    labels: Labels
    options: Options
    order: list[str]
    subjects: pl.DataFrame  # the subjects table without the details (filtering it stays cheap)
    details: pl.DataFrame  # subject_id, detail_c, detail_b

    def sides(self) -> list[tuple[str, str, Side | None]]:
        return [("candidate", "c", self.candidate), ("baseline", "b", self.baseline)]

    def org_name(self, pid: Any) -> str | None:
        lab = self.labels.procuratorates.get(pid) if pid is not None else None
        return lab[1] if lab else None

    def who(self, row: Mapping[str, Any]) -> dict[str, Any]:
        return {"subject_id": row["subject_id"], "code": row["code"], "name": row["name"],
                "procuratorate_id": row["procuratorate_id"], "org": self.org_name(row["procuratorate_id"])}


def _group_label(ctx: _Ctx, group: str, value: Any) -> str | None:
    if value is None:
        return None
    if group == "procuratorate":
        return ctx.org_name(value)
    if group == "level":
        return ctx.labels.levels.get(value) or LEVEL_LABELS.get(value, str(value))
    if group == "line":
        return ctx.labels.lines.get(value, str(value))
    if group == "business":
        return ctx.labels.businesses.get(value, str(value))
    return str(value)


def _sort_key(v: Any) -> tuple[int, str]:
    return (1, "") if v is None else (0, f"{v:>20}" if isinstance(v, int) else str(v))


def _quota(ctx: _Ctx, side: Side) -> list[dict[str, Any]]:
    """Per band with a quota: places available (``quota_places`` of each quota group's evaluated subjects,
    as ``peers.grade_for`` counts them), places taken (holding the band) and subjects whose total reaches
    the band's minimum without being graded a better band (``reached_band``) — summed over the groups,
    and per group."""
    g = side.compiled.scheme.grading
    if g is None or not any(b.quota is not None for b in g.bands):
        return []
    gcol = None if g.quota_group == "all" else GROUP_COLUMNS[g.quota_group]
    ev = side.frame.filter(pl.col("status") == EVALUATED)
    group = pl.col(gcol) if gcol else pl.lit(None).alias("__g")
    gname = gcol or "__g"
    banded = [b for b in g.bands if b.quota is not None]
    agg = ev.group_by(group).agg(
        pl.len().alias("n"),
        *[(pl.col("grade") == b.grade).sum().alias(f"taken{i}") for i, b in enumerate(banded)],
        *[reached_band(g, b).sum().alias(f"reached{i}") for i, b in enumerate(banded)],
    ).to_dicts()
    agg = sorted((r for r in agg if r["n"]), key=lambda r: _sort_key(r[gname]))
    out = []
    for i, b in enumerate(banded):
        assert b.quota is not None
        groups = [{"group": r[gname], "label": _group_label(ctx, g.quota_group, r[gname]), "size": r["n"],
                   "places": quota_places(b.quota, r["n"], b.quota_rounding), "taken": r[f"taken{i}"],
                   "reached": r[f"reached{i}"]} for r in agg]
        out.append({
            "grade": b.grade, "quota": b.quota, "quota_label": fmt_share(b.quota), "rounding": b.quota_rounding,
            "below_best": b is not g.bands[0],  # "reached" leaves out those graded a better band
            "rounding_label": ROUNDING_LABELS[b.quota_rounding], "quota_group": g.quota_group, "min": b.min,
            "groups": len(groups), "size": sum(x["size"] for x in groups),
            "places": sum(x["places"] for x in groups), "taken": sum(x["taken"] for x in groups),
            "reached": sum(x["reached"] for x in groups),
            "by_group": groups if gcol else [],
        })
    return out


def _reasons(frame: pl.DataFrame, status: str | None) -> list[dict[str, Any]]:
    if "status_code" not in frame.columns or not frame.height:
        return []
    f = frame.filter(pl.col("status") == status) if status else frame
    rows = f.group_by(pl.col("status_code").fill_null(""), pl.col("status_reason").fill_null("")).len().to_dicts()
    # One line per reason code, in words that hold for all of them (never one person's dates).
    by: dict[str, dict[str, Any]] = {}
    for r in sorted(rows, key=lambda r: (r["status_code"], r["status_reason"])):
        words = REASON_LABELS.get(r["status_code"], r["status_reason"])
        e = by.setdefault(r["status_code"], {"code": r["status_code"], "reason": words, "count": 0})
        e["count"] += r["len"]
    return list(by.values())


def _participation(side: Side) -> dict[str, Any]:
    f = side.frame
    n_eval = f.filter(pl.col("status") == EVALUATED).height
    graded = f.filter((pl.col("status") == EVALUATED) & pl.col("grade").is_not_null()).height if "grade" in f.columns else 0
    return {"taking_part": f.height, "evaluated": n_eval, "with_grade": graded,
            "not_graded": f.filter(pl.col("status") == NOT_GRADED).height, "left_out": side.left_out.height,
            "not_graded_reasons": _reasons(f, NOT_GRADED), "left_out_reasons": _reasons(side.left_out, None),
            "status_labels": dict(STATUS_LABELS)}


def _side_stats(stats: dict[str, Any], bands: list[str]) -> dict[str, Any]:
    """runcompare's overview of one side with its grades as a list in band order (every band listed)."""
    grades = stats["grades"]
    n = stats["count"]
    names = bands + sorted(set(grades) - set(bands))
    out = {k: v for k, v in stats.items() if k != "grades"}
    out["grades"] = [{"grade": g, "count": grades.get(g, {}).get("count", 0),
                      "share": grades.get(g, {}).get("share", 0.0) if n else 0.0} for g in names]
    return out


def _people(ctx: _Ctx, part: pl.DataFrame) -> dict[str, Any]:
    """Who enters or leaves one grade: how many, and the first ``list_limit`` of them by code."""
    rows = part.sort(["code", "subject_id"], nulls_last=True).head(ctx.options.list_limit).to_dicts()
    return {"count": part.height, "truncated": part.height > len(rows),
            "subjects": [{**ctx.who(r), **{k: r[k] for k in ("total_b", "total_c", "grade_b", "grade_c")}} for r in rows]}


def _overview(ctx: _Ctx) -> dict[str, Any]:
    """Both sides' statistics (``runcompare.overview``), the shared histogram, the agreement of the two
    rankings, the grade transitions in band order and who enters and leaves each grade — the numbers of
    ``runcompare.compare``, computed from its parts over the subjects table (its per-subject movers list is
    not needed here) — and per side who takes part and the quota places."""
    t = ctx.subjects
    stats: dict[str, Any] = {}
    for name, s, side in ctx.sides():
        if side is not None:
            g = t.filter(pl.col(f"total_{s}").is_not_null())
            stats[name] = overview(g[f"total_{s}"].to_list(), g[f"grade_{s}"].fill_null(NO_GRADE).to_list())
    bands = {"candidate": _bands(ctx.candidate.compiled),
             "baseline": _bands(ctx.baseline.compiled) if ctx.baseline else []}
    out: dict[str, Any] = {"compared": None, "histogram": None, "agreement": None, "transitions": None,
                           "entering": None, "leaving": None}
    tc = t.filter(pl.col("total_c").is_not_null())["total_c"].to_list()
    if ctx.baseline is not None:
        tb = t.filter(pl.col("total_b").is_not_null())["total_b"].to_list()
        h = shared_bins(tb, tc, bins=ctx.options.bins)
        out["histogram"] = {"edges": h["edges"], "candidate": h["b"], "baseline": h["a"]}
        both = t.filter(pl.col("total_c").is_not_null() & pl.col("total_b").is_not_null()).with_columns(
            pl.col("grade_c").fill_null(NO_GRADE), pl.col("grade_b").fill_null(NO_GRADE))
        out["compared"] = both.height
        xc, xb = both["total_c"].to_list(), both["total_b"].to_list()
        out["agreement"] = {"spearman_rho": spearman(xc, xb), "kendall_tau_b": kendall_tau_b(xc, xb)}
        counts = {(f, to): n for f, to, n in both.group_by("grade_b", "grade_c").len().iter_rows()}
        grades = _ordered_grades([*{g for pair in counts for g in pair}, *ctx.order], ctx.order)
        out["transitions"] = {
            "grades": grades, "rows": "baseline", "columns": "candidate",
            "matrix": [[counts.get((f, to), 0) for to in grades] for f in grades],
            "changed": sum(n for (f, to), n in counts.items() if f != to),
        }
        moved = both.filter(pl.col("grade_b") != pl.col("grade_c"))
        out["entering"] = [{"grade": g, **_people(ctx, moved.filter(pl.col("grade_c") == g))} for g in grades]
        out["leaving"] = [{"grade": g, **_people(ctx, moved.filter(pl.col("grade_b") == g))} for g in grades]
    else:
        h = shared_bins(tc, [], bins=ctx.options.bins)
        out["histogram"] = {"edges": h["edges"], "candidate": h["a"], "baseline": None}
    sides: dict[str, Any] = {}
    for name, _, side in ctx.sides():
        sides[name] = None if side is None else \
            {**_side_stats(stats[name], bands[name]), **_participation(side), "quota": _quota(ctx, side)}
    return {"sides": sides, **out}


def _movers(ctx: _Ctx) -> dict[str, Any]:
    if ctx.baseline is None:
        return {"risers": [], "fallers": [], "moved": None, "grade_moved": None}
    both = ctx.subjects.filter(pl.col("total_c").is_not_null() & pl.col("total_b").is_not_null())

    def listing(up: bool) -> list[dict[str, Any]]:
        part = both.filter(pl.col("delta_total") > 0 if up else pl.col("delta_total") < 0)
        part = part.sort(["delta_total", "code", "subject_id"], descending=[up, False, False], nulls_last=True)
        out = []
        top = part.head(ctx.options.top)
        explained = top["subject_id"].head(ctx.options.why_top).implode()
        details = {r["subject_id"]: r for r in ctx.details.filter(pl.col("subject_id").is_in(explained)).to_dicts()}
        for i, r in enumerate(top.to_dicts()):
            m = {**ctx.who(r), **{k: r[k] for k in ("total_b", "total_c", "delta_total", "rank_b", "rank_c",
                                                     "delta_rank", "grade_b", "grade_c", "grade_move")}}
            if i < ctx.options.why_top:
                d = details[r["subject_id"]]
                dc, db = _detail(d["detail_c"]), _detail(d["detail_b"])
                m["why"] = explaining(why_moved(dc, db), WHY_ITEMS)
                m["grade_reason_b"], m["grade_reason_c"] = db.get("grade_reason"), dc.get("grade_reason")
            out.append(m)
        return out

    return {"risers": listing(True), "fallers": listing(False),
            "moved": both.filter(pl.col("delta_total") != 0).height,
            "up": both.filter(pl.col("delta_total") > 0).height, "down": both.filter(pl.col("delta_total") < 0).height,
            "grade_up": both.filter(pl.col("grade_move") > 0).height,
            "grade_down": both.filter(pl.col("grade_move") < 0).height,
            "mean_abs_delta": both["delta_total"].abs().mean() if both.height else None,
            "max_abs_delta_rank": both["delta_rank"].abs().max() if both.height else None}


def _graded_points(side: Side) -> pl.DataFrame:
    """The columns the indicator statistics read, of the subjects graded on one side."""
    cols = ["total"] + [f"{p}__{ci.indicator.code}" for ci, _ in _scored(side.compiled)
                        for p in ("applies", "pts", "branch", "contrib")]
    return side.frame.filter(pl.col("status") == EVALUATED).select(cols)


def _indicator_stats(ci: CompiledIndicator, pw: Piecewise) -> list[pl.Expr]:
    """The scalar statistics of one indicator over the graded subjects of a side (one row)."""
    code = ci.indicator.code
    a, p, br = pl.col(f"applies__{code}"), pl.col(f"pts__{code}").cast(pl.Float64), pl.col(f"branch__{code}")
    c = pl.col(f"contrib__{code}").cast(pl.Float64)
    return [
        pl.len().alias("graded"), a.sum().alias("applies"),
        (a & p.is_not_null()).sum().alias("with_points"),
        (a & (p == float(pw.max_points))).sum().alias("full"), (a & (p == 0)).sum().alias("zero"),
        (a & (br == MISSING_BRANCH)).sum().alias("missing"), (a & p.is_null()).sum().alias("excluded"),
        p.mean().alias("mean"), p.std(ddof=0).alias("sd"), p.min().alias("min"), p.max().alias("max"),
        pl.corr(p.filter(p.is_not_null()), pl.col("total").cast(pl.Float64).filter(p.is_not_null())).alias("corr_total"),
        c.mean().alias("mean_contrib"), c.fill_null(0.0).mean().alias("mean_contrib_all"),
    ]


def _indicator_side(ci: CompiledIndicator, pw: Piecewise, side: Side, ev: pl.DataFrame,
                    options: Options, s: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Points of one indicator among the subjects graded on one side (``ev``) that it applies to; ``s``:
    its :func:`_indicator_stats` when already computed (with every indicator's, in one query)."""
    code = ci.indicator.code
    a, p, br = pl.col(f"applies__{code}"), pl.col(f"pts__{code}").cast(pl.Float64), pl.col(f"branch__{code}")
    if s is None:
        s = ev.select(_indicator_stats(ci, pw)).row(0, named=True)
    n = s["applies"]

    def share(k: str) -> float | None:
        return float(s[k]) / n if n else None

    counts = dict(ev.filter(a).group_by(br.alias("b")).len().iter_rows())
    tiers = [{"branch": b.id, "text": b.text, "label": _tier_label(b.text, ci.indicator.name),
              "count": counts.get(b.id, 0), "share": counts.get(b.id, 0) / n if n else None} for b in pw.branches]
    mode = ev.filter(a & p.is_not_null()).group_by(p.alias("p")).len().sort(["len", "p"], descending=[True, False])
    flat_pts, flat_n = (mode.row(0) if mode.height else (None, 0))
    flat = bool(s["with_points"]) and flat_n / s["with_points"] >= options.flat_share
    holders = [k for k, v in counts.items() if v]
    everyone = holders[0] if n and len(holders) == 1 else None
    return {
        **{k: s[k] for k in ("applies", "with_points", "full", "zero", "missing", "excluded", "mean", "sd", "min", "max",
                             "corr_total", "mean_contrib", "mean_contrib_all")},
        "full_share": share("full"), "zero_share": share("zero"), "missing_share": share("missing"),
        "excluded_share": share("excluded"), "max_points": pw.max_points, "min_points": pw.min_points,
        "tiers": tiers, "missing_count": counts.get(MISSING_BRANCH, 0),
        "weight_share": side.compiled.weight_share.get(ci.indicator.dimension or "", None),
        "flags": {"flat": flat, "flat_points": flat_pts if flat else None,
                  "flat_share": flat_n / s["with_points"] if s["with_points"] else None,
                  # (not the catch-all below 0 that makes a rule cover every number: a count, a rate, a
                  # percentile or a ratio never falls there, so nobody reaching it says nothing)
                  "tiers_never_reached": [t["branch"] for t, b in zip(tiers, pw.branches, strict=True)
                                          if not t["count"] and not _below_zero(b)] if n else [],
                  "tier_everyone": everyone,
                  "mostly_excluded": bool(n) and s["excluded"] / n >= options.excluded_share},
    }


def _below_zero(b: Any) -> bool:
    """A branch only negative numbers fall in (the catch-all below a rule whose lowest line is 0)."""
    return bool(b.lo == -math.inf and (b.hi < 0 or (b.hi == 0 and not b.hi_closed)))


FLAGS = ("flat", "tiers_never_reached", "tier_everyone", "mostly_excluded")


def flags_on(side: Mapping[str, Any]) -> list[str]:
    """The flags raised on one side of an indicator's statistics, in :data:`FLAGS` order (a report stored
    before a flag existed has none of it)."""
    f = side["flags"]
    on = {"flat": bool(f.get("flat")), "tiers_never_reached": bool(f.get("tiers_never_reached")),
          "tier_everyone": f.get("tier_everyone") is not None, "mostly_excluded": bool(f.get("mostly_excluded"))}
    return [k for k in FLAGS if on[k]]


def _indicators(ctx: _Ctx) -> list[dict[str, Any]]:
    per: dict[str, dict[str, tuple[CompiledIndicator, Piecewise]]] = {}
    graded: dict[str, pl.DataFrame] = {}
    codes: list[str] = []
    for name, _, side in ctx.sides():
        if side is None:
            continue
        per[name] = {ci.indicator.code: (ci, pw) for ci, pw in _scored(side.compiled)}
        graded[name] = _graded_points(side)
        codes += [c for c in per[name] if c not in codes]
    # Every indicator's scalar statistics of a side in one query (the same expressions, one collect).
    stats: dict[str, dict[str, dict[str, Any]]] = {}
    for name, scored in per.items():
        exprs = [e.alias(f"{i}:{e.meta.output_name()}") for i, (ci, pw) in enumerate(scored.values())
                 for e in _indicator_stats(ci, pw)]
        row = graded[name].select(exprs).row(0, named=True) if exprs else {}
        stats[name] = {code: {k.split(":", 1)[1]: v for k, v in row.items() if k.split(":", 1)[0] == str(i)}
                       for i, code in enumerate(scored)}
    out = []
    for code in codes:
        entry: dict[str, Any] = {"code": code}
        for name, _, side in ctx.sides():
            got = per.get(name, {}).get(code)
            entry[name] = _indicator_side(got[0], got[1], side, graded[name], ctx.options, stats[name][code]) \
                if got and side else None
        ci = (per.get("candidate", {}).get(code) or per["baseline"][code])[0]
        ind = ci.indicator
        owner = ctx.candidate if code in per.get("candidate", {}) else ctx.baseline
        dims = owner.compiled.scheme.dimensions if owner is not None else {}
        entry.update({"name": ind.name, "dimension": ind.dimension,
                      "dimension_name": dims[ind.dimension].name if ind.dimension and ind.dimension in dims else None,
                      "method": ind.scoring.method if ind.scoring else None,
                      "lines": list(ind.lines), "businesses": list(ind.businesses)})
        other = per.get("baseline", {}).get(code)
        mine = per.get("candidate", {}).get(code)
        entry["in"] = [n for n in SIDES if code in per.get(n, {})]
        entry["rule_changed"] = (mine[0].indicator != other[0].indicator) if mine and other else None
        c, b = entry["candidate"], entry["baseline"]
        for k in ("mean_contrib", "mean_contrib_all", "mean"):
            entry[f"delta_{k}"] = (c[k] - b[k]) if c and b and c[k] is not None and b[k] is not None else None
        entry["flagged"] = sorted({f for s in (c, b) if s for f in flags_on(s)})
        out.append(entry)
    return out


FAIRNESS_GROUPS = {"prosecutor_id": (("line", "line"), ("business", "business_code"), ("level", "level"),
                                     ("procuratorate", "procuratorate_id")),
                   "procuratorate_id": (("level", "level"),)}


def _fairness(ctx: _Ctx) -> dict[str, Any]:
    t = ctx.subjects
    thr = ctx.options.fairness_threshold
    bands = {"c": _bands(ctx.candidate.compiled), "b": _bands(ctx.baseline.compiled) if ctx.baseline else []}
    out: dict[str, Any] = {"threshold": thr, "groupings": []}
    for group, col in FAIRNESS_GROUPS.get(ctx.key, FAIRNESS_GROUPS["prosecutor_id"]):
        per: dict[str, dict[Any, dict[str, Any]]] = {}
        for _, s, side in ctx.sides():
            if side is None:
                continue
            g = t.filter(pl.col(f"total_{s}").is_not_null())
            big_n, big_sum = g.height, float(g[f"total_{s}"].sum()) if g.height else 0.0
            grades = bands[s] + sorted(set(g[f"grade_{s}"].drop_nulls().to_list()) - set(bands[s]))
            agg = g.group_by(col).agg(
                pl.len().alias("n"), pl.col(f"total_{s}").sum().alias("sum"), pl.col(f"total_{s}").mean().alias("mean"),
                *[(pl.col(f"grade_{s}") == gr).sum().alias(f"g{i}") for i, gr in enumerate(grades)],
            )
            per[s] = {}
            for r in agg.iter_rows(named=True):
                rest_n = big_n - r["n"]
                rest = (big_sum - r["sum"]) / rest_n if rest_n else None
                diff = r["mean"] - rest if rest is not None else None
                per[s][r[col]] = {
                    "count": r["n"], "mean": r["mean"], "mean_rest": rest, "diff_from_rest": diff,
                    "flagged": diff is not None and abs(diff) > thr,
                    "grade_shares": {gr: r[f"g{i}"] / r["n"] for i, gr in enumerate(grades)},
                }
        keys = sorted({k for d in per.values() for k in d}, key=_sort_key)
        rows = []
        for k in keys:
            c, b = per.get("c", {}).get(k), per.get("b", {}).get(k)
            row: dict[str, Any] = {"group": k, "label": _group_label(ctx, group, k), "candidate": c, "baseline": b}
            if group == "procuratorate":
                lab = ctx.labels.procuratorates.get(k) if k is not None else None
                row["code"] = lab[0] if lab else None
            row["delta_mean"] = c["mean"] - b["mean"] if c and b else None
            row["flagged"] = [n for n, x in (("candidate", c), ("baseline", b)) if x and x["flagged"]]
            rows.append(row)
        out["groupings"].append({"by": group, "groups": rows,
                                 "flagged": [{"group": r["group"], "label": r["label"], "sides": r["flagged"]}
                                             for r in rows if r["flagged"]]})
    return out


def _org_level(ctx: _Ctx) -> dict[str, Any] | None:
    if ctx.key != "procuratorate_id":
        return None
    sides = [(n, s, side) for n, s, side in ctx.sides() if side is not None and side.compiled.scheme.peers is not None]
    if not sides:
        return None
    out: dict[str, Any] = {}
    per: dict[str, dict[int, dict[str, Any]]] = {}
    indicators: list[str] = []
    for name, _, side in sides:
        pc = side.compiled.scheme.peers
        assert pc is not None
        f = laggards(side.compiled, positions(side.compiled, side.frame))
        flags = [r for r in ("bottom_k", "bottom_share") if r in f.columns]
        cols = [f"pos__{c}" for c in pc.indicators]
        rows = f.select(pl.col(ctx.key).cast(pl.Int64).alias("id"), *cols, *flags).to_dicts()
        per[name] = {r["id"]: {"positions": {c: r[f"pos__{c}"] for c in pc.indicators},
                               "laggard": {fl: bool(r[fl]) for fl in flags}} for r in rows}
        indicators += [c for c in pc.indicators if c not in indicators]
        counts = {c: {p: sum(1 for r in rows if r[f"pos__{c}"] == p) for p in POSITIONS} for c in pc.indicators}
        out[name] = {"group": pc.group, "indicators": list(pc.indicators), "positions": counts,
                     "laggards": {fl: sum(1 for r in rows if r[fl]) for fl in flags},
                     "rules": [{"rule": r.rule, "group": r.group, "label": _group_label(ctx, pc.group, r.group),
                                "size": r.size, "places": r.places, "note": r.note}
                               for r in laggard_rules(side.compiled, side.frame)]}
    for name in SIDES:
        out.setdefault(name, None)
    names = {r["subject_id"]: r for r in ctx.subjects.select("subject_id", "code", "name", "procuratorate_id").to_dicts()}
    changes = []
    if len(per) == 2:
        for uid in sorted(set(per["candidate"]) | set(per["baseline"])):
            c, b = per["candidate"].get(uid), per["baseline"].get(uid)
            pos = {k: {"baseline": (b or {}).get("positions", {}).get(k), "candidate": (c or {}).get("positions", {}).get(k)}
                   for k in indicators}
            pos = {k: v for k, v in pos.items() if v["baseline"] != v["candidate"]}
            lag_c, lag_b = (c or {}).get("laggard", {}), (b or {}).get("laggard", {})
            moved = {fl: {"baseline": lag_b.get(fl), "candidate": lag_c.get(fl)} for fl in sorted(set(lag_c) | set(lag_b))
                     if lag_b.get(fl) != lag_c.get(fl)}
            if pos or moved:
                who = names.get(uid) or {"subject_id": uid, "code": None, "name": None, "procuratorate_id": uid}
                changes.append({**ctx.who(who), "positions": pos, "laggard": moved})
    out["changes"] = changes
    out["indicators"] = indicators
    return out


def build_report(candidate: Side, baseline: Side | None, *, key: str, labels: Labels,
                 options: Options = Options()) -> Report:
    """The simulation report of one period (see the module's docstring). ``baseline`` None: the candidate
    alone (Δ fields null)."""
    order = grade_order(candidate.compiled, baseline.compiled if baseline else None)
    subjects = subjects_table(candidate, baseline, key, order)
    ctx = _Ctx(candidate, baseline, key, labels, options, order, subjects.drop("detail_c", "detail_b"),
               subjects.select("subject_id", "detail_c", "detail_b"))
    scheme = {n: ({"code": s.compiled.scheme.code, "name": s.compiled.scheme.name,
                   "content_hash": s.compiled.scheme.content_hash, "subject": s.compiled.scheme.subject,
                   "grades": _bands(s.compiled)} if s else None) for n, _, s in ctx.sides()}
    summary = {
        "version": 1, "key": key, "schemes": scheme, "grades": order, "options": asdict(options),
        "subjects": subjects.height,
        "overview": _overview(ctx), "movers": _movers(ctx), "indicators": _indicators(ctx),
        "fairness": _fairness(ctx), "org_level": _org_level(ctx),
    }
    return Report(clean(summary), subjects)


__all__ = ["SUBJECT_SCHEMA", "Labels", "Options", "Report", "Side", "build_report", "detail_expr", "grade_order",
           "why_moved", "explaining"]
