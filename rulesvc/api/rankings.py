"""Rankings (排名) and the procuratorate comparison (院际比较) of a period over HTTP, published or
provisional; rankings also as CSV or XLSX with Chinese headers.

Reading needs *score* within the caller's tree: rows of other procuratorates are not shown (their places
still count — a place is among everyone the scheme scores).
"""

from __future__ import annotations

from typing import Any

import flask
import marshmallow as ma
from flask import current_app, request
from flask_smorest.pagination import PaginationParameters

from rulesvc.api.auth import ApiBlueprint, current_actor, transactional
from rulesvc.api.evaluations import Period
from rulesvc.api.schemes import INT32_MAX, SCHEME_CODE_PATTERN, Line
from rulesvc.extensions import db
from rulesvc.services import comparisons, rankings
from rulesvc.services.dictionary import get_dictionary
from rulesvc.services.governance.access import require
from rulesvc.services.scoring import RANK_GROUPS
from rulesvc.spreadsheet import XLSX_MIMETYPE, Sheet, iter_csv, iter_xlsx

blp = ApiBlueprint(
    "rankings", __name__, url_prefix="/rankings",
    description="排名：一个期间参评对象的总分、等次、组内名次与百分位、名额使用；可导出 CSV、XLSX "
    "(Rankings of a period: totals, grades, places and percentiles in the group, quota use; CSV and XLSX)",
)
comparisons_blp = ApiBlueprint(
    "comparisons", __name__, url_prefix="/comparisons",
    description="院际比较：各指标相对同组平均的上游/中游/下游、末位标记、连续落后月份 "
    "(Procuratorate comparison: each indicator's position against the group average, laggard flags, streaks)",
)


def _settings() -> tuple[Any, Any]:
    return (get_dictionary(current_app.config["RULES_DIR"]),
            current_app.extensions["rulesvc.simulation_settings"].cache_dir)


class PeriodQuery(ma.Schema):
    scheme = ma.fields.String(validate=ma.validate.Regexp(SCHEME_CODE_PATTERN), metadata={
        "description": "方案代码：有发布结果时返回发布结果，否则用期间首日生效的版本暂算 (scheme code: published "
                       "figures if any, else computed under the version in force)", "example": "SFS-PROSECUTOR-TEMPLATE"})
    version_id = ma.fields.Integer(strict=False, validate=ma.validate.Range(min=1, max=INT32_MAX), metadata={
        "description": "或指定版本编号 (or a version id)"})
    period = Period(required=True, metadata={"description": "期间：2020、2020-Q3 或 2020-07 (period)",
                                             "example": "2020"})


class RankingQuery(PeriodQuery):
    group = ma.fields.String(validate=ma.validate.OneOf(RANK_GROUPS), metadata={
        "description": "名次分组：all 全部、procuratorate 检察院、department 部门、business 业务、line 条线、level 院级；"
                       "默认为方案的名额分组 (group the place is counted in; default: the scheme's quota group)"})
    procuratorate = ma.fields.String(validate=ma.validate.Regexp(r"^[0-9]{6}$"), metadata={
        "description": "只看该检察院及其下级 (only this procuratorate and below)", "example": "910101"})
    business = Line(32, metadata={"description": "只看该业务 (only this business)"})
    grade = Line(40, metadata={"description": "只看该等次 (only this grade)", "example": "优秀"})
    format = ma.fields.String(validate=ma.validate.OneOf(["json", "csv", "xlsx"]), metadata={
        "description": "json（分页）、csv 或 xlsx（全部行，中文表头）；也可用 Accept 头 (json paged; csv or xlsx "
                       "with every row and Chinese headers; or by the Accept header)"})


class RankingRowSchema(ma.Schema):
    class Meta:
        ordered = True

    place = ma.fields.Integer(allow_none=True, metadata={"description": "组内名次，同分同名次；不评定等次者为空 (place)"})
    code = ma.fields.String(metadata={"description": "工号或检察院代码 (code)"})
    name = ma.fields.String(metadata={"description": "姓名或院名 (name)"})
    procuratorate = ma.fields.Dict(allow_none=True, metadata={"description": "所属检察院 {code, name}"})
    business = ma.fields.Dict(metadata={"description": "业务 {code, name}"})
    line = ma.fields.String(allow_none=True, metadata={"description": "条线 (line)"})
    level = ma.fields.String(allow_none=True, metadata={"description": "院级 (level)"})
    status = ma.fields.String(metadata={"description": "evaluated / not_graded"})
    total = ma.fields.Float(allow_none=True, metadata={"description": "总分 (total)"})
    grade = ma.fields.String(allow_none=True, metadata={"description": "等次 (grade)"})
    group_size = ma.fields.Integer(allow_none=True, metadata={"description": "同组参评数 (evaluated in the group)"})
    percentile = ma.fields.Float(allow_none=True, metadata={"description": "百分位，100 为组内第一 (percentile)"})
    grade_reason = ma.fields.String(allow_none=True, metadata={"description": "等次依据或不评定等次的原因 (why)"})


