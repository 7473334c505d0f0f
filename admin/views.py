"""Read-only list views of the reference data, the data dictionary, datasets and events, and the home page.
(The accounts are managed on their own page, :mod:`admin.manage_users`.)

Every view is a declaration (columns, labels, search, filters, formatters); code lives only in hooks.
Nothing can be created, edited or deleted here: those URLs answer 404.

**Scoped by the user's tree**, with the rule the API uses (:func:`~rulesvc.services.governance.access.
actor_for_user`): a person sees their procuratorate and those below it; an administrator without a
procuratorate sees the province; anyone else without one sees nothing. Each view names the condition
that scopes its rows (:meth:`ReadOnlyView.scope_condition`); it applies to the list, its count, one
record (``get_one``: another county's prosecutor is "not found"), the home page's counts and the
filters' choices. The data dictionary is province-wide reference data: everyone sees all of it.
"""

from __future__ import annotations

import time
from typing import Any

from flask import abort, current_app, g, redirect
from flask.typing import ResponseReturnValue
from flask_admin import expose
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla.filters import BooleanEqualFilter, DateBetweenFilter
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import and_, exists, false, func, or_, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import selectinload

from admin import formatting as fmt
from admin.auth import AuthIndexView, is_signed_in, login_url_for_current_request
from admin.manage_common import stock_gettext
from admin.manage_home import attention
from rulesvc.extensions import db
from rulesvc.persistence.models import (
    LEVEL_LABELS,
    LEVELS,
    QUOTA_LABELS,
    QUOTA_STATUSES,
    BusinessLine,
    Dataset,
    DatasetWithdrawal,
    Department,
    Event,
    EventType,
    Procuratorate,
    Prosecutor,
)
from rulesvc.services import facts, localtime
from rulesvc.services.dictionary import get_dictionary
from rulesvc.services.governance.access import actor_for_user
from rulesvc.websession import client_of_request

# -- the signed-in user's tree -----------------------------------------------------------------------------


def user_scope() -> frozenset[int] | None:
    """The procuratorate ids the signed-in user may see (theirs and those below), ``None`` for all of
    them; read once per request. A scope that holds every procuratorate is ``None`` too (no filter)."""
    if "rulesvc_admin_scope" not in g:
        scope: frozenset[int] | None = frozenset()
        if is_signed_in():
            scope = actor_for_user(db.session(), current_user._get_current_object()).scope
            if scope is not None and len(scope) == db.session.scalar(select(func.count()).select_from(Procuratorate)):
                scope = None
        g.rulesvc_admin_scope = scope
    return g.rulesvc_admin_scope


def in_scope(column: Any) -> Any:
    """``column IN (the user's procuratorates)``, or ``None`` when the user sees them all."""
    scope = user_scope()
    if scope is None:
        return None
    return column.in_(sorted(scope)) if scope else false()


def dataset_in_scope() -> Any:
    """Reference datasets (the directory) for everyone; an event dataset for those it holds events of."""
    events = in_scope(Event.procuratorate_id)
    if events is None:
        return None
    return or_(Dataset.kind == "reference", exists().where(Event.dataset_id == Dataset.id, events))


def scoped(stmt: Any, condition: Any) -> Any:
    return stmt if condition is None else stmt.where(condition)


# -- choices of the filters (read when the page renders) -------------------------------------------------


def procuratorate_choices() -> list[tuple[int, str]]:
    """The user's procuratorates, by code."""
    stmt = select(Procuratorate.id, Procuratorate.name).order_by(Procuratorate.code)
    return list(db.session.execute(scoped(stmt, in_scope(Procuratorate.id))).all())


def parent_choices() -> list[tuple[int, str]]:
    """The user's procuratorates that can have children (province and city level)."""
    stmt = select(Procuratorate.id, Procuratorate.name).where(Procuratorate.level != "county").order_by(Procuratorate.code)
    return list(db.session.execute(scoped(stmt, in_scope(Procuratorate.id))).all())


def business_choices() -> list[tuple[str, str]]:
    """The ten businesses, in their order."""
    rows = db.session.execute(select(BusinessLine.code, BusinessLine.name, BusinessLine.name_en).order_by(BusinessLine.sort))
    return [(code, fmt.pick(name, name_en)) for code, name, name_en in rows]


def line_choices() -> list[tuple[str, str]]:
    """The four lines of work."""
    codes = db.session.scalars(select(BusinessLine.line).distinct().order_by(BusinessLine.line))
    return [(code, fmt.line_label(code)) for code in codes]


