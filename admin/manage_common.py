"""What the administration pages share (issue 12, pages 11–13): the base view, the page timer, the 403/404
pages, the error pages of the whole admin (/admin/…) and Flask-Admin's stock words said our way.

- :class:`ManageView` — a signed-in page group: builds the person's actor as the designer's pages do
  (:func:`admin.designer._actor`), renders with ``X-Render-Ms``, answers 403/404 with the designer's pages.
- :func:`install_error_pages` — 403, 404, 405 and 500 under /admin/ in the UI's language and style; other
  paths (the API's JSON envelope) keep their handlers.
- :data:`STOCK_WORDS` and :func:`stock_gettext` — Flask-Admin's own strings that read stiffly in Chinese
  ("添加筛选器", "50 项目") replaced by ours for the list pages.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, redirect, request
from flask.typing import ResponseReturnValue
from flask_admin import Admin, BaseView
from flask_admin import babel as admin_babel
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException, InternalServerError

from admin.auth import is_signed_in, login_url_for_current_request
from admin.formatting import format_date, is_english
from rulesvc.services.governance.access import Actor

# Flask-Admin's words we say otherwise (our catalog holds the Chinese of each msgid; English stays as is).
STOCK_WORDS = {
    "Add Filter": _l("Add Filter"),
    "Reset Filters": _l("Reset Filters"),
    "Apply": _l("Apply"),
    "List": _l("List"),
    "There are no items in the table.": _l("There are no items in the table."),
}


def stock_gettext(string: str, **variables: Any) -> str:
    """Flask-Admin's ``_gettext`` with our words for :data:`STOCK_WORDS` (in Chinese), else its own."""
    if string in STOCK_WORDS and not is_english():
        return str(STOCK_WORDS[string]) % variables if variables else str(STOCK_WORDS[string])
    return admin_babel.gettext(string, **variables)


def actor() -> Actor:
    """The signed-in person's actor, built as every admin page builds it."""
    from admin.designer import _actor

    return _actor()


def lang() -> str:
    return "en" if is_english() else "zh"


class ManageView(BaseView):
    """A page group of the administration pages: signed-in people only; each page says who may use it."""

    def is_accessible(self) -> bool:
        return is_signed_in()

    def inaccessible_callback(self, name: Any, **kwargs: Any) -> ResponseReturnValue:
        """Anonymous people go to the login page (and come back)."""
        return redirect(login_url_for_current_request())

    def allowed(self, person: Actor) -> bool:
        """Whether ``person`` may use this page group (its menu entry shows only then)."""
        return True

    def is_visible(self) -> bool:
        return is_signed_in() and self.allowed(actor())

    def _page(self, template: str, *, started: float, status: int = 200,
              **context: Any) -> tuple[str, int, dict[str, str]]:
        html = self.render(template, when=format_date, **context)
        ms = (time.perf_counter() - started) * 1000
        return html, status, {"X-Render-Ms": f"{ms:.1f}"}

    def forbidden(self, message: str | None = None) -> ResponseReturnValue:
        """403 in the UI's language and style."""
        return self.render("admin/manage/error.html", code=403,
                           message=message or gettext("You may not use this page.")), 403

    def not_found(self) -> ResponseReturnValue:
        return self.render("admin/manage/error.html", code=404, message=gettext("There is no such page.")), 404


ERROR_WORDS: dict[int, Callable[[], str]] = {
    403: lambda: gettext("You may not use this page."),
    404: lambda: gettext("There is no such page."),
    405: lambda: gettext("This page cannot be used that way."),
    500: lambda: gettext("Something went wrong on the server. The error has been logged; please try again later."),
}


def install_error_pages(app: Flask, admin: Admin) -> None:
    """403/404/405/500 under /admin/ as pages of the admin (its navbar, the UI's language); elsewhere the
    handlers already installed (the API's JSON envelope, werkzeug's page) answer as before."""
    previous = app.error_handler_spec.get(None, {}).get(None, {}).get(HTTPException)

    def page(error: HTTPException) -> Any:
        if not request.path.startswith("/admin/") or error.code not in ERROR_WORDS:
            return previous(error) if previous is not None else error
        code = error.code or 500
        try:
            html = admin.index_view.render("admin/manage/error.html", code=code, message=ERROR_WORDS[code]())
        except Exception:  # the page itself failed (e.g. the database is down): werkzeug's plain page
            current_app.logger.exception("admin error page %s failed", code)
            return error
        return html, code

    for code in (403, 404, 405):
        app.register_error_handler(code, page)
    app.register_error_handler(InternalServerError, page)


def timer() -> float:
    return time.perf_counter()
