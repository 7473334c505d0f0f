"""``Idempotency-Key`` on the API's POST calls: a retry gets the first answer, not a second effect.

Modelled on Stripe's idempotency keys and the IETF draft "The Idempotency-Key HTTP Header Field"::

    @blp.route("", methods=["POST"])
    @blp.arguments(RequestSchema)
    @blp.response(200, ResultSchema)
    @_guarded(blp)
    @idempotent                      # beneath the blueprint's decorators, above ``@transactional``
    @transactional
    def create(args): ...

What a caller gets:

- no header: nothing changes;
- a new key: the view runs and its answer is kept for :data:`KEY_TTL` (24 hours) — 2xx answers and the
  4xx ones that describe the request (400, 404, 422 …), not 401, 403, 409 or 429 (they depend on the
  moment, not on the request) and never a 5xx, so a failed call can be retried;
- the same key again, with the same method, path, query string and body (and the same choice of JSON
  Lines in ``Accept``): the kept answer, byte for byte (status, body, content type, ``Location`` …), with
  ``Idempotent-Replayed: true``; a streamed answer (JSON Lines) is not kept: its retry runs again;
- the same key with another request: 422 ``idempotency.key_reused`` (a client bug: never run it) — and a
  request is another one when the caller's procuratorates or permissions changed since (a replay must not
  hand back what they may no longer read);
- the same key while the first request is still running: 409 ``idempotency.in_progress`` with
  ``Retry-After``;
- a key that is not 1–255 printable ASCII characters: 400 ``idempotency.key_invalid`` on the header.

Keys are per caller (``key:<id>`` for an API key, ``user:<id>`` for a signed-in person): two callers
never see each other's answers. A request the blueprint refuses before the view (401, 403 for a
read-only caller, a body that is not JSON, 422 from the request schema) keeps no key — as Stripe, only
requests that started executing do. The language of a kept answer is that of the first request.

Why the answer is written where it is (the order of writes decides what a crash can leave behind):

1. The key is *claimed* first, in a transaction of its own that is committed before the view runs
   (``state = in_progress``), so a concurrent retry sees it and is told 409 instead of running twice.
2. The view's work and the answer commit **together** by default (``atomic=True``): while the view
   runs, commits of the request's session (``@transactional``'s) only flush; once flask-smorest has
   turned the result into the response, the row becomes ``done`` with those bytes and the one real
   commit makes both durable. A crash before it leaves no effect and the claim still ``in_progress``;
   a crash after it leaves both. "done" without the effect cannot happen. If that final commit fails,
   the caller gets a 500 and the key is released.
3. A view that must commit part of its work *before* it answers cannot be held back — ``POST
   /simulations`` commits the run so the worker can read it, then queues the job. It is marked
   ``@idempotent(atomic=False)``: the answer is written in a second transaction right after the work.
   "done" still never precedes the effect; a crash between the two leaves the claim ``in_progress``.

A claim left ``in_progress`` by a process that died is taken over by a retry after
:data:`IN_PROGRESS_TIMEOUT`; the request then runs again. With ``atomic=True`` nothing of the first
attempt was committed; with ``atomic=False`` the view must be safe to repeat by itself (asking for a
simulation is: the same inputs return the same run).

Expired keys are treated as absent and pruned :data:`PRUNE_BATCH` at a time whenever a key is claimed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar, cast, overload

import flask
from flask import Response, request
from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from rulesvc.api.auth import current_actor
from rulesvc.api.errors import INTERNAL_ERROR_MESSAGE, ErrorSchema, envelope, handle_domain_error
from rulesvc.catalogue import msg
from rulesvc.errors import Conflict, InvalidInput, RulesvcError
from rulesvc.extensions import db
from rulesvc.persistence.models import IdempotencyKey, utcnow

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
KEY_TTL = dt.timedelta(hours=24)
IN_PROGRESS_TIMEOUT = dt.timedelta(minutes=5)
RETRY_AFTER_SECONDS = 2
PRUNE_BATCH = 500
# Answers worth keeping: 2xx, and 4xx other than these (they say "not now", not "not this").
NOT_KEPT = frozenset({401, 403, 409, 429})
# Headers of an answer that belong to it and are replayed with it (never Set-Cookie or the like).
KEPT_HEADERS = ("Location", "Content-Location", "Content-Disposition", "ETag", "Link", "X-Pagination")
# Printable ASCII, no space at either end (HTTP would strip it, silently making another key).
KEY_PATTERN = r"^[\x21-\x7E]([\x20-\x7E]{0,253}[\x21-\x7E])?$"

HEADER_DOC: dict[str, Any] = {
    "in": "header",
    "name": HEADER,
    "required": False,
    "description": "幂等键（可选）：同一调用者 24 小时内以同一键重发同一请求，返回首次的应答（逐字节相同，并带 "
    "`Idempotent-Replayed: true` 头），不会重复执行；同一键用于不同请求得 422 `idempotency.key_reused`，首次请求尚未"
    "完成时得 409 `idempotency.in_progress`（见 Retry-After）。1–255 个可打印 ASCII 字符，建议用 UUID。"
    " (Optional. Retrying the same request with the same key within 24 hours returns the first answer, byte for "
    "byte, with `Idempotent-Replayed: true`, instead of running it again; the same key with another request is 422 "
    "`idempotency.key_reused`; while the first is still running, 409 `idempotency.in_progress` with Retry-After. "
    "Keys are per caller: 1–255 printable ASCII characters, a UUID is best.)",
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": KEY_PATTERN},
    "example": "8e03978e-40d5-43e8-bc93-6894a57f9324",
}
IN_PROGRESS_DOC: dict[str, Any] = {
    "schema": ErrorSchema(),
    "description": "同一幂等键的首次请求仍在处理中，请稍后重试 (the first request with this Idempotency-Key is still "
    "running: retry later)",
    "headers": {"Retry-After": {"description": "秒 (seconds)", "schema": {"type": "integer"}}},
    "content_type": None,
}


class IdempotencyKeyInvalid(RulesvcError):
    """The ``Idempotency-Key`` header is empty, too long or not printable ASCII (HTTP 400)."""

    code = "bad_request"


class IdempotencyKeyReused(InvalidInput):
    """The key was used before, by the same caller, for another request (HTTP 422)."""


class IdempotencyInProgress(Conflict):
    """The first request with this key has not answered yet (HTTP 409, with ``Retry-After``)."""


@dataclass(frozen=True)
class _Request:
    caller: str
    key: str
    method: str
    path: str
    fingerprint: str


JSON_LINES = "application/x-ndjson"  # a batch answered as a stream (never kept)


def _header_key() -> str | None:
    raw = request.headers.get(HEADER)
    if raw is None:
        return None
    value = raw.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':  # the draft's structured-field form: "…"
        value = value[1:-1]
    if not value or len(value) > MAX_KEY_LENGTH or not all(" " <= ch <= "~" for ch in value):
        raise IdempotencyKeyInvalid(msg("idempotency.key_invalid"), errors={
            "headers": {HEADER: [msg("idempotency.key_format", limit=MAX_KEY_LENGTH)]}})
    return value


def _body() -> bytes:
    """The body as part of what makes "the same request": a JSON body by its content — the same object written
    with its keys in another order or other spacing is the same request (a retry serialised by another library
    must not read as another request, 422) — else its bytes. The two forms are tagged apart. The API's guard has
    already refused a body that is not strict JSON (repeated keys, NaN, too deep: ``rulesvc.api.guard``), so one
    body has one content."""
    data = request.get_data(cache=True)
    if request.is_json and data.strip():
        try:
            canonical = json.dumps(json.loads(data), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
            return b"J" + canonical.encode()
        except (ValueError, RecursionError):  # cannot happen past the guard; the bytes, then
            pass
    return b"B" + data


def _describe(key: str) -> _Request:
    actor = current_actor()
    digest = hashlib.sha256()
    # What the caller may see and do is part of the request: a replay after their procuratorate or permissions
    # changed would hand back what they may no longer read (a review moved a reviewer to another county and
    # still read the old county's card by its key) — it is "another request" now (422), never a replay.
    scope = "*" if actor.scope is None else ",".join(map(str, sorted(actor.scope)))
    digest.update(f"{scope}|{','.join(sorted(actor.actions))}\0".encode())
    digest.update(request.query_string)
    digest.update(b"\0")  # never in a query string: "a=1" + "" and "a=" + "1…" stay apart
    digest.update(_body())
    if JSON_LINES in (request.headers.get("Accept") or ""):  # the same body answered as another format
        digest.update(b"\0" + JSON_LINES.encode())
    return _Request(caller=actor.ref, key=key, method=request.method, path=request.path[:500],
                    fingerprint=digest.hexdigest())


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)  # SQLite keeps no zone


def _prune(session: Session, now: dt.datetime) -> None:
    """Delete at most :data:`PRUNE_BATCH` expired keys (rows locked by another pruner are skipped)."""
    oldest = (select(IdempotencyKey.id).where(IdempotencyKey.created_at < now - KEY_TTL)
              .order_by(IdempotencyKey.id).limit(PRUNE_BATCH).with_for_update(skip_locked=True))
    session.execute(delete(IdempotencyKey).where(IdempotencyKey.id.in_(oldest.scalar_subquery())),
                    execution_options={"synchronize_session": False})


def _insert(session: Session, req: _Request, now: dt.datetime) -> bool:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(IdempotencyKey).values(
        caller=req.caller, key=req.key, method=req.method, path=req.path, request_hash=req.fingerprint,
        state="in_progress", created_at=now,
    ).on_conflict_do_nothing(index_elements=["caller", "key"]).returning(IdempotencyKey.id)
    # RETURNING, not rowcount: on PostgreSQL a conflict skipped this way still counted as a row
    return session.execute(statement).first() is not None


def _claim(session: Session, req: _Request) -> tuple[int | None, IdempotencyKey | None]:
    """``(row id, None)``: the key is ours, run the view; ``(None, row)``: replay this finished row.
    Raises :class:`IdempotencyKeyReused` or :class:`IdempotencyInProgress`. Commits."""
    for _ in range(3):  # a row expiring or released between our statements: look again
        now = utcnow()
        _prune(session, now)
        inserted = _insert(session, req, now)
        session.commit()
        row = session.execute(select(IdempotencyKey).where(
            IdempotencyKey.caller == req.caller, IdempotencyKey.key == req.key)).scalar_one_or_none()
        if row is None:
            continue
        if inserted:
            return row.id, None
        created = _aware(row.created_at)
        if created <= now - KEY_TTL:  # expired, not pruned yet: as if absent
            session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == row.id,
                                                         IdempotencyKey.created_at == row.created_at))
            session.commit()
            continue
        if (row.method, row.path, row.request_hash) != (req.method, req.path, req.fingerprint):
            session.rollback()
            raise IdempotencyKeyReused(msg("idempotency.key_reused"), errors={
                "headers": {HEADER: [msg("idempotency.key_used_for", method=row.method, path=row.path)]}})
        if row.state == "done":
            return None, row
        if created > now - IN_PROGRESS_TIMEOUT:
            session.rollback()
            raise IdempotencyInProgress(msg("idempotency.in_progress", seconds=RETRY_AFTER_SECONDS))
        # Left in progress by a process that died: take it over (one taker wins).
        taken = cast(CursorResult[Any], session.execute(update(IdempotencyKey).where(
            IdempotencyKey.id == row.id, IdempotencyKey.state == "in_progress",
            IdempotencyKey.created_at == row.created_at).values(created_at=now)))
        session.commit()
        if taken.rowcount:
            return row.id, None
    raise IdempotencyInProgress(msg("idempotency.in_progress", seconds=RETRY_AFTER_SECONDS))


def _replay(row: IdempotencyKey) -> Response:
    response = Response(row.response_body or b"", status=row.status_code or 200, content_type=row.content_type)
    for name, value in (row.response_headers or {}).items():
        response.headers[name] = value
    response.headers[REPLAYED_HEADER] = "true"
    return response


def _keeps(response: Response) -> bool:
    code = response.status_code
    return (200 <= code < 300 or (400 <= code < 500 and code not in NOT_KEPT)) and not response.is_streamed


def _release(session: Session, row_id: int) -> None:
    """Forget the claim, so the request can be sent again."""
    session.rollback()
    session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == row_id, IdempotencyKey.state == "in_progress"))
    session.commit()


def _record(session: Session, row_id: int, response: Response) -> Response:
    """After flask-smorest built the response: keep it (and commit the view's held work with it), or
    release the key. Runs first of the after-request hooks."""
    try:
        if not _keeps(response):
            _release(session, row_id)
            return response
        headers = {name: response.headers[name] for name in KEPT_HEADERS if name in response.headers}
        session.execute(update(IdempotencyKey).where(IdempotencyKey.id == row_id).values(
            state="done", status_code=response.status_code, response_body=response.get_data(),
            content_type=response.content_type, response_headers=headers or None))
        session.commit()
        return response
    except Exception:
        log.exception("idempotency: the answer to %s %s could not be committed", request.method, request.path)
        try:
            _release(session, row_id)
        except Exception:  # the claim then lapses after IN_PROGRESS_TIMEOUT
            log.exception("idempotency: the key could not be released")
        return envelope(500, "internal_server_error", INTERNAL_ERROR_MESSAGE)


def _refusal(error: RulesvcError) -> Response:
    response = handle_domain_error(error)
    assert isinstance(response, Response)  # under /api/: always the envelope
    if isinstance(error, IdempotencyInProgress):
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _run(func: Callable[..., Any], args: Any, kwargs: Any, *, atomic: bool) -> Any:
    key = _header_key()  # an invalid header: raised here, answered 400 by the error handlers
    if key is None:
        return func(*args, **kwargs)
    req = _describe(key)
    session = db.session()
    try:
        row_id, done = _claim(session, req)
    except (IdempotencyKeyReused, IdempotencyInProgress) as error:
        return _refusal(error)
    if done is not None:
        return _replay(done)
    assert row_id is not None
    flask.after_this_request(lambda response: _record(session, row_id, response))
    held = atomic
    if held:  # the view's commits only flush: _record commits its work together with the answer
        session.commit = session.flush  # type: ignore[method-assign]
    try:
        return func(*args, **kwargs)
    except (RulesvcError, HTTPException):
        raise  # answered by the error handlers; _record decides whether to keep the answer
    except BaseException:
        # A 500. Under PROPAGATE_EXCEPTIONS (tests) no after-request hook runs: release the key now.
        if held:
            del session.commit
            held = False
        _release(session, row_id)
        raise
    finally:
        if held:
            del session.commit


@overload
def idempotent(func: F, /) -> F: ...
@overload
def idempotent(*, atomic: bool = True) -> Callable[[F], F]: ...


def idempotent(func: Any = None, /, *, atomic: bool = True) -> Any:
    """Honour ``Idempotency-Key`` on a POST view (see the module docstring) and document the header.

    ``atomic=False`` for a view that commits part of its work before answering (its answer is then
    written right after it, in a transaction of its own)."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return _run(view, args, kwargs, atomic=atomic)

        apidoc = dict(getattr(wrapper, "_apidoc", {}))
        arguments = dict(apidoc.get("arguments", {}))
        arguments["parameters"] = [HEADER_DOC, *arguments.get("parameters", [])]
        apidoc["arguments"] = arguments
        response = dict(apidoc.get("response", {}))
        responses = dict(response.get("responses", {}))
        responses[409] = [*responses.get(409, []), dict(IN_PROGRESS_DOC)]
        response["responses"] = responses
        apidoc["response"] = response
        wrapper._apidoc = apidoc  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate(func) if func is not None else decorate
