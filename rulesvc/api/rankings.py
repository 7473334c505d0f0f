"""Rankings (排名) and the procuratorate comparison (院际比较) of a period over HTTP, published or
provisional; rankings also as CSV or XLSX with Chinese headers.

Reading needs *score* within the caller's tree: rows of other procuratorates are not shown (their places
still count — a place is among everyone the scheme scores).
"""

from __future__ import annotations

import json
from typing import Any

import flask
import marshmallow as ma
from flask import request
from flask_smorest.pagination import PaginationMixin, PaginationParameters

from rulesvc.api.auth import ApiBlueprint, current_actor, transactional
from rulesvc.api.evaluations import scoring_settings
from rulesvc.api.schemes import INT32_MAX, Line, QueryArgs
from rulesvc.api.scoring_schemas import Period, ProcuratorateRefSchema, ProvenanceSchema, SchemeCode, about
from rulesvc.extensions import db
from rulesvc.services import comparisons, rankings
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


class PeriodQuery(QueryArgs):
    scheme = SchemeCode(metadata=about(
        "方案代码：有发布结果时返回发布结果，否则用期间首日生效的版本暂算 (scheme code: published figures if any, else "
        "computed under the version in force)", "SFS-PROSECUTOR-TEMPLATE"))
    version_id = ma.fields.Integer(strict=False, validate=ma.validate.Range(min=1, max=INT32_MAX), metadata=about(
        "或指定版本编号（只有该版本的发布结果才算发布结果）(or a version id: only a publication of that very version "
        "counts as published)", 2))
    period = Period(required=True, metadata=about("期间：2020、2020-Q3 或 2020-07 (a year, quarter or month)",
                                                  "2020-07"))


class ComparisonQuery(PeriodQuery):
    scheme = SchemeCode(metadata=about(
        "以检察院为考评对象的方案代码：有发布结果时返回发布结果，否则暂算 (code of a scheme that scores "
        "procuratorates: published figures if any, else computed now)", "SFS-PROCURATORATE-QUALITY-MONTHLY"))


class RankingQuery(PeriodQuery):
    group = ma.fields.String(validate=ma.validate.OneOf(RANK_GROUPS), metadata=about(
        "名次分组：all 全部、procuratorate 检察院、department 部门、business 业务、line 条线、level 院级；默认为方案的"
        "名额分组 (group the place is counted in; default: the scheme's quota group)", "procuratorate"))
    procuratorate = ma.fields.String(validate=ma.validate.Regexp(r"^[0-9]{6}$"), metadata=about(
        "只看该检察院及其下级（名次仍在全部考评对象中计算）(only this procuratorate and below; places still among "
        "everyone)", "910101"))
    business = Line(32, metadata=about("只看该业务（业务代码）(only this business, by code)", "ordinary_crime"))
    grade = Line(40, metadata=about("只看该等次 (only this grade)", "良好"))
    format = ma.fields.String(validate=ma.validate.OneOf(["json", "csv", "xlsx"]), metadata=about(
        "json（分页）、csv 或 xlsx（全部行，中文表头）；也可用 Accept 头 (json paged; csv or xlsx with every row and "
        "Chinese headers; or by the Accept header)", "json"))


class BusinessRefSchema(ma.Schema):
    class Meta:
        ordered = True

    code = ma.fields.String(allow_none=True, metadata=about("业务代码 (business code)", "public_interest"))
    name = ma.fields.String(allow_none=True, metadata=about("业务名称 (business name)", "公益诉讼检察"))


class DepartmentRefSchema(ma.Schema):
    class Meta:
        ordered = True

    code = ma.fields.String(required=True, metadata=about("部门代码 (department code)", "D02"))
    name = ma.fields.String(required=True, metadata=about("部门名称 (department name)", "第一检察部"))


