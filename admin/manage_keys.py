"""Page 12c, API 密钥: create a key for another system (shown once, with a warning), the keys of one's tree by
their prefix, and revoking one.

Thin: :func:`rulesvc.services.governance.apikeys.create_key` and ``revoke_key`` with the person's actor — the
service checks *manage_keys* on every procuratorate of the key and writes the audit record — and
:func:`~rulesvc.services.governance.keylist.list_api_keys`, of which the page shows the keys whose every
procuratorate is in the person's tree (those they may revoke). The key itself exists in clear only in the
answer to the creation (``Cache-Control: no-store``); afterwards only its prefix is ever shown.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_admin import expose
from flask_babel import gettext
from sqlalchemy import select

from admin.formatting import is_english
from admin.manage_common import ManageView, actor, timer
from admin.manage_users import field_errors
from rulesvc.errors import InvalidInput, RulesvcError
from rulesvc.extensions import db
from rulesvc.persistence.models import Procuratorate, User
from rulesvc.services import localtime
from rulesvc.services.governance.access import ACTION_LABELS, ACTION_LABELS_EN, KEY_PERMISSIONS, Actor
from rulesvc.services.governance.apikeys import create_key, revoke_key
from rulesvc.services.governance.keylist import list_api_keys


class ApiKeysView(ManageView):
    """API 密钥 (``/admin/apikeys/``)."""

    def allowed(self, person: Actor) -> bool:
        return person.may("manage_keys")

    @expose("/", methods=("GET", "POST"))
    def index(self) -> ResponseReturnValue:
        """The keys and the form; POST creates one and shows it once."""
        started = timer()
        person = actor()
        if not self.allowed(person):
            return self.forbidden(gettext("Only administrators may manage API keys."))
        form: dict[str, Any] = {"name": "", "procuratorates": [], "permissions": ["read"], "expires": "", "owner": ""}
        errors: dict[str, str] = {}
        created = None
        if request.method == "POST":
            form = {"name": (request.form.get("name") or "").strip(),
                    "procuratorates": request.form.getlist("procuratorates"),
                    "permissions": request.form.getlist("permissions"),
                    "expires": (request.form.get("expires") or "").strip(), "owner": (request.form.get("owner") or "").strip()}
            expires_at, errors = _expiry(form["expires"])
            if not errors:
                try:
                    key, token = create_key(db.session(), person, name=form["name"], procuratorates=form["procuratorates"],
                                            permissions=form["permissions"], expires_at=expires_at,
                                            owner=form["owner"] or None)
                    db.session.commit()
                except RulesvcError as exc:
                    db.session.rollback()
                    errors = field_errors(exc) if isinstance(exc, InvalidInput) else {"form": exc.message}
                else:
                    created = {"name": key.name, "prefix": key.prefix, "token": token}
                    form = {"name": "", "procuratorates": [], "permissions": ["read"], "expires": "", "owner": ""}
        html, status, headers = self._page(
            "admin/manage/keys.html", started=started, status=422 if errors else 200, keys=self._keys(person),
            form=form, errors=errors, created=created, orgs=self._orgs(person), owners=self._owners(person),
            permissions=[(p, ACTION_LABELS_EN[p] if is_english() else ACTION_LABELS[p]) for p in KEY_PERMISSIONS])
        return html, status, {**headers, "Cache-Control": "no-store"}

    @expose("/<prefix>/revoke/", methods=("POST",))
    def revoke(self, prefix: str) -> ResponseReturnValue:
        person = actor()
        if not self.allowed(person):
            return self.forbidden(gettext("Only administrators may manage API keys."))
        try:
            key = revoke_key(db.session(), person, prefix[:20])
            db.session.commit()
        except RulesvcError as exc:
            db.session.rollback()
            if exc.code == "not_found":
                return self.not_found()
            return self.forbidden(exc.message)
        flash(gettext("API key %(name)s (%(prefix)s…) is revoked: it no longer works.", name=key.name,
                      prefix=key.prefix), "success")
        return redirect(url_for(".index"))

    # -- the person's tree --------------------------------------------------------------------------------

    @staticmethod
    def _keys(person: Actor) -> list[dict[str, Any]]:
        keys = list_api_keys(db.session())
        ids = dict(db.session.execute(select(Procuratorate.code, Procuratorate.id)).all())
        names = dict(db.session.execute(select(Procuratorate.code, Procuratorate.name)).all())
        out = []
        for k in reversed(keys):
            if all(code in ids and person.in_scope(ids[code]) for code in k["procuratorates"]):
                through = (dt.datetime.fromisoformat(k["expires_at"]) - dt.timedelta(days=1)).date().isoformat() \
                    if k["expires_at"] else None
                out.append({**k, "procuratorate_names": [names.get(c, c) for c in k["procuratorates"]],
                            "valid_through": through})
        return out

    @staticmethod
    def _orgs(person: Actor) -> list[tuple[str, str]]:
        stmt = select(Procuratorate.id, Procuratorate.code, Procuratorate.name).order_by(Procuratorate.code)
        return [(code, f"{code} {name}") for i, code, name in db.session.execute(stmt) if person.in_scope(i)]

    @staticmethod
    def _owners(person: Actor) -> list[tuple[str, str]]:
        """Whom a key may act for: the person signed in (a person's key is their own; the server's operator
        issues keys for others)."""
        rows = db.session.execute(select(User.username, User.display_name)
                                  .where(User.is_active.is_(True), User.username == person.name))
        return [(u, f"{u}（{d}）" if d else u) for u, d in rows]


def _expiry(text: str) -> tuple[dt.datetime | None, dict[str, str]]:
    """Valid through the given day (UTC), as ``rulesvc apikeys create --expires`` reads it."""
    if not text:
        return None, {}
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        return None, {"expires": gettext("A date, e.g. 2027-12-31.")}
    if day < localtime.today():
        return None, {"expires": gettext("The date has passed.")}
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC), {}
