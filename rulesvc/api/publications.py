"""Published results (发布) over HTTP: list and read publications, publish a period, correct one.

Publishing needs *activate* on the scheme's procuratorate; reading follows the caller's tree (a
province's publications are readable below it). Published figures never change: a correction is a new
publication with a reason, and both stay readable.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask_smorest.pagination import PaginationParameters

from rulesvc.api.auth import ApiBlueprint, current_actor, located, location_doc, transactional
from rulesvc.api.evaluations import scoring_settings
from rulesvc.api.idempotency import idempotent
from rulesvc.api.schemes import INT32_MAX, Line, QueryArgs, _guarded
from rulesvc.api.scoring_schemas import HASH, DatasetRefSchema, Period, SchemeCode, about
from rulesvc.catalogue import msg
from rulesvc.errors import NotFound
from rulesvc.extensions import db
from rulesvc.services import publications

blp = ApiBlueprint(
    "publications", __name__, url_prefix="/publications",
    description="发布考评结果：冻结一个期间的结果，此后计分、排名、历次结果都返回发布结果；更正须另行发布并说明理由 "
    "(Published results: a period's figures frozen for good; evaluations, rankings and history answer with "
    "them; a correction is a new publication with a reason)",
)

PUBLICATION_ID = {"in": "path", "name": "publication_id", "description": "发布编号 (publication id)",
                  "schema": {"type": "integer", "minimum": 1, "maximum": INT32_MAX}, "example": 2}


@blp.url_value_preprocessor
def _ids_in_range(endpoint: str | None, values: dict[str, Any] | None) -> None:
    if values and values.get("publication_id", 0) > INT32_MAX:
        raise NotFound(msg("not_found.publication", id=values["publication_id"]))


class SchemeNameSchema(ma.Schema):
    class Meta:
        ordered = True

    code = ma.fields.String(required=True, metadata=about("方案代码 (scheme code)", "SFS-PROSECUTOR-TEMPLATE"))
    name = ma.fields.String(required=True, metadata=about("方案名称 (scheme name)", "示范省检察官业绩考评指标模板"))


class PublishedVersionSchema(ma.Schema):
    class Meta:
        ordered = True

    id = ma.fields.Integer(required=True, metadata=about("版本编号 (version id)", 2))
    number = ma.fields.Integer(required=True, metadata=about("该方案的第几版 (the version's number in the scheme)", 1))
    content_hash = ma.fields.String(required=True, metadata=about(
        "版本内容（解析后的方案）的 sha256 (sha256 of the version's resolved content)", HASH))


class PublicationSummarySchema(ma.Schema):
    class Meta:
        ordered = True

    graded = ma.fields.Integer(required=True, metadata=about("评定等次的对象数 (graded)", 2845))
    not_graded = ma.fields.Integer(required=True, metadata=about("参加计分但不评定等次的对象数 (not graded)", 26))
    left_out = ma.fields.Integer(required=True, metadata=about(
        "不参加考评的对象数（如期间内不在岗）(subjects not evaluated in the period)", 128))
    grades = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(), required=True, metadata=about(
        "各等次人数，按方案的等次顺序 (how many got each grade, in the scheme's order)",
        {"优秀": 81, "良好": 1023, "合格": 1730, "不合格": 11}))
    mean_total = ma.fields.Float(required=True, allow_none=True, metadata=about(
        "评定等次者的平均总分 (the mean total of the graded)", 89.3137))


class PublicationSchema(ma.Schema):
    class Meta:
        ordered = True

    id = ma.fields.Integer(required=True, metadata=about("发布编号 (id)", 2))
    scheme = ma.fields.Nested(SchemeNameSchema, required=True, metadata=about("方案 (scheme)"))
    period = ma.fields.String(required=True, metadata=about("期间 (period)", "2020-07"))
    period_start = ma.fields.String(required=True, metadata=about("期间首日 (first day)", "2020-07-01"))
    period_end = ma.fields.String(required=True, metadata=about("期间末日 (last day)", "2020-07-31"))
    sequence = ma.fields.Integer(required=True, metadata=about(
        "该期间第几次发布：1 为首次，更正依次加 1 (1 first, +1 per correction)", 1))
    current = ma.fields.Boolean(required=True, metadata=about(
        "是否为该期间最新的发布（计分、排名以它为准）(whether it is the latest one, the one answered)", True))
    superseded_by = ma.fields.Integer(required=True, allow_none=True, metadata=about(
        "被哪次发布更正；未被更正为空 (the publication that corrects it; null if none)", None))
    supersedes = ma.fields.Integer(required=True, allow_none=True, metadata=about(
        "更正了哪次发布；首次发布为空 (the publication it corrects; null for a first one)", None))
    reason = ma.fields.String(required=True, metadata=about(
        "更正理由；首次发布为空字符串 (why it corrects; empty for a first publication)", ""))
    version = ma.fields.Nested(PublishedVersionSchema, required=True, metadata=about("所用版本 (the version used)"))
    datasets = ma.fields.List(ma.fields.Nested(DatasetRefSchema), required=True, metadata=about(
        "所用数据集 (the datasets scored)"))
    dictionary_hash = ma.fields.String(required=True, metadata=about(
        "数据字典的 sha256 (sha256 of the data dictionary)",
        "c346e054f009edf84e94e8c1ff99cb661f11571ce5acfa9fad327b8cf94cf93e"))
    engine_version = ma.fields.String(required=True, metadata=about("计分引擎版本 (engine version)", "2026.12.12"))
    result_hash = ma.fields.String(required=True, metadata=about(
        "全部发布结果的 sha256 (sha256 of all the published figures)",
        "3d1c021f5a9f134f8d899b62f26b3f385640ad7ddb4fa9987c5982fc64d537c5"))
    subjects = ma.fields.Integer(required=True, allow_none=True, metadata=about(
        "参加计分（含不评定等次）的对象数；下级读上级的发布时为空 (subjects scored, the not graded included; null for "
        "a reader below the publishing procuratorate)", 2871))
    graded = ma.fields.Integer(required=True, allow_none=True, metadata=about(
        "评定等次的对象数；下级读上级的发布时为空 (graded; null for a reader below the publishing procuratorate)", 2845))
    summary = ma.fields.Nested(PublicationSummarySchema, required=True, allow_none=True, metadata=about(
        "各等次人数、平均分；下级读上级的发布时为空，本院人员的结果见排名 (grade counts, mean total; null for a reader "
        "below the publishing procuratorate — their own people's figures are in the rankings)"))
    published_by = ma.fields.String(required=True, metadata=about("发布人 (who published)", "系统 (cli)"))
    published_at = ma.fields.String(required=True, metadata=about("发布时间 (when published, ISO 8601)",
                                                                  "2026-12-04T19:07:12+00:00"))


class ListQuery(QueryArgs):
    scheme = SchemeCode(metadata=about(
        "只列该方案的发布 (only this scheme's)", "SFS-PROSECUTOR-TEMPLATE"))
    period = Period(metadata=about("只列该期间的发布 (only this period)", "2020-07"))


class PublishSchema(ma.Schema):
    scheme = SchemeCode(required=True, metadata=about(
        "方案代码 (scheme code)", "SFS-PROSECUTOR-TEMPLATE"))
    period = Period(required=True, metadata=about("已结束的期间 (a closed period)", "2020-07"))
    version_id = ma.fields.Integer(strict=True, validate=ma.validate.Range(min=1, max=INT32_MAX), metadata=about(
        "默认用期间首日生效的版本；也可指定一个生效过的版本 (default: the version in force on the period's first "
        "day; or a version that has been in force)", 2))


class SupersedeSchema(ma.Schema):
    reason = Line(publications.MAX_REASON, required=True, metadata=about(
        "更正理由（必填，记入审计日志）(why the figures are corrected; required, recorded in the audit log)",
        "导入更正数据集，补录某院 7 月漏报的 3 件案件"))
    version_id = ma.fields.Integer(strict=True, validate=ma.validate.Range(min=1, max=INT32_MAX), metadata=about(
        "默认用期间首日生效的版本 (default: the version in force on the period's first day)", 2))
    accept_fewer_graded = ma.fields.Boolean(load_default=False, metadata=about(
        "更正后评定等次的人数不到原发布的一半时，须为 true 才更正（多半是数据被撤回或缺失）(must be true for a correction that "
        "grades fewer than half as many as the publication it replaces: data withdrawn or missing, most likely)", False))


PUBLISH_EXAMPLE = {"scheme": "SFS-PROSECUTOR-TEMPLATE", "period": "2020-07"}
SUPERSEDE_EXAMPLE = {"reason": "导入更正数据集，补录某院 7 月漏报的 3 件案件"}


PUBLICATION_LOCATION = location_doc("新发布结果的地址", "where to read the new publication", "/api/v1/publications/1")


def _publish(**kwargs: Any) -> tuple[dict[str, Any], dict[str, str]]:
    session = db.session()
    dictionary, cache_dir = scoring_settings()
    pub = publications.publish(session, current_actor(), dictionary, cache_dir=cache_dir, **kwargs)
    return located(publications.view(session, pub, current_actor()), f"{blp.name}.get_publication", publication_id=pub.id)


@blp.route("", methods=["POST"])
@blp.arguments(PublishSchema, example=PUBLISH_EXAMPLE)
@blp.response(201, PublicationSchema, headers=PUBLICATION_LOCATION)
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(409, response="CONFLICT")
@_guarded(blp)
@idempotent
@transactional
def publish(args: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """发布一个已结束期间的考评结果（需“生效/停用”权限）(publish a closed period's results; needs *activate*).

    Scores the period on the data in use now under the version in force on its first day (or
    ``version_id``) and freezes every subject's card and the ranking. 409 if the period is already
    published: correct it with ``POST /publications/{id}/supersede``."""
    return _publish(**args)


@blp.route("/<int:publication_id>/supersede", methods=["POST"], parameters=[PUBLICATION_ID])
@blp.arguments(SupersedeSchema, example=SUPERSEDE_EXAMPLE)
@blp.response(201, PublicationSchema, headers=PUBLICATION_LOCATION)
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(409, response="CONFLICT")
@_guarded(blp)
@idempotent
@transactional
def supersede(args: dict[str, Any], publication_id: int) -> tuple[dict[str, Any], dict[str, str]]:
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
    actor = current_actor()
    return [publications.view(session, p, actor) for p in found]


@blp.route("/<int:publication_id>", parameters=[PUBLICATION_ID])
@blp.response(200, PublicationSchema)
@blp.alt_response(404, response="NOT_FOUND")
@transactional
def get_publication(publication_id: int) -> dict[str, Any]:
    """一次发布：所用版本、数据集、结果哈希、各等次人数，是否已被更正 (one publication)."""
    session = db.session()
    actor = current_actor()
    return publications.view(session, publications.get(session, actor, publication_id), actor)
