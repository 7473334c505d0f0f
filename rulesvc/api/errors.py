"""The one place where errors become HTTP responses.

Every error under ``/api/`` is answered with the same JSON envelope::

    {"code": 404, "status": "not_found", "error_code": "not_found.scheme", "message": "…", "errors": {…}}

- ``code``: the HTTP status code;
- ``status``: a stable machine-readable name — the domain error's ``code`` (``not_found``,
  ``import_rejected``…) or the snake-cased HTTP reason (``method_not_allowed``,
  ``unprocessable_entity``…);
- ``error_code``: the stable code of the message in :mod:`rulesvc.catalogue` (``version.four_eyes``,
  ``dataset.ids_exist``…), or ``status`` where there is none;
- ``message``: a sentence in the request's language (Chinese unless the caller asks for English);
- ``errors``: field-level details (``{"query": {"level": ["…"]}}`` for request validation, the bad
  rows for an import), ``{}`` when there are none.

Outside ``/api/`` (the admin UI, ``/``) werkzeug's HTML error pages are kept. flask-smorest would
otherwise turn every HTTP error of the whole app into JSON and drop werkzeug's headers (``Allow`` on a
405): :class:`rulesvc.api.RulesvcApi` disables its handler and :func:`register_error_handlers` installs
these instead.
"""

from __future__ import annotations

import http
import re
from typing import Any

import marshmallow as ma
from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException, InternalServerError, default_exceptions

from rulesvc.catalogue import codes_in, current_language, msg
from rulesvc.errors import (
    Conflict,
    ImportRejected,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RulesvcError,
    TooBusy,
    Unavailable,
)
from rulesvc.schema.messages import code_of, translate

API_PATH_PREFIX = "/api/"

# Domain error class -> HTTP status. Subclasses inherit their parent's status (looked up along the MRO);
# a RulesvcError with no entry here is a 400.
DOMAIN_STATUS: dict[type[RulesvcError], int] = {
    NotFound: 404,
    Conflict: 409,
    PermissionDenied: 403,
    InvalidInput: 422,
    ImportRejected: 400,
    Unavailable: 503,
    TooBusy: 429,
    RulesvcError: 400,
}

# All a 500 ever says: never the exception, its message or a traceback (those go to the log).
INTERNAL_ERROR_MESSAGE = "服务器内部错误，已记录 (Internal server error; it has been logged)"


class ErrorSchema(ma.Schema):
    """The JSON error envelope (documentation only: responses are built by :func:`envelope`)."""

    code = ma.fields.Integer(required=True, metadata={"description": "HTTP status code"})
    error_code = ma.fields.String(
        required=True,
        metadata={"description": "Stable code of the message, e.g. version.four_eyes: every code with its Chinese and "
                                 "English message is listed at /api/docs/error-codes.json (错误代码一览)"},
    )
    status = ma.fields.String(
        required=True,
        metadata={"description": "Machine-readable error name, e.g. not_found, unprocessable_entity"},
    )
    message = ma.fields.String(required=True, metadata={"description": "Human-readable message"})
    field_codes = ma.fields.Raw(
        metadata={"description": "The codes of the field messages in errors, same shape: the catalogue's, or for a "
                                 "request schema's refusals the kind (field.required, field.unknown, field.repeated, field.type, "
                                 "field.out_of_range, field.length, field.one_of, field.invalid…)"},
    )
    errors = ma.fields.Raw(
        required=True,
        metadata={
            "description": "Field-level details: {location: {field: [messages]}} for request validation, "
            "a list of rows for a rejected import, {} when there are none",
        },
    )


def is_api_request() -> bool:
    """Whether the current request is for the HTTP API (and so gets JSON errors)."""
    return request.path == API_PATH_PREFIX.rstrip("/") or request.path.startswith(API_PATH_PREFIX)


def status_for(error: RulesvcError) -> int:
    """The HTTP status of a domain error (its own class or the nearest mapped ancestor)."""
    for cls in type(error).__mro__:
        if cls in DOMAIN_STATUS:
            return DOMAIN_STATUS[cls]
    return 400


def http_status_name(code: int) -> str:
    """``405`` → ``method_not_allowed``; unknown codes → ``http_<code>``."""
    try:
        phrase = http.HTTPStatus(code).phrase
    except ValueError:
        return f"http_{code}"
    return phrase.lower().replace(" ", "_").replace("-", "_").replace("'", "")


def envelope(code: int, status: str, message: str, errors: Any = None, *, error_code: str | None = None) -> Response:
    """Build the JSON error response."""
    response = jsonify({"code": code, "status": status, "error_code": error_code or status, "message": message,
                        "errors": errors or {}})
    response.status_code = code
    return response


