"""Scores for other systems over HTTP (issue 11, first step): ``POST /api/v1/evaluations`` — one subject,
one period, under the scheme's version in force on the period's first day or a named version.

Needs *score* (people have it within their tree; an API key needs it granted). A subject outside the
caller's tree is "not found", as if it did not exist.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import current_app

from rulesvc.api.auth import ApiBlueprint, current_actor, transactional
from rulesvc.api.idempotency import idempotent
from rulesvc.api.schemes import INT32_MAX, SCHEME_CODE_PATTERN, Line, _guarded
from rulesvc.extensions import db
from rulesvc.services import evaluation
from rulesvc.services.dictionary import get_dictionary

blp = ApiBlueprint(
    "evaluations", __name__, url_prefix="/evaluations",
    description="计分：一名检察官或一个检察院在一个期间的得分、等次、名次与解释 "
    "(Scoring: one subject's total, grade, rank and the explanation of every point, for one period)",
)


class EvaluationRequestSchema(ma.Schema):
    """Whom to score, for which period, under which rules."""

    subject = Line(40, required=True, metadata={
        "description": "考评对象代码：检察官工号或检察院代码 (prosecutor code or procuratorate code)",
        "example": "910101001"})
    period = Line(20, required=True, metadata={
        "description": "期间：2020、2020-Q3 或 2020-07 (a year, quarter or month)", "example": "2020"})
    scheme = ma.fields.String(validate=ma.validate.Regexp(SCHEME_CODE_PATTERN), metadata={
        "description": "方案代码：用期间首日生效的版本 (scheme code: the version in force on the period's first day)",
        "example": "SFS-PROSECUTOR-TEMPLATE"})
    version_id = ma.fields.Integer(strict=True, validate=ma.validate.Range(min=1, max=INT32_MAX), metadata={
        "description": "或指定版本编号 (or a version id)"})
    trace = ma.fields.String(load_default="summary", validate=ma.validate.OneOf(evaluation.TRACES), metadata={
        "description": "none：只要总分、等次、名次；summary：加各维度、指标、加减分、否决与归因；full：再加完整解释（指标的"
                       "事件、公式代入）(none: totals only; summary: dimensions, indicators, items, vetoes, "
                       "attribution; full: the whole trace)"})


class EvaluationSchema(ma.Schema):
    """One subject's score card."""

    subject = ma.fields.Dict(required=True, metadata={"description": "code, name, procuratorate {code, name}"})
    period = ma.fields.String(required=True)
    figures = ma.fields.String(required=True, metadata={
        "description": "provisional：按现有数据和规则计算（尚无发布结果）(computed now; published results come later)"})
    scheme = ma.fields.Dict(required=True, metadata={"description": "code, version_id, number, status, content_hash"})
    datasets = ma.fields.List(ma.fields.Dict(), required=True, metadata={"description": "所用数据集 (id, content_hash)"})
    engine_version = ma.fields.String(required=True)
    status = ma.fields.String(required=True, metadata={"description": "evaluated 参加考评 / not_graded 不参加等次评定"})
    status_reason = ma.fields.String(required=True)
    total = ma.fields.Float(required=True, metadata={"description": "总分 (total)"})
    grade = ma.fields.String(required=True, allow_none=True, metadata={"description": "等次 (grade)"})
    grade_reason = ma.fields.String(required=True, metadata={"description": "等次依据 (why this grade)"})
    rank = ma.fields.Dict(required=True, metadata={
        "description": "名次：place（同分同名次）、of（同组参评人数）、group（名额分组）、percentile (rank in the quota group)"})
    dimensions = ma.fields.List(ma.fields.Dict())
    indicators = ma.fields.List(ma.fields.Dict(), metadata={
        "description": "各指标：取值、命中的计分规则、得分、对总分的贡献、最近的未达档位及所需 (value, rule, points, "
                       "contribution, the nearest tier not reached and what it takes)"})
    adjustments = ma.fields.List(ma.fields.Dict())
    vetoes = ma.fields.List(ma.fields.Dict())
    attribution = ma.fields.List(ma.fields.Dict(), metadata={"description": "总分由哪些部分相加而来 (the lines adding up to the total)"})
    trace = ma.fields.Dict(metadata={"description": "trace=full 时的完整解释 (the whole trace)"})


@blp.route("", methods=["POST"])
@blp.arguments(EvaluationRequestSchema)
@blp.response(200, EvaluationSchema)
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(404, response="NOT_FOUND")
@_guarded(blp)
@idempotent
@transactional
def evaluate(args: dict[str, Any]) -> dict[str, Any]:
    """给一名检察官或一个检察院在一个期间计分 (score one subject for one period).

    The version is the one of ``scheme`` in force on the period's first day, or ``version_id``. Peer
    statistics, ranks and quotas come from the same period's bulk run (cached), so the answer agrees
    with the ranking. A subject not evaluated in the period answers 400 ``scoring.not_evaluated`` with
    the reason."""
    settings = current_app.extensions["rulesvc.simulation_settings"]
    return evaluation.evaluate(db.session(), current_actor(), get_dictionary(current_app.config["RULES_DIR"]),
                               cache_dir=settings.cache_dir, **args)
