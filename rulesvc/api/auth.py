"""Who is calling the API: an :class:`~rulesvc.services.governance.access.Actor` for every request.

Two ways in, checked in this order:

1. an API key (for other systems) in ``Authorization: Bearer rsk_…`` or ``X-API-Key: rsk_…``. A header
   that is present but holds no valid key (unknown, revoked, expired, another scheme) is a 401: never a
   silent fall-back to the session;
2. the session cookie of a person signed in at ``/admin/login/`` (flask-login), while its server-side
   session is live (:mod:`rulesvc.websession`: not signed out, no new password, not deactivated, idle
   and absolute timeouts not passed). A cookie whose session has ended is a 401 with ``error_code``
   ``auth.session_ended``: a copy saved before sign-out reads nothing and changes nothing. The API blueprints are
   exempt from the app-wide CSRF check (API clients send no form), so a cookie-authenticated request
   that changes state (POST, PUT, PATCH, DELETE) must carry the CSRF token in an ``X-CSRFToken`` header
   itself; without a valid one it is refused (403 ``csrf_failed``). A browser never adds the key
   headers on its own, so key requests need no token.

No credentials at all: 401 with ``WWW-Authenticate: Bearer``. The caller's address and ``User-Agent``
go into the actor, and from there into the audit log.

Views never check permissions: the services do, with the actor. Blueprints whose views all need a
caller are :class:`ApiBlueprint`: it authenticates before the view (before the arguments are parsed, so
an anonymous caller learns nothing from validation errors) and documents the 401 and the security
schemes. ``GET /api/v1/me`` says who the caller is — for other systems, a way to test their key.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, NoReturn, TypeVar

import flask
import marshmallow as ma
from flask import current_app, g, request, url_for
from flask_login import current_user
from flask_smorest import Blueprint
from flask_wtf.csrf import validate_csrf
from sqlalchemy import select
from wtforms.validators import ValidationError

from rulesvc import websession
from rulesvc.api.errors import ErrorSchema, envelope
from rulesvc.catalogue import Msg, msg
from rulesvc.errors import PermissionDenied
from rulesvc.extensions import db
from rulesvc.persistence.models import Procuratorate, User
from rulesvc.services.governance.access import ACTIONS, Actor, actor_for_user
from rulesvc.services.governance.apikeys import actor_for_token

F = TypeVar("F", bound=Callable[..., Any])

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADERS = ("X-CSRFToken", "X-CSRF-Token")
CLIENT_MAX_CHARS = 200
CHALLENGE = 'Bearer realm="rulesvc"'
_G_KEY = "rulesvc_actor"

# OpenAPI security schemes (any one of them will do).
SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "apiKeyBearer": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "rsk_<prefix>_<secret>",
        "description": "API 密钥 (API key): `Authorization: Bearer rsk_…`",
    },
    "apiKeyHeader": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "API 密钥的另一种写法 (the API key in its own header)",
    },
    "session": {
        "type": "apiKey",
        "in": "cookie",
        "name": "session",
        "description": "在 /admin/login/ 登录后的会话；修改类请求另须 X-CSRFToken 头 "
        "(session of a person signed in at /admin/login/; POST/PUT/PATCH/DELETE also need an X-CSRFToken header)",
    },
}
SECURITY: list[dict[str, list[str]]] = [{name: []} for name in SECURITY_SCHEMES]

UNAUTHORIZED_DOC = {
    "schema": ErrorSchema,
    "description": "未认证：缺少或无效的 API 密钥，且未登录 (no valid API key and no signed-in session)",
    "headers": {
        "WWW-Authenticate": {"description": "`Bearer` challenge (RFC 6750)", "schema": {"type": "string"}},
    },
}


class CsrfFailed(PermissionDenied):
    """A cookie-authenticated change without a valid CSRF token."""

    code = "csrf_failed"


def _unauthorized(message: Msg, *, invalid_token: bool = False) -> NoReturn:
    challenge = CHALLENGE + (', error="invalid_token"' if invalid_token else "")
    response = envelope(401, "unauthorized", message.render(), error_code=message.code)
    response.headers["WWW-Authenticate"] = challenge
    flask.abort(response)


def _token_from_headers() -> str | None:
    """The API key sent, ``""`` for a key header that holds none — or two key headers that differ (every key
    header present must hold the key: a bad one is never passed over for a good one) — ``None`` when no key
    header is present."""
    authorization = request.headers.get("Authorization")
    bearer = None
    if authorization is not None:
        scheme, _, value = authorization.strip().partition(" ")
        bearer = value.strip() if scheme.lower() == "bearer" else ""
    header = request.headers.get("X-API-Key")
    keyed = header.strip() if header is not None else None
    if bearer is not None and keyed is not None and bearer != keyed:
        return ""
    return bearer if bearer is not None else keyed


def _signed_in_user() -> User | None:
    user = current_user._get_current_object()
    if isinstance(user, User) and user.is_authenticated and user.is_active:
        return user
    return None


def _check_csrf() -> None:
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return
    token = next((request.headers[h] for h in CSRF_HEADERS if request.headers.get(h)), None)
    try:
        validate_csrf(token)
    except ValidationError as exc:  # flask-wtf says why in English: the caller reads it in their language
        why = str(exc)
        code = ("auth.csrf_missing" if "missing" in why else "auth.csrf_expired" if "expired" in why
                else "auth.csrf_invalid")
        raise CsrfFailed(msg("auth.csrf_required"), errors={"X-CSRFToken": [msg(code)]}) from None


def authenticate() -> Actor:
    """The actor of the current request (computed once per request), or a 401/403 error."""
    cached = g.get(_G_KEY)
    if cached is not None:
        return cached
    ip = (request.remote_addr or "")[:64]
    client = (request.user_agent.string or "")[:CLIENT_MAX_CHARS]
    token = _token_from_headers()
    if token is not None:
        actor = actor_for_token(db.session(), token, ip=ip, client=client) if token else None
        if actor is None:
            two = request.headers.get("Authorization") is not None and request.headers.get("X-API-Key") is not None
            _unauthorized(msg("auth.two_keys" if two and not token else "auth.invalid_key"), invalid_token=True)
    else:
        user = _signed_in_user()
        if user is None:
            ended = websession.ended_reason()
            _unauthorized(msg("auth.session_ended") if ended not in (None, "unknown") else msg("auth.required"))
        if request.method not in SAFE_METHODS:
            _check_csrf()
        actor = actor_for_user(db.session(), user, ip=ip, client=client)
    assert actor is not None
    setattr(g, _G_KEY, actor)
    return actor


def current_actor() -> Actor:
    """The caller of the current request: for views (authenticating now if not done yet)."""
    return authenticate()


def _authenticate_request() -> None:
    # CORS preflights carry no credentials; they are answered without any data.
    if request.method != "OPTIONS":
        authenticate()


def transactional(func: F) -> F:
    """Commit after a successful view; roll back (and re-raise) on any error. Services only flush."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            result = func(*args, **kwargs)
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
        return result

    return wrapper  # type: ignore[return-value]


