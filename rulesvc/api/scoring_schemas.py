"""The shapes of the scoring answers, for the OpenAPI document: a card (provenance, head, dimensions,
indicators, adjustments, vetoes, attribution), a batch, and the period field shared by every scoring
request. Each field says what it is in "中文 (English)" with an example from the demo instance. The
views are in :mod:`rulesvc.api.evaluations`, :mod:`.rankings` and :mod:`.publications`.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from rulesvc.schema.limits import SCHEME_CODE_PATTERN

# A year (2020), a quarter (2020-Q3) or a month (2020-07), between 1900 and 2099.
PERIOD_PATTERN = r"^(19|20)[0-9]{2}(-Q[1-4]|-(0[1-9]|1[0-2]))?$"
MONTH_PATTERN = r"^(19|20)[0-9]{2}-(0[1-9]|1[0-2])$"


def Period(**kwargs: Any) -> ma.fields.String:  # a field factory, named like the field it makes
    return ma.fields.String(validate=ma.validate.Regexp(PERIOD_PATTERN, error="须为 1900–2099 年间的年、季度或月，如 2020、"
                                                        "2020-Q3、2020-07 (a year, quarter or month between 1900 and "
                                                        "2099: 2020, 2020-Q3, 2020-07)"),
                            **kwargs)


def SchemeCode(**kwargs: Any) -> ma.fields.String:  # a field factory, as Period
    return ma.fields.String(validate=ma.validate.Regexp(SCHEME_CODE_PATTERN, error=(
        "须为方案代码：字母或数字开头，只含字母、数字和 . - _，最多 80 个字符，如 SFS-PROSECUTOR-TEMPLATE "
        "(a scheme code: a letter or digit, then letters, digits, '.', '-' or '_', at most 80 characters)")), **kwargs)


_NESTED = object()


def about(description: str, example: Any = _NESTED) -> dict[str, Any]:
    """A field's metadata for the OpenAPI document: "中文 (English)" and an example the demo instance
    (``rulesvc setup``: prosecutor 910101001, July 2020) really answers — none for a nested object, whose
    own fields carry theirs."""
    return {"description": description} if example is _NESTED else {"description": description, "example": example}


# --------------------------------------------------------------------------- what an answer is made of

HASH = "a42ea450f67c05777d21ce3f87a10a1c1fa92fd0a64948237e6b35acc6d21f66"


class ProcuratorateRefSchema(ma.Schema):
    class Meta:
        ordered = True

    code = ma.fields.String(required=True, metadata=about("检察院代码 (procuratorate code)", "910101"))
    name = ma.fields.String(required=True, metadata=about("检察院名称 (procuratorate name)", "清瑞区人民检察院"))


class SubjectRefSchema(ma.Schema):
    class Meta:
        ordered = True

    code = ma.fields.String(required=True, metadata=about(
        "考评对象代码：检察官工号或检察院代码 (subject code: a prosecutor's staff number or a procuratorate code)",
        "910101001"))
    name = ma.fields.String(metadata=about("姓名或院名 (the prosecutor's or the procuratorate's name)", "刘玉"))
    procuratorate = ma.fields.Nested(ProcuratorateRefSchema, allow_none=True, metadata=about(
        "所属检察院；考评对象是检察院时即其本身 (the procuratorate the subject belongs to; a procuratorate: itself)",
        {"code": "910101", "name": "清瑞区人民检察院"}))


class SchemeRefSchema(ma.Schema):
    class Meta:
        ordered = True

    code = ma.fields.String(required=True, metadata=about("方案代码 (scheme code)", "SFS-PROSECUTOR-TEMPLATE"))
    name = ma.fields.String(required=True, metadata=about("方案名称 (scheme name)", "示范省检察官业绩考评指标模板"))
    version_id = ma.fields.Integer(required=True, metadata=about("所用版本的编号 (id of the version used)", 2))
    number = ma.fields.Integer(required=True, metadata=about("该方案的第几版 (the version's number in the scheme)", 1))
    status = ma.fields.String(required=True, metadata=about(
        "版本状态：active 已生效、retired 已停用、approved 已批准、draft 草稿等 (the version's status)", "active"))
    content_hash = ma.fields.String(required=True, metadata=about(
        "版本内容（解析后的方案）的 sha256，用于复现 (sha256 of the version's resolved content)", HASH))


class DatasetRefSchema(ma.Schema):
    class Meta:
        ordered = True

    id = ma.fields.Integer(required=True, metadata=about("数据集编号 (dataset id)", 1))
    content_hash = ma.fields.String(required=True, metadata=about(
        "数据集内容的 sha256 (sha256 of the dataset's content)",
        "7cdf5de203864f91da8463f63bb05cf61fad5e50e508784f65ae3f4ab7931a67"))


class PublicationRefSchema(ma.Schema):
    class Meta:
        ordered = True

    id = ma.fields.Integer(required=True, metadata=about("发布编号 (publication id)", 2))
    sequence = ma.fields.Integer(required=True, metadata=about(
        "该期间第几次发布：1 为首次，每次更正加 1 (1 for the first, +1 per correction)", 1))
    published_at = ma.fields.String(required=True, metadata=about("发布时间 (when published, ISO 8601)",
                                                                  "2026-12-04T19:07:12+00:00"))
    published_by = ma.fields.String(required=True, metadata=about("发布人 (who published)", "系统 (cli)"))
    result_hash = ma.fields.String(required=True, metadata=about(
        "全部发布结果的 sha256 (sha256 of all the published figures)",
        "3d1c021f5a9f134f8d899b62f26b3f385640ad7ddb4fa9987c5982fc64d537c5"))
    supersedes = ma.fields.Integer(required=True, allow_none=True, metadata=about(
        "更正了哪次发布；首次发布为空 (the publication it corrects; null for a first publication)", None))
    reason = ma.fields.String(required=True, metadata=about(
        "更正理由；首次发布为空字符串 (why it corrects; empty for a first publication)", ""))


class ProvenanceSchema(ma.Schema):
    """Where figures come from and what reproduces them (every scoring answer carries it)."""

    class Meta:
        ordered = True

    period = ma.fields.String(required=True, metadata=about("期间 (period)", "2020-07"))
    period_closed = ma.fields.Boolean(required=True, metadata=about(
        "期间是否已结束；未结束的期间不能发布，其结果一定是暂算结果 (whether the period is over; an open period "
        "cannot be published: its figures are always provisional)", True))
    figures = ma.fields.String(required=True, validate=ma.validate.OneOf(["published", "provisional"]), metadata=about(
        "published：已发布的结果（冻结，不随数据和规则变化）；provisional：按现有数据和规则暂算 (published: frozen "
        "figures; provisional: computed now from the data and rules there are)", "published"))
    scheme = ma.fields.Nested(SchemeRefSchema, required=True, metadata=about(
        "方案与所用版本 (the scheme and the version used)"))
    datasets = ma.fields.List(ma.fields.Nested(DatasetRefSchema), required=True, metadata=about(
        "所用数据集 (the datasets scored)", [{"id": 1, "content_hash": "7cdf5de203864f91da8463f63bb05cf61fad5e50e50"
                                                                     "8784f65ae3f4ab7931a67"}]))
    dictionary_hash = ma.fields.String(required=True, metadata=about(
        "数据字典的 sha256 (sha256 of the data dictionary)",
        "c346e054f009edf84e94e8c1ff99cb661f11571ce5acfa9fad327b8cf94cf93e"))
    engine_version = ma.fields.String(required=True, metadata=about("计分引擎版本 (engine version)", "2026.12.12"))
    publication = ma.fields.Nested(PublicationRefSchema, required=True, allow_none=True, metadata=about(
        "发布信息；暂算结果为空 (the publication; null for provisional figures)"))


class RankSchema(ma.Schema):
    class Meta:
        ordered = True

    place = ma.fields.Integer(required=True, allow_none=True, metadata=about(
        "组内名次，同分同名次；不评定等次者为空 (place in the quota group, ties share the better place; null when "
        "not graded)", 9))
    of = ma.fields.Integer(required=True, allow_none=True, metadata=about(
        "同组参评人数（评定等次者）；不评定等次者为空 (evaluated subjects of the group; null when not graded)", 27))
    group = ma.fields.String(required=True, metadata=about(
        "名额分组：all、procuratorate、department、business、line、level (the quota group)", "procuratorate"))
    percentile = ma.fields.Float(required=True, allow_none=True, metadata=about(
        "百分位 = 100 × (of − place) / (of − 1)，组内第一为 100 (percentile, 100 = best of the group)", 69.23))


class DimensionSchema(ma.Schema):
    class Meta:
        ordered = True

    code = ma.fields.String(required=True, metadata=about("维度代码 (dimension code)", "quality"))
    name = ma.fields.String(required=True, metadata=about("维度名称 (dimension name)", "质量"))
    weight_share = ma.fields.Float(required=True, metadata=about(
        "本人适用的权重（有指标不计入时按其余指标重新分配）(the weight applied to this subject, re-weighted when an "
        "indicator is excluded)", 0.4))
    points = ma.fields.Float(required=True, metadata=about(
        "维度内各指标得分之和（一票否决前：被否决的维度仍列出所得分数，所得分与加分计 0，扣分照扣，见 zeroed_by）(the "
        "indicators' points, before any veto: a vetoed dimension still shows what it earned, which counts 0 as its "
        "bonuses do, while its penalties stand — see zeroed_by)",
        41.730769230769226))
    max_points = ma.fields.Float(required=True, metadata=about("维度内可得满分 (the most points possible)", 53.0))
    adjustments = ma.fields.Float(required=True, metadata=about(
        "本维度加减分合计（封顶后）(its bonus and penalty items, after their caps)", 0.0))
    zeroed_by = ma.fields.String(required=True, allow_none=True, metadata=about(
        "使本维度计零分的否决项名称（代码见 vetoes）；无则为空 (the name of the veto that zeroed the dimension, if any; "
        "its code is in vetoes)", None))
    contribution = ma.fields.Float(required=True, metadata=about(
        "对总分的贡献：指标部分 + 加减分 (what it adds to the total: indicators + adjustments)", 6.298984034833091))
    indicators = ma.fields.Float(required=True, metadata=about(
        "贡献中来自指标的部分 (the part of the contribution from its indicators)", 6.298984034833091))
    nominal_share = ma.fields.Float(required=True, metadata=about("方案规定的权重 (the weight the scheme states)", 0.4))


class NearestSchema(ma.Schema):
    class Meta:
        ordered = True

    branch = ma.fields.String(required=True, metadata=about(
        "最近的未达档位（目标）；整数件数可能越过它，gain 和 reached 为实际达到的取值所得 (the nearest tier not reached, "
        "aimed at; whole events may go past it — gain and reached are those of the value actually reached)", "tier2"))
    threshold = ma.fields.Float(required=True, metadata=about(
        "要达到的取值：该档位的门槛；线性计分时为多得下一个整分所需的取值。越高越好的指标须不低于它，越低越好的须不高于它 "
        "(the value to reach: the tier's threshold, or on a linear rule the value of the next whole point; at least "
        "this for a higher-is-better indicator, at most this for a lower-is-better one)", 0.85))
    gain = ma.fields.Float(required=True, metadata=about("达到后本项多得的分 (points gained on the indicator)", 2.0))
    needs = ma.fields.String(required=True, metadata=about(
        "所需（中文）(what it takes, in Chinese)",
        "再增加 2 人“适用认罪认罚人数”（同时计入“审查起诉审结人数”），即达到 85.7%，本项 +2 分，总分 +0.3019"))
    needs_en = ma.fields.String(required=True, metadata=about(
        "所需（英文）(what it takes, in English)",
        "2 more people in “适用认罪认罚人数” (also counted in “审查起诉审结人数”) → 85.7%: +2 points on this indicator, "
        "+0.3019 points on the total"))
    total_gain = ma.fields.Float(required=True, metadata=about("总分多得的分 (what it adds to the total)",
                                                               0.3018867924528302))
    events = ma.fields.Integer(required=True, metadata=about("还需多少件（人）(how many more events)", 2))
    metric = ma.fields.String(required=True, metadata=about("需增加的计数项 (the metric to increase)", "plea_persons"))
    unit = ma.fields.String(required=True, metadata=about("单位：人、件等 (unit)", "人"))
    reached = ma.fields.Float(required=True, allow_none=True, metadata=about(
        "按整数件数增加后指标的实际取值，已越过 threshold（越低越好的指标低于它）(the indicator's value with that "
        "whole number of events added: past threshold — below it for a lower-is-better indicator)",
        0.8571428571428571))


class ComparedSchema(ma.Schema):
    class Meta:
        ordered = True

    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(["percentile", "ratio_to_avg", "ratio_to_best"]),
                            metadata=about("比较方式：percentile 百分位、ratio_to_avg 与平均值之比、ratio_to_best 与最优值之比 "
                                           "(how: a percentile, a ratio to the average, a ratio to the best)",
                                           "ratio_to_best"))
    group = ma.fields.String(required=True, metadata=about(
        "在哪一组里比较：all 全部、procuratorate 同院、business 同业务、line 同条线等 (the peer group)", "business"))
    peers = ma.fields.Integer(required=True, metadata=about(
        "同组有取值者的人数（本人参评时含本人）(the peers with a value, the person among them when evaluated)", 38))
    reference = ma.fields.Float(required=True, allow_none=True, metadata=about(
        "参照值：同组平均值或最优值（越低越好的指标为最低值）；百分位为空。比值 = 本人 ÷ 参照值（越低越好时为参照值 ÷ 本人）"
        "(the reference: the peers' average or best — the lowest when lower is better; null for a percentile. The ratio "
        "is own ÷ reference, or reference ÷ own when lower is better)", 156.25))


class IndicatorSchema(ma.Schema):
    class Meta:
        ordered = True

    code = ma.fields.String(required=True, metadata=about("指标代码 (indicator code)", "PLEA_APPLY_RATE"))
    name = ma.fields.String(required=True, metadata=about("指标名称 (indicator name)", "认罪认罚从宽制度适用率"))
    dimension = ma.fields.String(required=True, allow_none=True, metadata=about("所属维度代码 (its dimension)",
                                                                                "quality"))
    value = ma.fields.Float(required=True, allow_none=True, metadata=about(
        "指标取值；无数据为空 (the indicator's value; null with no data)", 0.8))
    x = ma.fields.Float(required=True, allow_none=True, metadata=about(
        "计分规则检验的值（取值本身、百分位、与平均值或最优者之比）(the value the rule tests: the value, a percentile, "
        "a ratio)", 0.8))
    branch = ma.fields.String(required=True, allow_none=True, metadata=about(
        "命中的计分规则分支（tier1、linear、top、missing 等）；仅作分析的指标为空 (which rule fired; null for an "
        "analysis-only indicator)", "tier3"))
    rule = ma.fields.String(required=True, metadata=about("命中的计分规则（文字）(the rule that fired, in words)",
                                                          "80% 在“≥ 80%”档 → 4 分"))
    points = ma.fields.Float(required=True, metadata=about("本项得分 (points)", 4.0))
    max_points = ma.fields.Float(required=True, metadata=about("本项满分；仅作分析的指标为 0 (most points possible)", 8.0))
    contribution = ma.fields.Float(required=True, metadata=about(
        "按权重折算后对总分的贡献 (what it adds to the total after weighting)", 0.6037735849056604))
    note = ma.fields.String(required=True, metadata=about(
        "说明：无数据、不适用、仅作分析、被否决等 (missing value, not applicable, analysis only, zeroed by a veto …)", ""))
    nearest = ma.fields.Nested(NearestSchema, required=True, allow_none=True, metadata=about(
        "最近的未达档位及所需；已满分或无更高档位为空 (the nearest tier not reached and what it takes)"))
    formula_labeled = ma.fields.String(required=True, metadata=about(
        "计算公式（数据字典中文名）(the formula with the data dictionary's Chinese labels)",
        "“适用认罪认罚人数” / “审查起诉审结人数”"))
    method = ma.fields.String(required=True, allow_none=True, metadata=about(
        "计分方法（tiers 分档、linear 线性、pass_fail 达标、per_unit 按件计分、rank 排名等）；仅作分析的指标为空 "
        "(the scoring method; null for an analysis-only indicator)", "tiers"))
    peer_note = ma.fields.String(required=True, metadata=about(
        "同组比较的指标未作比较时的原因（如同组不足 N 人）(why a peer-relative indicator was not compared, e.g. "
        "too few peers)", ""))
    compared = ma.fields.Nested(ComparedSchema, metadata=about(
        "同组比较的指标：与谁比、参照值、同组人数，供核对 x（未作比较时无此字段，原因见 peer_note）。引擎 2026.12.11 以前的结果"
        "没有此字段 (a peer-relative indicator: what it was compared with, the reference and how many peers, to check x "
        "by; absent when not compared — peer_note says why — and before engine 2026.12.11)"))
    prorated_from = ma.fields.Float(metadata=about(
        "按任职时间折算前的取值：只出现在按任职时间折算（prorate）且本人本期间未全程在任的指标上，value 为折算后的取值"
        "（83 件、在任 268/366 天 → 113.35）。引擎 2026.12.11 以前的结果没有此字段 (the value before pro-rating by time in "
        "office: only on a pro-rated indicator of someone not in office for the whole period, value being the pro-rated "
        "one — 83 cases in 268 of 366 days → 113.35. Absent before engine 2026.12.11)", 83.0))
    applies = ma.fields.Boolean(metadata=about(
        "是否适用于本人的业务条线或业务类别；不适用时仍列出取值，但不计分。引擎 2026.12.5 以前发布的结果没有此字段 "
        "(does it apply to the person's business line or business; when not, its value is still shown but it scores "
        "nothing. Absent from cards published by engines before 2026.12.5)", True))
    counted = ma.fields.Boolean(metadata=about(
        "本项得分是否计入本人总分：仅作分析、不适用，或无数据（含同组无从比较）按 missing: exclude 不计入时为 "
        "false，此时 points 为 0，max_points 也不计入本维度满分。引擎 2026.12.5 以前发布的结果没有此字段 (do its "
        "points count in the person's total: false for an analysis-only indicator, one that does not apply, or one "
        "left out for want of data or of anyone to compare with under missing: exclude; then points is 0 and its "
        "max_points is not part of the dimension's. Absent from cards published by engines before 2026.12.5)", True))


class AdjustmentSchema(ma.Schema):
    """一项加减分：各项合计之后，维度的加减分上限（adjustment_cap）再封顶一次，作为 attribution 中 kind 为 cap 的一行
    (one bonus or penalty item; a dimension's adjustment_cap clips their net afterwards, as the attribution's
    ``cap`` line — sum the attribution, not the items, to reach the total)."""

    class Meta:
        ordered = True

    code = ma.fields.String(required=True, metadata=about("加减分项代码 (item code)", "CASE_FLAW_POINTS_40"))
    name = ma.fields.String(required=True, metadata=about("加减分项名称 (item name)", "单案评查瑕疵扣分累计达 40 分"))
    dimension = ma.fields.String(required=True, allow_none=True, metadata=about("所属维度代码 (its dimension)",
                                                                                "quality"))
    matched = ma.fields.Integer(required=True, metadata=about("命中的事件（或案件）数 (events or cases matched)", 1))
    points_each = ma.fields.Float(required=True, metadata=about("每件分值 (points each)", -5.0))
    points = ma.fields.Float(required=True, metadata=about("合计（封顶后）(points, after the item's cap)", -5.0))
    cap = ma.fields.Float(required=True, allow_none=True, metadata=about("封顶分值；不封顶为空 (the cap, if any)", 10.0))
    note = ma.fields.String(required=True, metadata=about("说明 (note)", ""))


class VetoSchema(ma.Schema):
    class Meta:
        ordered = True

    code = ma.fields.String(required=True, metadata=about("否决项代码 (veto code)", "PROVINCE_REVIEW_FLAW_NO_EXCELLENT"))
    name = ma.fields.String(required=True, metadata=about("否决项名称 (veto name)", "省院评查出现瑕疵或不合格案件不得评优"))
    effect = ma.fields.String(required=True, metadata=about(
        "效果：zero_dimension 该维度所得分与加分计零分（扣分照扣）、cap_grade 等次最高为、bar_grade 不得评为等，多项以 + 连接 (the effect)",
        "bar_grade"))
    detail = ma.fields.String(required=True, metadata=about("效果说明 (the effect in words)",
                                                            "不得评为优秀 (may not be graded 优秀)"))
    matched = ma.fields.Integer(required=True, metadata=about("命中的事件数 (events matched)", 1))


class AttributionLineSchema(ma.Schema):
    class Meta:
        ordered = True

    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(
        ["base", "indicator", "adjustment", "cap", "clip", "round"]), metadata=about(
        "base 基础分、indicator 指标、adjustment 加减分、cap 维度加减分封顶（代码 dimcap:维度）、clip 总分上下限、round 舍入 "
        "(kind of line; cap: a dimension's adjustment_cap on its items' net, code dimcap:<dimension>)", "indicator"))
    code = ma.fields.String(required=True, metadata=about("指标、加减分项等的代码 (code)", "PLEA_APPLY_RATE"))
    label = ma.fields.String(required=True, metadata=about("名称 (label)", "认罪认罚从宽制度适用率"))
    points = ma.fields.Float(required=True, metadata=about("计入总分的分值 (points added to the total)",
                                                           0.6037735849056604))


class OwnSchemeSchema(ma.Schema):
    class Meta:
        ordered = True

    code = ma.fields.String(required=True, metadata=about("本地化方案代码 (the localization's code)", "SFS-PROSECUTOR-910101"))
    name = ma.fields.String(required=True, metadata=about("方案名称 (its name)", "清瑞区人民检察院检察官业绩考评方案（本地化）"))
    procuratorate = ma.fields.Nested(ProcuratorateRefSchema, required=True, metadata=about(
        "制定该本地化方案的检察院 (the procuratorate that owns it)", {"code": "910101", "name": "清瑞区人民检察院"}))
    note = ma.fields.String(required=True, metadata=about(
        "说明（中文）(what it means, in Chinese)",
        "清瑞区人民检察院在 2020-07 按本院本地化方案“清瑞区人民检察院检察官业绩考评方案（本地化）”（SFS-PROSECUTOR-910101）考评其人员："
        "此处是按 SFS-PROSECUTOR-TEMPLATE 计算的分数，不是其考评结果"))
    note_en = ma.fields.String(required=True, metadata=about(
        "说明（英文）(what it means, in English)",
        "清瑞区人民检察院 scores its people under its own localization “清瑞区人民检察院检察官业绩考评方案（本地化）” "
        "(SFS-PROSECUTOR-910101) in 2020-07: this is a figure under SFS-PROSECUTOR-TEMPLATE, not their result"))


class EventsUsedSchema(ma.Schema):
    class Meta:
        ordered = True

    source = ma.fields.String(required=True, metadata=about("inline：调用方给出的事件 (the caller's events)", "inline"))
    count = ma.fields.Integer(required=True, metadata=about("计入的事件数 (events used)", 2))
    rows = ma.fields.Integer(required=True, metadata=about("调用方给出的行数 (rows sent)", 2))


CARD_FIELDS = ("status", "status_reason", "total", "grade", "grade_reason", "rank", "dimensions", "indicators",
               "adjustments", "vetoes", "attribution", "trace", "trace_matches_card", "trace_note")


class EvaluationSchema(ProvenanceSchema):
    """One subject's score card: who and when, where the figures come from, then the figures."""

    class Meta:
        ordered = True
        fields = ("subject", "period", "period_closed", "figures", "scheme", "datasets", "dictionary_hash",
                  "engine_version", "publication", "events", "own_scheme", *CARD_FIELDS)

    subject = ma.fields.Nested(SubjectRefSchema, required=True, metadata=about("考评对象 (who)"))
    events = ma.fields.Nested(EventsUsedSchema, metadata=about(
        "假设计算时：所用的调用方事件 (what-if only: the caller's events used)"))
    own_scheme = ma.fields.Nested(OwnSchemeSchema, required=True, allow_none=True, metadata=about(
        "该对象所在院（或其上级院）在本期按其本地化方案考评时，即该方案：此处的分数是按所问方案计算的，不是其考评结果；"
        "否则为 null (when the subject's procuratorate, or one above it, scores its people under its own localization "
        "of this scheme in the period: that localization — these figures are then not the subject's result; else null)"))
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(["evaluated", "not_graded"]), metadata=about(
        "evaluated 参加考评；not_graded 参加计分但不评定等次 (evaluated / scored but not graded)", "evaluated"))
    status_reason = ma.fields.String(required=True, metadata=about(
        "不评定等次的原因；参加考评为空 (why not graded; empty when evaluated)", ""))
    total = ma.fields.Float(required=True, allow_none=True, metadata=about("总分 (total)", 90.717165853))
    grade = ma.fields.String(required=True, allow_none=True, metadata=about(
        "等次；不评定等次或方案不定等次为空 (grade; null when not graded)", "良好"))
    grade_reason = ma.fields.String(required=True, metadata=about(
        "等次依据：分数段、名额、否决 (why this grade: band, quota place, veto)", "总分 90.72 ≥ 90 → 良好"))
    rank = ma.fields.Nested(RankSchema, required=True, metadata=about("名额分组内的名次 (place in the quota group)"))
    dimensions = ma.fields.List(ma.fields.Nested(DimensionSchema), metadata=about(
        "各维度（trace 为 summary、full 时）(dimensions, with trace summary or full)"))
    indicators = ma.fields.List(ma.fields.Nested(IndicatorSchema), metadata=about(
        "各指标，含仅作分析的指标 (indicators, analysis-only ones included)"))
    adjustments = ma.fields.List(ma.fields.Nested(AdjustmentSchema), metadata=about(
        "命中的加减分项 (the bonus and penalty items that matched)"))
    vetoes = ma.fields.List(ma.fields.Nested(VetoSchema), metadata=about("命中的否决项 (the vetoes that matched)"))
    attribution = ma.fields.List(ma.fields.Nested(AttributionLineSchema), metadata=about(
        "总分由哪些部分相加而来，各项相加等于总分 (the lines adding up exactly to the total)",
        [{"kind": "base", "code": "base", "label": "基础分 (base)", "points": 80.0}]))
    trace = ma.fields.Dict(metadata=about(
        "trace=full 时的完整解释：各指标的公式代入（formula、substituted）、计数项（metrics）及其事件编号"
        "（event_ids，前若干个）、命中的规则（fired）；已发布的结果按所记录的数据集和版本重算 (the whole trace, with "
        "trace=full: each indicator's formula with numbers, the metrics and the events behind them; for published "
        "figures computed again from the recorded datasets and version)",
        {"subject": "910101001", "scheme_code": "SFS-PROSECUTOR-TEMPLATE", "period": "2020-07", "total": 90.717165853,
         "metrics": [{"code": "cases_accepted", "name": "受理审查起诉案件数（案）", "definition": "count(case_accepted)",
                      "value": 4.0, "events": 4,
                      "event_ids": ["DEMO00692617", "DEMO00692622", "DEMO00692628", "DEMO00692634"]}]}))
    trace_matches_card = ma.fields.Boolean(metadata=about(
        "已发布结果的 trace=full：重算的完整解释与发布的卡片（状态、总分、等次）是否一致。重算以发布时的人员情况和同组数据为准，"
        "之后的组织机构变动不影响它；数据字典或程序版本更新后可能不一致，此时以卡片为准 (published figures with "
        "trace=full: whether the trace computed again gives the card's status, total and grade; it is computed with "
        "the person and peers as published, so later directory changes do not move it; a newer data dictionary or "
        "engine may — the card's figures stand)", True))
    trace_note = ma.fields.String(metadata=about(
        "trace_matches_card 为 false 时：哪些数字不一致、为什么 (when trace_matches_card is false: what differs and why)",
        "完整解释按发布时记录的数据集和版本重新计算，但与发布的卡片不一致（总分）：发布后程序已升级。卡片上的数字以发布的为准；"
        "如需更正，请发布更正（supersede）"))


