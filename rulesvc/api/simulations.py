"""模拟测评 (simulation runs) over HTTP: ask for a run, follow it, read its report, its per-subject
results and why a subject moved, cancel it, export it, lock its results in as regression scenarios.

Every view authenticates, calls :mod:`rulesvc.services.simulation`, and commits on success. Reading
needs *read* within the caller's tree; starting, cancelling and locking in need *edit*.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import flask
import marshmallow as ma
from flask import current_app
from flask_smorest.pagination import PaginationParameters

from rulesvc.api.auth import ApiBlueprint, current_actor, located, location_doc, transactional
from rulesvc.api.idempotency import idempotent
from rulesvc.api.schemes import INT32_MAX, Line, QueryArgs, _guarded
from rulesvc.catalogue import msg
from rulesvc.errors import NotFound
from rulesvc.extensions import db
from rulesvc.persistence.models import SIMULATION_STATUSES
from rulesvc.services import designer_simulation
from rulesvc.services.dictionary import get_dictionary
from rulesvc.services.simulation import ask, runs
from rulesvc.services.simulation import export as export
from rulesvc.services.simulation import lockin as lockin
from rulesvc.spreadsheet import XLSX_MIMETYPE

blp = ApiBlueprint(
    "simulations", __name__, url_prefix="/simulations",
    description="模拟测评：候选版本与基准版本在已结束期间的历史数据上对比计分，报告、逐人结果、变动原因、导出 "
    "(Simulation runs: a candidate version against a baseline on closed periods of historical data — report, "
    "per-subject results, why a subject moved, exports)",
)

RUN_ID = {"in": "path", "name": "run_id", "description": "模拟测评编号 (simulation run id)",
          "schema": {"type": "integer", "minimum": 1, "maximum": INT32_MAX}}
SUBJECT_CODE = {"in": "path", "name": "code", "description": "考评对象代码：检察官工号或检察院代码 (subject code)",
                "schema": {"type": "string", "maxLength": 40}}


@blp.url_value_preprocessor
def _ids_in_range(endpoint: str | None, values: dict[str, Any] | None) -> None:
    if values and values.get("run_id", 0) > INT32_MAX:
        raise NotFound(msg("not_found.simulation", run_id=values["run_id"]))


# -- schemas -----------------------------------------------------------------------------------------


class BaselineField(ma.fields.Field):
    """A version id, ``"default"`` or ``"none"``."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if value in ("default", "none"):
            return value
        if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= INT32_MAX:
            return value
        raise ma.ValidationError(msg("simulation.baseline_bad").render())


