"""The rule designer's pages (issue 12): 方案 — the schemes a person may see, with their versions and
history — and one version read as a document.

Views are thin: they build the signed-in person's actor exactly as the API does
(:func:`~rulesvc.services.governance.access.actor_for_user`) and call :mod:`rulesvc.services.designer`,
which reads through the versions service. What the API answers "not found" is a 404 here too (a page in the
UI's language): a county never learns that another county's draft exists. Each page logs its server-side time (``X-Render-Ms``).
"""

from __future__ import annotations

import time
from typing import Any

from flask import current_app, redirect
from flask.typing import ResponseReturnValue
from flask_admin import BaseView, expose
from flask_login import current_user
from sqlalchemy import select

from admin.auth import is_signed_in, login_url_for_current_request
from admin.designer_edit import EditViews
from admin.designer_impact import ImpactViews
from admin.designer_items import ItemViews
from admin.designer_simulation import SimulationViews
from admin.designer_workflow import WorkflowViews
from admin.formatting import format_date, is_english
from rulesvc.errors import NotFound
from rulesvc.extensions import db
from rulesvc.persistence import lifecycle
from rulesvc.persistence.models import Procuratorate
from rulesvc.services import designer, localtime
from rulesvc.services.dictionary import get_dictionary
from rulesvc.services.governance.access import Actor, actor_for_user
from rulesvc.websession import client_of_request

STATUS_BADGES = {"draft": "secondary", "in_review": "warning", "approved": "info", "active": "success",
                 "retired": "light"}
ORIGIN_BADGES = {"inherited": "light", "changed": "warning", "disabled": "warning", "local": "primary",
                 "removed": "danger"}


def _actor() -> Actor:
    ip, client = client_of_request()
    return actor_for_user(db.session(), current_user._get_current_object(), ip=ip, client=client)


def _lang() -> str:
    return "en" if is_english() else "zh"


class SchemesView(EditViews, ItemViews, ImpactViews, WorkflowViews, SimulationViews, BaseView):
    """方案: the list of schemes and, under it, one version of a scheme."""

    def is_accessible(self) -> bool:
        """Signed-in users; what each sees is the versions service's business."""
        return is_signed_in()

    def inaccessible_callback(self, name: Any, **kwargs: Any) -> ResponseReturnValue:
        """Anonymous users go to the login page (and come back)."""
        return redirect(login_url_for_current_request())

    def _page(self, template: str, **context: Any) -> tuple[str, int, dict[str, str]]:
        started = context.pop("started")
        html = self.render(template, status_badges=STATUS_BADGES, origin_badges=ORIGIN_BADGES, when=format_date,
                           **context)
        ms = (time.perf_counter() - started) * 1000
        current_app.logger.debug("designer page %s rendered in %.1f ms", template, ms)
        return html, 200, {"X-Render-Ms": f"{ms:.1f}"}

    @expose("/")
    def index(self) -> ResponseReturnValue:
        """Page 1: the schemes the person may see, with versions, statuses, the one in force and history."""
        started = time.perf_counter()
        actor = _actor()
        cards = designer.scheme_cards(db.session(), actor, lang=_lang())
        may_edit = actor.may("edit")
        may_localize = may_edit and current_user.procuratorate_id is not None  # for whom, else
        return self._page("admin/designer/schemes.html", cards=cards, may_edit=may_edit, may_localize=may_localize,
                          localizes_units=_has_units_below(), started=started)

    @expose("/<code>/<int:number>/")
    def version(self, code: str, number: int) -> ResponseReturnValue:
        """Page 2: one version as a readable document (404 when the person may not see it)."""
        started = time.perf_counter()
        if len(code) > 64:
            return self._not_found()
        dictionary = get_dictionary(current_app.config["RULES_DIR"])
        actor = _actor()
        try:
            doc = designer.version_document(db.session(), actor, code, number, dictionary, lang=_lang())
        except NotFound:
            return self._not_found()
        v = doc.version
        own = actor.in_scope(v.scheme.procuratorate_id)
        may_edit = actor.may("edit")
        return self._page("admin/designer/version.html", doc=doc, started=started, today=localtime.today(),
                          can_edit=may_edit and own and lifecycle.is_editable(v.status),
                          can_localize=may_edit and current_user.procuratorate_id is not None and not own
                          and lifecycle.is_published(v.status)
                          and (v.scheme.subject_kind == "prosecutor" or _has_units_below()))

    def _not_found(self) -> ResponseReturnValue:
        """404 in the page's language and style; the same whether the version is missing or invisible."""
        return self.render("admin/designer/not_found.html"), 404


def _has_units_below() -> bool:
    """Whether the person's procuratorate has procuratorates below it: only then is a scheme that evaluates
    procuratorates theirs to localize (a county localizes the prosecutors' scheme, not the one ranking it)."""
    pid = current_user.procuratorate_id
    return pid is not None and db.session.scalar(
        select(Procuratorate.id).where(Procuratorate.parent_id == pid).limit(1)) is not None
