"""A publication's summary counts grades by the scheme's bands — and a scheme without grades (a
procuratorate comparison) says so with no grade counts, not ``{"None": 0}`` beside 96 graded (audit)."""

from __future__ import annotations

from types import SimpleNamespace

import polars as pl

from rulesvc.services.publications import _summary


def fig(grading, frame: pl.DataFrame):
    return SimpleNamespace(compiled=SimpleNamespace(scheme=SimpleNamespace(grading=grading)), frame=frame,
                           left_out=pl.DataFrame())


def test_a_scheme_without_grades_counts_none():
    frame = pl.DataFrame({"status": ["evaluated"] * 3, "grade": [None, None, None], "total": [1.0, 2.0, 3.0]},
                         schema_overrides={"grade": pl.Utf8})
    s = _summary(fig(None, frame), frame)
    assert s["grades"] == {} and s["graded"] == 3 and s["mean_total"] == 2.0


def test_grades_are_counted_in_the_order_of_the_bands():
    bands = SimpleNamespace(bands=[SimpleNamespace(grade=g) for g in ("优秀", "良好", "合格")])
    frame = pl.DataFrame({"status": ["evaluated"] * 3, "grade": ["合格", "优秀", "合格"], "total": [80.0, 95.0, 81.0]})
    assert list(_summary(fig(bands, frame), frame)["grades"].items()) == [("优秀", 1), ("良好", 0), ("合格", 2)]