class RankGroupSchema(ma.Schema):
    class Meta:
        ordered = True

    by = ma.fields.String(required=True, validate=ma.validate.OneOf(RANK_GROUPS), metadata=about(
        "分组方式：请求的 group，默认为方案的名额分组 (how the places are grouped: the request's group, by default the "
        "scheme's quota group)", "procuratorate"))
    code = ma.fields.String(required=True, allow_none=True, metadata=about(
        "该组的代码；部门为“检察院代码/部门代码”（部门代码只在本院内唯一）；全部考评对象一组时为空 (the group's code; a "
        "department's is procuratorate/department, its own code being unique only in its procuratorate; null when "
        "everyone is one group)", "910101"))
    name = ma.fields.String(required=True, metadata=about("该组的名称 (the group's name)", "清瑞区人民检察院"))


class RankingRowSchema(ma.Schema):
    """A row of a ranking: a prosecutor's (procuratorate, business, line) or a procuratorate's (level)."""

    class Meta:
        ordered = True

    place = ma.fields.Integer(required=True, allow_none=True, metadata=about(
        "组内名次，同分同名次；不评定等次者为空 (place in the group, ties share; null when not graded)", 1))
    code = ma.fields.String(required=True, metadata=about("工号或检察院代码 (staff number or procuratorate code)",
                                                          "910409002"))
    name = ma.fields.String(required=True, metadata=about("姓名或院名 (name)", "顾洋"))
    procuratorate = ma.fields.Nested(ProcuratorateRefSchema, allow_none=True, metadata=about(
        "所属检察院（检察官）(the prosecutor's procuratorate)"))
    department = ma.fields.Nested(DepartmentRefSchema, allow_none=True, metadata=about(
        "所属部门（检察官；未登记为空）(the prosecutor's department; null when not recorded)"))
    business = ma.fields.Nested(BusinessRefSchema, metadata=about("业务（检察官）(the prosecutor's business)"))
    line = ma.fields.String(allow_none=True, metadata=about(
        "业务条线代码（检察官）：criminal、civil、administrative、public_interest 等 (the prosecutor's business line)",
        "public_interest"))
    quota_status = ma.fields.String(allow_none=True, validate=ma.validate.OneOf(["quota", "non_quota", "exited"]),
                                    metadata=about(
        "员额状态（检察官）：quota 员额检察官、non_quota 非员额人员、exited 已退出员额；已发布结果为发布时的状态，暂算结果为"
        "目录中当前的状态 (the prosecutor's quota status: as published, or the directory's today for provisional "
        "figures)", "quota"))
    level = ma.fields.String(allow_none=True, metadata=about(
        "院级（检察院）：province 省级院、city 市级院、county 基层院 (the procuratorate's level)", "county"))
    group = ma.fields.Nested(RankGroupSchema, required=True, metadata=about(
        "名次所在的分组：同一页上两个第 1 名属于两个组 (the group the place is counted in: two first places on a page "
        "are the first of two groups)"))
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(["evaluated", "not_graded"]), metadata=about(
        "evaluated 参加考评 / not_graded 不评定等次 (evaluated / not graded)", "evaluated"))
    total = ma.fields.Float(required=True, allow_none=True, metadata=about("总分 (total)", 99.952380952))
    grade = ma.fields.String(required=True, allow_none=True, metadata=about(
        "等次；不评定等次或方案不定等次为空 (grade; null when not graded)", "优秀"))
    group_size = ma.fields.Integer(required=True, allow_none=True, metadata=about(
        "同组参评数（评定等次者）(evaluated subjects of the group)", 32))
    percentile = ma.fields.Float(required=True, allow_none=True, metadata=about(
        "百分位，组内第一为 100 (percentile, 100 = best of the group)", 100.0))
    grade_reason = ma.fields.String(required=True, allow_none=True, metadata=about(
        "等次依据；不评定等次者为其原因 (why this grade; why not graded)", "总分 99.95 ≥ 95 → 优秀"))
    own_scheme = ma.fields.String(required=True, allow_none=True, metadata=about(
        "本院（或其上级院）在本期按本地化方案考评其人员时为该方案代码：此行是按本方案计算的分数，不是其考评结果；否则为空 "
        "(the code of the localization this row's procuratorate — or the nearest unit above it — scores its people "
        "under in the period: this row is a figure under this scheme, not their result; null when there is none)",
        None))


