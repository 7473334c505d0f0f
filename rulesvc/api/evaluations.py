"""Scores for other systems over HTTP: ``POST /api/v1/evaluations`` (one subject, one period — from the
stored facts or the caller's own events), ``POST /api/v1/evaluations/batch`` (many subjects, JSON or
JSON Lines) and ``GET /api/v1/subjects/<code>/history`` (period by period).

Needs *score* (people have it within their tree; an API key needs it granted). A subject outside the
caller's tree is "not found", as if it did not exist. Every answer says whether its figures are
``published`` (frozen by a publication) or ``provisional`` (computed now).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import flask
import marshmallow as ma
from flask import current_app, request

from rulesvc.api.auth import ApiBlueprint, current_actor, transactional
from rulesvc.api.idempotency import idempotent
from rulesvc.api.schemes import INT32_MAX, SCHEME_CODE_PATTERN, Line, _guarded
from rulesvc.extensions import db
from rulesvc.services import evaluation, rankings
from rulesvc.services.dictionary import get_dictionary
from rulesvc.services.inline_events import MAX_INLINE_EVENTS

blp = ApiBlueprint(
    "evaluations", __name__, url_prefix="/evaluations",
    description="计分：一名或多名考评对象在一个期间的得分、等次、名次与解释；已发布的结果原样返回，未发布的为暂算结果 "
    "(Scoring: subjects' totals, grades, ranks and the explanation of every point for one period — published "
    "figures as published, otherwise provisional)",
)
subjects_blp = ApiBlueprint(
    "subjects", __name__, url_prefix="/subjects",
    description="考评对象的历次结果（纵向比较）(a subject's results period by period)",
)

JSONL = "application/x-ndjson"
# A year (2020), a quarter (2020-Q3) or a month (2020-07), between 1900 and 2099.
PERIOD_PATTERN = r"^(19|20)[0-9]{2}(-Q[1-4]|-(0[1-9]|1[0-2]))?$"
MONTH_PATTERN = r"^(19|20)[0-9]{2}-(0[1-9]|1[0-2])$"


def Period(**kwargs: Any) -> ma.fields.String:  # a field factory, named like the field it makes
    return ma.fields.String(validate=ma.validate.Regexp(PERIOD_PATTERN, error="须为 2020、2020-Q3 或 2020-07 这样的期间 "
                                                        "(a year, quarter or month: 2020, 2020-Q3, 2020-07)"),
                            **kwargs)


def _settings() -> tuple[Any, Any]:
    return (get_dictionary(current_app.config["RULES_DIR"]),
            current_app.extensions["rulesvc.simulation_settings"].cache_dir)


_NESTED = object()


def about(description: str, example: Any = _NESTED) -> dict[str, Any]:
    """A field's metadata for the OpenAPI document: "中文 (English)" and an example the demo instance
    (``rulesvc setup``: prosecutor 910101001, July 2020) really answers — none for a nested object, whose
    own fields carry theirs."""
    return {"description": description} if example is _NESTED else {"description": description, "example": example}


# Two rows of prosecutor 910101001's July 2020 in the demo instance, as an events import writes them.
WHAT_IF_EVENTS = [
    {"event_id": "DEMO00504618", "event_type": "prosecution_review", "procuratorate": "910101",
     "prosecutor": "910101001", "case_id": "910101-XS-2020-000553", "occurred_on": "2020-07-02",
     "accepted_on": "2020-05-30", "arrested": True, "decision": "prosecute", "juvenile": False,
     "organized_crime": False, "plea_leniency": True, "self_investigated": False, "sentencing_rec": "definite",
     "suspect_id": "910101-XS-2020-000553-S1"},
    {"event_id": "DEMO00692634", "event_type": "case_accepted", "procuratorate": "910101", "prosecutor": "910101001",
     "case_id": "910101-XS-2020-000809", "occurred_on": "2020-07-08", "category": "serious", "charge": "贩卖毒品罪",
     "detained": False, "organized_crime": False, "suspects": 1},
]


class WhoWhenSchema(ma.Schema):
    period = Period(required=True, metadata=about(
        "期间：2020（年）、2020-Q3（季度）或 2020-07（月）(a year, quarter or month)", "2020-07"))
    scheme = ma.fields.String(validate=ma.validate.Regexp(SCHEME_CODE_PATTERN), metadata=about(
        "方案代码：有发布结果时返回发布结果，否则用期间首日生效的版本暂算 (scheme code: its published results for the "
        "period if any, else computed under the version in force on the period's first day)",
        "SFS-PROSECUTOR-TEMPLATE"))
    version_id = ma.fields.Integer(strict=True, validate=ma.validate.Range(min=1, max=INT32_MAX), metadata=about(
        "或指定版本编号（只有该版本的发布结果才算发布结果）(or a version id: only a publication of that very version "
        "counts as published)", 2))
    trace = ma.fields.String(load_default="summary", validate=ma.validate.OneOf(evaluation.TRACES), metadata=about(
        "none：只要总分、等次、名次；summary：另加各维度、指标、加减分、否决与归因；full：再加完整解释（每个指标背后的"
        "事件与公式代入）(none: head only; summary: + dimensions, indicators, adjustments, vetoes, attribution; "
        "full: + the whole trace with the events behind each point)", "summary"))


class EvaluationRequestSchema(WhoWhenSchema):
    """Whom to score, for which period, under which rules — and, for a what-if, on which facts."""

    subject = Line(40, required=True, metadata=about(
        "考评对象代码：检察官工号或检察院代码 (prosecutor code or procuratorate code)", "910101001"))
    events = ma.fields.List(ma.fields.Dict(), validate=ma.validate.Length(max=MAX_INLINE_EVENTS), metadata=about(
        f"假设计算：用调用方给出的事件（字段与导入文件的一行相同：event_id、event_type、procuratorate、prosecutor、"
        f"case_id、occurred_on 及该事件类型的字段，按数据字典校验，最多 {MAX_INLINE_EVENTS} 条，须为该对象本期间的"
        "事件）代替已导入的数据为该对象计分；同组比较和名额仍以已导入数据为准，结果为暂算 (what-if: score the subject "
        "on these events instead of the stored ones — the fields of an events import row, validated against the data "
        "dictionary, the subject's own and inside the period; peers and quotas from the stored period)",
        WHAT_IF_EVENTS))


EVALUATION_EXAMPLE = {"subject": "910101001", "period": "2020-07", "scheme": "SFS-PROSECUTOR-TEMPLATE",
                      "trace": "summary"}
EVALUATION_EXAMPLES = {
    "card": {"summary": "一名检察官 7 月的得分卡 (one prosecutor's card for July 2020)", "value": EVALUATION_EXAMPLE},
    "what_if": {"summary": "用自带的两条事件假设计算 (a what-if on two events of the caller's own)",
                "value": {**EVALUATION_EXAMPLE, "events": WHAT_IF_EVENTS}},
    "procuratorate": {"summary": "一个检察院在院级方案下的得分 (a procuratorate under a procuratorate scheme)",
                      "value": {"subject": "910101", "period": "2020-07",
                                "scheme": "SFS-PROCURATORATE-QUALITY-MONTHLY", "trace": "none"}},
}

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
                                                                  "2026-12-04T19:07:12"))
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
    figures = ma.fields.String(required=True, metadata=about(
        "published：已发布的结果（冻结，不随数据和规则变化）；provisional：按现有数据和规则暂算 (published: frozen "
        "figures; provisional: computed now from the data and rules there are)", "published"))
    scheme = ma.fields.Nested(SchemeRefSchema, required=True, metadata=about(
        "方案与所用版本 (the scheme and the version used)"))
    datasets = ma.fields.List(ma.fields.Nested(DatasetRefSchema), required=True, metadata=about(
        "所用数据集 (the datasets scored)", [{"id": 1, "content_hash": "7cdf5de203864f91da8463f63bb05cf61fad5e50e50"
                                                                     "8784f65ae3f4ab7931a67"}]))
    dictionary_hash = ma.fields.String(required=True, metadata=about(
        "数据字典的 sha256 (sha256 of the data dictionary)",
        "1e08068d4c21007ae6694fb10348b99e0a1fa44c97b813dd2ff4362ec6c75047"))
    engine_version = ma.fields.String(required=True, metadata=about("计分引擎版本 (engine version)", "2026.12.2"))
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
    points = ma.fields.Float(required=True, metadata=about("维度内各指标得分之和 (the indicators' points)",
                                                           41.730769230769226))
    max_points = ma.fields.Float(required=True, metadata=about("维度内可得满分 (the most points possible)", 53.0))
    adjustments = ma.fields.Float(required=True, metadata=about(
        "本维度加减分合计（封顶后）(its bonus and penalty items, after their caps)", 0.0))
    zeroed_by = ma.fields.String(required=True, allow_none=True, metadata=about(
        "使本维度计零分的否决项代码；无则为空 (the veto that zeroed the dimension, if any)", None))
    contribution = ma.fields.Float(required=True, metadata=about(
        "对总分的贡献：指标部分 + 加减分 (what it adds to the total: indicators + adjustments)", 6.298984034833091))
    indicators = ma.fields.Float(required=True, metadata=about(
        "贡献中来自指标的部分 (the part of the contribution from its indicators)", 6.298984034833091))
    nominal_share = ma.fields.Float(required=True, metadata=about("方案规定的权重 (the weight the scheme states)", 0.4))


class NearestSchema(ma.Schema):
    class Meta:
        ordered = True

    branch = ma.fields.String(required=True, metadata=about("最近的未达档位 (the nearest tier not reached)", "tier2"))
    threshold = ma.fields.Float(required=True, metadata=about("该档位的门槛值 (its threshold)", 0.85))
    gain = ma.fields.Float(required=True, metadata=about("达到后本项多得的分 (points gained on the indicator)", 2.0))
    needs = ma.fields.String(required=True, metadata=about(
        "所需（中文）(what it takes, in Chinese)",
        "再增加 2 人“适用认罪认罚人数”（同时计入“审查起诉审结人数”），即达到 85.7%，本项 +2 分，总分 +0.3019"))
    needs_en = ma.fields.String(required=True, metadata=about(
        "所需（英文）(what it takes, in English)",
        "2 more plea_persons (also counted in reviewed_persons) reach 85.7%: +2 points here, +0.3019 on the total"))
    total_gain = ma.fields.Float(required=True, metadata=about("总分多得的分 (what it adds to the total)",
                                                               0.3018867924528302))
    events = ma.fields.Integer(required=True, metadata=about("还需多少件（人）(how many more events)", 2))
    metric = ma.fields.String(required=True, metadata=about("需增加的计数项 (the metric to increase)", "plea_persons"))
    unit = ma.fields.String(required=True, metadata=about("单位：人、件等 (unit)", "人"))
    reached = ma.fields.Float(required=True, allow_none=True, metadata=about(
        "增加后指标的取值 (the indicator's value with them)", 0.8571428571428571))


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
                                                          "80% 达到 ≥ 80% 档 → 4 分"))
    points = ma.fields.Float(required=True, metadata=about("本项得分 (points)", 4.0))
    max_points = ma.fields.Float(required=True, metadata=about("本项满分；仅作分析的指标为 0 (most points possible)", 8.0))
    contribution = ma.fields.Float(required=True, metadata=about(
        "按权重折算后对总分的贡献 (what it adds to the total after weighting)", 0.6037735849056604))
    note = ma.fields.String(required=True, metadata=about(
        "说明：无数据、不适用、被否决等 (missing value, not applicable, zeroed by a veto …)", ""))
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


class AdjustmentSchema(ma.Schema):
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
        "效果：zero_dimension 该维度计零分、cap_grade 等次最高为、bar_grade 不得评为等，多项以 + 连接 (the effect)",
        "bar_grade"))
    detail = ma.fields.String(required=True, metadata=about("效果说明 (the effect in words)",
                                                            "不得评为优秀 (may not be graded 优秀)"))
    matched = ma.fields.Integer(required=True, metadata=about("命中的事件数 (events matched)", 1))


class AttributionLineSchema(ma.Schema):
    class Meta:
        ordered = True

    kind = ma.fields.String(required=True, metadata=about(
        "base 基础分、indicator 指标、adjustment 加减分、cap 封顶、clip 上下限、round 舍入 (kind of line)", "indicator"))
    code = ma.fields.String(required=True, metadata=about("指标、加减分项等的代码 (code)", "PLEA_APPLY_RATE"))
    label = ma.fields.String(required=True, metadata=about("名称 (label)", "认罪认罚从宽制度适用率"))
    points = ma.fields.Float(required=True, metadata=about("计入总分的分值 (points added to the total)",
                                                           0.6037735849056604))


class EventsUsedSchema(ma.Schema):
    class Meta:
        ordered = True

    source = ma.fields.String(required=True, metadata=about("inline：调用方给出的事件 (the caller's events)", "inline"))
    count = ma.fields.Integer(required=True, metadata=about("计入的事件数 (events used)", 2))
    rows = ma.fields.Integer(required=True, metadata=about("调用方给出的行数 (rows sent)", 2))


CARD_FIELDS = ("status", "status_reason", "total", "grade", "grade_reason", "rank", "dimensions", "indicators",
               "adjustments", "vetoes", "attribution", "trace")


class EvaluationSchema(ProvenanceSchema):
    """One subject's score card: who and when, where the figures come from, then the figures."""

    class Meta:
        ordered = True
        fields = ("subject", "period", "period_closed", "figures", "scheme", "datasets", "dictionary_hash",
                  "engine_version", "publication", "events", *CARD_FIELDS)

    subject = ma.fields.Nested(SubjectRefSchema, required=True, metadata=about("考评对象 (who)"))
    events = ma.fields.Nested(EventsUsedSchema, metadata=about(
        "假设计算时：所用的调用方事件 (what-if only: the caller's events used)"))
    status = ma.fields.String(required=True, metadata=about(
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


class CardErrorSchema(ma.Schema):
    class Meta:
        ordered = True

    code = ma.fields.String(required=True, metadata=about("错误代码 (error code)", "scoring.no_subject"))
    message = ma.fields.String(required=True, metadata=about("说明 (message)", "没有编号为 999 的考评对象"))


class BatchCardSchema(EvaluationSchema):
    """A card of a batch: no provenance (the batch gives it once); or the subject and why it was not scored."""

    class Meta:
        ordered = True
        fields = ("subject", "period", *CARD_FIELDS, "error")

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


@blp.route("", methods=["POST"])
@blp.arguments(EvaluationRequestSchema, examples=EVALUATION_EXAMPLES)
@blp.response(200, EvaluationSchema)
@blp.alt_response(400, response="BAD_REQUEST", description="该对象在该期间不参加考评（说明原因）(not evaluated in the period: why)")
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(404, response="NOT_FOUND")
@_guarded(blp)
@idempotent
@transactional
def evaluate(args: dict[str, Any]) -> flask.Response:
    """给一名检察官或一个检察院在一个期间计分 (score one subject for one period).

    With ``scheme``: the published figures of the period if published, else computed now under the
    version in force on the period's first day. With ``version_id``: that version. Peers, ranks and
    quotas come from the same period's bulk result, so the answer agrees with the ranking. A subject not
    evaluated in the period answers 400 ``scoring.not_evaluated`` with the reason. With ``events``: a
    what-if on the caller's events (provisional)."""
    dictionary, cache_dir = _settings()
    card = evaluation.evaluate(db.session(), current_actor(), dictionary, cache_dir=cache_dir, **args)
    # The card is already what EvaluationSchema documents (tests/integration/test_openapi_scoring.py
    # checks it key for key): written out directly, without a second walk through every field.
    return current_app.response_class(current_app.json.dumps(card), mimetype="application/json")


class BatchRequestSchema(WhoWhenSchema):
    """Many subjects at once."""

    subjects = ma.fields.List(Line(40), validate=ma.validate.Length(min=1, max=evaluation.MAX_BATCH_SUBJECTS),
                              metadata=about(f"考评对象代码列表（最多 {evaluation.MAX_BATCH_SUBJECTS} 个）；与 procuratorate "
                                             "二选一 (subject codes; or procuratorate)", ["910101001", "910101002"]))
    procuratorate = ma.fields.String(validate=ma.validate.Regexp(r"^[0-9]{6}$"), metadata=about(
        "或：该检察院及其下级的全部考评对象（在调用方权限范围内），按名次排列 (or everyone of this procuratorate and "
        "below, within the caller's tree, best first)", "910101"))
    format = ma.fields.String(load_default=None, validate=ma.validate.OneOf(["json", "jsonl"]), metadata=about(
        "json：一个 JSON 对象；jsonl：JSON Lines 流式输出，首行为出处，其后每行一张卡片（也可用 Accept: "
        "application/x-ndjson）(json: one object; jsonl: streamed JSON Lines — the provenance first, then one card "
        "per line)", "json"))
    trace = ma.fields.String(load_default="none", validate=ma.validate.OneOf(evaluation.TRACES), metadata=about(
        "默认 none（只要总分、等次、名次）；summary、full 同单个计分（full 最多 "
        f"{evaluation.MAX_FULL_TRACES} 个）(default none; summary and full as for one subject)", "none"))


BATCH_EXAMPLES = {
    "subjects": {"summary": "列出的考评对象 (the subjects listed)",
                 "value": {"subjects": ["910101001", "910101002"], "period": "2020-07",
                           "scheme": "SFS-PROSECUTOR-TEMPLATE"}},
    "procuratorate": {"summary": "一个检察院的全部考评对象，JSON Lines (everyone of a procuratorate, as JSON Lines)",
                      "value": {"procuratorate": "910101", "period": "2020-07", "scheme": "SFS-PROSECUTOR-TEMPLATE",
                                "format": "jsonl", "trace": "summary"}},
}


@blp.route("/batch", methods=["POST"])
@blp.arguments(BatchRequestSchema, examples=BATCH_EXAMPLES)
@blp.doc(responses={200: {
    "description": "json：出处与全部卡片（Batch）；jsonl：首行为出处（Batch 去掉 cards），其后每行一张卡片（BatchCard）"
                   "(json: the provenance and the cards; jsonl: the provenance, then one card per line)",
    "content": {"application/json": {"schema": BatchSchema},
                JSONL: {"schema": {"type": "string"}}}}})
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(404, response="NOT_FOUND")
@_guarded(blp)
@idempotent
@transactional
def batch(args: dict[str, Any]) -> flask.Response:
    """给多个考评对象计分：列出的对象，或某检察院及其下级的全部对象 (score many subjects, or everyone of a
    procuratorate and below).

    A subject that cannot be scored (unknown, outside the caller's tree, not evaluated) gets an ``error``
    object in its place; the others are scored. Cards come in the order asked (for a procuratorate: by
    place)."""
    dictionary, cache_dir = _settings()
    fmt = args.pop("format") or ("jsonl" if JSONL in (request.headers.get("Accept") or "") else "json")
    meta, cards = evaluation.batch(db.session(), current_actor(), dictionary, cache_dir=cache_dir, **args)
    if fmt == "json":
        body = json.dumps({**meta, "cards": list(cards)}, ensure_ascii=False, separators=(",", ":"))
        return flask.Response(body, status=200, mimetype="application/json")
    items = list(cards)  # computed inside the request's transaction; streamed out afterwards

    def lines() -> Iterator[str]:
        yield json.dumps(meta, ensure_ascii=False, separators=(",", ":")) + "\n"
        for c in items:
            yield json.dumps(c, ensure_ascii=False, separators=(",", ":")) + "\n"
    return flask.Response(lines(), status=200, mimetype=JSONL)


class HistoryQuerySchema(ma.Schema):
    scheme = ma.fields.String(required=True, validate=ma.validate.Regexp(SCHEME_CODE_PATTERN), metadata=about(
        "方案代码 (scheme code)", "SFS-PROSECUTOR-TEMPLATE"))
    from_ = ma.fields.String(required=True, data_key="from", validate=ma.validate.Regexp(MONTH_PATTERN),
                             metadata=about("起始月份 (first month)", "2020-05"))
    to = ma.fields.String(required=True, validate=ma.validate.Regexp(MONTH_PATTERN),
                          metadata=about("结束月份，最多 24 期 (last month; at most 24 periods)", "2020-07"))
    every = ma.fields.String(load_default="month", validate=ma.validate.OneOf(["month", "quarter"]), metadata=about(
        "month：逐月；quarter：逐季度 (month by month or quarter by quarter)", "month"))


class HistoryVersionSchema(ma.Schema):
    class Meta:
        ordered = True

    id = ma.fields.Integer(required=True, metadata=about("版本编号 (version id)", 2))
    number = ma.fields.Integer(required=True, metadata=about("该方案的第几版 (the version's number in the scheme)", 1))


class PeriodEntrySchema(ma.Schema):
    """One period of a history: the figures, or (``note``) why there are none."""

    class Meta:
        ordered = True

    period = ma.fields.String(required=True, metadata=about("期间 (period)", "2020-07"))
    figures = ma.fields.String(required=True, allow_none=True, metadata=about(
        "published 已发布 / provisional 暂算；该期间无结果为空 (where the figures come from; null without figures)",
        "published"))
    version = ma.fields.Nested(HistoryVersionSchema, metadata=about("当期所用版本 (the version used for the period)"))
    publication = ma.fields.Integer(allow_none=True, metadata=about(
        "发布编号；暂算为空 (the publication's id; null when provisional)", 2))
    status = ma.fields.String(required=True, allow_none=True, metadata=about(
        "evaluated 参加考评、not_graded 不评定等次、excluded 不参加考评；无该对象或无生效版本为空 (taking part, not "
        "graded, excluded; null when the subject or a version in force is missing)", "evaluated"))
    total = ma.fields.Float(allow_none=True, metadata=about("总分 (total)", 90.717165853))
    grade = ma.fields.String(allow_none=True, metadata=about("等次 (grade)", "良好"))
    place = ma.fields.Integer(allow_none=True, metadata=about("组内名次 (place in the quota group)", 9))
    of = ma.fields.Integer(allow_none=True, metadata=about("同组参评人数 (evaluated in the group)", 27))
    percentile = ma.fields.Float(allow_none=True, metadata=about("百分位，组内第一为 100 (percentile, 100 = best)",
                                                                 69.23))
    note = ma.fields.String(metadata=about(
        "没有结果的原因（仅在无结果时）(why there are no figures; only then)",
        "方案 SFS-PROSECUTOR-TEMPLATE 在 2019-12-01 没有生效的版本"))


class HistorySchema(ma.Schema):
    class Meta:
        ordered = True

    subject = ma.fields.String(required=True, metadata=about("考评对象代码 (subject code)", "910101001"))
    scheme = ma.fields.String(required=True, metadata=about("方案代码 (scheme code)", "SFS-PROSECUTOR-TEMPLATE"))
    every = ma.fields.String(required=True, metadata=about("month 逐月 / quarter 逐季度 (month or quarter)", "month"))
    periods = ma.fields.List(ma.fields.Nested(PeriodEntrySchema), required=True, metadata=about(
        "每个期间一项，按时间先后 (one entry per period, in order)"))


SUBJECT_CODE = {"in": "path", "name": "code", "description": "考评对象代码：检察官工号或检察院代码 (subject code)",
                "schema": {"type": "string", "maxLength": 40}, "example": "910101001"}


@subjects_blp.route("/<code>/history", parameters=[SUBJECT_CODE])
@subjects_blp.arguments(HistoryQuerySchema, location="query", as_kwargs=True)
@subjects_blp.response(200, HistorySchema)
@subjects_blp.alt_response(403, response="FORBIDDEN")
@subjects_blp.alt_response(404, response="NOT_FOUND")
@transactional
def history(code: str, scheme: str, from_: str, to: str, every: str) -> dict[str, Any]:
    """一名考评对象逐月（或逐季度）的总分、等次和名次，每期用当期生效的版本，有发布结果的用发布结果（最多 24 期）
    (a subject's total, grade and place period by period — each under the version then in force, published
    figures where published; at most 24 periods)."""
    dictionary, cache_dir = _settings()
    return rankings.history(db.session(), current_actor(), dictionary, code=code[:40], scheme=scheme, start=from_,
                            end=to, every=every, cache_dir=cache_dir)