class PeriodsField(ma.fields.Field):
    """One period or a list of them."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not items:
            raise ma.ValidationError(msg("simulation.periods_required").render())
        if len(items) > 24:
            raise ma.ValidationError(msg("simulation.too_many_periods", count=len(items), limit=24).render())
        if not all(isinstance(x, str) and 0 < len(x) <= 20 for x in items):
            raise ma.ValidationError(msg("simulation.periods_type").render())
        return items


class CreateSchema(ma.Schema):
    """What to simulate."""

    candidate_version_id = ma.fields.Integer(
        required=True, strict=True, validate=ma.validate.Range(min=1, max=INT32_MAX),
        metadata={"description": "候选版本编号（草稿、审核中或已发布均可）(the candidate version: any status)", "example": 2})
    baseline = BaselineField(load_default="default", metadata={
        "description": "基准版本：版本编号；\"default\"（默认：同一方案——本地化方案则其上级方案——在首个期间首日生效的版本）；"
                       "\"none\"（不设基准版本）(a version id; \"default\": the version in force on the first period's first "
                       "day; \"none\")",
        "oneOf": [{"type": "integer", "minimum": 1, "maximum": INT32_MAX}, {"type": "string", "enum": ["default", "none"]}],
        "example": "default"})
    periods = PeriodsField(required=True, metadata={
        "description": "已结束的期间：2020、2020-Q3、2020-07，或月份区间 2020-01..2020-12（逐月计分）；可为列表 "
                       "(closed periods; a range of months is scored month by month)",
        "oneOf": [{"type": "string", "minLength": 1, "maxLength": 20},
                  {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 20}, "minItems": 1,
                   "maxItems": 24}],
        "example": ["2020"]})
    options = ma.fields.Dict(load_default=dict, metadata={
        "description": "报告选项 (report options): top (10), why_top (5), bins (20), fairness_threshold (1.5 分), "
                       "flat_share (0.9)", "example": {"fairness_threshold": 1.5}})


class ListQuerySchema(QueryArgs):
    scheme = Line(80, metadata={"description": "方案代码 (scheme code)"})
    version_id = ma.fields.Integer(validate=ma.validate.Range(min=1, max=INT32_MAX),
                                   metadata={"description": "作为候选或基准的版本 (candidate or baseline version)"})
    status = ma.fields.String(validate=ma.validate.OneOf(SIMULATION_STATUSES))


class SubjectsQuerySchema(QueryArgs):
    period = Line(20, metadata={"description": "期间（默认第一个）(period; default the run's first)"})
    sort = ma.fields.String(load_default="delta_total", validate=ma.validate.OneOf(sorted(runs.SORTS)),
                            metadata={"description": "排序依据 (sort by)"})
    order = ma.fields.String(load_default="desc", validate=ma.validate.OneOf(["asc", "desc"]))
    changed = ma.fields.Boolean(load_default=False, metadata={"description": "只看等次变化者 (only grade changes)"})
    q = Line(40, metadata={"description": "按工号或姓名查找 (code or name contains)"})


class PeriodQuerySchema(QueryArgs):
    period = Line(20, metadata={"description": "期间（默认第一个）(period; default the run's first)"})


class ExportQuerySchema(QueryArgs):
    format = ma.fields.String(load_default="xlsx", validate=ma.validate.OneOf(["xlsx", "csv"]),
                              metadata={"description": "xlsx：每个报告部分一个工作表；csv：逐人结果 "
                                                       "(xlsx: a sheet per report section; csv: per-subject results)"})


class LockInSchema(ma.Schema):
    """Lock a run's results in as regression scenarios of its candidate (a draft)."""

    subjects = ma.fields.List(Line(40), validate=ma.validate.Length(max=500), load_default=list,
                              metadata={"description": "考评对象代码 (subject codes)", "example": ["P000123"]})
    movers = ma.fields.Integer(load_default=0, validate=ma.validate.Range(min=0, max=100), metadata={
        "description": "另加变动最大的前 N 名升者与降者 (also the top N risers and fallers)"})
    period = Line(20, metadata={"description": "期间（默认第一个）(period; default the run's first)"})
    expect = ma.fields.List(ma.fields.String(validate=ma.validate.OneOf(["total", "grade", "indicators"])),
                            load_default=lambda: ["total", "grade"],
                            metadata={"description": "锁定哪些结果 (what to expect)", "example": ["total", "grade"]})
    tolerance = ma.fields.Float(load_default=0.005, validate=ma.validate.Range(min=0, max=100),
                                metadata={"description": "允差（分）(tolerance, points)"})
    lock_version = ma.fields.Integer(strict=True, validate=ma.validate.Range(min=1, max=INT32_MAX), metadata={
        "description": "草稿的修改计数（可选；给出则过期时 409）(the draft's lock_version; optional)"})


