"""Published results (发布) over HTTP: list and read publications, publish a period, correct one.

Publishing needs *activate* on the scheme's procuratorate; reading follows the caller's tree (a
province's publications are readable below it). Published figures never change: a correction is a new
publication with a reason, and both stay readable.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import current_app
from flask_smorest.pagination import PaginationParameters

from rulesvc.api.auth import ApiBlueprint, current_actor, transactional
from rulesvc.api.evaluations import Period
from rulesvc.api.idempotency import idempotent
from rulesvc.api.schemes import INT32_MAX, SCHEME_CODE_PATTERN, Line, _guarded
from rulesvc.catalogue import msg
from rulesvc.errors import NotFound
from rulesvc.extensions import db
from rulesvc.services import publications
from rulesvc.services.dictionary import get_dictionary

blp = ApiBlueprint(
    "publications", __name__, url_prefix="/publications",
    description="发布考评结果：冻结一个期间的结果，此后计分、排名、历次结果都返回发布结果；更正须另行发布并说明理由 "
    "(Published results: a period's figures frozen for good; evaluations, rankings and history answer with "
    "them; a correction is a new publication with a reason)",
)

PUBLICATION_ID = {"in": "path", "name": "publication_id", "description": "发布编号 (publication id)",
                  "schema": {"type": "integer", "minimum": 1, "maximum": INT32_MAX}}


@blp.url_value_preprocessor
def _ids_in_range(endpoint: str | None, values: dict[str, Any] | None) -> None:
    if values and values.get("publication_id", 0) > INT32_MAX:
        raise NotFound(msg("not_found.publication", id=values["publication_id"]))


class PublicationSchema(ma.Schema):
    class Meta:
        ordered = True

    id = ma.fields.Integer(metadata={"description": "发布编号 (id)", "example": 1})
    scheme = ma.fields.Dict(metadata={"description": "方案 {code, name}"})
    period = ma.fields.String(metadata={"description": "期间 (period)", "example": "2020"})
    period_start = ma.fields.String(metadata={"description": "期间首日 (first day)"})
    period_end = ma.fields.String(metadata={"description": "期间末日 (last day)"})
    sequence = ma.fields.Integer(metadata={"description": "该期间第几次发布：1 为首次，更正依次加 1 (1 first, +1 per correction)"})
    current = ma.fields.Boolean(metadata={"description": "是否为该期间最新的发布（计分、排名以它为准）(the one answered)"})
    superseded_by = ma.fields.Integer(allow_none=True, metadata={"description": "被哪次发布更正 (corrected by)"})
    supersedes = ma.fields.Integer(allow_none=True, metadata={"description": "更正了哪次发布 (corrects)"})
    reason = ma.fields.String(metadata={"description": "更正理由 (why corrected)"})
    version = ma.fields.Dict(metadata={"description": "所用版本 {id, number, content_hash}"})
    datasets = ma.fields.List(ma.fields.Dict(), metadata={"description": "所用数据集 {id, content_hash}"})
    dictionary_hash = ma.fields.String()
    engine_version = ma.fields.String()
    result_hash = ma.fields.String(metadata={"description": "全部发布结果的 sha256 (hash of the published figures)"})
    subjects = ma.fields.Integer(metadata={"description": "参加考评（含不评定等次）的对象数 (subjects taking part)"})
    graded = ma.fields.Integer(metadata={"description": "评定等次的对象数 (graded)"})
    summary = ma.fields.Dict(metadata={"description": "各等次人数、平均分 (grade counts, mean total)"})
    published_by = ma.fields.String(metadata={"description": "发布人 (who)"})
    published_at = ma.fields.String(metadata={"description": "发布时间 (when)"})


class ListQuery(ma.Schema):
    scheme = ma.fields.String(validate=ma.validate.Regexp(SCHEME_CODE_PATTERN), metadata={
        "description": "只列该方案的发布 (only this scheme's)"})
    period = Period(metadata={"description": "只列该期间的发布 (only this period)", "example": "2020"})


class PublishSchema(ma.Schema):
    scheme = ma.fields.String(required=True, validate=ma.validate.Regexp(SCHEME_CODE_PATTERN), metadata={
        "description": "方案代码 (scheme code)", "example": "SFS-PROSECUTOR-TEMPLATE"})
    period = Period(required=True, metadata={"description": "已结束的期间 (a closed period)", "example": "2020"})
    version_id = ma.fields.Integer(strict=True, validate=ma.validate.Range(min=1, max=INT32_MAX), metadata={
        "description": "默认用期间首日生效的版本；也可指定一个生效过的版本 (default: the version in force on the "
                       "period's first day)"})


class SupersedeSchema(ma.Schema):
    reason = Line(1000, required=True, metadata={
        "description": "更正理由，如“导入了更正数据集 #12（某院漏报案件）”(why the figures are corrected)",
        "example": "导入更正数据集，补录某院 7 月漏报的 3 件案件"})
    version_id = ma.fields.Integer(strict=True, validate=ma.validate.Range(min=1, max=INT32_MAX), metadata={
        "description": "默认用期间首日生效的版本 (default: the version in force on the period's first day)"})


def _publish(**kwargs: Any) -> dict[str, Any]:
    session = db.session()
    pub = publications.publish(session, current_actor(), get_dictionary(current_app.config["RULES_DIR"]),
                               cache_dir=current_app.extensions["rulesvc.simulation_settings"].cache_dir, **kwargs)
    return publications.view(session, pub)


@blp.route("", methods=["POST"])
@blp.arguments(PublishSchema)
@blp.response(201, PublicationSchema)
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(409, response="CONFLICT")
@_guarded(blp)
@idempotent
@transactional
def publish(args: dict[str, Any]) -> dict[str, Any]:
    """发布一个已结束期间的考评结果（需“生效/停用”权限）(publish a closed period's results; needs *activate*).

    Scores the period on the data in use now under the version in force on its first day (or
    ``version_id``) and freezes every subject's card and the ranking. 409 if the period is already
    published: correct it with ``POST /publications/{id}/supersede``."""
    return _publish(**args)


@blp.route("/<int:publication_id>/supersede", methods=["POST"], parameters=[PUBLICATION_ID])
@blp.arguments(SupersedeSchema)
@blp.response(201, PublicationSchema)
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(409, response="CONFLICT")
@_guarded(blp)
@idempotent
@transactional
def supersede(args: dict[str, Any], publication_id: int) -> dict[str, Any]:
    """更正已发布的结果：按现有数据（和指定版本）重新发布，取代最新一次发布，须写明理由；原发布仍可查阅
    (correct a publication: publish again on today's data, superseding the latest one, with a reason; the
    old one stays readable)."""
    session = db.session()
    old = publications.get(session, current_actor(), publication_id)
    return _publish(scheme=old.scheme.code, period=old.period, supersedes=old.id, **args)


@blp.route("")
@blp.arguments(ListQuery, location="query", as_kwargs=True)
@blp.response(200, PublicationSchema(many=True))
@blp.alt_response(404, response="NOT_FOUND")
@blp.paginate(page_size=20, max_page_size=100)
@transactional
def list_publications(pagination_parameters: PaginationParameters, **filters: Any) -> list[dict[str, Any]]:
    """调用方可见的发布，新的在前 (publications the caller may see, newest first)."""
    session = db.session()
    found, total = publications.listing(session, current_actor(), page=pagination_parameters.page,
                                        page_size=pagination_parameters.page_size, **filters)
    pagination_parameters.item_count = total
    return [publications.view(session, p) for p in found]


@blp.route("/<int:publication_id>", parameters=[PUBLICATION_ID])
@blp.response(200, PublicationSchema)
@blp.alt_response(404, response="NOT_FOUND")
@transactional
def get_publication(publication_id: int) -> dict[str, Any]:
    """一次发布：所用版本、数据集、结果哈希、各等次人数，是否已被更正 (one publication)."""
    session = db.session()
    return publications.view(session, publications.get(session, current_actor(), publication_id))
