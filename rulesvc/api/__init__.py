"""The HTTP API under /api/v1 (flask-smorest), its OpenAPI document and its offline documentation UIs.

- ``/api/v1/…``: the resources, one flask-smorest ``Blueprint`` per module, listed in :data:`BLUEPRINTS`;
- ``/api/docs/openapi.json``, ``/api/docs/swagger``, ``/api/docs/redoc``: the spec and two viewers,
  served with vendored assets from ``rulesvc/api/static`` (see its ``VENDORED.md``), never a CDN;
- errors: one JSON envelope, built in :mod:`rulesvc.api.errors`; a database that does not answer is a
  503 with ``Retry-After`` everywhere (:mod:`rulesvc.api.unavailable`).

Adding a resource: write ``rulesvc/api/<name>.py`` with ``blp = Blueprint("<name>", __name__,
url_prefix="/<name>", description="中文 (English)")`` and append ``<name>.blp`` to :data:`BLUEPRINTS`.
It is mounted under ``/api/v1``, documented, and exempted from CSRF: API clients send no form token, so
API authentication must come from a header, never from the admin's session cookie.
"""

from __future__ import annotations

import copy
from typing import Any

import flask
from apispec import BasePlugin
from flask import Flask, Response, url_for
from flask_smorest import Api, Blueprint
from flask_smorest.pagination import PAGINATION_HEADER

from rulesvc.api import (
    auth,
    errors,
    evaluations,
    health,
    publications,
    rankings,
    reference,
    schemes,
    simulations,
)
from rulesvc.api.guard import register_guard
from rulesvc.api.unavailable import register_unavailable
from rulesvc.extensions import csrf

API_PREFIX = "/api/v1"
DOCS_PREFIX = "/api/docs"
ASSETS_BLUEPRINT = "api-docs-assets"
ASSETS_URL = f"{DOCS_PREFIX}/assets"

# The API's resources, in the order the documentation lists them.
BLUEPRINTS: tuple[Blueprint, ...] = (
    health.blp,
    reference.blp,
    auth.blp, *schemes.BLUEPRINTS, simulations.blp, evaluations.blp, evaluations.subjects_blp,
    rankings.blp, rankings.comparisons_blp, publications.blp,
)

API_DESCRIPTION = """\
检察官业绩考评规则引擎与配置服务的 HTTP 接口。
HTTP API of the prosecutor performance evaluation (检察官业绩考评) rules engine and configuration service.

Errors always have the same JSON body: `{"code": <HTTP status>, "status": "<machine name>",
"error_code": "<stable message code, e.g. version.four_eyes>", "message": "<text>",
"errors": {<field-level details>}, "field_codes": {<the fields' message codes, when known>}}`.
Messages are in Chinese, or in English with `Accept-Language: en` or `?lang=en`; match on `error_code`.
Order of refusals: 401 (no caller), 403 (may not write at all), 413/400 (body too large, not JSON,
NaN/Infinity, nested too deeply), then 422 per field. A database that does not answer: 503 with Retry-After.
Lists are paginated with `page` and `page_size`; the `X-Pagination` header carries the totals.

认证 (authentication): rule sets, versions and the audit log need a caller — an API key in
`Authorization: Bearer rsk_…` (or `X-API-Key`), or the session cookie of a person signed in at `/admin/login/`,
whose POST/PUT/PATCH/DELETE requests must also send the CSRF token in an `X-CSRFToken` header.
Without valid credentials the answer is 401; `GET /api/v1/me` says who the caller is.
"""

# Settings an instance config may override (app.config.setdefault).
API_SETTINGS: dict[str, Any] = {
    "API_TITLE": "检察官业绩考评规则服务 Prosecutor Performance Evaluation Rules Service",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "API_SPEC_OPTIONS": {"info": {"description": API_DESCRIPTION}},
    "OPENAPI_URL_PREFIX": DOCS_PREFIX,
    "OPENAPI_JSON_PATH": "openapi.json",
    "OPENAPI_SWAGGER_UI_PATH": "swagger",
    "OPENAPI_SWAGGER_UI_URL": f"{ASSETS_URL}/swagger-ui/",
    "OPENAPI_REDOC_PATH": "redoc",
    "OPENAPI_REDOC_URL": f"{ASSETS_URL}/redoc/redoc.standalone.js",
    # The badge would fetch https://validator.swagger.io: none of that here.
    "OPENAPI_SWAGGER_UI_CONFIG": {"validatorUrl": None, "deepLinking": True},
}