def _format(asked: str | None) -> str:
    if asked:
        return asked
    accept = request.headers.get("Accept") or ""
    if "text/csv" in accept:
        return "csv"
    if XLSX_MIMETYPE in accept:
        return "xlsx"
    return "json"


@blp.route("")
@blp.arguments(RankingQuery, location="query", as_kwargs=True)
@blp.response(200, RankingRowSchema(many=True))
@blp.doc(responses={"200": {"content": {"text/csv": {"schema": {"type": "string"}},
                                        XLSX_MIMETYPE: {"schema": {"type": "string", "format": "binary"}}}}})
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(404, response="NOT_FOUND")
@blp.paginate(page_size=50, max_page_size=500)
@transactional
def ranking(pagination_parameters: PaginationParameters, period: str, scheme: str | None = None,
            version_id: int | None = None, format: str | None = None, **filters: Any) -> Any:
    """一个期间的排名，名次在前；出处（已发布/暂算）与名额使用在响应头 X-Figures、X-Publication 和 JSON 的 Link
    之外，用 format=csv/xlsx 导出全部行 (a period's ranking, best first; whether published in the X-Figures
    header; csv/xlsx export every row)."""
    session = db.session()
    actor = current_actor()
    _may_score(actor)
    dictionary, cache_dir = _settings()
    meta, frame = rankings.rankings(session, actor, dictionary, period=period, scheme=scheme, version_id=version_id,
                                    cache_dir=cache_dir, **filters)
    fmt = _format(format)
    pagination_parameters.item_count = frame.height
    headers = {"X-Figures": meta["figures"], "X-Scheme-Version": str(meta["scheme"]["version_id"]),
               "X-Content-Hash": meta["scheme"]["content_hash"]}
    if meta["publication"]:
        headers["X-Publication"] = str(meta["publication"]["id"])
    if fmt in ("csv", "xlsx"):
        header, body = rankings.table(session, dictionary, frame, meta["subject_kind"])
        name = f"ranking-{meta['scheme']['code']}-{meta['period']}-{meta['figures']}.{fmt}"
        if fmt == "csv":
            resp = flask.Response(list(iter_csv(header, body)), mimetype="text/csv")
        else:
            title = f"排名 {meta['period']}"
            resp = flask.Response(list(iter_xlsx([Sheet(title, header, body)])), mimetype=XLSX_MIMETYPE)
        resp.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        resp.headers.update(headers)
        return resp
    page = frame.slice((pagination_parameters.page - 1) * pagination_parameters.page_size,
                       pagination_parameters.page_size)
    return rankings.rows(session, dictionary, page, meta["subject_kind"]), 200, headers


def _may_score(actor: Any) -> None:
    """Rankings show people's scores: *score* is needed somewhere in the caller's tree."""
    if not actor.may("score"):
        require(actor, "score", -1)


class ComparisonSchema(ma.Schema):
    class Meta:
        ordered = True

    period = ma.fields.String(required=True)
    figures = ma.fields.String(required=True, metadata={"description": "published 或 provisional"})
    scheme = ma.fields.Dict(required=True)
    datasets = ma.fields.List(ma.fields.Dict(), required=True)
    dictionary_hash = ma.fields.String(required=True)
    engine_version = ma.fields.String(required=True)
    publication = ma.fields.Dict(allow_none=True)
    method = ma.fields.Dict(required=True, metadata={
        "description": "比较方法：group 比较分组、band 中游幅度、streak 连续落后月数、streak_months 所看月份、"
                       "laggard_rules 各组末位规则及标记数 (how units are compared and flagged)"})
    units = ma.fields.List(ma.fields.Dict(), required=True, metadata={
        "description": "各院：名次、总分、等次、bottom_k/bottom_share 末位标记；各指标 value、average、position（上游/"
                       "中游/下游）、months_worse（低于平均的月份）、streak 与 streak_months（截至期末连续落后）、"
                       "longest、named（达到连续落后月数）(per unit: place, total, flags; per indicator: value, "
                       "average, position, months worse than average, the streak ending with the period, named)"})


@comparisons_blp.route("")
@comparisons_blp.arguments(PeriodQuery, location="query", as_kwargs=True)
@comparisons_blp.response(200, ComparisonSchema)
@comparisons_blp.alt_response(403, response="FORBIDDEN")
@comparisons_blp.alt_response(404, response="NOT_FOUND")
@transactional
def comparison(period: str, scheme: str | None = None, version_id: int | None = None) -> dict[str, Any]:
    """院际比较（以检察院为考评对象的方案）(the procuratorate comparison of a period)."""
    actor = current_actor()
    _may_score(actor)
    dictionary, cache_dir = _settings()
    return comparisons.comparison(db.session(), actor, dictionary, period=period, scheme=scheme,
                                  version_id=version_id, cache_dir=cache_dir)