RANKING_HEADERS = {
    "X-Figures": {"description": "published 已发布 / provisional 暂算 (where the figures come from)",
                  "schema": {"type": "string", "enum": ["published", "provisional"], "example": "published"}},
    "X-Publication": {"description": "发布编号（已发布时）(the publication's id, when published)",
                      "schema": {"type": "integer", "example": 2}},
    "X-Scheme-Version": {"description": "所用版本的 version_id（不是第几版）(the version_id of the version used, not its "
                                        "number)", "schema": {"type": "integer", "example": 2}},
    "X-Period-Closed": {"description": "期间是否已结束：false 时结果一定是暂算结果，随数据变化 (whether the period is over: "
                                       "when false the figures are provisional and move with the data)",
                        "schema": {"type": "string", "enum": ["true", "false"], "example": "true"}},
    "X-Quota-Use": {"description": "名额使用：每个有名额的等次一项，grade 等次、quota 比例、quota_group 名额分组、size "
                                   "参评数、places 名额数、taken 已占名额、reached 总分达线且未评更高等次者、below_best 是否为次于最高的"
                                   "等次（是则 reached 不含已评更高等次者）、unused 达线者少于名额的组空出的名额（places = taken + unused）、groups 名额分组数；只计调用方（及所查检察院）范围内完整的名额分组 "
                                   "(quota use: per band with a quota, the places available, taken and reached; "
                                   "below_best: a band below the best, whose reached leaves out those graded better; "
                                   "unused: places left empty in groups where fewer reach the line (places = taken + "
                                   "unused); groups: how many quota groups; "
                                   "summed over the quota groups wholly within the caller's tree and the procuratorate "
                                   "asked for)",
                    "schema": {"type": "string", "example": '[{"grade":"优秀","quota":0.15,"quota_group":"line",'
                                                            '"size":2845,"places":425,"taken":425,"reached":1093,"below_best":false,"unused":0,"groups":4}]'}},
    "X-Content-Hash": {"description": "版本内容的 sha256 (sha256 of the version's content)",
                       "schema": {"type": "string", "example": "a42ea450f67c05777d21ce3f87a10a1c1fa92fd0a64948237e6b3"
                                                               "5acc6d21f66"}},
    "X-Datasets": {"description": "所用数据集及其 sha256（JSON）(the datasets scored, each with its sha256, as JSON)",
                   "schema": {"type": "string", "example": '[{"id":1,"content_hash":"9f2c…"}]'}},
    "X-Dictionary-Hash": {"description": "数据字典的 sha256 (sha256 of the data dictionary)",
                          "schema": {"type": "string", "example": "c346e054f009edf84e94e8c1ff99cb661f11571ce5acfa9fad327"
                                                                  "b8cf94cf93e"}},
    "X-Engine-Version": {"description": "计分引擎版本 (engine version)", "schema": {"type": "string", "example": "2026.12.12"}},
    "X-Own-Schemes": {"description": "本期按本院本地化方案考评其人员的检察院及其方案（JSON）：这些院的行是按本方案计算的分数，"
                                     "不是其考评结果 (the procuratorates that evaluate their people under their own "
                                     "localization in the period, with it, as JSON: their rows here are not their results)",
                      "schema": {"type": "string", "example": '[{"procuratorate":"910101","scheme":"SFS-PROSECUTOR-910101"}]'}},
}


FORMATS = {"application/json": "json", "text/csv": "csv", XLSX_MIMETYPE: "xlsx"}


def _format(asked: str | None) -> str:
    """``format=`` if given, else the Accept header's best match by its q-values (``text/csv;q=0.5,
    application/json`` is JSON); JSON when nothing offered is acceptable or at equal preference."""
    if asked:
        return asked
    best = request.accept_mimetypes.best_match(list(FORMATS))
    return FORMATS[best] if best else "json"