class CardErrorSchema(ma.Schema):
    class Meta:
        ordered = True

    code = ma.fields.String(required=True, metadata=about(
        "错误代码，同 error_code（不是 HTTP 状态码）(the error's code, the same as error_code — not an HTTP status)",
        "scoring.no_subject"))
    error_code = ma.fields.String(required=True, metadata=about(
        "错误代码，与错误响应的 error_code 相同 (the error's code, as error responses name it)", "scoring.no_subject"))
    message = ma.fields.String(required=True, metadata=about("说明 (message)", "没有编号为 999 的考评对象"))


class BatchCardSchema(EvaluationSchema):
    """A card of a batch: no provenance (the batch gives it once); or the subject and why it was not scored."""

    class Meta:
        ordered = True
        fields = ("subject", "period", "own_scheme", *CARD_FIELDS, "error")

    error = ma.fields.Nested(CardErrorSchema, metadata=about(
        "该对象不能计分时代替卡片：code 与 message (instead of a card: why the subject was not scored)"))

    def on_bind_field(self, field_name: str, field_obj: ma.fields.Field) -> None:
        field_obj.required = field_name == "subject"  # an error in a card's place has only subject and error


class BatchSchema(ProvenanceSchema):
    class Meta:
        ordered = True

    count = ma.fields.Integer(required=True, metadata=about("卡片数 (how many cards)", 3))
    trace = ma.fields.String(required=True, metadata=about("解释详略 (the trace asked)", "none"))
    cards = ma.fields.List(ma.fields.Nested(BatchCardSchema), required=True, metadata=about(
        "每个对象一张卡片，按所列顺序（按检察院时按名次）(a card per subject, in the order asked)"))