def event_type_choices() -> list[tuple[str, str]]:
    """Every event type of the dictionary."""
    rows = db.session.execute(select(EventType.code, EventType.name, EventType.name_en).order_by(EventType.code))
    return [(code, fmt.pick(name, name_en)) for code, name, name_en in rows]


def dataset_choices() -> list[tuple[int, str]]:
    """The user's event datasets, newest first."""
    stmt = select(Dataset.id, Dataset.name).where(Dataset.kind == "events").order_by(Dataset.id.desc())
    rows = db.session.execute(scoped(stmt, dataset_in_scope()))
    return [(id_, f"#{id_} {name}") for id_, name in rows]


def _names(key: str, stmt: Any) -> dict[Any, str]:
    """A small id → name map, read once per request (types, procuratorates)."""
    if key not in g:
        setattr(g, key, {k: v for k, v in db.session.execute(stmt).all()})
    return getattr(g, key)


# -- the base of every list view ---------------------------------------------------------------------------


class ReadOnlyView(ModelView):
    """A list of one model for signed-in users; no create, edit, delete, details or export."""

    can_create = False
    can_edit = False
    can_delete = False
    can_view_details = False
    can_export = False
    column_display_actions = False
    action_disallowed_list = ["delete"]
    form_base_class = FlaskForm
    page_size = 50
    can_set_page_size = True
    page_size_options: tuple[int, ...] = (20, 50, 100)
    column_display_pk = False
    # Only the list page exists; every other Flask-Admin URL of the view answers 404.
    allowed_views = frozenset({"index_view"})

    def __init__(self, model: type, name: Any, endpoint: str, url: str) -> None:
        super().__init__(model, db, name=name, endpoint=endpoint, url=url)

    # Our own menu bar over Flask-Admin's list: "每页 50 条", not "50 项目" (admin/templates/admin/manage/).
    list_template = "admin/manage/model_list.html"

    def is_accessible(self) -> bool:
        """Signed-in users only."""
        return is_signed_in()

    def render(self, template: str, **kwargs: Any) -> str:
        """Flask-Admin's stock words said our way (:data:`admin.manage_common.STOCK_WORDS`)."""
        self._template_args["_gettext"] = stock_gettext
        return super().render(template, **kwargs)

    def inaccessible_callback(self, name: Any, **kwargs: Any) -> ResponseReturnValue:
        """Anonymous users go to the login page (and come back); others get 403."""
        if is_signed_in():
            abort(403)
        return redirect(login_url_for_current_request())

    def _handle_view(self, name: str, **kwargs: Any) -> ResponseReturnValue | None:
        if name not in self.allowed_views:
            abort(404)
        return super()._handle_view(name, **kwargs)

    def scaffold_form(self) -> type[FlaskForm]:
        """No form: nothing is edited here (and JSON columns need no form field)."""
        return type(f"{self.model.__name__}ReadOnlyForm", (self.form_base_class,), {})

    # -- the user's tree ------------------------------------------------------------------------------------

    def scope_condition(self) -> Any:
        """The condition that keeps this view to the user's procuratorates, ``None`` for no filter.
        The default: nothing is province-wide unless a view says so."""
        return false()

    def get_query(self) -> Any:
        """The rows of the user's tree."""
        return self._scoped(super().get_query())

    def get_count_query(self) -> Any:
        """Counted in the user's tree (the "列表 (N)" tab and the pager)."""
        return self._scoped(super().get_count_query())

    def get_one(self, id: Any) -> Any:
        """One record, only inside the user's tree (else ``None``: "not found")."""
        found = super().get_one(id)
        condition = self.scope_condition()
        if found is None or condition is None:
            return found
        keys = zip(sa_inspect(self.model).primary_key, sa_inspect(found).identity, strict=True)
        stmt = select(func.count()).select_from(self.model).where(condition, *(column == value for column, value in keys))
        return found if db.session.scalar(stmt) else None

    def _scoped(self, query: Any) -> Any:
        condition = self.scope_condition()
        return query if condition is None else query.filter(condition)


class ProcuratorateView(ReadOnlyView):
    """检察院: the 97 procuratorates of the province on one page."""

    page_size = 100
    page_size_options = (100, 200)
    column_list = ["code", "name", "level", "parent"]
    column_labels = {"code": _l("Code"), "name": _l("Name"), "level": _l("Level"), "parent": _l("Parent procuratorate")}
    column_searchable_list = ["name", "code"]
    column_sortable_list = ["code", "name", "level"]
    column_default_sort = ("code", False)
    column_filters = [
        fmt.ChoiceFilter(Procuratorate.level, _l("Level"), fmt.code_choices(LEVELS, LEVEL_LABELS, fmt.LEVEL_LABELS_EN)),
        fmt.IntChoiceFilter(Procuratorate.parent_id, _l("Parent procuratorate"), parent_choices),
    ]
    column_formatters = {"level": lambda v, c, m, n: fmt.level_label(m.level)}

    def scope_condition(self) -> Any:
        return in_scope(Procuratorate.id)