# The documentation pages may load nothing from elsewhere: Redoc's sidebar logo (an <img> from
# cdn.redoc.ly) is blocked by the browser rather than requested. Both viewers need inline styles; Redoc
# also starts its search worker from a blob: and its bundled JSON-schema compiler (ajv) uses eval.
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)
REDOC_CSP = DOCS_CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-eval'")

SWAGGER_UI_PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <link rel="icon" href="data:,">
  <title>{{ title }}</title>
  <link rel="stylesheet" href="{{ asset('swagger-ui/swagger-ui.css') }}">
</head>
<body>
  <div id="swagger-ui" data-spec-url="{{ spec_url }}" data-config="{{ ui_config | tojson | forceescape }}"></div>
  <script src="{{ asset('swagger-ui/swagger-ui-bundle.js') }}"></script>
  <script src="{{ asset('swagger-init.js') }}"></script>
</body>
</html>
"""

REDOC_PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <link rel="icon" href="data:,">
  <title>{{ title }}</title>
  <style>body { margin: 0; padding: 0; }</style>
</head>
<body>
  <redoc spec-url="{{ spec_url }}"></redoc>
  <script src="{{ asset('redoc/redoc.standalone.js') }}"></script>
</body>
</html>
"""


class PagingWords(BasePlugin):
    """flask-smorest's paging parameters (``page``, ``page_size``), described like every other parameter; and
    the ``lang`` every operation takes (the language of messages), documented on each."""

    LANG = {"in": "query", "name": "lang", "required": False,
            "schema": {"type": "string"}, "example": "en",
            "description": "提示信息的语言：zh 中文（默认）、en 英文，其他取值按中文；也可用 Accept-Language 头。结果中的名称与说明文字"
                           "（指标名、规则说明等）仍为方案所写的中文 (the language of messages: zh, the default, or en — any "
                           "other value is read as zh; or the Accept-Language header. Names and explanations inside results — indicator names, rule "
                           "texts — stay in the Chinese the scheme is written in)"}

    REPLAYED = {"description": "true：这是同一幂等键首次请求的应答（重发时原样返回，数字是首次请求时的）(true: the answer to the "
                               "first request with this Idempotency-Key, replayed as it was — its figures are from then)",
                "schema": {"type": "string", "enum": ["true"]}}

    WORDS = {
        "page": ("页码，从 1 开始 (page number, from 1)", 1),
        "page_size": ("每页条数，上限见 maximum (items per page; at most the maximum shown)", 50),
    }

    def operation_helper(self, path: str | None = None, operations: dict[str, Any] | None = None,
                         **kwargs: Any) -> None:
        for operation in (operations or {}).values():
            params = operation.setdefault("parameters", [])
            if not any(isinstance(p, dict) and p.get("name") == "lang" and p.get("in") == "query" for p in params):
                params.append(dict(self.LANG))
            for p in operation.get("parameters", ()):
                words = self.WORDS.get(str(p.get("name"))) if isinstance(p, dict) and p.get("in") == "query" else None
                if words is not None:
                    p.setdefault("description", words[0])
                    p.setdefault("example", words[1])
            if any(isinstance(p, dict) and p.get("name") == "Idempotency-Key" for p in operation.get("parameters", ())):
                # an answer replayed for a retry says so: its figures are those of the first request
                for code, response in (operation.get("responses") or {}).items():
                    if str(code).startswith("2") and isinstance(response, dict) and "$ref" not in response:
                        response.setdefault("headers", {}).setdefault("Idempotent-Replayed", dict(self.REPLAYED))