@blp.route("")
@blp.arguments(RankingQuery(), location="query", as_kwargs=True)
@blp.response(200, RankingRowSchema(many=True))
@blp.doc(responses={200: {
    "description": "名次在前的各行（JSON 分页，X-Pagination 头给出总数）；或 CSV、XLSX 的全部行（不分页，无 X-Pagination 头） "
                   "(the rows, best first: JSON paged, totals in X-Pagination; or every row as CSV or XLSX, unpaged and without X-Pagination)",
    "headers": RANKING_HEADERS,
    "content": {"text/csv": {"schema": {"type": "string"}},
                XLSX_MIMETYPE: {"schema": {"type": "string", "format": "binary"}}}}})
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(404, response="NOT_FOUND")
@blp.paginate(page_size=50, max_page_size=500)
@transactional
def ranking(pagination_parameters: PaginationParameters, period: str, scheme: str | None = None,
            version_id: int | None = None, format: str | None = None, **filters: Any) -> Any:
    """一个期间的排名，名次在前；出处（已发布/暂算）与复现所需在响应头 X-Figures、X-Publication、X-Scheme-Version、
    X-Content-Hash、X-Datasets、X-Dictionary-Hash、X-Engine-Version；format=csv/xlsx 导出全部行 (a period's ranking,
    best first; where the figures come from and what reproduces them in the X-Figures, X-Publication,
    X-Scheme-Version, X-Content-Hash, X-Datasets, X-Dictionary-Hash and X-Engine-Version headers; csv/xlsx export
    every row)."""
    session = db.session()
    actor = current_actor()
    _may_score(actor)
    dictionary, cache_dir = scoring_settings()
    meta, frame = rankings.rankings(session, actor, dictionary, period=period, scheme=scheme, version_id=version_id,
                                    cache_dir=cache_dir, **filters)
    fmt = _format(format)
    pagination_parameters.item_count = frame.height
    headers = {"X-Figures": meta["figures"], "X-Scheme-Version": str(meta["scheme"]["version_id"]),
               "X-Content-Hash": meta["scheme"]["content_hash"],
               "X-Datasets": json.dumps(meta["datasets"], ensure_ascii=True, separators=(",", ":")),
               "X-Dictionary-Hash": meta["dictionary_hash"], "X-Engine-Version": meta["engine_version"],
               "X-Period-Closed": "true" if meta["period_closed"] else "false",
               "X-Quota-Use": json.dumps(meta["quota"], ensure_ascii=True, separators=(",", ":")),
               "X-Own-Schemes": json.dumps(meta["own_schemes"], ensure_ascii=True, separators=(",", ":"))}
    if meta["publication"]:
        headers["X-Publication"] = str(meta["publication"]["id"])
    if fmt in ("csv", "xlsx"):
        header, body = rankings.table(session, dictionary, frame, meta["subject_kind"], meta)
        name = f"ranking-{meta['scheme']['code']}-{meta['period']}-{meta['figures']}.{fmt}"
        if fmt == "csv":
            resp = flask.Response(list(iter_csv(header, body)), mimetype="text/csv")
        else:
            title = f"排名 {meta['period']}"
            resp = flask.Response(list(iter_xlsx([Sheet(title, header, body)])), mimetype=XLSX_MIMETYPE)
        resp.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        resp.headers.update(headers)
        flask.after_this_request(_unpaged)  # an export holds every row: no page header to follow
        return resp
    start = (pagination_parameters.page - 1) * pagination_parameters.page_size
    page = frame.clear() if start >= frame.height else frame.slice(start, pagination_parameters.page_size)
    return rankings.rows(session, dictionary, page, meta["subject_kind"], meta["group"], meta["own_schemes"]), 200, headers


def _unpaged(response: flask.Response) -> flask.Response:
    response.headers.pop(PaginationMixin.PAGINATION_HEADER_NAME, None)
    return response


def _may_score(actor: Any) -> None:
    """Rankings show people's scores: *score* is needed somewhere in the caller's tree."""
    if not actor.may("score"):
        require(actor, "score", -1)


class LaggardRuleSchema(ma.Schema):
    class Meta:
        ordered = True

    rule = ma.fields.String(required=True, metadata=about(
        "bottom_k 末 k 位 / bottom_share 末尾比例 (last k of a group / last share of a group)", "bottom_k"))
    group = ma.fields.String(allow_none=True, metadata=about("适用的组（院级）(the group it applies to)", "city"))
    size = ma.fields.Integer(required=True, metadata=about("组内参评数 (evaluated units of the group)", 9))
    places = ma.fields.Integer(required=True, metadata=about("标记的名额 (how many places the rule has)", 3))
    flagged = ma.fields.Integer(required=True, metadata=about(
        "实际标记的单位数：同分并列在末位界线上的全部标记，可多于名额 (units flagged: ties at the boundary are all "
        "flagged, so it may exceed places)", 3))
    note = ma.fields.String(required=True, metadata=about(
        "说明；标记数多于名额时注明同分并列 (in words; says so when a tie flags more than the places)",
        "市级院 9 个：排名末 3 位须书面说明"))


