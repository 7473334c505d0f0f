"""Cases the fuzzers found, kept as plain tests."""

from __future__ import annotations

import polars as pl

from rulesvc.engine.expr import NUMBER, compile_polars, compile_python, parse


def test_a_remainder_with_no_reliable_digits_is_missing_in_both_executors():
    # Found by hypothesis: 8.0 in Python, -8.0 in polars (a fused multiply-add rounds differently).
    expr = parse("x % 1e-10", {"x": NUMBER})
    rows = {"x": [1e9]}
    py = [compile_python(expr)({"x": v}) for v in rows["x"]]
    pol = pl.DataFrame(rows).select(compile_polars(expr).alias("r"))["r"].to_list()
    assert py == [None] and pol == [None]
    sane = parse("x % 2", {"x": NUMBER})
    assert compile_python(sane)({"x": 7.5}) == 1.5
    assert pl.DataFrame({"x": [7.5]}).select(compile_polars(sane))["x"].to_list() == [1.5]
