"""Page 12a, 审计日志: the records the person may read, newest first, 50 a page, filtered by scheme, action,
person and date range.

Thin: :func:`rulesvc.services.governance.audit.list_records` with the person's actor — the API's
``GET /api/v1/audit`` — so the same permission (*audit*: administrators, rule designers, reviewers; 403 for
viewers) and the same scope (their procuratorates and those below, and their own records without one).

The actions and their names are the service's (:data:`~rulesvc.services.governance.audit.ACTION_LABELS` and
``ACTION_LABELS_EN``): changes to schemes, simulations started and cancelled, imports and withdrawals of
datasets, accounts (created, changed, a new password, deactivated, activated), API keys, published results. In
English a record's summary is its English one when the service kept it (``detail["summary_en"]``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import request
from flask.typing import ResponseReturnValue
from flask_admin import expose
from flask_babel import gettext
from sqlalchemy import select

from admin.manage_common import ManageView, actor, timer
from rulesvc.errors import PermissionDenied
from rulesvc.extensions import db
from rulesvc.persistence.models import Procuratorate, Scheme, SchemeVersion, User
from rulesvc.services import localtime
from rulesvc.services.governance import audit, versions
from rulesvc.services.governance.access import Actor

PAGE_SIZE = 50
ACTIONS_EN = audit.ACTION_LABELS_EN


def action_label(code: str, english: bool) -> str:
    if english:
        return ACTIONS_EN.get(code, code)
    return audit.ACTION_LABELS.get(code, code)


def summary_of(record: Any, english: bool) -> str:
    """The record's summary in the UI's language: in English its English one when it has it."""
    if english and isinstance(record.detail, dict) and isinstance(record.detail.get("summary_en"), str):
        return str(record.detail["summary_en"])
    return str(record.summary or "")


def _date(name: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(request.args.get(name, "").strip())
    except ValueError:
        return None


def _utc(day: dt.date) -> dt.datetime:
    """The first moment of a day as the page shows days (the site's zone), in UTC as records keep it."""
    return dt.datetime.combine(day, dt.time(), tzinfo=localtime.zone()).astimezone(dt.UTC)


class AuditView(ManageView):
    """审计日志 (``/admin/audit/``)."""

    def allowed(self, person: Actor) -> bool:
        return person.may("audit")

    @expose("/")
    def index(self) -> ResponseReturnValue:
        started = timer()
        person = actor()
        filters: dict[str, str | None] = {"scheme": request.args.get("scheme", "").strip()[:80] or None,
                                          "action": request.args.get("action", "").strip()[:40] or None,
                                          "actor_name": request.args.get("person", "").strip()[:120] or None}
        since, until = _date("from"), _date("to")
        page = max(1, min(request.args.get("page", 1, type=int) or 1, 1_000_000))
        try:
            records, total = audit.list_records(
                db.session(), person, scheme=filters["scheme"], action=filters["action"],
                actor_name=filters["actor_name"], since=_utc(since) if since else None,
                until=_utc(until + dt.timedelta(days=1)) if until else None,
                offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
        except PermissionDenied:
            return self.forbidden(gettext("Only administrators, rule designers and reviewers may read the audit log."))
        context = self._context(person, records)
        pages = max(1, -(-total // PAGE_SIZE))
        args = {k: v for k, v in request.args.items() if k != "page" and v}
        return self._page("admin/manage/audit.html", started=started, records=records, total=total, page=page,
                          pages=pages, args=args, page_size=PAGE_SIZE, since=since, until=until,
                          chosen={"scheme": filters["scheme"] or "", "action": filters["action"] or "",
                                  "person": filters["actor_name"] or ""}, **context)

    def _context(self, person: Actor, records: list[Any]) -> dict[str, Any]:
        """Names for the rows (procuratorates, schemes, version numbers) and the filters' choices."""
        from admin.formatting import is_english

        english = is_english()
        session = db.session()
        orgs = {r.procuratorate_id for r in records if r.procuratorate_id is not None}
        org_names = dict(session.execute(select(Procuratorate.id, Procuratorate.name)
                                         .where(Procuratorate.id.in_(orgs))).all()) if orgs else {}
        scheme_ids = {r.scheme_id for r in records if r.scheme_id is not None}
        schemes = {i: code for i, code in session.execute(select(Scheme.id, Scheme.code).where(Scheme.id.in_(scheme_ids)))} \
            if scheme_ids else {}
        version_ids = {r.version_id for r in records if r.version_id is not None}
        numbers = dict(session.execute(select(SchemeVersion.id, SchemeVersion.number)
                                       .where(SchemeVersion.id.in_(version_ids))).all()) if version_ids else {}
        scheme_choices = [(s.code, f"{s.name}（{s.code}）" if not english else f"{s.name} ({s.code})")
                          for s in versions.list_schemes(session, person) if person.in_scope(s.procuratorate_id)]
        actions = [(code, action_label(code, english)) for code in audit.ACTION_LABELS]
        people = [name for name, pid in session.execute(select(User.username, User.procuratorate_id)
                                                        .order_by(User.username))
                  if person.scope is None or (pid is not None and person.in_scope(pid))]
        return {"org_names": org_names, "scheme_codes": schemes, "numbers": numbers, "scheme_choices": scheme_choices,
                "action_choices": actions, "people": people, "action_label": lambda code: action_label(code, english),
                "summary_of": lambda record: summary_of(record, english)}
