"""What the designer's preview says beside an indicator (``admin.designer_impact._why``)."""

from admin.designer_impact import _why


def test_an_indicator_left_out_says_why_under_both_versions():
    """A designer's audit (2026-12-07): 纠正侦查活动违法数 49 → 0.00 points with no word: the group was too small under
    both versions, and the preview only spoke when the two notes differed."""
    thin = "同组不足 5 人（2 人），不作比较 (fewer than 5 peers: not compared)"
    answer = {"cards": {
        "draft": {"indicators": [{"code": "a", "peer_note": thin}, {"code": "b", "note": "无数据，不计入"},
                                 {"code": "c"}, {"code": "d", "peer_note": thin}]},
        "in_force": {"indicators": [{"code": "a", "peer_note": thin}, {"code": "b"}, {"code": "c", "note": "不适用"},
                                    {"code": "d", "note": "无数据"}]}}}
    assert _why(answer) == {"a": thin, "b": "无数据，不计入", "c": "现行：不适用", "d": f"{thin}（现行：无数据）"}


def test_indicators_whose_points_do_not_count_are_known_per_side():
    from admin.designer_impact import _uncounted

    answer = {"cards": {"draft": {"indicators": [{"code": "a", "counted": False}, {"code": "b", "counted": True},
                                                 {"code": "c", "applies": False, "counted": False}]},
                        "in_force": None}}
    assert _uncounted(answer) == {"in_force": set(), "draft": {"a", "c"}}