class RunSchema(ma.Schema):
    """A simulation run: its state and what it compares (the report comes with ``GET /simulations/{id}``)."""

    id = ma.fields.Integer(required=True)
    run_hash = ma.fields.String(required=True, metadata={"description": "身份哈希：全部输入的 sha256 (identity)"})
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(SIMULATION_STATUSES), metadata={
        "description": "queued 排队中 → running 测评中 → succeeded 已完成 | failed 失败 | cancelled 已取消"})
    status_label = ma.fields.String(required=True)
    progress = ma.fields.Dict(required=True, metadata={"description": "phase, phase_label, percent"})
    cancel_requested = ma.fields.Boolean(required=True)
    scheme = ma.fields.String(required=True)
    candidate = ma.fields.Dict(required=True, metadata={"description": "version_id, number, scheme, status, content_hash"})
    baseline = ma.fields.Dict(required=True, allow_none=True)
    baseline_choice = ma.fields.String(required=True)
    periods = ma.fields.List(ma.fields.String(), required=True)
    datasets = ma.fields.List(ma.fields.Dict(), required=True, metadata={"description": "计分所用数据集 (id, content_hash)"})
    dictionary_hash = ma.fields.String(required=True)
    engine_version = ma.fields.String(required=True)
    options = ma.fields.Dict(required=True)
    result_hash = ma.fields.String(required=True, allow_none=True,
                                   metadata={"description": "结果哈希：同样的输入得到同样的哈希 (result hash)"})
    subjects = ma.fields.Integer(required=True)
    scenarios = ma.fields.Dict(required=True, metadata={"description": "回归用例核对 (passed, results)"})
    error = ma.fields.Dict(required=True, allow_none=True)
    retryable = ma.fields.Boolean(required=True)
    attempts = ma.fields.Integer(required=True)
    created_by = ma.fields.String(required=True)
    created_at = ma.fields.String(required=True, allow_none=True)
    started_at = ma.fields.String(required=True, allow_none=True)
    finished_at = ma.fields.String(required=True, allow_none=True)


class RunWithReportSchema(RunSchema):
    report = ma.fields.Dict(required=True, allow_none=True, metadata={
        "description": "报告（完成后）：periods[]，每期 overview、movers、indicators、fairness、org_level "
                       "(the report once succeeded: per period, its sections)"})


class SideSchema(ma.Schema):
    total = ma.fields.Float(allow_none=True)
    rank = ma.fields.Integer(allow_none=True)
    grade = ma.fields.String(allow_none=True)
    status = ma.fields.String(allow_none=True)


class SubjectRowSchema(ma.Schema):
    period = ma.fields.String(required=True)
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    procuratorate_id = ma.fields.Integer(allow_none=True)
    business = ma.fields.String(allow_none=True)
    line = ma.fields.String(allow_none=True)
    level = ma.fields.String(allow_none=True)
    candidate = ma.fields.Nested(SideSchema, required=True)
    baseline = ma.fields.Nested(SideSchema, required=True)
    delta_total = ma.fields.Float(allow_none=True, metadata={"description": "总分变化（候选 − 基准）(Δ total)"})
    delta_rank = ma.fields.Integer(allow_none=True, metadata={"description": "名次变化，正数为上升 (Δ rank; positive: up)"})
    grade_move = ma.fields.Integer(allow_none=True, metadata={"description": "等次升降档数 (grade bands moved)"})


class WhySchema(SubjectRowSchema):
    items = ma.fields.List(ma.fields.Dict(), required=True, metadata={
        "description": "按对总分变化的贡献排序的各指标、加减分项 (indicators and adjustments by contribution to Δ total): "
                       "kind, code, name, points_b, points_c, contrib_b, contrib_c, delta"})
    grade_reason_c = ma.fields.String(required=True, allow_none=True, metadata={
        "description": "候选版本下的等次依据（未评等次为空）；名额决定的等次变化只在这里说明，不在 items 里 "
                       "(why the candidate grades the subject so; a move the quota made is explained here, not by the items)",
        "example": "总分 95.86 ≥ 95 → 优秀"})
    grade_reason_b = ma.fields.String(required=True, allow_none=True, metadata={
        "description": "基准版本下的等次依据（未评等次为空） (why the baseline grades the subject so)",
        "example": "总分 95.71 ≥ 95；优秀名额 15% × 26 人，四舍五入共 4 名，可评优秀且总分不低于本人者 6 名，超出名额 → 良好"})


# -- views -------------------------------------------------------------------------------------------


RUN_LOCATION = location_doc("该测评的地址：查看进度与报告", "where to follow the run and read its report",
                            "/api/v1/simulations/1")