def located(body: Any, endpoint: str, **values: Any) -> tuple[Any, dict[str, str]]:
    """A created resource's answer with its address in ``Location`` (a 201 or 202, as HTTP has it): where
    to read it again, or to follow a run's progress."""
    return body, {"Location": url_for(endpoint, **values)}


def location_doc(zh: str, en: str, example: str) -> dict[str, Any]:
    """The ``Location`` header of a 201/202 for the OpenAPI document: what it leads to, and an example."""
    return {"Location": {"description": f"{zh} ({en})", "schema": {"type": "string", "example": example}}}


class ApiBlueprint(Blueprint):
    """A flask-smorest blueprint whose every view needs an authenticated caller.

    It authenticates before each request and documents, on every operation, the security schemes and
    the 401 answer."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.before_request(_authenticate_request)

    def route(self, rule: str, *, parameters: Any = None, tags: Any = None, **options: Any) -> Callable[[F], F]:
        register = super().route(rule, parameters=parameters, tags=tags, **options)

        def decorator(func: F) -> F:
            func = self.alt_response(401, **UNAUTHORIZED_DOC)(func)
            func = self.doc(security=SECURITY)(func)
            return register(func)

        return decorator

    def register_views_in_doc(self, api: Any, app: Any, spec: Any, *, name: str, parameters: Any) -> None:
        for scheme_name, scheme in SECURITY_SCHEMES.items():
            if scheme_name not in spec.components.security_schemes:
                spec.components.security_scheme(scheme_name, scheme)
        super().register_views_in_doc(api, app, spec, name=name, parameters=parameters)


# -- GET /me -----------------------------------------------------------------------------------------

blp = ApiBlueprint("me", __name__, url_prefix="/me", description="当前调用者 (Who is calling)")


class ScopeSchema(ma.Schema):
    """The procuratorates the caller acts for: the roots and every one below them."""

    all = ma.fields.Boolean(required=True, metadata={"description": "全部检察院 (every procuratorate)"})
    count = ma.fields.Integer(required=True, metadata={"description": "范围内的检察院数 (procuratorates in scope)"})
    roots = ma.fields.List(
        ma.fields.String(), required=True,
        metadata={"description": "范围的最上级检察院代码 (codes of the topmost procuratorates in scope)"},
    )


class MeSchema(ma.Schema):
    """Who the caller is and what it may do."""

    name = ma.fields.String(required=True, metadata={"description": "用户名或密钥名 (username or key name)"})
    kind = ma.fields.String(
        required=True, validate=ma.validate.OneOf(["user", "key"]),
        metadata={"description": "user：登录的人；key：API 密钥 (a signed-in person or an API key)"},
    )
    ref = ma.fields.String(required=True, metadata={"description": "user:<id> / key:<id>, as in the audit log"})
    role = ma.fields.String(
        required=True, allow_none=True, metadata={"description": "人员的角色；密钥为 null (a person's role)"},
    )
    actions = ma.fields.List(
        ma.fields.String(validate=ma.validate.OneOf(ACTIONS)), required=True,
        metadata={"description": "可做的操作 (permitted actions)"},
    )
    scope = ma.fields.Nested(ScopeSchema, required=True)


def _scope(actor: Actor) -> dict[str, Any]:
    rows = db.session.execute(select(Procuratorate.id, Procuratorate.code, Procuratorate.parent_id)).all()
    if actor.scope is None:
        return {"all": True, "count": len(rows), "roots": sorted(r.code for r in rows if r.parent_id is None)}
    inside = [r for r in rows if r.id in actor.scope]
    roots = sorted(r.code for r in inside if r.parent_id not in actor.scope)
    return {"all": False, "count": len(inside), "roots": roots}


@blp.route("")
@blp.response(200, MeSchema)
@transactional
def me() -> dict[str, Any]:
    """当前调用者：名称、身份类型、角色、权限与所辖检察院 (the caller: name, kind, role, actions, scope).

    Useful to test an API key: a valid key answers 200, anything else 401.
    """
    actor = current_actor()
    return {
        "name": actor.name,
        "kind": "key" if actor.ref.startswith("key:") else "user",
        "ref": actor.ref,
        "role": actor.role,
        "actions": [a for a in ACTIONS if a in actor.actions],
        "scope": _scope(actor),
    }