class DepartmentView(ReadOnlyView):
    """部门 of every procuratorate."""

    column_list = ["code", "name", "procuratorate", "business"]
    column_labels = {"code": _l("Code"), "name": _l("Name"), "procuratorate": _l("Procuratorate"), "business": _l("Business")}
    column_searchable_list = ["name", "code"]
    column_sortable_list = ["code", "name"]
    column_default_sort = [("procuratorate_id", False), ("code", False)]
    column_filters = [
        fmt.IntChoiceFilter(Department.procuratorate_id, _l("Procuratorate"), procuratorate_choices),
        fmt.ChoiceFilter(Department.business_code, _l("Business"), business_choices),
    ]
    column_formatters = {"business": lambda v, c, m, n: fmt.pick(m.business.name, m.business.name_en) if m.business else ""}

    def scope_condition(self) -> Any:
        return in_scope(Department.procuratorate_id)


class ProsecutorView(ReadOnlyView):
    """检察官 with their procuratorate, department, business, quota status and leadership role."""

    column_list = ["code", "name", "procuratorate", "department", "business", "quota_status", "is_leader"]
    column_labels = {
        "code": _l("Staff number"),
        "name": _l("Full name"),
        "procuratorate": _l("Procuratorate"),
        "department": _l("Department"),
        "business": _l("Business"),
        "quota_status": _l("Quota status"),
        "is_leader": _l("Leadership role"),
    }
    column_searchable_list = ["name", "code"]
    column_sortable_list = ["code", "name", "quota_status"]
    column_default_sort = ("code", False)
    column_filters = [
        fmt.IntChoiceFilter(Prosecutor.procuratorate_id, _l("Procuratorate"), procuratorate_choices),
        fmt.ChoiceFilter(Prosecutor.business_code, _l("Business"), business_choices),
        fmt.ChoiceFilter(
            Prosecutor.quota_status, _l("Quota status"), fmt.code_choices(QUOTA_STATUSES, QUOTA_LABELS, fmt.QUOTA_LABELS_EN)
        ),
        BooleanEqualFilter(Prosecutor.is_leader, _l("Leadership role")),
    ]
    column_formatters = {
        "business": lambda v, c, m, n: fmt.pick(m.business.name, m.business.name_en) if m.business else "",
        "quota_status": lambda v, c, m, n: fmt.quota_label(m.quota_status),
        "is_leader": lambda v, c, m, n: (m.leader_title or fmt.yes_no(True)) if m.is_leader else "",
    }

    def scope_condition(self) -> Any:
        return in_scope(Prosecutor.procuratorate_id)


class EventTypeView(ReadOnlyView):
    """数据字典: the event types and their typed fields."""

    column_list = ["code", "name", "line", "requires_case", "fields"]
    column_labels = {
        "code": _l("Code"),
        "name": _l("Event type"),
        "name_en": _l("English name"),
        "line": _l("Line of work"),
        "requires_case": _l("Case required"),
        "fields": _l("Fields"),
    }
    column_searchable_list = ["code", "name", "name_en"]
    column_sortable_list = ["code", "line"]
    column_default_sort = ("code", False)
    column_filters = [fmt.ChoiceFilter(EventType.line, _l("Line of work"), line_choices)]
    column_formatters = {
        "name": lambda v, c, m, n: Markup("{}<br><small>{}</small>").format(fmt.pick(m.name, m.name_en), fmt.muted(m.description))
        if m.description
        else fmt.pick(m.name, m.name_en),
        "line": lambda v, c, m, n: fmt.line_label(m.line),
        "requires_case": lambda v, c, m, n: fmt.yes_no(m.requires_case),
        "fields": lambda v, c, m, n: fmt.fields_markup(m.fields),
    }

    def scope_condition(self) -> Any:
        """The data dictionary is the province's: everyone sees all of it."""
        return None

    def get_query(self) -> Any:
        """Event types with their fields in one more query, not one per row."""
        return super().get_query().options(selectinload(EventType.fields))


