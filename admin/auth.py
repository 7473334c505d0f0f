"""Signing in and out of the admin UI, and the language switch.

The login form is a Flask-WTF form, so the app-wide ``CSRFProtect`` checks its token. A failed login says
only "用户名或密码错误" (never which of the two was wrong). ``next`` is followed only to a local path.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, flash, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_admin import AdminIndexView, expose
from flask_babel import gettext, lazy_gettext
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import InputRequired, Length

from rulesvc.extensions import db, login_manager
from rulesvc.persistence.models import User
from rulesvc.services.users import authenticate, record_login

# The short codes of the language switch, and the locale each one selects (see rulesvc.select_locale).
LANGUAGES = {"zh": "zh_Hans_CN", "en": "en"}


class LoginForm(FlaskForm):
    """Username and password; the CSRF token comes from FlaskForm."""

    username = StringField(
        lazy_gettext("Username"),
        validators=[InputRequired(message=lazy_gettext("Please enter your username.")), Length(max=80)],
    )
    password = PasswordField(
        lazy_gettext("Password"),
        validators=[InputRequired(message=lazy_gettext("Please enter your password.")), Length(max=256)],
    )


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site (``/admin/…``), else ``None``.

    Rejects absolute URLs, scheme-relative ``//host`` and ``/\\host`` forms, and control characters.
    """
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    if any(ord(ch) < 32 or ch == "\\" for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def login_url_for_current_request() -> str:
    """The login page, with ``next`` pointing back at the page being asked for."""
    return url_for("admin.login_view", next=request.full_path.rstrip("?"))


def is_signed_in() -> bool:
    """Whether an active user is signed in."""
    return bool(current_user.is_authenticated and getattr(current_user, "is_active", False))


def load_user(user_id: str) -> User | None:
    """flask-login's user loader: the active user with this id whose password has not changed since
    the session began (see ``User.get_id``)."""
    ident, _, stamp = (user_id or "").partition(".")
    try:
        user = db.session.get(User, int(ident))
    except (TypeError, ValueError):
        return None
    if user is None or not user.is_active or not hmac.compare_digest(stamp, user.session_stamp):
        return None
    return user


def init_auth(app: Flask) -> None:
    """Register the user loader with flask-login."""
    login_manager.user_loader(load_user)


def _reset_session() -> None:
    # A fresh session on every sign-in and sign-out; only the language choice survives.
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


class AuthIndexView(AdminIndexView):
    """The admin's index view, plus login, logout and language switch (always reachable)."""

    @expose("/login/", methods=("GET", "POST"))
    def login_view(self) -> ResponseReturnValue:
        """Show the login form; on a valid username and password sign in and go to ``next``."""
        target = safe_next(request.args.get("next")) or url_for("admin.index")
        if is_signed_in():
            return redirect(target)
        form = LoginForm()
        error = None
        if form.validate_on_submit():
            user = authenticate(db.session, form.username.data or "", form.password.data or "")
            if user is None:
                error = gettext("Invalid username or password.")
            else:
                record_login(db.session, user)
                db.session.commit()
                _reset_session()
                login_user(user)
                current_app.logger.info("admin login: %s", user.username)
                return redirect(target)
        return self.render("admin/rulesvc_login.html", form=form, error=error)

    @expose("/logout/", methods=("POST",))
    def logout_view(self) -> ResponseReturnValue:
        """Sign out (POST with the CSRF token, so another site cannot do it) and show the login page."""
        logout_user()
        _reset_session()
        flash(gettext("You have signed out."), "info")
        return redirect(url_for("admin.login_view"))

    @expose("/lang/<code>/")
    def language_view(self, code: str) -> ResponseReturnValue:
        """Switch the UI language (``zh`` or ``en``) and go back to ``next`` (a local path)."""
        if code not in LANGUAGES:
            abort(404)
        session["lang"] = LANGUAGES[code]
        return redirect(safe_next(request.args.get("next")) or url_for("admin.index"))