@blp.route("", methods=["POST"])
@blp.arguments(CreateSchema)
@blp.response(202, RunSchema, headers=RUN_LOCATION)
@blp.alt_response(200, schema=RunSchema, headers=RUN_LOCATION,
                  description="同样的测评已存在（排队、进行中或已完成）：返回它 (the same run exists)")
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(429, description="本人已有 4 次测评在排队或运行：待其完成或取消后再发起 (four runs of yours are under way: "
                               "wait for one, or cancel one)")
@blp.alt_response(503, description="模拟测评队列（Redis）无法连接：未创建任何测评 (the queue does not answer)")
@_guarded(blp)
@idempotent(atomic=False)  # the run is committed before its job is queued
def create(args: dict[str, Any]) -> Any:
    """发起模拟测评 (ask for a simulation run).

    Scores the candidate and the baseline with the bulk executor on exactly the same facts (the datasets
    in use now, recorded by hash) and the same subjects (the candidate scheme's scope). Asking again
    for the same inputs returns the existing run (200) instead of a new one (202); a failed or cancelled
    one is queued again. Needs *edit* on the candidate's scheme."""
    session = db.session()
    dictionary = get_dictionary(current_app.config["RULES_DIR"])
    try:
        asked = ask(session, current_actor(), current_app.extensions["rulesvc.simulations"], dictionary,
                    session.commit, candidate_version_id=args["candidate_version_id"], baseline=args["baseline"],
                    periods=args["periods"], options=args["options"])
    except BaseException:
        session.rollback()
        raise
    body, where = located(runs.view(asked.run), f"{blp.name}.get_run", run_id=asked.run.id)
    return body, 202 if asked.created else 200, where


@blp.route("")
@blp.arguments(ListQuerySchema, location="query", as_kwargs=True)
@blp.response(200, RunSchema(many=True))
@blp.paginate(page_size=20, max_page_size=100)
@transactional
def list_runs(pagination_parameters: PaginationParameters, **filters: Any) -> list[dict[str, Any]]:
    """模拟测评列表，新的在前 (runs in the caller's tree, newest first)."""
    found, total = runs.list_runs(db.session(), current_actor(), page=pagination_parameters.page,
                                  page_size=pagination_parameters.page_size, **filters)
    pagination_parameters.item_count = total
    return [runs.view(r) for r in found]


@blp.route("/<int:run_id>", parameters=[RUN_ID])
@blp.response(200, RunWithReportSchema)
@blp.alt_response(404, response="NOT_FOUND")
@transactional
def get_run(run_id: int) -> flask.Response:
    """一次模拟测评：状态、进度，完成后附报告 (a run: state, progress, and its report once done)."""
    session = db.session()
    run = runs.get_run(session, current_actor(), run_id)
    view = runs.view(run)
    if run.status == "succeeded" and run.candidate is not None and run.candidate.scenarios:
        # The candidate's scenarios as they are now (added or locked in after the run), checked
        # against this run's results — what the gate will check.
        from rulesvc.services.simulation import gate

        results = gate.check_against_run(session, list(run.candidate.scenarios), run)
        view["scenarios"] = {"passed": all(r["passed"] for r in results), "results": results}
    head = json.dumps(view, ensure_ascii=False, separators=(",", ":"))
    raw = runs.report_bytes(run)
    body = head[:-1].encode("utf-8") + b',"report":' + (raw if raw is not None else b"null") + b"}"
    return flask.Response(body, status=200, mimetype="application/json")


@blp.route("/<int:run_id>/subjects", parameters=[RUN_ID])
@blp.arguments(SubjectsQuerySchema, location="query", as_kwargs=True)
@blp.response(200, SubjectRowSchema(many=True))
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(409, response="CONFLICT")
@blp.paginate(page_size=50, max_page_size=500)
@transactional
def subjects(pagination_parameters: PaginationParameters, run_id: int, *, sort: str, order: str, changed: bool,
             period: str | None = None, q: str | None = None) -> list[dict[str, Any]]:
    """逐人结果：两个版本下的总分、名次、等次及变化，可排序分页 (per-subject results, sorted and paged)."""
    rows, total = runs.subjects_page(db.session(), current_actor(), run_id, period=period, sort=sort,
                                     descending=order == "desc", changed=changed, search=q,
                                     page=pagination_parameters.page, page_size=pagination_parameters.page_size)
    pagination_parameters.item_count = total
    return [runs.subject_view(r) for r in rows]