class DatasetView(ReadOnlyView):
    """数据集: imported (immutable, hashed) batches of events or reference data."""

    column_list = ["id", "name", "kind", "in_use", "content_hash", "row_count", "period_start", "source", "created_at",
                   "created_by"]
    column_labels = {
        "id": _l("ID"),
        "in_use": _l("Status"),
        "name": _l("Name"),
        "kind": _l("Kind"),
        "content_hash": _l("Content hash"),
        "row_count": _l("Rows"),
        "period_start": _l("Period"),
        "source": _l("Source"),
        "created_at": _l("Imported at"),
        "created_by": _l("Imported by"),
    }
    column_searchable_list = ["name", "source", "content_hash"]
    column_sortable_list = ["id", "name", "row_count", "period_start", "created_at"]
    column_default_sort = ("id", True)
    column_filters = [
        fmt.ChoiceFilter(Dataset.kind, _l("Kind"), fmt.code_choices(("events", "reference"), fmt.KIND_LABELS, fmt.KIND_LABELS_EN))
    ]
    column_formatters = {
        "kind": lambda v, c, m, n: fmt.kind_label(m.kind),
        "content_hash": lambda v, c, m, n: fmt.short_hash(m.content_hash),
        "period_start": lambda v, c, m, n: f"{fmt.format_date(m.period_start)} – {fmt.format_date(m.period_end)}"
        if m.period_start or m.period_end
        else "",
        "created_at": lambda v, c, m, n: fmt.format_date(m.created_at),
        "in_use": lambda v, c, m, n: Markup('<span class="badge badge-secondary">{}</span>').format(gettext("withdrawn"))
        if m.id in g.get("rulesvc_withdrawn", ()) else Markup('<span class="text-success">{}</span>').format(
            gettext("In use")),
    }

    def scope_condition(self) -> Any:
        return dataset_in_scope()

    def get_list(self, *args: Any, **kwargs: Any) -> Any:
        """The page's datasets and which of them are withdrawn (one query)."""
        count, data = super().get_list(*args, **kwargs)
        ids = [m.id for m in data]
        g.rulesvc_withdrawn = set(db.session.scalars(select(DatasetWithdrawal.dataset_id).where(
            DatasetWithdrawal.dataset_id.in_(ids)))) if ids else set()
        return count, data


class EventView(ReadOnlyView):
    """事件: one row per event, newest first; fast on a million rows.

    Type and procuratorate names come from per-request maps (16 and 97 rows), prosecutors from one
    ``IN`` query per page; search is an exact match on the indexed ``case_id`` or on the event id.
    """

    column_list = ["id", "occurred_on", "event_type", "procuratorate_id", "prosecutor", "case_id", "attrs", "dataset_id",
                   "counts"]
    column_labels = {
        "id": _l("ID"),
        "occurred_on": _l("Date"),
        "event_type": _l("Event type"),
        "procuratorate_id": _l("Procuratorate"),
        "prosecutor": _l("Prosecutor"),
        "case_id": _l("Case id / event id"),
        "attrs": _l("Attributes"),
        "dataset_id": _l("Dataset"),
        "counts": _l("Counts?"),
    }
    column_searchable_list = ["case_id", "external_id"]
    column_sortable_list = ["id", "occurred_on"]
    column_default_sort = ("id", True)
    column_auto_select_related = False
    column_filters = [
        fmt.ChoiceFilter(Event.event_type, _l("Event type"), event_type_choices),
        fmt.IntChoiceFilter(Event.procuratorate_id, _l("Procuratorate"), procuratorate_choices),
        fmt.IntChoiceFilter(Event.dataset_id, _l("Dataset"), dataset_choices),
        DateBetweenFilter(Event.occurred_on, _l("Date")),
    ]
    column_formatters = {
        "event_type": lambda v, c, m, n: fmt.pick(*_event_type_names().get(m.event_type, (m.event_type, None))),
        "procuratorate_id": lambda v, c, m, n: _names(
            "rulesvc_org_names", select(Procuratorate.id, Procuratorate.name)
        ).get(m.procuratorate_id, ""),
        "case_id": lambda v, c, m, n: Markup("{}<br>{}").format(m.case_id or "", fmt.muted(m.external_id)),
        "attrs": lambda v, c, m, n: fmt.attrs_markup(m.event_type, m.attrs),
        "dataset_id": lambda v, c, m, n: f"#{m.dataset_id}",
        "counts": lambda v, c, m, n: _counts_markup(m),
    }

    def scope_condition(self) -> Any:
        return in_scope(Event.procuratorate_id)

    def get_list(self, *args: Any, **kwargs: Any) -> Any:
        """The page's events and, in one more query, whether each counts now (an audit: a withdrawn or replaced
        event looked like one that counts)."""
        count, data = super().get_list(*args, **kwargs)
        g.rulesvc_counting = facts.counting_status(db.session(), [(m.dataset_id, m.external_id) for m in data])
        return count, data

    def search_placeholder(self) -> str:
        """Say that search is an exact match."""
        return gettext("Exact case id or event id")

    def get_query(self) -> Any:
        """Events and, in one more query per page, their prosecutors."""
        return super().get_query().options(selectinload(Event.prosecutor))

    def _apply_search(self, query: Any, count_query: Any, joins: Any, count_joins: Any, search: str) -> Any:
        # Exact match instead of Flask-Admin's ILIKE '%…%' over a million rows. The event id is only indexed
        # after dataset_id (uq_events_dataset_external): "dataset_id IN (all datasets)" lets SQLite seek it.
        term = search.strip()[:64]
        if not term:
            return query, count_query, joins, count_joins
        by_event_id = and_(Event.dataset_id.in_(select(Dataset.id)), Event.external_id == term)
        condition = or_(Event.case_id == term, by_event_id)
        return query.filter(condition), (count_query.filter(condition) if count_query is not None else None), joins, count_joins


