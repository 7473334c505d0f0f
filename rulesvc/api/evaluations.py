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


class WhoWhenSchema(ma.Schema):
    period = Period(required=True, metadata={
        "description": "期间：2020（年）、2020-Q3（季度）或 2020-07（月）(a year, quarter or month)", "example": "2020"})
    scheme = ma.fields.String(validate=ma.validate.Regexp(SCHEME_CODE_PATTERN), metadata={
        "description": "方案代码：有发布结果时返回发布结果，否则用期间首日生效的版本暂算 (scheme code: its published "
                       "results for the period if any, else computed under the version in force on the period's "
                       "first day)", "example": "SFS-PROSECUTOR-TEMPLATE"})
    version_id = ma.fields.Integer(strict=True, validate=ma.validate.Range(min=1, max=INT32_MAX), metadata={
        "description": "或指定版本编号（只有该版本的发布结果才算发布结果）(or a version id: only a publication of "
                       "that very version counts as published)", "example": 1})
    trace = ma.fields.String(load_default="summary", validate=ma.validate.OneOf(evaluation.TRACES), metadata={
        "description": "none：只要总分、等次、名次；summary：另加各维度、指标、加减分、否决与归因；full：再加完整解释（每个"
                       "指标背后的事件与公式代入）(none: head only; summary: + dimensions, indicators, adjustments, "
                       "vetoes, attribution; full: + the whole trace with the events behind each point)",
        "example": "summary"})


class EvaluationRequestSchema(WhoWhenSchema):
    """Whom to score, for which period, under which rules — and, for a what-if, on which facts."""

    subject = Line(40, required=True, metadata={
        "description": "考评对象代码：检察官工号或检察院代码 (prosecutor code or procuratorate code)",
        "example": "910101001"})
    events = ma.fields.List(ma.fields.Dict(), validate=ma.validate.Length(max=MAX_INLINE_EVENTS), metadata={
        "description": f"假设计算：用调用方给出的事件（字段与导入文件的一行相同，按数据字典校验，最多 {MAX_INLINE_EVENTS} "
                       "条）代替已导入的数据为该对象计分；同组比较和名额仍以已导入数据为准，结果为暂算 (what-if: score "
                       "the subject on these events instead of the stored ones — the fields of an import row, "
                       "validated against the data dictionary; peers and quotas from the stored period)",
        "example": [{"event_id": "E-1", "event_type": "prosecution_concluded", "prosecutor_code": "910101001",
                     "case_id": "C-1", "occurred_on": "2020-03-02"}]})


class EvaluationSchema(ma.Schema):
    """One subject's score card."""

    class Meta:
        ordered = True

    subject = ma.fields.Dict(required=True, metadata={
        "description": "考评对象：code 代码、name 名称、procuratorate 所属检察院 {code, name} (who)",
        "example": {"code": "910101001", "name": "张某", "procuratorate": {"code": "910101", "name": "某区人民检察院"}}})
    period = ma.fields.String(required=True, metadata={"description": "期间 (period)", "example": "2020"})
    figures = ma.fields.String(required=True, metadata={
        "description": "published：已发布的结果（冻结，不随数据和规则变化）；provisional：按现有数据和规则暂算 "
                       "(published: frozen figures; provisional: computed now from the data and rules there are)",
        "example": "provisional"})
    scheme = ma.fields.Dict(required=True, metadata={
        "description": "方案与版本：code、name、version_id、number（第几版）、status、content_hash（版本内容哈希）"
                       "(scheme and version, with the version's content hash)"})
    datasets = ma.fields.List(ma.fields.Dict(), required=True, metadata={
        "description": "所用数据集：id 与 content_hash (the datasets scored, by id and content hash)"})
    dictionary_hash = ma.fields.String(required=True, metadata={"description": "数据字典哈希 (data dictionary hash)"})
    engine_version = ma.fields.String(required=True, metadata={"description": "计分引擎版本 (engine version)",
                                                                "example": "2026.12.2"})
    publication = ma.fields.Dict(required=True, allow_none=True, metadata={
        "description": "发布信息（已发布时）：id、sequence（第几次发布）、published_at、published_by、result_hash、"
                       "supersedes（更正了哪次发布）、reason (the publication, when published)"})
    events = ma.fields.Dict(metadata={"description": "假设计算时：source=inline，count 期间内计入的事件数 "
                                                     "(what-if: the caller's events used)"})
    status = ma.fields.String(required=True, metadata={
        "description": "evaluated 参加考评；not_graded 参加计分但不评定等次 (taking part / scored but not graded)",
        "example": "evaluated"})
    status_reason = ma.fields.String(required=True, metadata={"description": "参评情况说明 (why not graded, if so)"})
    total = ma.fields.Float(required=True, allow_none=True, metadata={"description": "总分 (total)", "example": 86.4})
    grade = ma.fields.String(required=True, allow_none=True, metadata={"description": "等次 (grade)", "example": "良好"})
    grade_reason = ma.fields.String(required=True, metadata={
        "description": "等次依据：分数段、名额、否决 (why this grade: band, quota place, veto)"})
    rank = ma.fields.Dict(required=True, metadata={
        "description": "名次：place（同分同名次）、of（同组参评人数）、group（名额分组）、percentile（百分位，100 为组内第一）"
                       "(place in the quota group, ties share; group size; percentile, 100 = best)",
        "example": {"place": 12, "of": 240, "group": "line", "percentile": 95.4}})
    dimensions = ma.fields.List(ma.fields.Dict(), metadata={
        "description": "各维度：得分、权重、对总分的贡献 (dimensions: points, weight, contribution)"})
    indicators = ma.fields.List(ma.fields.Dict(), metadata={
        "description": "各指标：取值、命中的计分规则、得分、对总分的贡献、最近的未达档位及所需 (value, rule, points, "
                       "contribution, the nearest tier not reached and what it takes)"})
    adjustments = ma.fields.List(ma.fields.Dict(), metadata={
        "description": "加减分项：命中的事件数、每件分值、封顶与合计 (bonus and penalty items)"})
    vetoes = ma.fields.List(ma.fields.Dict(), metadata={"description": "否决项及其效果 (vetoes and their effect)"})
    attribution = ma.fields.List(ma.fields.Dict(), metadata={
        "description": "总分由哪些部分相加而来，各项相加等于总分 (the lines adding up exactly to the total)"})
    trace = ma.fields.Dict(metadata={"description": "trace=full 时的完整解释 (the whole trace, with trace=full)"})