@blp.route("/<int:run_id>/subjects/<code>/why", parameters=[RUN_ID, SUBJECT_CODE])
@blp.arguments(PeriodQuerySchema, location="query", as_kwargs=True)
@blp.response(200, WhySchema)
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(409, response="CONFLICT")
@transactional
def why(run_id: int, code: str, period: str | None = None) -> dict[str, Any]:
    """变动原因：各指标与加减分项在两个版本下的得分及对总分的贡献，按对总分变化的贡献排序
    (why a subject moved: each indicator's and adjustment's points and contribution under both versions,
    sorted by contribution to Δ total)."""
    return runs.why(db.session(), current_actor(), run_id, code[:40], period=period)


@blp.route("/<int:run_id>/cancel", methods=["POST"], parameters=[RUN_ID])
@blp.response(200, RunSchema)
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(409, response="CONFLICT")
@_guarded(blp)
@transactional
def cancel(run_id: int) -> dict[str, Any]:
    """取消：排队中的立即取消；进行中的在下一步停止，不保存任何结果；已结束的 409
    (cancel: queued at once; running at its next step, nothing saved; finished: 409)."""
    return runs.view(runs.cancel_run(db.session(), current_actor(), run_id))


@blp.route("/<int:run_id>/export", parameters=[RUN_ID])
@blp.arguments(ExportQuerySchema, location="query", as_kwargs=True)
@blp.doc(responses={"200": {
    "description": "XLSX 或 CSV 文件，流式输出 (the file, streamed)",
    "content": {XLSX_MIMETYPE: {"schema": {"type": "string", "format": "binary"}},
                "text/csv": {"schema": {"type": "string"}}}}})
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(409, response="CONFLICT")
def export_run(run_id: int, format: str) -> flask.Response:
    """导出报告：XLSX 每个部分一个工作表（中文表头，数值为数值），CSV 为逐人结果；同一测评导出的文件逐字节相同
    (export: XLSX with a sheet per report section, CSV the per-subject results; byte-identical on re-export)."""
    session = db.session()
    actor = current_actor()
    run = runs.get_run(session, actor, run_id)
    runs.require_succeeded(run)
    name = f"simulation-{run.id}-{run.result_hash[:12] if run.result_hash else ''}.{format}"
    scope = current_app.extensions["rulesvc.simulation_scope"]
    body: Iterator[str] | Iterator[bytes]
    if format == "csv":
        body = export.iter_csv_export(scope, run.id)
        mimetype = "text/csv"
    else:
        rows = designer_simulation.export_changes(session, actor, run, get_dictionary(current_app.config["RULES_DIR"]))
        body = export.iter_xlsx_export(scope, run.id, rows)
        mimetype = XLSX_MIMETYPE
    session.commit()
    response = flask.Response(flask.stream_with_context(body), mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@blp.route("/<int:run_id>/lock-in", methods=["POST"], parameters=[RUN_ID])
@blp.arguments(LockInSchema, required=False)  # every field optional: no body is an empty one
@blp.response(200, description="候选版本（草稿）及其回归用例 (the candidate draft with its scenarios)")
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(409, response="CONFLICT")
@_guarded(blp)
@transactional
def lock_in(args: dict[str, Any], run_id: int) -> dict[str, Any]:
    """把测评结果锁定为候选版本的回归用例 (lock a run's results in as regression scenarios of its candidate).

    The candidate must still be a draft. Named subjects and/or the top movers; what to expect (total,
    grade, indicator points) and the tolerance. Existing scenarios of the same subject and period are
    replaced."""
    from rulesvc.services.governance import versions

    v = lockin.lock_in(db.session(), current_actor(), run_id, **args)
    return versions.view(v)
