"""The score card's words for a pro-rated indicator (``results_words._prorated_words``)."""

from rulesvc.services.results_words import _prorated_words


def test_a_pro_rated_value_says_what_it_was_divided_by():
    """A results audit (2026-12-07): a prosecutor in office 125 of 2020's 366 days read "= 45 * if(false, 2.5, 1) =
    131.76" — the division by the time in office was nowhere on the card."""
    card = {"period": "2020", "indicators": [{"code": "load", "value": 131.76}, {"code": "rate", "value": 0.9}]}
    trace = {"office_share": 125 / 366, "indicators": [{"code": "load", "prorated_from": 45.0},
                                                        {"code": "rate", "prorated_from": None}]}
    words = _prorated_words(card, trace, "zh")
    assert words("load", "") == {"raw": "45", "share": "125/366", "value": "131.76",
                                 "why": "按任职时间折算：本期间在任 125 天，共 366 天"}
    assert words("rate", "%") == ""  # not pro-rated: the formula line as before
    english = _prorated_words(card, trace, "en")("load", "")
    assert english["why"] == "pro-rated by time in office: 125 of the period's 366 days"
    july = _prorated_words({"period": "2020-07", "indicators": [{"code": "load", "value": 6.2}]},
                           {"office_share": 15 / 31, "indicators": [{"code": "load", "prorated_from": 3.0}]}, "zh")
    assert july("load", "")["share"] == "15/31"


def test_a_ratio_says_what_it_is_a_ratio_to():
    """A results audit (2026-12-07): "与最优者之比 0.7238 … 4.2381 分" with neither the best value nor the group."""
    from types import SimpleNamespace

    from rulesvc.services.results_words import _reference_words

    best = SimpleNamespace(piecewise=SimpleNamespace(derive="ratio_to_best"), higher_better=True, peer_group="business")
    assert _reference_words(best, {"value": 114.0, "x": 114.0 / 157.5}, "", "zh") == \
        "比较对象：同业务类别最优值 157.5（114 ÷ 157.5 = 0.7238）"
    lower = SimpleNamespace(piecewise=SimpleNamespace(derive="ratio_to_avg"), higher_better=False,
                            peer_group="procuratorate")
    assert _reference_words(lower, {"value": 2.0, "x": 1.5 / 2.0}, "", "zh") == \
        "比较对象：同院平均值 1.5（1.5 ÷ 2 = 0.75）"
    assert _reference_words(best, {"value": 114.0, "x": 0.7}, "", "en").startswith(
        "Compared with the best of the same business: 162.8571")
    value = SimpleNamespace(piecewise=SimpleNamespace(derive="value"), higher_better=True, peer_group="all")
    assert _reference_words(value, {"value": 3.0, "x": 3.0}, "", "zh") == ""  # scored on its own value
    assert _reference_words(best, {"value": 0.0, "x": 0.0}, "", "zh") == ""  # nothing to recover from


def test_months_not_graded_for_one_reason_are_said_once():
    """A results audit (2026-12-07): each month's reason named its month ("不参加 2020-06 考评：本期间不在任"), so seven
    months in a row were listed one by one."""
    from rulesvc.services.results_words import history_points

    periods = [{"period": "2020-05", "status": "evaluated", "total": 90.0, "grade": "良好", "place": 3, "of": 20}]
    periods += [{"period": f"2020-{m:02d}", "status": "excluded", "total": None,
                 "note": f"不参加 2020-{m:02d} 考评：本期间不在任"} for m in range(6, 13)]
    out = history_points({"periods": periods}, "zh")
    assert out["notes"] == ["2020-06 至 2020-12：不参加考评：本期间不在任"]
    assert out["totals"] == [90.0] + [None] * 7


def test_neighbouring_totals_that_read_the_same_get_the_digits_that_tell_them_apart():
    """A results audit (2026-12-07): 95.17 at place 8 and 95.17 at place 9 (95.1738 and 95.1707)."""
    from rulesvc.services.results_words import _apart

    rows = [{"total": 95.1738, "total_shown": "95.17"}, {"total": 95.1707, "total_shown": "95.17"},
            {"total": 94.0, "total_shown": "94.00"}, {"total": 94.0, "total_shown": "94.00"}]
    _apart(rows)
    assert [r["total_shown"] for r in rows] == ["95.174", "95.171", "94.00", "94.00"]  # a true tie stays as it is


def test_a_peer_note_the_indicators_note_already_says_is_said_once():
    from rulesvc.services.results_words import said_once

    thin = "同组不足 5 人（3 人），不作比较"
    assert said_once(thin, "", f"{thin}；按缺失处理：不计分") == ""
    assert said_once(thin, "12 件 → 3 分", "") == thin
    assert said_once("", "x", "y") == ""


def test_quota_use_counted_per_group_says_how_its_numbers_add_up():
    """A reviewer read "可评 43 名，已评 39 名，达线 55 名" and could not make it add up: places are given per group."""
    from rulesvc.services.results_words import quota_words

    q = {"grade": "优秀", "quota": 0.15, "quota_group": "procuratorate", "size": 290, "places": 43, "taken": 39,
         "reached": 55, "below_best": False, "unused": 4, "groups": 9}
    (zh,) = quota_words([q], "zh")
    assert zh.endswith("可评 43 名，已评 39 名，总分达到优秀分数线的 55 名。名额在每个检察院内分配：达线者少于名额的组共空出 4 名；"
                       "名额已满的组有 16 名达线者未评上（或被一票否决）"), zh
    (en,) = quota_words([q], "en")
    assert "4 left empty" in en and "16 who reach it not given it" in en
    (one,) = quota_words([{**q, "groups": 1, "unused": 0, "places": 39}], "zh")
    assert "名额在每个" not in one  # one group: the three numbers add up as they stand