@blp.route("", methods=["POST"])
@blp.arguments(EvaluationRequestSchema)
@blp.response(200, EvaluationSchema)
@blp.alt_response(400, response="BAD_REQUEST", description="该对象在该期间不参加考评（说明原因）(not evaluated in the period: why)")
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(404, response="NOT_FOUND")
@_guarded(blp)
@idempotent
@transactional
def evaluate(args: dict[str, Any]) -> dict[str, Any]:
    """给一名检察官或一个检察院在一个期间计分 (score one subject for one period).

    With ``scheme``: the published figures of the period if published, else computed now under the
    version in force on the period's first day. With ``version_id``: that version. Peers, ranks and
    quotas come from the same period's bulk result, so the answer agrees with the ranking. A subject not
    evaluated in the period answers 400 ``scoring.not_evaluated`` with the reason. With ``events``: a
    what-if on the caller's events (provisional)."""
    dictionary, cache_dir = _settings()
    return evaluation.evaluate(db.session(), current_actor(), dictionary, cache_dir=cache_dir, **args)


class BatchRequestSchema(WhoWhenSchema):
    """Many subjects at once."""

    subjects = ma.fields.List(Line(40), validate=ma.validate.Length(min=1, max=evaluation.MAX_BATCH_SUBJECTS), metadata={
        "description": f"考评对象代码列表（最多 {evaluation.MAX_BATCH_SUBJECTS} 个）(subject codes)",
        "example": ["910101001", "910101002"]})
    procuratorate = ma.fields.String(validate=ma.validate.Regexp(r"^[0-9]{6}$"), metadata={
        "description": "或：该检察院及其下级的全部考评对象（在调用方权限范围内）(or everyone of this procuratorate "
                       "and below, within the caller's tree)", "example": "910000"})
    format = ma.fields.String(load_default=None, validate=ma.validate.OneOf(["json", "jsonl"]), metadata={
        "description": "json：一个 JSON 对象；jsonl：JSON Lines 流式输出，首行为出处，其后每行一张卡片（也可用 Accept: "
                       "application/x-ndjson）(json: one object; jsonl: streamed JSON Lines — the provenance first, "
                       "then one card per line)"})
    trace = ma.fields.String(load_default="none", validate=ma.validate.OneOf(evaluation.TRACES), metadata={
        "description": "默认 none（只要总分、等次、名次）；summary、full 同单个计分（full 最多 "
                       f"{evaluation.MAX_FULL_TRACES} 个）(default none; summary and full as for one subject)"})


@blp.route("/batch", methods=["POST"])
@blp.arguments(BatchRequestSchema)
@blp.doc(responses={"200": {
    "description": "json：{period, figures, scheme, …, count, cards: [...]}；jsonl：首行为同样的出处，其后每行一张卡片 "
                   "(json: the provenance and the cards; jsonl: the provenance, then a card per line)",
    "content": {"application/json": {"schema": {"type": "object"}},
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
    scheme = ma.fields.String(required=True, validate=ma.validate.Regexp(SCHEME_CODE_PATTERN), metadata={
        "description": "方案代码 (scheme code)", "example": "SFS-PROSECUTOR-TEMPLATE"})
    from_ = ma.fields.String(required=True, data_key="from", validate=ma.validate.Regexp(MONTH_PATTERN),
                             metadata={"description": "起始月份 (first month)", "example": "2020-01"})
    to = ma.fields.String(required=True, validate=ma.validate.Regexp(MONTH_PATTERN),
                          metadata={"description": "结束月份 (last month)", "example": "2020-12"})
    every = ma.fields.String(load_default="month", validate=ma.validate.OneOf(["month", "quarter"]), metadata={
        "description": "month：逐月；quarter：逐季度 (month by month or quarter by quarter)"})


class HistorySchema(ma.Schema):
    subject = ma.fields.String(required=True, metadata={"description": "考评对象代码 (subject code)"})
    scheme = ma.fields.String(required=True)
    every = ma.fields.String(required=True)
    periods = ma.fields.List(ma.fields.Dict(), required=True, metadata={
        "description": "每个期间：figures（published/provisional）、version、publication、status、total、grade、place、"
                       "of、percentile；未参加考评的期间给出 note (per period: where the figures come from, total, "
                       "grade, place; a note where the subject did not take part)"})


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