class RulesvcApi(Api):
    """flask-smorest's ``Api`` with this service's error handling and offline documentation pages."""

    ERROR_SCHEMA = errors.ErrorSchema

    def _register_error_handlers(self) -> None:
        # Not flask-smorest's handler (whole app, headers dropped): ours, scoped to /api/.
        errors.register_error_handlers(self._app)

    def _register_pagination_header(self) -> None:
        # X-Pagination is JSON. flask-smorest documents it as a bare object "schema", which OpenAPI
        # reads as the "simple" style (k,v,k,v): say "content: application/json" instead.
        self.spec.components.header(
            "PAGINATION",
            {
                "description": PAGINATION_HEADER["description"],
                "content": {"application/json": {"schema": PAGINATION_HEADER["schema"]}},
            },
            lazy=True,
        )

    def _openapi_swagger_ui(self) -> Response:
        ui_config = self.config.get("OPENAPI_SWAGGER_UI_CONFIG", {})
        return self._docs_page(SWAGGER_UI_PAGE, DOCS_CSP, ui_config=ui_config)

    def _openapi_redoc(self) -> Response:
        return self._docs_page(REDOC_PAGE, REDOC_CSP)

    def _docs_page(self, template: str, csp: str, **context: Any) -> Response:
        # The app's Jinja environment (autoescape, tojson) without its context processors: these pages
        # need no user, session or database.
        html = flask.current_app.jinja_env.from_string(template).render(
            title=self.spec.title,
            spec_url=url_for(f"{self._make_doc_blueprint_name()}.openapi_json"),
            asset=_asset_url,
            **context,
        )
        response = flask.make_response(html)
        response.headers["Content-Security-Policy"] = csp
        return response


def _asset_url(path: str) -> str:
    return url_for(f"{ASSETS_BLUEPRINT}.static", filename=path)


def init_api(app: Flask) -> RulesvcApi:
    """Mount the API blueprints under /api/v1, the docs under /api/docs and the JSON error envelope."""
    for key, value in API_SETTINGS.items():
        app.config.setdefault(key, copy.deepcopy(value))
    app.register_blueprint(
        flask.Blueprint(ASSETS_BLUEPRINT, __name__, static_folder="static", static_url_path=ASSETS_URL)
    )
    api = RulesvcApi(app, spec_kwargs={"extra_plugins": [PagingWords()]})
    register_unavailable(app)
    register_guard(app)
    for blp in BLUEPRINTS:
        csrf.exempt(blp)
        api.register_blueprint(blp, url_prefix=API_PREFIX + (blp.url_prefix or ""))

    def docs_home() -> Any:  # what the 404 envelope points to: the interactive documentation
        return flask.redirect(f"{DOCS_PREFIX}/{app.config['OPENAPI_SWAGGER_UI_PATH']}", 302)

    app.add_url_rule(DOCS_PREFIX, "api_docs_home", docs_home)
    app.add_url_rule(f"{DOCS_PREFIX}/", "api_docs_home_slash", docs_home)
    app.add_url_rule(f"{DOCS_PREFIX}/error-codes.json", "api_error_codes", error_codes)
    return api


def error_codes() -> Any:
    """Every ``error_code`` an answer may carry, with its message in Chinese and English as written (``{…}``: the
    fields filled in): the catalogue's (``rulesvc.catalogue``), then the generic ones of errors without a message of
    their own. Documentation, like the OpenAPI document: no key needed. An integrator met a dozen codes that
    neither the README nor the OpenAPI named (an audit)."""
    from rulesvc.catalogue import MESSAGES

    generic = {"not_found": ("没有找到", "Not found"), "conflict": ("与当前状态冲突", "Conflicts with the current state"),
               "forbidden": ("无权执行此操作", "Not allowed"), "invalid_input": ("输入有误", "Invalid input"),
               "not_evaluated": ("不参加考评", "Not evaluated"), "unavailable": ("服务暂不可用", "Unavailable"),
               "too_many_requests": ("请求过多", "Too many requests"), "bad_request": ("请求有误", "Bad request"),
               "import_rejected": ("导入被拒绝", "Import refused"), "csrf_failed": ("表单已过期，请重新提交", "Form expired")}
    codes: list[dict[str, Any]] = [{"code": c, "zh": zh, "en": en} for c, (zh, en) in sorted(MESSAGES.items())]
    codes += [{"code": c, "zh": zh, "en": en, "generic": True} for c, (zh, en) in generic.items() if c not in MESSAGES]
    response = flask.jsonify({"count": len(codes), "codes": codes})
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response