class ComparedIndicatorSchema(ma.Schema):
    class Meta:
        ordered = True

    code = ma.fields.String(required=True, metadata=about("指标代码 (indicator code)", "CASE_RATIO"))
    name = ma.fields.String(required=True, metadata=about("指标名称 (indicator name)", "案件比"))
    direction = ma.fields.String(required=True, validate=ma.validate.OneOf(["higher_better", "lower_better"]),
                                 metadata=about("higher_better 越高越好、lower_better 越低越好：越低越好的指标取值低于平均值为上游 "
                                                "(which way is better: for a lower-is-better indicator a value below the "
                                                "average is 上游)", "lower_better"))
    unit = ma.fields.String(required=True, metadata=about(
        "单位：% 的取值为小数（0.0687 即 6.87%），ratio 为案件比 1:x 的 x (unit: a % value is a fraction, 0.0687 = "
        "6.87 %; ratio is the x of 1:x)", "ratio"))


class ComparisonMethodSchema(ma.Schema):
    class Meta:
        ordered = True

    group = ma.fields.String(required=True, metadata=about(
        "比较分组（与同组平均值比较）：all、level 等 (the peer group compared)", "level"))
    band = ma.fields.Float(required=True, allow_none=True, metadata=about(
        "中游幅度：与平均值相差不超过该比例为中游 (the midstream band around the average)", 0.05))
    positions = ma.fields.List(ma.fields.String(), required=True, metadata=about(
        "位置的取值：上游、中游、下游 (the positions: upstream, midstream, downstream)", ["上游", "中游", "下游"]))
    streak = ma.fields.Integer(required=True, allow_none=True, metadata=about(
        "连续低于平均值多少个月即点名；不看连续为空 (months running that name a unit; null if not used)", 6))
    streak_months = ma.fields.List(ma.fields.String(), required=True, metadata=about(
        "连续落后所看的月份 (the months streaks are read over)",
        ["2020-02", "2020-03", "2020-04", "2020-05", "2020-06", "2020-07"]))
    streak_months_without_data = ma.fields.List(ma.fields.String(), required=True, metadata=about(
        "连续落后所看月份中没有数据的月份：这些月份谁也不算落后，连续落后从有数据的月份算起（如 1 月的通报看 2019 年 8 至 12 "
        "月）(the months streaks read that no dataset covers: nobody is behind in them, so a run starts after them)",
        ["2019-08", "2019-09"]))
    streak_published = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(), required=True, metadata=about(
        "本期之前已发布的月份及其发布编号：这些月份按发布时的结果判断是否落后，不随之后导入的数据变化 (the months before the "
        "period that are published, with the publication each is read from: their verdicts are the published ones)",
        {"2020-06": 12}))
    laggard_rules = ma.fields.List(ma.fields.Nested(LaggardRuleSchema), required=True, metadata=about(
        "末位标记规则及各组标记数 (the laggard rules and how many each flags)"))
    indicators = ma.fields.List(ma.fields.Nested(ComparedIndicatorSchema), required=True, metadata=about(
        "比较的指标：方向与单位（读取值和位置时用）(the indicators compared, with which way is better and their unit)"))


