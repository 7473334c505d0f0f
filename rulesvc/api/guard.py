"""Before any view of the API sees a change request: who, then whether they may write at all, then
whether the body can be accepted — in that order, so a caller learns nothing they may not know.

1. No credentials → 401 (:func:`rulesvc.api.auth.authenticate`).
2. A caller who may not change anything (read, audit only) → 403 before the body is even parsed (not a
   422 that would describe the request format to someone who may not use it); asking for scores, the 403
   names the *score* permission.
3. The JSON body: at most :data:`rulesvc.schema.limits.MAX_BODY_BYTES` (413), sent as JSON (a body of
   another content type: 415), valid JSON without NaN or Infinity (a UTF-8 byte-order mark is dropped),
   nested at most :data:`~rulesvc.schema.limits.MAX_DEPTH` deep, without NUL characters (400 with the
   field). Checked on the raw body, before webargs parses it for the view.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from flask import Flask, Response, request

from rulesvc.api.errors import envelope
from rulesvc.catalogue import Msg, codes_in, msg, render
from rulesvc.schema.limits import MAX_BODY_BYTES, BodyError, parse_json_body, too_large
from rulesvc.services.governance.access import ACTION_LABELS, ACTION_LABELS_EN

API_PREFIX = "/api/v1/"
SCORING_PREFIX = "/api/v1/evaluations"  # POSTs that only score (the batch too)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
READ_ONLY_ACTIONS = frozenset({"read", "audit"})


def _refuse(status: int, message: Msg, problems: Mapping[str, Sequence[Msg | str]] | None = None) -> Response:
    response = envelope(status, {400: "bad_request", 403: "forbidden", 413: "request_entity_too_large",
                                 415: "unsupported_media_type"}[status],
                        render(message), render(problems or {}), error_code=message.code)
    if problems and codes_in(problems) != problems:  # catalogue messages: their codes too (as errors.py does)
        body = response.get_json()
        body["field_codes"] = codes_in(problems)
        from flask import jsonify

        response = jsonify(body)
        response.status_code = status
    return response


def register_guard(app: Flask) -> None:
    app.config.setdefault("MAX_CONTENT_LENGTH", MAX_BODY_BYTES * 4)  # werkzeug's own ceiling, for every form too

    @app.before_request
    def _guard_changes() -> Response | None:
        if request.method in SAFE_METHODS or not request.path.startswith(API_PREFIX):
            return None
        if request.routing_exception is not None:  # 404 / 405: routing answers, as for anyone
            return None
        from flask import current_app

        from rulesvc.api.auth import ApiBlueprint, authenticate

        if not isinstance(current_app.blueprints.get(request.blueprint or ""), ApiBlueprint):
            return None  # a public endpoint (none changes anything today)

        actor = authenticate()  # 401 first
        if not (actor.actions - READ_ONLY_ACTIONS) or "read" not in actor.actions:
            if request.path.startswith(SCORING_PREFIX) and "read" in actor.actions:
                # scoring is asked for with a POST but changes nothing: name the permission it needs
                return _refuse(403, msg("permission.action", action=ACTION_LABELS["score"],
                                        action_en=ACTION_LABELS_EN["score"], name=actor.said),
                               {"permission": ["score"]})  # as ``access.require`` names it
            return _refuse(403, msg("permission.read_only", name=actor.said))
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            return _refuse(413, too_large())
        if request.mimetype != "application/json" and not request.mimetype.endswith("+json"):
            # not JSON: every body this API reads is JSON; a body sent without the header (curl -d sends a
            # form) would otherwise read as "every field missing"
            if request.content_length or request.get_data(cache=True).strip():
                if not request.mimetype:
                    return _refuse(415, msg("request.no_content_type"))
                return _refuse(415, msg("request.not_json", mimetype=request.mimetype))
            return None
        raw = request.get_data(cache=True)
        if raw.startswith(b"\xef\xbb\xbf"):
            # UTF-8 with a byte-order mark (what .NET and Windows tools write): the same JSON without it.
            # Werkzeug keeps the body it read in ``_cached_data``; the views' parser reads that.
            raw = request._cached_data = raw[3:]
        if not raw.strip():
            return None
        try:
            parse_json_body(raw)
        except BodyError as exc:
            return _refuse(exc.status, exc.message, exc.problems)
        return None
