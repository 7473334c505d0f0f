"""Page 12b, 用户: administrators create accounts (with a role and a procuratorate), change the role, the
procuratorate or the name, set a new password (at least 12 characters) and deactivate or activate an account.

Thin: every read and change is :mod:`rulesvc.services.users` with the signed-in person's actor — the same
functions as ``rulesvc users …`` with the same rules (a designer, reviewer or viewer belongs to a procuratorate;
the last active administrator keeps the role; a new password or a deactivation ends every session of the
person), the same permission rule and the same audit records. The service decides who may: administrators only
(403 here for anyone else), each within their tree — an administrator of a city sees and manages the accounts of
the city and its counties (another account is not found: 404), may give only those procuratorates, and only an
administrator of the whole province (no procuratorate) may create or manage an account without one. The page
reads the form (the procuratorate's id, the two passwords alike) and shows the service's answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_admin import expose
from flask_babel import gettext
from sqlalchemy import select

from admin.formatting import ROLE_LABELS_EN, is_english, role_label
from admin.manage_common import ManageView, actor, lang, timer
from rulesvc.errors import InvalidInput, NotFound, PermissionDenied, RulesvcError
from rulesvc.extensions import db
from rulesvc.persistence.models import ROLE_LABELS, ROLES, Procuratorate, User
from rulesvc.services import users as users_service
from rulesvc.services.designer_edit import one_language
from rulesvc.services.governance.access import Actor

NO_PROCURATORATE = "province"


def _role_choices() -> list[tuple[str, str]]:
    return [(r, ROLE_LABELS_EN[r] if is_english() else ROLE_LABELS[r]) for r in ROLES]


@dataclass(frozen=True)
class _Account:
    person: Actor
    user: User


class UsersView(ManageView):
    """用户 (``/admin/users/``)."""

    def allowed(self, person: Actor) -> bool:
        """The menu entry, and the 403 before a form is read: the service's rule (it refuses anyone else)."""
        return users_service.may_manage_users(person)

    # -- reading ------------------------------------------------------------------------------------------

    @expose("/")
    def index(self) -> ResponseReturnValue:
        started = timer()
        person = actor()
        if not self.allowed(person):
            return self.forbidden(gettext("Only administrators may manage users."))
        try:
            shown = users_service.list_users(db.session(), person)
        except PermissionDenied:
            return self.forbidden(gettext("Only administrators may manage users."))
        return self._page("admin/manage/users.html", started=started, users=shown, role_label=role_label,
                          may_province=person.scope is None)

    @expose("/new/", methods=("GET", "POST"))
    def create(self) -> ResponseReturnValue:
        started = timer()
        person = actor()
        if not self.allowed(person):
            return self.forbidden(gettext("Only administrators may manage users."))
        form = {k: (request.form.get(k) or "").strip() for k in ("username", "display_name", "role", "procuratorate")}
        errors: dict[str, str] = {}
        if request.method == "POST":
            org, errors = _procuratorate(form["procuratorate"])
            password = request.form.get("password") or ""
            if password != (request.form.get("password2") or ""):
                errors["password2"] = gettext("The two passwords differ.")
            if not errors:
                try:
                    user = users_service.create_user(db.session(), form["username"], password, role=form["role"],
                                                     display_name=form["display_name"], procuratorate_id=org,
                                                     actor=person)
                    db.session.commit()
                except PermissionDenied:
                    db.session.rollback()
                    return self.forbidden(gettext("Only administrators may manage users."))
                except InvalidInput as exc:
                    db.session.rollback()
                    errors = field_errors(exc)
                else:
                    flash(gettext("User %(name)s created.", name=user.username), "success")
                    return redirect(url_for(".index"))
        return self._page("admin/manage/user_new.html", started=started, status=422 if errors else 200, form=form,
                          errors=errors, roles=_role_choices(), orgs=self._orgs(person),
                          may_province=person.scope is None)

    @expose("/<username>/", methods=("GET", "POST"))
    def edit(self, username: str) -> ResponseReturnValue:
        """The account: role, procuratorate and name (POST saves them); a new password; deactivate/activate."""
        started = timer()
        found = self._account(username)
        if not isinstance(found, _Account):
            return found
        person, user = found.person, found.user
        errors: dict[str, str] = {}
        form = {"display_name": user.display_name or "", "role": user.role,
                "procuratorate": str(user.procuratorate_id) if user.procuratorate_id else NO_PROCURATORATE}
        if request.method == "POST":
            form = {k: (request.form.get(k) or "").strip() for k in ("display_name", "role", "procuratorate")}
            org, errors = _procuratorate(form["procuratorate"])
            if not errors:
                try:
                    _, changed = users_service.update_user(db.session(), user.username, role=form["role"],
                                                           procuratorate_id=org, display_name=form["display_name"],
                                                           actor=person)
                    db.session.commit()
                except RulesvcError as exc:
                    db.session.rollback()
                    errors = field_errors(exc)
                else:
                    flash(gettext("User %(name)s saved.", name=user.username) if changed
                          else gettext("Nothing changed."), "success" if changed else "info")
                    return redirect(url_for(".edit", username=user.username))
        return self._edit_page(started, person, user, form=form, errors=errors)

    def _edit_page(self, started: float, person: Actor, user: User, *, status: int | None = None,
                   **context: Any) -> ResponseReturnValue:
        context.setdefault("errors", {})
        context.setdefault("form", {"display_name": user.display_name or "", "role": user.role,
                                    "procuratorate": str(user.procuratorate_id) if user.procuratorate_id
                                    else NO_PROCURATORATE})
        context.setdefault("password_errors", {})
        bad = context["errors"] or context["password_errors"]
        return self._page("admin/manage/user_edit.html", started=started, status=status or (422 if bad else 200),
                          user=user, roles=_role_choices(), orgs=self._orgs(person), role_label=role_label,
                          may_province=person.scope is None, me=user.id == _current_id(), **context)

    # -- changing -----------------------------------------------------------------------------------------

    @expose("/<username>/password/", methods=("POST",))
    def password(self, username: str) -> ResponseReturnValue:
        started = timer()
        found = self._account(username)
        if not isinstance(found, _Account):
            return found
        person, user = found.person, found.user
        password = request.form.get("password") or ""
        errors: dict[str, str] = {}
        if password != (request.form.get("password2") or ""):
            errors["password2"] = gettext("The two passwords differ.")
        else:
            try:
                users_service.set_password(db.session(), user.username, password, actor=person)
                db.session.commit()
            except RulesvcError as exc:
                db.session.rollback()
                errors = field_errors(exc)
        if errors:
            return self._edit_page(started, person, user, password_errors=errors)
        if user.id == _current_id():  # one's own new password ends one's own session too
            return redirect(url_for("admin.login_view"))
        flash(gettext("The password of %(name)s is set; their sessions have ended.", name=user.username), "success")
        return redirect(url_for(".edit", username=user.username))

    @expose("/<username>/active/", methods=("POST",))
    def active(self, username: str) -> ResponseReturnValue:
        """停用 (``active=0``: sign-in refused, sessions end now) or 启用 (``active=1``)."""
        started = timer()
        found = self._account(username)
        if not isinstance(found, _Account):
            return found
        person, user = found.person, found.user
        activate = request.form.get("active") == "1"
        try:
            if activate:
                users_service.activate_user(db.session(), user.username, actor=person)
            else:
                users_service.deactivate_user(db.session(), user.username, actor=person)
            db.session.commit()
        except RulesvcError as exc:
            db.session.rollback()
            return self._edit_page(started, person, user, status=409, active_error=exc.message)
        flash(gettext("User %(name)s can sign in again.", name=user.username) if activate
              else gettext("User %(name)s is deactivated: they can no longer sign in.", name=user.username), "success")
        return redirect(url_for(".edit", username=user.username))

    def _account(self, username: str) -> _Account | ResponseReturnValue:
        """The signed-in administrator and the account they asked for; else the page that says why not (403
        for anyone but an administrator, 404 for an account outside their tree or none at all)."""
        person = actor()
        if not self.allowed(person):
            return self.forbidden(gettext("Only administrators may manage users."))
        user = _user(person, username)
        return _Account(person, user) if user is not None else self.not_found()

    # -- the person's tree: what the form offers (the service decides what may be given) ------------------

    @staticmethod
    def _orgs(person: Actor) -> list[tuple[int, str]]:
        stmt = select(Procuratorate.id, Procuratorate.code, Procuratorate.name).order_by(Procuratorate.code)
        return [(i, f"{code} {name}") for i, code, name in db.session.execute(stmt) if person.in_scope(i)]


def _user(person: Actor, username: str) -> User | None:
    """The account, if the person may manage it (the service: one of their tree), else ``None`` (404)."""
    try:
        return users_service.get_user(db.session(), username[:80], person)
    except (NotFound, PermissionDenied):
        return None


def _procuratorate(value: str) -> tuple[int | None, dict[str, str]]:
    """The form's procuratorate: an id, or ``None`` (none: the whole province); whether the person may give it
    is the service's to say."""
    if value in ("", NO_PROCURATORATE):
        return None, {}
    if not value.isdigit() or len(value) > 18:
        return None, {"procuratorate": gettext("Choose a procuratorate.")}
    return int(value), {}


def _current_id() -> int | None:
    from flask_login import current_user

    return getattr(current_user, "id", None)


def field_errors(exc: RulesvcError) -> dict[str, str]:
    """The service's field messages in the UI's language."""
    rendered = exc.rendered_errors(lang())
    out: dict[str, str] = {}
    if isinstance(rendered, dict):
        for name, text in rendered.items():
            text = "；".join(map(str, text)) if isinstance(text, list) else str(text)
            out[str(name)] = one_language(text, lang())
    if not out:
        out["form"] = str(exc.message)
    return out
