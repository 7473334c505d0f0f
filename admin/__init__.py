"""The Flask-Admin UI at /admin (Chinese by default, English switch), behind a login.

- ``auth``: login, logout, language switch, flask-login's user loader.
- ``views``: the read-only list views and the home page; ``formatting``: labels, cells, filter choices.
- ``designer``: the rule designer's pages (方案: the schemes, one version read as a document).
- ``manage_*``: the administration pages (导入 and the datasets, 审计日志, 用户, API 密钥, under 系统管理),
  the home page's 待办, and the error pages of the whole admin (``manage_common``).
- ``templates/``: the base (navbar with the language switch), login and home pages.
- ``translations/``: the project catalog (English msgids; ``zh_Hans_CN`` and ``en``), see the README.

Every asset comes from Flask-Admin's bundled static files or ``static/`` (ours and the vendored htmx and
ECharts): no CDN, no web fonts. Inline scripts run only
with the request's Content-Security-Policy nonce (``rulesvc.security``).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme
from flask_babel import lazy_gettext

from admin.auth import init_auth
from admin.formatting import is_english, zone_label
from rulesvc.security import csp_nonce

# Registered for its template folder (admin/templates), so Flask finds our pages, and for our static
# files under /admin/assets/ (designer.css; vendor/: htmx and ECharts, see admin/static/vendor/VENDORED.md).
_templates = Blueprint("rulesvc_admin_templates", __name__, template_folder="templates", static_folder="static",
                       static_url_path="/admin/assets")


def init_admin(app: Flask) -> None:
    """Mount the admin views behind the login (a new ``Admin`` and new views for every app)."""
    from admin.designer import SchemesView
    from admin.manage_audit import AuditView
    from admin.manage_common import install_error_pages
    from admin.manage_import import ImportView
    from admin.manage_keys import ApiKeysView
    from admin.manage_users import UsersView
    from admin.results_views import ResultsView
    from admin.views import HomeView, model_views

    init_auth(app)
    app.register_blueprint(_templates)

    @app.context_processor
    def _admin_language() -> dict[str, Any]:
        return {"rulesvc_ui_english": is_english, "zone_label": zone_label}

    @app.template_filter("total")
    def _total(x: Any, digits: int = 2) -> str:
        """A total as every page writes it: rounded half up on its decimal (88.725 → 88.73); None is a dash."""
        from rulesvc.engine.scoring import fmt_total

        return "—" if x is None else fmt_total(float(x), digits)

    @app.template_filter("reason")
    def _reason(text: Any) -> str:
        """A stored grade or participation reason in the page's language (the engine stores Chinese)."""
        from rulesvc.services.results_words import said

        return said(str(text or ""), "en" if is_english() else "zh")

    @app.template_filter("person")
    def _person(name: Any) -> str:
        """A stored sign-in name as people know it: 李设计（county1）; anything else (a key, the system) as stored."""
        from flask import g
        from sqlalchemy import select

        from rulesvc.extensions import db
        from rulesvc.persistence.models import User

        if not name:
            return ""
        people = g.get("rulesvc_people")
        if people is None:
            people = g.rulesvc_people = {u: d for u, d in db.session.execute(
                select(User.username, User.display_name)).all() if d}
        shown = people.get(str(name))
        if not shown or shown == name:
            return str(name)
        return f"{shown} ({name})" if is_english() else f"{shown}（{name}）"

    admin = Admin(
        name=lazy_gettext("Evaluation rules"),
        theme=Bootstrap4Theme(swatch="default", fluid=True, base_template="admin/rulesvc_base.html"),
        index_view=HomeView(name=lazy_gettext("Home"), endpoint="admin", url="/admin"),
        # Flask-Admin's <script> tags carry the request's CSP nonce (see rulesvc.security).
        csp_nonce_generator=csp_nonce,
    )
    admin.add_view(SchemesView(name=lazy_gettext("Schemes"), endpoint="admin_schemes", url="/admin/schemes"))
    admin.add_view(ResultsView(name=lazy_gettext("Results"), endpoint="admin_results", url="/admin/results"))
    admin.add_views(*model_views())
    manage = lazy_gettext("System")
    admin.add_view(ImportView(name=lazy_gettext("Import data"), endpoint="admin_import", url="/admin/import",
                              category=manage))
    admin.add_view(AuditView(name=lazy_gettext("Audit log"), endpoint="admin_audit", url="/admin/audit",
                             category=manage))
    admin.add_view(UsersView(name=lazy_gettext("Users"), endpoint="admin_users", url="/admin/users", category=manage))
    admin.add_view(ApiKeysView(name=lazy_gettext("API keys"), endpoint="admin_apikeys", url="/admin/apikeys",
                               category=manage))
    admin.init_app(app)
    install_error_pages(app, admin)