_ENGLISH_TAIL = re.compile(r"\s+\(([^()]*)\)$")


def _in_language(value: Any, lang: str) -> Any:
    """A request schema's field messages in the reader's language only: marshmallow's English ones in Chinese
    (:func:`rulesvc.schema.messages.translate`) for a Chinese reader; our own "中文 (English)" ones cut to
    the half that reader reads."""
    if isinstance(value, str):
        if value.isascii():
            return value if lang == "en" else _ENGLISH_TAIL.sub("", translate(value))
        tail = _ENGLISH_TAIL.search(value)
        if tail is None or not tail.group(1).isascii():
            return value
        return tail.group(1) if lang == "en" else value[:tail.start()]
    if isinstance(value, dict):
        return {k: _in_language(v, lang) for k, v in value.items()}
    if isinstance(value, list):
        return [_in_language(v, lang) for v in value]
    return value


# werkzeug's own refusals (no such URL, method not allowed …), in the reader's language.
HTTP_MESSAGES = {404: "request.no_such_url", 405: "request.method_not_allowed"}


def handle_http_exception(error: HTTPException) -> HTTPException | Response:
    """werkzeug/flask-smorest/webargs HTTP errors: the envelope under /api/, werkzeug's page elsewhere."""
    if not is_api_request() or error.code is None:
        return error
    if error.response is not None:  # abort(response): the caller built the response already
        return error.response  # type: ignore[return-value]  # werkzeug types it as its sansio base
    code = error.code
    data: dict[str, Any] = getattr(error, "data", None) or {}
    codes = None  # a request schema's field codes
    if code >= 500:
        message = INTERNAL_ERROR_MESSAGE if code == 500 else (error.description or error.name)
        errors: Any = None
    else:
        message = data.get("message") or error.description or error.name
        if not data.get("message") and code in HTTP_MESSAGES and error.description == type(error).description:
            message = msg(HTTP_MESSAGES[code]).render()  # werkzeug's stock English sentence: ours instead
        # webargs puts validation errors in "messages"; flask-smorest's abort(errors=...) in "errors".
        errors = data.get("errors", data.get("messages"))
        if code == 422 and "messages" in data:  # the request schema's own refusals: in the reader's language
            message = msg("request.invalid").render()
            codes = codes_in(errors, code_of)  # before translating: the codes are read off marshmallow's words
            errors = _in_language(errors, current_language())
    response = envelope(code, http_status_name(code), message, errors)
    if codes is not None:
        body = response.get_json()
        body["field_codes"] = codes
        response = jsonify(body)
        response.status_code = code
    # Keep werkzeug's headers (Allow on 405, WWW-Authenticate on 401, Retry-After…) but not its
    # HTML content type.
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    for name, value in (data.get("headers") or {}).items():
        response.headers[name] = value
    return response


def handle_domain_error(error: RulesvcError) -> HTTPException | Response:
    """Domain errors: the envelope under /api/; elsewhere the matching werkzeug error page."""
    code = status_for(error)
    if not is_api_request():
        return default_exceptions.get(code, InternalServerError)(description=error.message)
    response = envelope(code, error.code, error.message, error.rendered_errors(), error_code=error.error_code)
    codes = codes_in(error.errors)
    if codes != error.errors:  # field messages from the catalogue: their codes too, for machines
        body = response.get_json()
        body["field_codes"] = codes
        response = jsonify(body)
        response.status_code = code
    if "current" not in error.details and "reload_version_id" in error.details:
        error.details["current"] = _current_version(error.details["reload_version_id"])
    if "current" in error.details:  # a 409 carries the current state, so the client can reload and redo
        body = response.get_json()
        body["current"] = error.details["current"]
        response = jsonify(body)
        response.status_code = code
    if code == 503:
        response.headers["Retry-After"] = str(error.details.get("retry_after", 30))
    return response


def _current_version(version_id: int) -> Any:
    """A version as it is now, read after the failed unit of work was rolled back (a concurrent save
    won: the 409 shows what it saved)."""
    from rulesvc.extensions import db
    from rulesvc.persistence.models import SchemeVersion
    from rulesvc.services.governance.versions import view

    db.session.rollback()
    v = db.session.get(SchemeVersion, version_id)
    return view(v) if v is not None else None


def register_error_handlers(app: Flask) -> None:
    """Install the handlers on ``app``.

    Unexpected exceptions need no handler of their own: Flask logs them with their traceback, then
    hands an ``InternalServerError`` to :func:`handle_http_exception`, which answers with a generic
    500 envelope. (With ``PROPAGATE_EXCEPTIONS``, as under ``TESTING``, they are re-raised instead.)
    """
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(RulesvcError, handle_domain_error)
