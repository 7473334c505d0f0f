"""Signing in and out of the admin UI, and the language switch.

The login form is a Flask-WTF form, so the app-wide ``CSRFProtect`` checks its token. A failed login says
only "用户名或密码错误" (never which of the two was wrong). ``next`` is followed only to a local path.
Failed sign-ins are throttled (:mod:`admin.throttle`): a locked name or address gets 429 with
``Retry-After`` and says when to try again. Signing in opens a server-side session and signing out
ends it (:mod:`rulesvc.websession`); a page asked for with an ended session says so on the login page.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, abort, current_app, flash, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_admin import AdminIndexView, expose
from flask_babel import gettext, lazy_gettext
from flask_login import current_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import InputRequired, Length

from admin.formatting import is_english
from admin.throttle import Lock, LoginThrottle
from rulesvc import websession
from rulesvc.catalogue import msg
from rulesvc.extensions import db, login_manager
from rulesvc.services.users import authenticate, normalise_username, record_login

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
    """The login page, with ``next`` pointing back at the page being asked for. When the request's
    session has just ended (signed out elsewhere, timed out, new password), the login page says so."""
    if websession.ended_reason() not in (None, "unknown"):
        flash(ui_message("auth.session_ended"), "warning")
    return url_for("admin.login_view", next=request.full_path.rstrip("?"))


def ui_message(code: str, **fields: object) -> str:
    """A catalogue message in the admin UI's language (the language switch, not Accept-Language)."""
    return msg(code, **fields).render("en" if is_english() else "zh")


def is_signed_in() -> bool:
    """Whether an active user is signed in."""
    return bool(current_user.is_authenticated and getattr(current_user, "is_active", False))


def init_auth(app: Flask) -> None:
    """Register the user loader (a live server-side session, see :mod:`rulesvc.websession`)."""
    login_manager.user_loader(websession.load_user)


def _reset_session() -> None:
    # A fresh session on sign-out; only the language choice survives.
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
            username = normalise_username(form.username.data or "")
            ip, client = websession.client_of_request()
            throttle = LoginThrottle()
            lock = throttle.locked(username, ip)
            if lock is None:
                user = authenticate(db.session(), username, form.password.data or "")
                if user is not None:
                    throttle.succeeded(username)
                    record_login(db.session(), user)
                    websession.begin(user)  # commits
                    current_app.logger.info("admin login: %s", user.username)
                    return redirect(target)
                lock = throttle.failed(username, ip, client=client)
                error = gettext("Invalid username or password.")
            if lock is not None:
                return self._locked(form, lock)
        return self.render("admin/rulesvc_login.html", form=form, error=error)

    def _locked(self, form: LoginForm, lock: Lock) -> ResponseReturnValue:
        """429 with Retry-After: the login page again (the user name kept), saying when to retry."""
        error = ui_message("auth.too_many_attempts", minutes=lock.minutes)
        html = self.render("admin/rulesvc_login.html", form=form, error=error)
        return html, 429, {"Retry-After": str(lock.seconds)}

    @expose("/logout/", methods=("POST",))
    def logout_view(self) -> ResponseReturnValue:
        """Sign out (POST with the CSRF token, so another site cannot do it) and show the login page.
        The server-side session ends: a copy of the cookie no longer signs anyone in."""
        websession.end()
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
