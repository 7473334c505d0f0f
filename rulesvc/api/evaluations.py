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
from rulesvc.api.idempotency import JSON_LINES, idempotent
from rulesvc.api.schemes import INT32_MAX, Line, QueryArgs, _guarded
from rulesvc.api.scoring_schemas import (
    MONTH_PATTERN,
    BatchSchema,
    EvaluationSchema,
    Period,
    SchemeCode,
    about,
)
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

JSONL = JSON_LINES  # the batch's streamed answer (the idempotency keys tell it apart)
def scoring_settings() -> tuple[Any, Any]:
    """What every scoring view needs of the app: the data dictionary and the events cache folder."""
    return (get_dictionary(current_app.config["RULES_DIR"]),
            current_app.extensions["rulesvc.simulation_settings"].cache_dir)


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


# An empty list would score the subject on nothing — "did no work" written over a real record by a client that
# always sends the key. Refused: without events, the stored data is scored.
NO_INLINE_EVENTS = ("events 为空：假设计算至少要有一条事件；要按已导入的数据计分，请不要传 events (events is empty: a "
                    "what-if needs at least one event; to score the stored data, leave events out)")


class WhoWhenSchema(ma.Schema):
    period = Period(required=True, metadata=about(
        "期间：2020（年）、2020-Q3（季度）或 2020-07（月）(a year, quarter or month)", "2020-07"))
    scheme = SchemeCode(metadata=about(
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

    subject = Line(40, trim=True, required=True, metadata=about(
        "考评对象代码：检察官工号或检察院代码 (prosecutor code or procuratorate code)", "910101001"))
    events = ma.fields.List(ma.fields.Dict(), validate=[ma.validate.Length(min=1, error=NO_INLINE_EVENTS),
                                                         ma.validate.Length(max=MAX_INLINE_EVENTS)], metadata=about(
        f"假设计算：用调用方给出的事件（字段与导入文件的一行相同：event_id、event_type、procuratorate、prosecutor、"
        f"case_id、occurred_on 及该事件类型的字段，按数据字典校验，1 至 {MAX_INLINE_EVENTS} 条，须为该对象本期间的"
        "事件）代替已导入的数据为该对象计分；其他人的数据仍以已导入的为准，本人在同组比较和名额中的原有数据由新数据代替，"
        "结果为暂算 (what-if: score the subject on these events instead of the stored ones (1 to "
        f"{MAX_INLINE_EVENTS}) — the fields of an events import row, validated against the data dictionary, the "
        "subject's own and inside the period; everyone else's figures stay as stored, the subject's own stored figures "
        "in the peer statistics and quota counts are replaced by the new ones)",
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

@blp.route("", methods=["POST"])
@blp.arguments(EvaluationRequestSchema(), examples=EVALUATION_EXAMPLES)
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
    dictionary, cache_dir = scoring_settings()
    # The card is already what EvaluationSchema documents (tests/integration/test_openapi_scoring.py
    # checks it key for key): written out directly, without a second walk through every field.
    body = evaluation.evaluate_json(db.session(), current_actor(), dictionary, cache_dir=cache_dir, **args)
    return current_app.response_class(body, mimetype="application/json")


class BatchRequestSchema(WhoWhenSchema):
    """Many subjects at once."""

    subjects = ma.fields.List(Line(40, trim=True), validate=ma.validate.Length(min=1, max=evaluation.MAX_BATCH_SUBJECTS),
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
@blp.arguments(BatchRequestSchema(), examples=BATCH_EXAMPLES)
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
    dictionary, cache_dir = scoring_settings()
    fmt = args.pop("format") or ("jsonl" if request.accept_mimetypes.best_match(["application/json", JSONL]) == JSONL
                                 else "json")  # by the q-values, JSON at equal preference
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


MONTH_WORDS = ("须写月份，如 2020-01；按季度看时也写起止月份，加 every=quarter "
               "(a month, e.g. 2020-01; for quarters give months too, with every=quarter)")


class HistoryQuerySchema(QueryArgs):
    scheme = SchemeCode(required=True, metadata=about(
        "方案代码 (scheme code)", "SFS-PROSECUTOR-TEMPLATE"))
    from_ = ma.fields.String(required=True, data_key="from", validate=ma.validate.Regexp(MONTH_PATTERN, error=MONTH_WORDS),
                             metadata=about("起始月份 (first month)", "2020-05"))
    to = ma.fields.String(required=True, validate=ma.validate.Regexp(MONTH_PATTERN, error=MONTH_WORDS),
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
    period_closed = ma.fields.Boolean(required=True, metadata=about(
        "期间是否已结束：未结束的期间只有临时结果，随数据变化 (whether the period is over: an open period has only "
        "provisional figures, which move with the data)", True))
    figures = ma.fields.String(required=True, allow_none=True, validate=ma.validate.OneOf(["published", "provisional"]),
                               metadata=about(
        "published 已发布 / provisional 暂算；该期间无结果为空 (where the figures come from; null without figures)",
        "published"))
    version = ma.fields.Nested(HistoryVersionSchema, metadata=about("当期所用版本 (the version used for the period)"))
    publication = ma.fields.Integer(allow_none=True, metadata=about(
        "发布编号；暂算为空 (the publication's id; null when provisional)", 2))
    status = ma.fields.String(required=True, allow_none=True, validate=ma.validate.OneOf(
        ["evaluated", "not_graded", "excluded"]), metadata=about(
        "evaluated 参加考评、not_graded 不评定等次、excluded 不参加考评；无该对象或无生效版本为空 (taking part, not "
        "graded, excluded; null when the subject or a version in force is missing)", "evaluated"))
    total = ma.fields.Float(allow_none=True, metadata=about("总分 (total)", 90.717165853))
    grade = ma.fields.String(allow_none=True, metadata=about("等次 (grade)", "良好"))
    place = ma.fields.Integer(allow_none=True, metadata=about("组内名次 (place in the quota group)", 9))
    of = ma.fields.Integer(allow_none=True, metadata=about("同组参评人数 (evaluated in the group)", 27))
    percentile = ma.fields.Float(allow_none=True, metadata=about("百分位，组内第一为 100 (percentile, 100 = best)",
                                                                 69.23))
    note = ma.fields.String(metadata=about(
        "没有结果或不评定等次的原因 (why there are no figures, or why the subject was scored but not graded)",
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
@subjects_blp.arguments(HistoryQuerySchema(), location="query", as_kwargs=True)
@subjects_blp.response(200, HistorySchema)
@subjects_blp.alt_response(403, response="FORBIDDEN")
@subjects_blp.alt_response(404, response="NOT_FOUND")
@transactional
def history(code: str, scheme: str, from_: str, to: str, every: str) -> dict[str, Any]:
    """一名考评对象逐月（或逐季度）的总分、等次和名次，每期用当期生效的版本，有发布结果的用发布结果（最多 24 期）
    (a subject's total, grade and place period by period — each under the version then in force, published
    figures where published; at most 24 periods)."""
    dictionary, cache_dir = scoring_settings()
    return rankings.history(db.session(), current_actor(), dictionary, code=code.strip()[:40], scheme=scheme, start=from_,
                            end=to, every=every, cache_dir=cache_dir)

