"""The pure core: the data dictionary, rule-set documents, expressions, evaluation.

Rule: nothing here imports Flask, SQLAlchemy, marshmallow or durable_rules (except the one adapter in
``backends/durable.py``). Data comes in as plain values; results go out as plain dataclasses.
"""

# The version of the engine's semantics. A simulation run's identity includes it: bump it whenever a
# change can move a score, so a run of the old engine is never taken for one of the new.
# 2: a veto-barred subject takes no quota place; 3: a lower band's quota counts only its holders, a number a
# billionth off a stated threshold is on it; 4: a veto costs its dimension's share even when the dimension had
# nothing to score for the subject; 5: each indicator of a card says whether it applies to the person and
# whether its points count (no stored score moves; the cards kept under 4 are made again with the new fields),
# and a what-if replaces the subject's own stored figures among the peers (``engine.whatif``); 6: a simulation
# scores its baseline in the baseline's own scope (a county's localization against the provincial template: the
# county's people among the province, as in force), and a period reads each prosecutor's post held on its last day;
# 7: the simulation report lists an indicator scored under one version only; 8: the catch-all band's reason says the
# line the total falls below ("总分 78.92 低于合格分数线 80 → 不合格", not "≥ 0"): no score or grade moves;
# 9: the English "what it would take" (``needs_en``) names counts by their names and says, as the Chinese does,
# what the extra ones must not count in, and for a subject with none of a rate's first count judges by the
# definitions whether one more counts in the other too (``CompiledScheme.implied_pairs``); a total in a grade's
# reason is rounded half up on its decimal (88.725 reads 88.73, not 88.72): no score or grade moves.
# 10: the full trace names an indicator's "its points count" ``counted``, as the card does (it was ``scored``, which
# in a scheme means "not analysis only"): no score or grade moves.
# 11: a veto that zeroes a dimension takes what the dimension earned (its indicators' points and its bonuses) and
# leaves what it lost (its penalties, and negative points a rule gives): a wrongful case no longer wipes a −5 and
# raises a total (an audit: 242 people of the demo province would have gained from one). Totals of vetoed people
# with penalties in the vetoed dimension move down. Also (no score moves): an analysis-only indicator's note says
# 仅作分析，不计分; a card's pro-rated indicator carries ``prorated_from``; a "what it would take" hint names the other
# indicators the same extra events move (``CompiledScheme.also_counted_in``); a peer-relative indicator says what
# it was compared with (``compared``: the reference, the peer group, how many peers).
# 12: words only, no score or grade moves (an audit of the procuratorate scheme and of a county's localization):
# a lower-is-better ratio reads "平均值与本值之比" / "最优值与本值之比" (it read "与平均值之比 1.39" for a rate 0.72 of
# the average); a percentile's anchors read 0% and 100%; "按比例计 … 分" (was "按线性插值得"); tiers "在“≥ 95%”档" and
# "低于 60%，不在任何一档" (was "达到 ≤ 0% 档", "高于最低档 10%"); a quota's move down "超出名额" (was "→ 顺延": in 评优 a
# place 顺延 passes to the next person); "任职 … 至今" (was "至 今"). Stored reasons of either wording read in English.
# Also 12: a scheme without grades places its subjects in its peer group (the procuratorate bulletin: among the
# level, as its comparison does; it placed them among all 96 units); figures published before keep their places.
ENGINE_VERSION = "2026.12.12"