class UnitIndicatorSchema(ma.Schema):
    class Meta:
        ordered = True

    code = ma.fields.String(required=True, metadata=about("指标代码 (indicator code)", "RETURN_SUPP_INV_RATE"))
    name = ma.fields.String(required=True, metadata=about("指标名称 (indicator name)", "退回补充侦查率（退查率）"))
    value = ma.fields.Float(required=True, allow_none=True, metadata=about("本院取值 (the unit's value)",
                                                                           0.07751937984496124))
    average = ma.fields.Float(required=True, allow_none=True, metadata=about(
        "同组参评单位的平均值 (the group's average over evaluated units)", 0.1078687066972656))
    position = ma.fields.String(required=True, allow_none=True, validate=ma.validate.OneOf(["上游", "中游", "下游"]),
                                metadata=about(
        "上游（优于平均值超过幅度）、中游（幅度内）、下游（劣于）；无取值为空 (upstream, midstream, downstream)", "上游"))
    months_worse = ma.fields.List(ma.fields.String(), required=True, metadata=about(
        "劣于平均值的月份 (the months worse than the average)", ["2020-02"]))
    streak = ma.fields.Integer(required=True, metadata=about(
        "截至期末最后一个月连续劣于平均值的月数 (the run of worse months ending with the period's last month)", 0))
    streak_months = ma.fields.List(ma.fields.String(), required=True, metadata=about(
        "该连续落后的月份 (the months of that run)", []))
    longest = ma.fields.Integer(required=True, metadata=about("最长连续落后月数 (the longest run)", 1))
    longest_months = ma.fields.List(ma.fields.String(), required=True, metadata=about(
        "最长连续落后的月份（有几段同样长时为最近一段）：点名所依据的月份 (the months of the longest run — the latest of "
        "equally long runs: the months a unit is named for)", ["2020-02"]))
    named = ma.fields.Boolean(required=True, metadata=about(
        "最长连续落后达到方案规定月数（点名）(the longest run reaches the scheme's streak)", False))


class UnitSchema(ma.Schema):
    class Meta:
        ordered = True

    code = ma.fields.String(required=True, metadata=about("检察院代码 (procuratorate code)", "910800"))
    name = ma.fields.String(required=True, metadata=about("检察院名称 (procuratorate name)", "梅林市人民检察院"))
    level = ma.fields.String(required=True, allow_none=True, metadata=about(
        "院级：province、city、county (level)", "city"))
    status = ma.fields.String(required=True, metadata=about(
        "evaluated 参加考评 / not_graded 不评定等次 (evaluated / not graded)", "evaluated"))
    total = ma.fields.Float(required=True, allow_none=True, metadata=about("总分 (total)", 72.168988578))
    grade = ma.fields.String(required=True, allow_none=True, metadata=about(
        "等次；方案不定等次为空 (grade; null when the scheme grades none)", None))
    place = ma.fields.Integer(required=True, allow_none=True, metadata=about("组内名次 (place in the group)", 1))
    group_size = ma.fields.Integer(required=True, allow_none=True, metadata=about("同组参评数 (evaluated in the group)",
                                                                                  9))
    bottom_k = ma.fields.Boolean(required=True, metadata=about("处于组内末 k 位 (among the last k of its group)", False))
    bottom_share = ma.fields.Boolean(required=True, metadata=about(
        "处于组内末尾比例 (among the last share of its group)", False))
    indicators = ma.fields.List(ma.fields.Nested(UnitIndicatorSchema), required=True, metadata=about(
        "各比较指标相对同组平均的位置与连续落后 (each compared indicator against the group's average)"))


class ComparisonSchema(ProvenanceSchema):
    class Meta:
        ordered = True

    method = ma.fields.Nested(ComparisonMethodSchema, required=True, metadata=about(
        "比较方法：分组、中游幅度、连续落后月数、末位规则 (how units are compared and flagged)"))
    units = ma.fields.List(ma.fields.Nested(UnitSchema), required=True, metadata=about(
        "调用方可见的各院，按名次 (the units the caller may see, by place)"))


@comparisons_blp.route("")
@comparisons_blp.arguments(ComparisonQuery(), location="query", as_kwargs=True)
@comparisons_blp.response(200, ComparisonSchema)
@comparisons_blp.alt_response(403, response="FORBIDDEN")
@comparisons_blp.alt_response(404, response="NOT_FOUND")
@transactional
def comparison(period: str, scheme: str | None = None, version_id: int | None = None) -> dict[str, Any]:
    """院际比较（以检察院为考评对象的方案）(the procuratorate comparison of a period)."""
    actor = current_actor()
    _may_score(actor)
    dictionary, cache_dir = scoring_settings()
    return comparisons.comparison(db.session(), actor, dictionary, period=period, scheme=scheme,
                                  version_id=version_id, cache_dir=cache_dir)