def _counts_markup(m: Any) -> Markup:
    """计入 / 已撤回 / 已被 #n 更正 (what :func:`rulesvc.services.facts.counting_status` found for the page)."""
    status, by = g.get("rulesvc_counting", {}).get((m.dataset_id, m.external_id), ("counting", None))
    if status == "withdrawn":
        return Markup('<span class="badge badge-secondary">{}</span>').format(gettext("withdrawn"))
    if status == "replaced":
        return Markup('<span class="badge badge-warning">{}</span>').format(gettext("replaced by #%(n)s", n=by))
    return Markup('<span class="text-success">{}</span>').format(gettext("counts"))


def _event_type_names() -> dict[str, tuple[str, str]]:
    if "rulesvc_type_names" not in g:
        rows = db.session.execute(select(EventType.code, EventType.name, EventType.name_en))
        g.rulesvc_type_names = {code: (name, name_en) for code, name, name_en in rows}
    return g.rulesvc_type_names


class HomeView(AuthIndexView):
    """The home page: what needs the person's attention (:mod:`admin.manage_home`), and what the service holds."""

    def is_visible(self) -> bool:
        """Not in the menu: the brand links here, and the navbar needs the room in English."""
        return False

    @expose("/")
    def index(self) -> ResponseReturnValue:
        """待办 (drafts with lint errors, versions waiting for the person's review, simulations finished
        recently, localizations drifting from a newer template) and the counts of the procuratorates,
        prosecutors, datasets and events the person sees (sign-in required)."""
        if not is_signed_in():
            return redirect(login_url_for_current_request())
        started = time.perf_counter()
        counts = {
            name: db.session.scalar(scoped(select(func.count()).select_from(model), condition))
            for name, model, condition in (("procuratorates", Procuratorate, in_scope(Procuratorate.id)),
                                           ("prosecutors", Prosecutor, in_scope(Prosecutor.procuratorate_id)),
                                           ("datasets", Dataset, dataset_in_scope()),
                                           ("events", Event, in_scope(Event.procuratorate_id)))
        }
        ip, client = client_of_request()
        person = actor_for_user(db.session(), current_user._get_current_object(), ip=ip, client=client)
        todo = attention(db.session(), person, lambda: get_dictionary(current_app.config["RULES_DIR"]),
                         lang="en" if fmt.is_english() else "zh")
        html = self.render("admin/rulesvc_index.html", counts=counts, todo=todo, person=person,
                           may_edit=person.may("edit"), may_review=person.may("review"), when=fmt.format_date,
                           today=localtime.today())
        return html, 200, {"X-Render-Ms": f"{(time.perf_counter() - started) * 1000:.1f}"}


def model_views() -> list[ReadOnlyView]:
    """One instance of every list view, in menu order (new instances for every app)."""
    return [
        ProcuratorateView(Procuratorate, _l("Procuratorates"), "admin_procuratorates", "/admin/procuratorates"),
        DepartmentView(Department, _l("Departments"), "admin_departments", "/admin/departments"),
        ProsecutorView(Prosecutor, _l("Prosecutors"), "admin_prosecutors", "/admin/prosecutors"),
        EventTypeView(EventType, _l("Data dictionary"), "admin_dictionary", "/admin/dictionary"),
        DatasetView(Dataset, _l("Datasets"), "admin_datasets", "/admin/datasets"),
        EventView(Event, _l("Events"), "admin_events", "/admin/events"),
    ]
