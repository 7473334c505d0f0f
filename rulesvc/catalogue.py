"""The message catalogue: every message the service shows a person, by a stable code, in Chinese and
English.

A raise site names a code and its fields — ``InvalidInput(msg("dataset.ids_exist", count=3))`` — and
never builds a sentence. The edges render it in the reader's language: the API and the admin UI in the
request's language (the language switch, else ``Accept-Language``, else Chinese), the CLI by the
locale of the shell (Chinese unless ``LANG`` starts with ``en``). Tests assert codes, not wording.

Rules for entries:

- one code, one meaning; codes are ``area.what`` in lower case and never change once released
  (other systems match on them);
- fields are named, never positional, and every language uses the same ones;
- Chinese uses the glossary's words (``../shared/glossary.md``): 方案, 版本, 草稿, 数据集…
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"

_language: contextvars.ContextVar[str | None] = contextvars.ContextVar("rulesvc_language", default=None)


def current_language() -> str:
    """The language of the current request or command: ``zh`` or ``en``."""
    chosen = _language.get()
    if chosen in LANGUAGES:
        return chosen
    return DEFAULT_LANGUAGE


def language_of(tag: str | None) -> str:
    """``zh_Hans_CN``, ``zh-CN``, ``en_US.UTF-8``, ``en`` … → ``zh`` or ``en`` (Chinese unless English)."""
    return "en" if (tag or "").strip().lower().startswith("en") else "zh"


def set_language(lang: str | None) -> contextvars.Token[str | None]:
    return _language.set(language_of(lang) if lang else None)


@contextlib.contextmanager
def language(lang: str) -> Iterator[None]:
    token = set_language(lang)
    try:
        yield
    finally:
        _language.reset(token)


def shell_language(environ: Mapping[str, str] | None = None) -> str:
    """The CLI's language: ``RULESVC_LANG``, else ``LC_ALL`` / ``LC_MESSAGES`` / ``LANG``; Chinese by default."""
    env = os.environ if environ is None else environ
    for name in ("RULESVC_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name)
        if value and value not in ("C", "POSIX", "C.UTF-8"):
            return language_of(value)
    return DEFAULT_LANGUAGE


@dataclass(frozen=True)
class Msg:
    """A message not yet rendered: a catalogue code and its fields."""

    code: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def render(self, lang: str | None = None) -> str:
        entry = MESSAGES.get(self.code)
        if entry is None:  # a code missing from the catalogue is a bug; show the code, never crash
            return self.code
        template = entry[1] if (lang or current_language()) == "en" else entry[0]
        values = {k: _field(v, lang) for k, v in self.params.items()}
        try:
            return template.format(**values)
        except (KeyError, IndexError, ValueError):
            return template

    def __str__(self) -> str:
        return self.render()

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, **({"fields": dict(self.params)} if self.params else {})}


@dataclass(frozen=True)
class Words:
    """A value a message shows in its own language: a name that has Chinese and English words ("API 密钥 reader" /
    "API key reader")."""

    zh: str
    en: str

    def __str__(self) -> str:
        return self.en if current_language() == "en" else self.zh


def _field(value: Any, lang: str | None) -> Any:
    if isinstance(value, Msg):
        return value.render(lang)
    if isinstance(value, Words):
        return value.en if (lang or current_language()) == "en" else value.zh
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return "、".join(value) if (lang or current_language()) != "en" else ", ".join(value)
    return value


def msg(key: str, /, **params: Any) -> Msg:
    """A catalogue message. Unknown codes are caught by ``tests/unit/test_catalogue.py``."""
    return Msg(key, params)


def render(value: Any, lang: str | None = None) -> Any:
    """Render every :class:`Msg` inside ``value`` (dicts, lists) in ``lang``; other values unchanged."""
    if isinstance(value, Msg):
        return value.render(lang)
    if isinstance(value, Mapping):
        return {k: render(v, lang) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [render(v, lang) for v in value]
    return value


def codes_in(value: Any, strings: Callable[[str], str] | None = None) -> Any:
    """The same structure with each :class:`Msg` replaced by its code (for machine readers and tests);
    with ``strings``, each plain string too, by what it returns (a request schema's messages → their kinds)."""
    if isinstance(value, Msg):
        return value.code
    if isinstance(value, str) and strings is not None:
        return strings(value)
    if isinstance(value, Mapping):
        return {k: codes_in(v, strings) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [codes_in(v, strings) for v in value]
    return value


# code -> (中文, English). Grouped by area; keep each group sorted by code.
MESSAGES: dict[str, tuple[str, str]] = {
    # -- generic ---------------------------------------------------------------------------------
    "error.internal": ("服务器内部错误，已记录", "Internal server error; it has been logged"),
    "error.unavailable": ("数据库暂时无法访问，请稍后重试", "The database is unavailable; please retry shortly"),
    "error.not_found": ("没有找到{what}", "{what_en} not found"),
    "field.required": ("必填", "Required"),
    "field.too_long": ("过长：最多 {max} 个字符（现为 {length}）", "Too long: at most {max} characters (got {length})"),
    "field.nul_byte": ("不能含有空字符（\\0）", "Must not contain NUL characters"),
    "field.not_a_number": ("不是有限数值（NaN、Infinity 等不被接受）", "Not a finite number (NaN, Infinity … are refused)"),
    "field.too_deep": ("嵌套过深：最多 {max} 层", "Nested too deeply: at most {max} levels"),
    "field.too_large": ("内容过大：最多 {max_kb} KB（现为 {size_kb} KB）", "Too large: at most {max_kb} KB (got {size_kb} KB)"),
    "field.bad_code": ("只能用字母、数字和 _ . -，最长 {max} 个字符", "Only letters, digits and _ . -, at most {max} characters"),
    "field.not_text": ("应为文字", "Must be text"),
    "field.not_storable": ("无法保存的取值类型（{kind}）", "A value of type {kind} cannot be stored"),
    "field.one_of": ("取值须为 {choices} 之一", "Must be one of {choices}"),
    "field.out_of_range": ("超出范围：须在 {min} 与 {max} 之间", "Out of range: must be between {min} and {max}"),
    # the kinds of a request schema's refusals (``field_codes`` of a 422; rulesvc.schema.messages.code_of)
    "field.unknown": ("未知的键，可能是拼写错误", "Unknown key — a typo?"),
    "field.repeated": ("只能给一个值，却给了多次", "Given more than once: give one value"),
    "field.null": ("不能为空（null）", "May not be null"),
    "field.type": ("类型不对", "Wrong type"),
    "field.length": ("长度不符", "Wrong length"),
    "field.format": ("格式不符", "Does not match the expected format"),
    "field.invalid": ("取值无效", "Invalid value"),
    "request.invalid": ("请求有误，请按字段说明修改", "The request is invalid; see the field messages"),
    "request.no_such_url": ("没有这个地址，请对照接口文档（/api/docs）检查路径", "No such URL; see the API documentation (/api/docs)"),
    "request.method_not_allowed": ("该地址不支持此请求方法，允许的方法见 Allow 响应头",
                                   "This URL does not take this method; see the Allow header"),
    "request.body_too_large": ("请求体过大：最多 {max_mb} MB（{max_bytes} 字节）",
                               "Request body too large: at most {max_mb} MB ({max_bytes} bytes)"),
    "request.bad_json": ("请求体不是有效的 JSON：{detail}", "The request body is not valid JSON: {detail}"),
    # where and what, in the words of rulesvc.schema.limits.json_problem
    "json.at": ("第 {line} 行第 {column} 列（第 {pos} 个字符）{what}", "line {line}, column {column} (character {pos}): {what}"),
    "json.value": ("此处应有一个值（缺少值，或有多余的逗号）", "a value was expected (a value missing, or a comma too many)"),
    "json.name": ("此处应为用双引号括起的键名（单引号、不带引号的键或多余的逗号都不行）",
                  "a key in double quotes was expected (not single quotes, not a bare key, no trailing comma)"),
    "json.comma": ("缺少逗号（两项之间须用逗号隔开）", "a comma was expected between two items"),
    "json.colon": ("键名之后缺少冒号", "a colon was expected after the key"),
    "json.extra": ("JSON 已结束，之后还有多余内容", "the JSON ended here, but more follows"),
    "json.string": ("字符串没有结束（缺少右双引号）", "the string does not end (a closing double quote is missing)"),
    "json.control": ("字符串中有控制字符（换行、制表符须写成 \\n、\\t）",
                     "a control character inside a string (write a line break as \\n, a tab as \\t)"),
    "json.escape": ("字符串中有无效的转义（反斜杠须写成 \\\\）", "an invalid escape in a string (write a backslash as \\\\)"),
    "json.other": ("无法解析（{detail}）", "{detail}"),
    "json.not_unicode": ("不是 UTF-8 编码的文字", "the body is not UTF-8 text"),
    "json.surrogate": ("字符串中有不成对的代理项转义（如 \\ud800），不是有效的字符",
                       "a string holds an unpaired surrogate escape (such as \\ud800), which is not a character"),
    "json.duplicate_key": ("同一个对象里键“{key}”出现了不止一次：只能写一次",
                           "the key {key!r} appears more than once in one object: write it once"),
    "json.constant": ("{name} 不是 JSON 允许的数", "{name} is not a number JSON allows"),
    "json.too_big": ("数字 {text} 超出范围", "the number {text} is out of range"),
    "request.no_content_type": ("请求体须为 JSON，并带请求头 Content-Type: application/json（请求没有 Content-Type 头；curl "
                                "请加 -H 'Content-Type: application/json'）",
                                "The request body must be JSON, sent with Content-Type: application/json (the request "
                                "has no Content-Type header; with curl add -H 'Content-Type: application/json')"),
    "request.not_json": ("请求体须为 JSON，并带请求头 Content-Type: application/json（收到的是 {mimetype}；curl 请加 "
                         "-H 'Content-Type: application/json'）",
                         "The request body must be JSON, sent with Content-Type: application/json (got {mimetype}; "
                         "with curl add -H 'Content-Type: application/json')"),
    # -- Idempotency-Key (rulesvc.api.idempotency) ------------------------------------------------
    "idempotency.key_invalid": ("幂等键（Idempotency-Key 请求头）有误", "Invalid Idempotency-Key header"),
    "idempotency.key_format": ("应为 1 至 {limit} 个可打印 ASCII 字符，首尾不能是空格（建议用 UUID）",
                               "Must be 1 to {limit} printable ASCII characters, no space at either end (a UUID is best)"),
    "idempotency.key_reused": ("该幂等键已用于另一个请求；请求内容不同时须换用新键",
                               "This Idempotency-Key was used for another request: use a new key for a different request"),
    "idempotency.key_used_for": ("已用于另一个 {method} {path} 请求", "Already used for another {method} {path} request"),
    "idempotency.in_progress": ("使用该幂等键的首次请求仍在处理中，请 {seconds} 秒后重试",
                                "The first request with this Idempotency-Key is still being processed; retry in {seconds} s"),
    # -- permissions -----------------------------------------------------------------------------
    "permission.action": ("当前身份无“{action}”权限", "{name} may not {action_en}"),
    "permission.action_for": ("当前身份无“{action}”权限，不能{doing}", "{name} may not {doing_en}: that needs the "
                              "{action_en} permission"),
    "permission.scope": ("{what} 不属于本院或下级院", "{what_en} is outside {name}'s procuratorates"),
    "permission.read_only": ("当前身份只能查看，不能修改任何内容", "{name} may only read: no change is allowed"),
    "permission.read_first": ("须同时有“查看”权限才能{action}", "{action_en} also needs the read permission"),
    "not_found.object": ("没有找到该对象", "Not found"),
    "not_found.scheme": ("没有找到方案 {code}", "Scheme {code} not found"),
    "not_found.version": ("没有找到版本 {version_id}", "Version {version_id} not found"),
    "not_found.scheme_version": ("方案 {code} 没有第 {number} 版", "Scheme {code} has no version {number}"),
    "not_found.in_force": ("方案 {code} 在 {date} 没有生效的版本", "No version of {code} is in force on {date}"),
    "not_found.key": ("没有前缀为 {prefix} 的 API 密钥", "No API key with prefix {prefix}"),
    "directory.bad_level": ("未知的检察院级别", "Unknown procuratorate level"),
    "directory.not_a_code": ("不是检察院代码（应为 6 位数字）", "Not a procuratorate code (6 digits)"),
    "demo.not_empty": ("数据库中已有检察院数据，不再生成演示数据", "The database already holds procuratorates: no demo data generated"),
    "not_found.conflict": ("没有路径为 {path} 的冲突", "No conflict at {path}"),
    "not_found.procuratorate": ("没有找到代码为 {code} 的检察院", "No procuratorate with code {code}"),
    "not_found.procuratorate_scope": ("检察院 {code}（{name}）不在当前身份可查看的范围内（本院及下级院）",
                                      "Procuratorate {code} ({name}) is outside what {who} may see (its own and those "
                                      "below)"),
    "not_found.dataset": ("没有找到数据集 {dataset}", "Dataset {dataset} not found"),
    "not_found.user": ("没有找到用户 {username}", "User {username} not found"),
    # -- versions: lifecycle and four eyes ---------------------------------------------------------
    "version.bad_transition": ("第 {number} 版{status}，不能{step}", "Version {number} is {status_en}: it cannot be {step_en}"),
    "version.frozen": ("第 {number} 版{status}，内容不可再改；请新建版本",
                       "Version {number} is {status_en}: its content cannot change; create a new version"),
    "version.stale": ("该草稿已被他人修改（当前修改计数 {current}，您的是 {yours}），请刷新后再改",
                      "The draft changed since you read it (counter {current}, yours {yours}); reload and redo"),
    "version.concurrent": ("该草稿刚被他人修改，请刷新后再改", "The draft was changed concurrently; reload and redo"),
    "version.four_eyes": ("不能审核自己参与过的版本（{roles}）：须由未参与编写、复制或提交的另一人审核",
                          "You may not review a version you contributed to ({roles_en}); another person must"),
    "version.conflicts_open": ("还有 {count} 处与上级新版本的冲突未处理", "{count} rebase conflicts are not settled"),
    "version.reject_needs_note": ("退回须说明理由", "A rejection needs a reason"),
    "version.retroactive_unconfirmed": (
        "生效日期 {date} 早于今天：此后各期间尚未发布的结果将按本版本重新计算（已发布的不变）。确认无误请加 "
        "\"confirm_retroactive\": true 再提交",
        "{date} is in the past: the unpublished results of the periods since then will be computed under this version "
        "(published ones do not change). To go ahead, send \"confirm_retroactive\": true"),
    "version.simulation_required": ("批准前须先完成该版本内容的模拟测评（运行成功且回归用例全部通过）",
                                    "Approval needs a succeeded simulation run of exactly this content whose scenarios pass"),
    "version.simulation_other_content": ("模拟测评 #{run_id} 测评的不是该版本的内容（内容哈希不同）",
                                         "Simulation #{run_id} was run on other content (another content hash)"),
    "version.scenarios_failed": ("有 {count} 条回归用例未通过", "{count} regression scenarios fail"),
    "simulation.invalid": ("模拟测评的请求有误，请按字段说明修改", "The simulation request is invalid; see the field messages"),
    "simulation.periods_bad": ("考评期间有误", "Invalid periods"),
    "simulation.periods_required": ("至少指定一个考评期间", "Give at least one period"),
    "simulation.period_bad": ("无法识别的考评期间“{period}”：应为年（2020）、季度（2020-Q3）、月份（2020-07）或月份区间（2020-01..2020-12）",
                              "Unknown period “{period}”: a year (2020), quarter (2020-Q3), month (2020-07) or range of months (2020-01..2020-12)"),
    "simulation.period_open": ("{period} 尚未结束（至 {end}），模拟测评须用已结束的期间",
                               "{period} is not over (until {end}): simulate on closed periods"),
    "simulation.too_many_periods": ("一次模拟测评最多 {limit} 个期间，现有 {count} 个", "At most {limit} periods per run, not {count}"),
    "simulation.too_many_open": ("您已有 {count} 次模拟测评在排队或运行（每人最多 {limit} 次同时进行），请待其完成或取消后再发起",
                                 "You have {count} simulation runs queued or running (at most {limit} at once per "
                                 "person): wait for one to finish, or cancel one, before asking for another"),
    "simulation.no_data": ("{periods} 没有可用的数据（没有在用的数据集含这些期间的事件）",
                           "No data for {periods} (no dataset in use holds events of these periods)"),
    "simulation.options_bad": ("报告选项有误", "Invalid report options"),
    "simulation.option_range": ("应在 {low} 与 {high} 之间", "Must be between {low} and {high}"),
    "simulation.option_unknown": ("未知选项；可用的有：{known}", "Unknown option; known: {known}"),
    "simulation.baseline_bad": ("基准版本应为版本编号、\"default\"（默认：期间首日生效的版本）或 \"none\"（不设基准版本）",
                                "The baseline is a version id, \"default\" (the version in force) or \"none\""),
    "simulation.baseline_kind": ("基准版本的考评对象是 {kind}，与候选版本（{expected}）不同",
                                 "The baseline scores {kind}, the candidate {expected}"),
    "simulation.version_invalid": ("{code} 第 {number} 版无法计分，请先修正方案中的错误",
                                   "Version {number} of {code} cannot be scored: fix the errors in it first"),
    "simulation.queue_down": ("模拟测评队列（Redis）暂时无法连接，请稍后再试；未创建任何测评",
                              "The simulation queue (Redis) does not answer; try again later. Nothing was created"),
    "simulation.finished": ("模拟测评 #{run_id} {status}，无法取消", "Simulation #{run_id} is already over ({status_en})"),
    "simulation.not_done": ("模拟测评 #{run_id} {status}，没有结果", "Simulation #{run_id} is {status_en}: it has no results"),
    "simulation.baseline_self": ("基准版本不能是候选版本本身", "The baseline cannot be the candidate itself"),
    "simulation.periods_type": ("期间应为文字，如 \"2020\"、\"2020-Q3\"、\"2020-07\"", "Periods are strings such as \"2020\""),
    "simulation.option_number": ("应为数值", "Must be a number"),
    "simulation.no_subject": ("该模拟测评在 {period} 没有考评对象 {code}", "No subject {code} in this run for {period}"),
    "simulation.period_not_in_run": ("该模拟测评不含期间 {period}（含：{periods}）", "This run has no period {period} (it has {periods})"),
    "simulation.cancelled": ("已按要求取消，未保存任何结果", "Cancelled on request; nothing was saved"),
    "simulation.interrupted": ("执行测评的进程意外中断，结果未保存；可重新发起（同样的请求会重新排队）",
                               "The process running it stopped; nothing was saved. Ask again to retry"),
    "simulation.not_started": ("测评未能开始（服务已重启）；可重新发起", "The run never started (the service restarted); ask again"),
    "simulation.error": ("测评出错，结果未保存；详情见 error.detail", "The run failed; nothing was saved (see error.detail)"),
    "simulation.dictionary_changed": ("数据字典已变更，请重新发起模拟测评", "The data dictionary changed: ask for a new run"),
    "simulation.gate_not_succeeded": ("模拟测评 #{run_id} 未成功完成", "Simulation #{run_id} has not succeeded"),
    # what the audit log says of a run (its summary)
    "simulation.started": ("发起模拟测评 #{run_id}：{candidate}，基准版本 {baseline}，期间 {periods}",
                           "Simulation #{run_id} started: {candidate_en} against {baseline_en}, periods {periods}"),
    "simulation.cancel_queued": ("取消模拟测评 #{run_id}（排队中，已取消）", "Simulation #{run_id} cancelled (it was queued)"),
    "simulation.cancel_running": ("取消模拟测评 #{run_id}（运行中，已要求停止）",
                                  "Simulation #{run_id} cancelled (it was running: asked to stop)"),
    "not_found.simulation": ("没有编号为 {run_id} 的模拟测评", "No simulation {run_id}"),
    "evaluation.period_bad": ("无法识别的考评期间“{period}”：应为年（2020）、季度（2020-Q3）或月份（2020-07）",
                              "Unknown period “{period}”: a year (2020), a quarter (2020-Q3) or a month (2020-07)"),
    "evaluation.scheme_or_version": ("须给出方案代码（scheme）或版本编号（version_id）", "Give a scheme code or a version_id"),
    "evaluation.batch_who": ("须给出考评对象代码列表（subjects）或检察院代码（procuratorate），二者取其一",
                             "Give either a list of subject codes (subjects) or a procuratorate code"),
    "evaluation.batch_too_many": ("一次最多给 {limit} 个考评对象计分", "At most {limit} subjects per batch"),
    "evaluation.batch_full_trace": ("完整解释（trace=full）一次最多 {limit} 个考评对象；请分批或改用 summary",
                                    "A full trace is given for at most {limit} subjects per batch; split it or use summary"),
    "evaluation.trace_differs": (
        "完整解释按发布时记录的数据集和版本重新计算，但与发布的卡片不一致（{what}）：发布后{why}。卡片上的数字以发布的为准；"
        "如需更正，请发布更正（supersede）",
        "The full trace, computed again from the recorded datasets and version, does not match the published card "
        "({what_en}): {why_en} since publishing. The card's figures are the published ones; publish a correction "
        "(supersede) to change them"),
    "history.no_data": ("本期间没有可用的数据（没有在用的数据集含该期间的事件），没有分数",
                        "No data for this period (no event dataset in use covers it): no scores"),
    "history.range_bad": ("起止月份有误：{detail}", "Bad range: {detail}"),
    "history.range_order": ("起始月份 {start} 晚于结束月份 {end}", "The first month {start} is after the last, {end}"),
    "history.too_long": ("一次最多查询 {limit} 个期间，现为 {count} 个", "At most {limit} periods per request, not {count}"),
    "ranking.group_bad": ("排名分组只能是 {choices}", "The ranking group must be one of {choices_en}"),
    "ranking.business_bad": ("没有业务类别“{value}”：应为 {choices}", "No business “{value}”: one of {choices_en}"),
    "ranking.business_not_applicable": ("方案 {scheme} 考评的是检察院，没有业务类别之分：请去掉 business",
                                        "Scheme {scheme} scores procuratorates, which have no business: leave business out"),
    "ranking.no_grades": ("方案 {scheme} 不评等次：请去掉 grade", "Scheme {scheme} has no grades: leave grade out"),
    "ranking.grade_bad": ("本方案没有等次“{value}”：应为 {choices}", "This scheme has no grade “{value}”: one of {choices_en}"),
    "comparison.not_procuratorate": ("院际比较只适用于以检察院为考评对象的方案，{code} 考评的是检察官",
                                     "Comparisons are for schemes that score procuratorates; {code} scores prosecutors"),
    "publication.period_open": ("期间 {period} 尚未结束（至 {end}），不能发布；结束前的结果都是暂算结果",
                                "Period {period} is not over (it ends on {end}): it cannot be published yet"),
    "publication.exists": ("方案 {code} 的 {period} 结果已于{zone} {at} 发布（发布 #{id}）；如需更正，请发布更正结果并说明理由",
                           "Results of {code} for {period} were published on {at} ({zone_en}, #{id}); to correct them, publish a correction with a reason"),
    "publication.not_current": ("发布 #{id} 已被 #{by} 更正取代；只能更正最新的发布",
                                "Publication #{id} was superseded by #{by}; only the latest can be corrected"),
    "edit.reason_required": ("请填写修改理由：本地化的每一处修改都要说明理由",
                             "Enter a reason: every change of a localization needs one"),
    "publication.reason_required": ("更正已发布的结果须写明理由", "A correction needs a reason"),
    "publication.unchanged": ("按现有的数据和规则重新计算，结果与发布 #{id} 完全相同，更正不会改变任何结果",
                              "Scored again on today's data and rules, the results are exactly those of publication #{id}: "
                              "a correction would change nothing"),
    "publication.version_not_for_period": ("第 {number} 版（版本 ID {version_id}）不是 {period} 开始之日（{start}）生效的版本"
                                           "（当日生效的是第 {in_force} 版）：结果只能按期间开始之日生效的版本发布",
                                           "Version {number} (id {version_id}) was not in force on the first day of {period} "
                                           "({start}; version {in_force} was): results are published under the version in "
                                           "force on the period's first day"),
    "publication.version_not_in_force": ("版本 ID {version_id}（第 {number} 版）未曾生效（状态：{status}），不能用于发布结果",
                                         "Version id {version_id} (version {number}) has never been in force ({status_en}): "
                                         "results cannot be published under it"),
    "publication.version_other_scheme": ("版本 ID {version_id} 不属于方案 {code}", "Version id {version_id} is not a version of {code}"),
    "publication.no_data": ("期间 {period} 没有可用的数据（没有在用的数据集含该期间的事件），不能发布：发布后结果不可删除",
                            "There is no data for {period} (no event dataset in use covers it): nothing to publish, and a "
                            "publication can never be deleted"),
    "publication.nobody_graded": ("期间 {period} 没有一个考评对象参加等次评定（{subjects} 人均无计分数据或不参评），不能发布",
                                  "Nobody is graded in {period} (none of the {subjects} subjects has scored data or takes "
                                  "part): nothing to publish"),
    "publication.graded_drop": ("这次更正会使评定等次的人数从 {before} 人降到 {after} 人（发布 #{id}），多半是数据被撤回或缺失；"
                                "确认无误后勾选“仍然更正”（accept_fewer_graded）再提交",
                                "This correction would leave {after} graded where publication #{id} graded {before} — "
                                "data withdrawn or missing, most likely; if it is right, confirm with accept_fewer_graded"),
    "publication.no_subjects": ("期间 {period} 没有参加考评的对象，无可发布", "Nobody takes part in {period}: nothing to publish"),
    "not_found.publication": ("没有编号为 {id} 的发布", "No publication {id}"),
    "scenario.invalid": ("回归用例有误，请按字段说明修改", "Invalid regression scenarios; see the field messages"),
    "scenario.not_a_list": ("回归用例应为列表", "Scenarios must be a list"),
    "scenario.too_many": ("回归用例最多 {limit} 条，现有 {count} 条", "At most {limit} scenarios, not {count}"),
    "scenario.not_an_object": ("每条回归用例应为一个对象", "Each scenario must be an object"),
    "scenario.unknown_key": ("未知字段；可用的有：{known}", "Unknown field; known: {known}"),
    "scenario.subject": ("须填考评对象代码（工号或检察院代码），最长 40 个字符", "A subject code is required (at most 40 characters)"),
    "scenario.expected": ("须至少给出一项预期：total（总分）、grade（等次）或 indicators（指标得分）",
                          "Expect at least one of total, grade, indicators"),
    "scenario.number": ("应为数值", "Must be a number"),
    "scenario.grade": ("应为等次名称，如“优秀”", "Must be a grade name"),
    "scenario.indicators": ("应为“指标代码: 预期得分”的映射（1–100 项）", "Must map indicator codes to expected points (1–100)"),
    "scenario.tolerance": ("允差应为 0 到 100 之间的分值", "The tolerance is points between 0 and 100"),
    "scenario.note": ("说明最长 500 个字符", "At most 500 characters"),
    "scenario.duplicate": ("{subject} 在 {period} 已有一条回归用例", "{subject} already has a scenario for {period}"),
    "scenario.not_covered": ("模拟测评未包含期间 {period}，无法核对", "The run did not score {period}"),
    "scenario.no_subject": ("{period} 的测评结果中没有 {subject}", "{subject} is not among the results of {period}"),
    "scenario.mismatch": ("{what} 预期 {expected}，实际 {actual}", "{what}: expected {expected}, got {actual}"),
    "simulation.lockin_no_draft": ("该测评的候选版本已删除，无法锁定", "The run's candidate version was deleted"),
    "simulation.lockin_stale": ("第 {number} 版已在测评后修改，请对当前内容重新测评后再锁定",
                                "Version {number} changed after the run: simulate its current content first"),
    "simulation.lockin_missing": ("{period} 的测评结果中没有可锁定的 {codes}（不在结果中或未评定）",
                                  "No gradable result for {codes} in {period}"),
    "scenario.lock_nothing": ("没有可锁定的结果：请给出考评对象代码，或选择锁定变动最大者",
                              "Nothing to lock in: name subjects, or lock in the top movers"),
    "version.template_no_overrides": ("模板版本没有覆盖项", "A template has no overrides"),
    "version.template_no_parent": ("模板版本没有上级版本，无需跟进", "A template has no parent to rebase onto"),
    "version.overrides_invalid": ("本地化覆盖项有误", "Invalid overrides"),
    "version.not_an_object": ("方案文档应为一个对象", "The document must be an object"),
    "version.localization_keys": ("本地化版本只保存说明、覆盖项和冲突", "A localization holds only description, overrides and conflicts"),
    "version.must_be": ("应为 {value}", "Must be {value}"),
    "version.checks_failed": ("方案检查未通过，请按字段说明修改", "The scheme does not pass its checks; see the field messages"),
    "version.scheme_invalid": ("方案信息有误", "Invalid scheme"),
    "version.code_taken": ("方案代码 {code} 已被使用", "Scheme code {code} is taken"),
    "version.parent_unpublished": ("上级版本须已批准或已生效", "The parent version must be approved or active"),
    "version.rebase_not_newer": ("第 {number} 版不比本版的上级（第 {current} 版）新：只能跟进上级方案更新的版本",
                                 "Version {number} is not newer than this version's parent (version {current}): a rebase "
                                 "follows a newer version of the parent scheme"),
    "version.conflict_open_at": ("冲突未处理：{path}（{message}）", "Conflict not settled: {path} ({message})"),
    "version.parent_other_scheme": ("新上级版本须属于同一上级方案", "The new parent must be a version of the same parent scheme"),
    "version.effective_overlap": ("第 {number} 版自 {date} 起生效，新版本的生效日期须晚于该日",
                                  "Version {number} is in force from {date}: choose a later date"),
    "version.rebase_conflicts_open": ("第 {number} 版还有 {count} 处冲突未处理：请先逐项处理，再跟进上级第 {new} 版"
                                      "（否则未处理的本地值会被当作已决定沿用）",
                                      "Version {number} still has {count} open conflicts: settle them first, then follow "
                                      "version {new} above (else the open local values would be carried as if decided)"),
    "version.before_parent": ("本地化版本不能早于它依据的上级版本生效：{parent} 第 {number} 版自 {date} 起生效，生效日期请选 {date} 或以后",
                              "A localization cannot come into force before the version it is built on: {parent} version "
                              "{number} is in force from {date}; choose {date} or later"),
    "version.parent_not_in_force": ("它依据的上级版本 {parent} 第 {number} 版尚未生效，本地化版本不能先于它生效；"
                                    "请待上级版本定下生效日期后再设置",
                                    "The version it is built on, {parent} version {number}, is not in force: a "
                                    "localization cannot come into force before it; set the date once that version has one"),
    "version.retire_before_start": ("停用日期不能早于生效日期 {date}", "Retirement cannot be before the effective date {date}"),
    "version.retire_scheduled": ("第 {number} 版定于 {date} 起生效，尚未开始：不让它生效，请用“撤销生效安排”（它回到已批准，"
                                 "原来的版本继续有效）；停用日期只能是 {date} 或以后",
                                 "Version {number} is set to come into force on {date} and has not started: to keep it "
                                 "from going live, take back its go-live (it goes back to approved and the version before "
                                 "it stays in force); a last day in force must be {date} or later"),
    "version.effective_overlap_retired": ("第 {number} 版已停用，但生效至 {date}：新版本的生效日期须晚于该日（{next} 或以后）。",
                                          "Version {number} is retired but in force until {date}: choose a later "
                                          "date ({next} or after)."),
    "version.retire_before_successor": ("第 {number} 版定于 {end} 停止生效，由自 {start} 起生效的第 {next} 版接替：停用日期不能"
                                        "早于 {end}，否则其间没有生效的版本。要提前换用第 {next} 版，请先撤销它的生效安排，"
                                        "再让它从更早的日期生效。",
                                        "Version {number} ends on {end}, when version {next} takes over on {start}: it "
                                        "cannot be retired earlier, or no version would be in force in between. To "
                                        "switch to version {next} sooner, take back its go-live, then put it in force "
                                        "from an earlier date."),
    "version.unschedule_started": ("第 {number} 版已于 {date} 起生效，生效安排不能撤销（生效的日子已成为历史）：要结束它，"
                                   "请停用并写明最后生效日。",
                                   "Version {number} has been in force since {date}: its go-live cannot be taken back (its "
                                   "days in force are history); to end it, retire it with its last day in force."),
    "version.unschedule_children": ("依据第 {number} 版并已安排生效的本地化版本：{children}。请先撤销其生效安排"
                                    "（在该版本的页面上；上级院有生效权限的审核人也可以撤销）。",
                                    "Localization versions built on version {number} and set to come into force: "
                                    "{children}. Take back their go-live first (on that version's page; a reviewer "
                                    "above with the right to put versions in force may do it too)."),
    "version.unschedule_published": ("第 {number} 版已有发布的考评结果（{periods}），生效安排不能撤销。",
                                     "Version {number} has published results ({periods}): its go-live cannot be taken back."),
    "version.unschedule_needs_note": ("撤销生效安排须说明理由。", "Taking back a go-live needs a reason."),
    "version.settle_value": ("只有“修改”带新的取值，且必须带", "edit, and only edit, takes a value"),
    "version.settle_refused": ("无法如此处理该冲突", "The conflict cannot be settled this way"),
    "version.document_invalid": ("方案文档有误，请按字段说明修改", "The scheme document is invalid; see the field messages"),
    # -- scoring -------------------------------------------------------------------------------------
    "scoring.org_unknown": ("方案所属检察院 {org} 不在检察院名录中", "The scheme's procuratorate {org} is not in the directory"),
    "scoring.outside_scheme": ("{code} 不在方案 {scheme} 的适用范围内（检察院 {org} 及其下级）",
                               "{code} is outside scheme {scheme} (procuratorate {org} and those below it)"),
    "scoring.no_subject": ("没有编号为 {code} 的考评对象，或不在当前身份可查看的范围内（本院及下级院）",
                           "No subject with code {code}, or not within what you may see (your procuratorates and "
                           "those below)"),
    "scoring.wrong_kind": ("方案 {scheme} 考评的是{kind}，{code} 是{other}的编号；请换用考评{other}的方案",
                           "Scheme {scheme} scores {kind_en}s; {code} is a {other_en}'s code: use a scheme that scores "
                           "{other_en}s"),
    "scoring.no_data": ("{period} 没有可用的数据（没有在用的数据集含该期间的事件），不能给出分数；请检查期间，或先导入该期间的数据{later}",
                        "There is no data for {period} (no event dataset in use covers it), so there are no scores; "
                        "check the period, or import its data first{later_en}"),
    "scoring.version_other_scheme": ("版本 ID {version_id}（第 {number} 版）属于方案 {other}，不是方案 {code} 的版本；"
                                     "请只给 version_id，或给出与之相符的 scheme",
                                     "Version id {version_id} (version {number}) belongs to scheme {other}, not to {code}: "
                                     "give version_id alone, or the scheme it belongs to"),
    "scoring.not_in_publication": ("{code} 不在 {period} 已发布的结果（发布 #{id}）中：发布之后才列入名录或调入，已发布的结果不变",
                                   "{code} is not in the published results of {period} (publication #{id}): added to "
                                   "the directory or moved in after publishing; published results do not change"),
    "scoring.not_evaluated": ("{code} {name} 不参加 {period} 考评：{reason}", "{code} {name} is not evaluated in {period}: {reason_en}"),
    # -- live impact and preview of a draft ---------------------------------------------------------
    "impact.not_a_draft": ("只有草稿可以带未保存的修改预览影响；第 {number} 版为{status}",
                           "Only a draft can be previewed with unsaved changes; version {number} is {status_en}"),
    "impact.period_open": ("{period} 尚未结束（至 {end}），影响预览须用已结束的期间",
                           "{period} has not ended (it runs to {end}); the impact is shown on closed periods"),
    "impact.no_data": ("{period} 没有可用的数据（没有在用的数据集含该期间的事件）",
                       "No data for {period} (no event dataset in use covers it)"),
    "impact.no_closed_period": ("{before} 之前没有已结束且有数据的考评期间，无法预览影响",
                                "No closed period with data before {before}: there is nothing to show the impact on"),
    # -- keys ------------------------------------------------------------------------------------
    "key.permissions_missing": ("请至少选择一项权限", "Choose at least one permission"),
    "key.permissions_unknown": ("没有这些权限：{bad}；可选 {choices}", "No such permissions: {bad}; one or more of {choices}"),
    "key.procuratorates_missing": ("请至少选择一个检察院", "Choose at least one procuratorate"),
    "key.procuratorates_unknown": ("没有这些检察院代码：{codes}", "No procuratorate has the codes {codes}"),
    "key.owner_unknown": ("没有找到在用的用户 {username}，无法作为密钥持有人", "No active user {username} to own the key"),
    "key.review_needs_owner": ("带“审核”权限的密钥须指定持有人（--owner 用户名）：批准是个人的行为",
                               "A key with the review permission needs an owner (--owner USERNAME): approving is a person's act"),
    "key.owner_not_self": ("只能为自己创建个人密钥（持有人 {username} 不是您本人）；为他人发个人密钥须由服务器操作员用 "
                           "rulesvc apikeys create … --owner 完成",
                           "A person's key can only be made by that person ({username} is not you); the server's "
                           "operator makes one for someone else with rulesvc apikeys create … --owner"),
    "key.beyond_owner": ("密钥持有人 {username}（{role}）本人没有这些权限：{actions}；密钥的权限不能超出持有人的角色",
                         "The key's owner {username} ({role_en}) may not {actions_en} themselves: a key cannot give its "
                         "owner more than their role"),
    "key.outside_owner": ("检察院 {codes} 不在密钥持有人 {username} 所在检察院及下级范围内",
                          "Procuratorates {codes} are outside the tree of the key's owner {username}"),
    "key.read_required": ("密钥须有“查看”权限：其他权限都以能查看为前提", "A key needs the read permission: every other one builds on it"),
    "key.invalid": ("API 密钥信息有误", "Invalid API key"),
    # -- sessions and sign-in -----------------------------------------------------------------------
    "auth.form_expired": ("页面已过期，请重试", "The page expired; please try again"),
    "auth.csrf_required": ("以登录会话提交的修改须带有效的 X-CSRFToken 头",
                           "A change sent with a session cookie needs a valid X-CSRFToken header"),
    "auth.csrf_missing": ("缺少 CSRF 令牌（或会话中没有）：请从管理页取得令牌后放在 X-CSRFToken 头中",
                          "The CSRF token is missing (or the session has none): take it from an admin page and send "
                          "it in the X-CSRFToken header"),
    "auth.csrf_expired": ("CSRF 令牌已过期：请刷新管理页取得新的令牌", "The CSRF token has expired: reload an admin page "
                          "for a new one"),
    "auth.csrf_invalid": ("CSRF 令牌无效或不属于本会话", "The CSRF token is invalid or not this session's"),
    "auth.invalid_key": ("API 密钥无效、已吊销或已过期", "Invalid, revoked or expired API key"),
    "auth.two_keys": ("Authorization 与 X-API-Key 两个请求头给出的密钥不同：只发送一个，或两处发送同一个密钥",
                      "Authorization and X-API-Key hold different keys: send one, or the same key in both"),
    "auth.required": ("请先登录或提供 API 密钥", "Sign in or send an API key"),
    "auth.session_ended": ("登录已失效，请重新登录", "Your session has ended; please sign in again"),
    "auth.too_many_attempts": ("登录失败次数过多，请 {minutes} 分钟后再试",
                               "Too many failed sign-ins; try again in {minutes} minutes"),
    "user.activated": ("已启用用户 {username}", "User {username} activated"),
    "user.created": ("已创建用户 {username}（{role}，{procuratorate}）", "Created user {username} ({role_en}, {procuratorate_en})"),
    "user.deactivated": ("已停用用户 {username}，结束其 {count} 个登录会话",
                         "User {username} deactivated; {count} signed-in sessions ended"),
    "user.invalid": ("用户信息无效", "Invalid user"),
    "user.last_admin": ("{username} 是最后一个启用的管理员，不能停用或改为其他角色",
                        "{username} is the last active administrator: it cannot be deactivated or given another role"),
    "user.needs_procuratorate": ("{role}须属于一个检察院：没有所属检察院的{role}看不到任何数据",
                                 "A {role_en} needs a procuratorate: without one they see nothing"),
    "user.nothing_to_change": ("没有要修改的内容：请给出新的角色、所属检察院或姓名",
                               "Nothing to change: give a new role, procuratorate or full name"),
    "user.admins_only": ("只有管理员可以管理用户（{name} 不是管理员）",
                         "Only administrators may manage users ({name} is not one)"),
    "user.outside_tree": ("只能选择本院或下级院", "Choose your own procuratorate or one below it"),
    "user.province_only": ("只有全省的管理员可以设置不属于任何检察院的用户",
                           "Only an administrator of the whole province may leave an account without a procuratorate"),
    "user.audit_updated": ("修改用户 {username}：{changes}", "User {username} changed: {changes_en}"),
    "user.audit_password": ("重设用户 {username} 的密码，结束其 {count} 个登录会话",
                            "New password for {username}; {count} signed-in sessions ended"),
    "user.password_blank": ("密码首尾不能是空白字符", "The password must not start or end with blanks"),
    "user.password_changed": ("已更新 {username} 的密码，结束其 {count} 个登录会话",
                              "Password of {username} changed; {count} signed-in sessions ended"),
    "user.password_invalid": ("密码无效", "Invalid password"),
    "user.password_long": ("密码最多 {max} 个字符", "The password must have at most {max} characters"),
    "user.password_short": ("密码至少 {min} 个字符", "The password must have at least {min} characters"),
    "user.province_wide": ("全省", "the whole province"),
    "user.role": ("角色须为 {roles} 之一", "The role must be one of {roles}"),
    "user.updated": ("已更新用户 {username}：{changes}", "User {username} updated: {changes_en}"),
    "user.username_pattern": ("用户名须以小写字母开头，3–40 个字符，只含小写字母、数字和 _ . -",
                              "Username: 3-40 characters, lower-case letters, digits, _ . -, starting with a letter"),
    "user.username_taken": ("用户名 {username} 已存在", "Username {username} already exists"),
    # -- datasets and imports -------------------------------------------------------------------------
    "dataset.ambiguous": ("“{ref}”对应多个数据集（{matches}），请给出数据集编号或更长的哈希前缀",
                          "'{ref}' matches several datasets ({matches}); give the dataset number or a longer hash prefix"),
    "dataset.corrected": ("已导入更正数据集 {dataset}（更正 {corrected}）：替换其中 {replaced} 条事件，新增 {added} 条",
                          "Imported dataset {dataset} correcting {corrected}: {replaced} of its events replaced, "
                          "{added} added"),
    "dataset.corrections_remain": ("更正它的数据集 {datasets} 仍在使用中，其事件继续计入；如也应撤回，请逐个撤回",
                                   "The datasets correcting it ({datasets}) stay in use and their events still count; "
                                   "withdraw them one by one if they should not"),
    "dataset.ids_elsewhere": ("{count} 个事件编号已在数据集 {corrected} 以外的使用中数据集中，未导入任何数据；"
                              "更正只能替换被更正数据集中的事件（这些事件请更正其所在的数据集）",
                              "{count} event ids are in datasets in use other than {corrected}; nothing imported. "
                              "A correction replaces events of the dataset it corrects only (correct the dataset "
                              "each event is in)"),
    "dataset.ids_exist": ("{count} 个事件编号已在使用中的数据集中出现，未导入任何数据；如为更正，请声明所更正的数据集",
                          "{count} event ids are already in datasets in use; nothing imported. "
                          "Declare the file a correction of the dataset it corrects"),
    "dataset.not_events": ("数据集 {dataset} 是基础数据，不是事件：只有事件数据集可以更正或撤回",
                           "Dataset {dataset} holds reference data: only event datasets can be corrected or withdrawn"),
    "dataset.restored": ("数据集 {corrected} 中曾被它替换的 {count} 条事件重新计入",
                         "{count} events of dataset {corrected} it had replaced count again"),
    "dataset.withdraw_done": ("已撤回数据集 {dataset}：其 {events} 条事件不再计入考评",
                              "Dataset {dataset} withdrawn: its {events} events no longer count"),
    "dataset.withdraw_needs_reason": ("撤回须说明理由", "A withdrawal needs a reason"),
    "dataset.imported": ("导入数据集 {dataset}：{kind} {rows} 行（文件 {source}）",
                         "Dataset {dataset} imported: {rows} rows of {kind_en} (file {source})"),
    "dataset.reapplied": ("重新应用数据集 {dataset}：{kind} {rows} 行（文件 {source}），新增 {inserted}，更新 {updated}",
                          "Dataset {dataset} applied again: {rows} rows of {kind_en} (file {source}), "
                          "{inserted} added, {updated} updated"),
    "dataset.withdrawn": ("数据集 {dataset} 已撤回", "Dataset {dataset} is withdrawn"),
    "dataset.withdrawn_data": ("相同的数据曾作为数据集 {dataset} 导入，已撤回（理由：{reason}），这次未导入；"
                               "如确需重新使用这些数据，请在导入页面勾选“重新使用已撤回的数据”（命令行加 --reuse-withdrawn）再导入"
                               "（将作为新的数据集）",
                               "The same data was imported as dataset {dataset}, which was withdrawn ({reason}); "
                               "nothing imported. To use it again, tick 'Use withdrawn data again' on the import page "
                               "(on the command line --reuse-withdrawn): a new dataset"),
    "import.bad_choice": ("“{name}”须为 {choices} 之一", "'{name}' must be one of {choices}"),
    "import.encoding_unknown": ("不认识的编码名称“{name}”（可用如 utf-8、gb18030、cp1252）",
                                "Unknown encoding '{name}' (e.g. utf-8, gb18030, cp1252)"),
    "import.needs_filename": ("缺少文件名，无法判断格式", "A file name is needed to tell the format"),
    "import.rejected": ("{source}：{count} 个错误，未导入任何数据", "{source}: {count} error(s); nothing imported"),
    "import.stopped": ("{source}：已发现 {count} 个错误，检查到此为止（其后约 {unchecked} 行未检查），未导入任何数据",
                       "{source}: stopped after {count} errors (about {unchecked} more rows not checked); "
                       "nothing imported"),
    "import.unknown_kind": ("未知的导入类型“{kind}”，可用：{kinds}", "Unknown kind '{kind}'; use one of {kinds}"),
    "import.unsupported_format": ("不支持的文件格式：{filename}（支持 {known}）",
                                  "{filename}: unsupported format; use one of {known}"),
    # -- inline events (a caller's own facts, checked as an import's rows) -------------------------------
    "inline_events.invalid": ("提交的事件有 {count} 处错误，未计分；请按字段说明修改",
                              "The events have {count} error(s); nothing was scored. See the field messages"),
    "inline_events.not_a_list": ("事件应为 JSON 对象的列表", "The events must be a list of JSON objects"),
    "inline_events.not_an_object": ("每条事件应为一个 JSON 对象", "Each event must be a JSON object"),
    "inline_events.other_subject": ("只能提交考评对象 {subject} 的事件，这一条是 {given} 的",
                                    "Only events of the subject {subject} may be given; this one is {given}'s"),
    "inline_events.outside_period": ("发生日期 {day} 不在考评期间 {period}（{start} 至 {end}）内，不会计入",
                                     "Occurred on {day}, outside the period {period} ({start} to {end}): it "
                                     "would not count"),
    "inline_events.row": ("列 {column}：{message}", "{column_en}{message_en}"),
    "inline_events.row_label": ("第 {number} 条事件（events[{index}]）", "events[{index}]"),
    "inline_events.stopped": ("提交的事件已发现 {count} 处错误，检查到此为止（其后 {unchecked} 条未检查），未计分",
                              "Stopped after {count} errors in the events ({unchecked} more not checked); "
                              "nothing was scored"),
    "inline_events.subject_required": ("须填写考评对象 {subject}：未填写的事件不计入任何检察官",
                                       "Must name the subject {subject}: an event without a prosecutor counts for "
                                       "no prosecutor"),
    "inline_events.too_many": ("一次最多提交 {limit} 条事件，现有 {count} 条，未检查",
                               "At most {limit} events per request, not {count}; none was checked"),
}


__all__ = ["LANGUAGES", "MESSAGES", "Msg", "codes_in", "current_language", "language", "language_of", "msg",
           "render", "set_language", "shell_language"]
