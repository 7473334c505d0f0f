"""The rule designer's pages (issue 12). Pages 6–7: the diff between two versions, the workflow buttons per role and state (submit, simulate, approve / 退回, activate, retire), rebase with its conflict screen and the drift report.

Mixed into :class:`admin.designer.SchemesView` (its ``_page``, ``_not_found``, ``render`` and ``version``).

- ``/admin/schemes/<CODE>/<N>/diff/?against=<M>`` (or ``against=<CODE>/<M>``): what changes from version M to
  version N, in words (:mod:`rulesvc.services.designer_diff`); ``/admin/schemes/diff/?from=…&to=…`` is the
  picker's answer (a redirect to the page of the two versions).
- ``POST …/<N>/submit/ | approve/ | reject/ | activate/ | retire/ | rebase/``: one step each, calling
  ``versions.submit/approve/reject/activate/retire/rebase`` exactly as the API does; the service's permission check
  answers 403 (a role without the step), its visibility check 404; bad input re-renders the version page with
  the message beside the field (422, nothing saved), a refusal of the state (409) likewise.
- ``…/<N>/conflicts/`` and ``POST …/conflicts/settle/``: the conflicts of a draft that took up a newer parent
  version, each settled 保留本地 / 采用上级 / 修改 (``versions.settle``).
- ``…/<N>/drift/``: the drift report (偏离情况) of a template version (``versions.drift_report``).

Which buttons a person sees, and why one is disabled, comes from :mod:`rulesvc.services.designer_workflow`.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping
from typing import Any

from flask import current_app, flash, g, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_admin import expose
from flask_babel import gettext, lazy_gettext

from rulesvc.engine import periods
from rulesvc.errors import Conflict, InvalidInput, NotFound, PermissionDenied, RulesvcError
from rulesvc.extensions import db
from rulesvc.persistence.models import SchemeVersion
from rulesvc.services import designer_conflicts, designer_diff, designer_stale, localtime
from rulesvc.services import designer_workflow as wf
from rulesvc.services.dictionary import get_dictionary
from rulesvc.services.governance import versions

STEP_DONE = {
    "submit": lazy_gettext("Submitted for review."),
    "approve": lazy_gettext("Approved."),
    "reject": lazy_gettext("Sent back to the designer."),
    "retire": lazy_gettext("Retired."),  # an approved version; an active one says its last day (wf_retire)
}
FLASHED_BY_STEP = {"retire"}


def _dictionary() -> Any:
    return get_dictionary(current_app.config["RULES_DIR"])


def _messages(exc: RulesvcError, lang: str) -> dict[str, list[str]]:
    """A service error's field messages in ``lang`` (the whole message under "" when it names no field)."""
    from rulesvc.services.designer_edit import one_language

    rendered = exc.rendered_errors(lang)
    if not isinstance(rendered, Mapping) or not rendered:
        return {"": [exc.msg.render(lang) if exc.msg else str(exc)]}
    return {str(k): [one_language(str(m), lang) for m in (v if isinstance(v, list) else [v])]
            for k, v in rendered.items()}


def _period_words(p: periods.Period) -> str:
    """A period as the page says it: 2027 年度, 2027 年第 1 季度, 2027 年 2 月 (English: 2027, 2027 Q1, 2027-02)."""
    if p.kind == "year":
        return gettext("the year %(y)s", y=p.start.year)
    if p.kind == "quarter":
        return gettext("%(y)s Q%(q)s", y=p.start.year, q=(p.start.month - 1) // 3 + 1)
    return gettext("%(y)s-%(m)02d", y=p.start.year, m=p.start.month)


def _before_it(v: SchemeVersion) -> tuple[SchemeVersion | None, SchemeVersion | None]:
    """For a version set to come into force: (the active version that ends the day before it — it stays in force if
    the go-live is taken back; a retired one that ends that day — it does not, and nothing would be in force)."""
    if v.effective_from is None:
        return None, None
    before = v.effective_from - dt.timedelta(days=1)
    ending = [x for x in v.scheme.versions if x.id != v.id and x.effective_to == before]
    return (next((x for x in ending if x.status == "active"), None),
            next((x for x in ending if x.status == "retired"), None))


def _form_lock() -> int:
    """The ``lock_version`` the form was drawn with (-1 when absent or not a number: the service then says the
    draft changed)."""
    try:
        return int(request.form.get("lock_version", ""))
    except ValueError:
        return -1


def _day(form: Mapping[str, Any], name: str, errors: dict[str, list[str]], *, required: bool) -> dt.date | None:
    text = str(form.get(name, "") or "").strip()
    if not text:
        if required:
            errors[name] = [gettext("Enter the date.")]
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        errors[name] = [gettext("Not a date: write it as 2027-01-01.")]
        return None


class WorkflowViews:
    """Pages 6–7."""

    _page: Callable[..., Any]
    _not_found: Callable[[], Any]
    render: Callable[..., str]
    version: Callable[..., Any]

    # -- what the version page and the schemes page ask ----------------------------------------------------------

    def workflow_for(self, version: SchemeVersion) -> dict[str, Any]:
        """The buttons of ``version`` for the signed-in person, and what a refused form said (the version page)."""
        from admin.designer import _actor, _lang

        flow = wf.workflow(db.session(), _actor(), version, _dictionary(), lang=_lang())
        today = localtime.today()
        kind = version.scheme.period_kind
        # What going live ends: the active version with the latest start (a version still to come included — it is
        # the one whose days a new date cuts).
        actives = sorted((x for x in version.scheme.versions if x.status == "active" and x.id != version.id
                         and x.effective_from is not None), key=lambda x: x.effective_from or dt.date.min)
        current = actives[-1] if actives else None
        # The earliest date activation accepts (versions.check_activation_date): after the start of every other
        # dated version, after the last day of a retired one, not before the version above it (a localization).
        earliest = None
        for x in version.scheme.versions:
            if x.id == version.id or x.effective_from is None or x.status not in ("active", "retired"):
                continue
            day = x.effective_from + dt.timedelta(days=1)
            if x.status == "retired" and x.effective_to is not None:
                day = x.effective_to + dt.timedelta(days=1)
            earliest = day if earliest is None or day > earliest else earliest
        parent = version.parent
        parent_start = parent.effective_from if parent is not None and parent.status in ("active", "retired") else None
        if parent_start is not None and (earliest is None or parent_start > earliest):
            earliest = parent_start
        # The date offered: the first day of the scheme's next period (a year's scheme: 1 January) that activation
        # accepts — a date inside a period leaves that period under the rules in force on its first day.
        next_month = periods.first_start_from(max(today + dt.timedelta(days=1), earliest or today), kind)
        # A newer version already approved or in force: approving or putting this one in force would replace it
        # with older content (a 修订 made from an earlier version while this one waited in review).
        newer = [x for x in version.scheme.versions if x.number > version.number and x.status in ("approved", "active")] \
            if version.status in ("in_review", "approved") else []
        # A go-live still ahead can be taken back: the version that ends the day before it then stays in force.
        resumes = ends_before = None
        if version.status == "active" and version.effective_from is not None:
            resumes, ends_before = _before_it(version)
        return {"flow": flow, "errors": g.get("wf_errors", {}), "form": g.get("wf_form", {}), "resumes": resumes, "ends_before": ends_before,
                "parent": parent, "parent_start": parent_start, "newer": newer[-1] if newer else None,
                "step": g.get("wf_step", ""), "stale": g.get("wf_stale"), "next_month": next_month.isoformat(),
                "earliest": earliest.isoformat() if earliest is not None else "",
                "today": today.isoformat(), "current": current,
                "above": version.parent.scheme if current is None and version.parent is not None else None,
                "confirm_past": g.get("wf_confirm_past", False), "confirm_mid": g.get("wf_confirm_mid", False),
                "confirm_gap": g.get("wf_confirm_gap", False)}

    def review_inbox(self) -> dict[str, list[wf.InboxLine]]:
        """What waits for the signed-in person: versions to review, approved versions to put in force."""
        from admin.designer import _actor, _lang

        return wf.inbox(db.session(), _actor(), lang=_lang())

    # -- page 6: the diff ----------------------------------------------------------------------------------------

    @expose("/<code>/<int:number>/diff/")
    def diff(self, code: str, number: int) -> ResponseReturnValue:
        """Page 6: the diff of this version against another (``?against=<N>`` or ``<CODE>/<N>``)."""
        from admin.designer import _actor, _lang

        started = time.perf_counter()
        actor = _actor()
        session = db.session()
        try:
            new = versions.scheme_version(session, actor, code, number)
            against = request.args.get("against", "").strip()
            old: SchemeVersion | None
            if against:
                other_code, _, other_number = against.rpartition("/")
                if not other_number.isdigit() or len(other_code) > 64:
                    return self._not_found()
                old = versions.scheme_version(session, actor, other_code or code, int(other_number))
            else:
                old = designer_diff.default_against(actor, new)
            result = designer_diff.version_diff(session, actor, new, old, _dictionary(), lang=_lang()) if old else None
        except NotFound:
            return self._not_found()
        earlier = [x.number for x in versions.visible_versions(actor, new.scheme) if x.number < new.number]
        return self._page("admin/designer/diff.html", new=new, old=old, result=result, started=started,
                          choices=designer_diff.choices(session, actor, lang=_lang(), subject_kind=new.scheme.subject_kind),
                          parent=new.parent,
                          previous=earlier[-1] if earlier else None)

    @expose("/diff/")
    def diff_pick(self) -> ResponseReturnValue:
        """The picker's answer: ``?from=CODE/M&to=CODE/N`` → the page of N against M."""
        to_code, _, to_number = request.args.get("to", "").rpartition("/")
        if not to_number.isdigit() or not to_code or len(to_code) > 64:
            return self._not_found()
        return redirect(url_for(".diff", code=to_code, number=int(to_number), against=request.args.get("from", "")))

    # -- page 7: the steps -----------------------------------------------------------------------------------------

    def _refused(self, code: str, number: int, step: str, status: int, errors: Mapping[str, list[str]],
                 stale: list[dict[str, Any]] | None = None) -> ResponseReturnValue:
        """The version page again, with the step's form as it was typed and why it was refused."""
        g.wf_errors, g.wf_form, g.wf_step, g.wf_stale = dict(errors), request.form, step, stale
        answer = self.version(code, number)
        if isinstance(answer, tuple) and len(answer) == 3:
            return answer[0], status, answer[2]
        return answer

    def _step(self, code: str, number: int, step: str, run: Callable[[Any, SchemeVersion], Any],
              check: Callable[[dict[str, list[str]]], None] | None = None) -> ResponseReturnValue:
        """Check the form (``check`` fills field messages), run one service step, commit and go back to the
        version page (or to where ``run`` says); else roll back and show why."""
        from admin.designer import _actor, _lang

        lang = _lang()
        errors: dict[str, list[str]] = {}
        actor = _actor()
        try:
            v = versions.scheme_version(db.session(), actor, code, number)
        except NotFound:
            return self._not_found()
        if check is not None:
            check(errors)
            if errors:
                # The permission comes first: a role without the step gets 403, not a form message.
                try:
                    wf.require_step(actor, v, step)
                except PermissionDenied:
                    return self._forbidden()
                return self._refused(code, number, step, 422, errors)
        try:
            target = run(actor, v)
            db.session.commit()
        except PermissionDenied:
            return self._forbidden()
        except NotFound:
            db.session.rollback()
            return self._not_found()
        except InvalidInput as exc:
            db.session.rollback()
            return self._refused(code, number, step, 422, _messages(exc, lang))
        except Conflict as exc:
            db.session.rollback()
            messages = _messages(exc, lang)
            if "lock_version" in messages:
                try:
                    lock = int(request.form.get("lock_version", ""))
                except ValueError:
                    lock = 0
                v = versions.scheme_version(db.session(), actor, code, number)
                stale = designer_stale.changes_since(db.session(), v, lock, lang)
                return self._refused(code, number, step, 409, {"": messages["lock_version"]}, stale=stale)
            return self._refused(code, number, step, 409, messages)
        if step in STEP_DONE and step not in FLASHED_BY_STEP:
            flash(str(STEP_DONE[step]), "success")
        if isinstance(target, str):
            return redirect(target)
        return redirect(url_for(".version", code=code, number=number))

    def _forbidden(self) -> ResponseReturnValue:
        db.session.rollback()
        return self.render("admin/designer/forbidden.html"), 403

    @expose("/<code>/<int:number>/submit/", methods=["POST"])
    def wf_submit(self, code: str, number: int) -> ResponseReturnValue:
        """提交审核, with the change note (saved with the draft first, as the API's PATCH then submit)."""
        note = str(request.form.get("change_note", "")).strip()

        def check(errors: dict[str, list[str]]) -> None:
            if not note:
                errors["change_note"] = [gettext("Say what this version changes: the reviewer reads it first.")]

        def run(actor: Any, v: SchemeVersion) -> None:
            lock = _form_lock()
            if note != (v.change_note or ""):
                v = versions.update_draft(db.session(), actor, v.id, lock_version=lock, change_note=note)
                lock = v.lock_version
            versions.submit(db.session(), actor, v.id, _dictionary(), lock_version=lock)
        return self._step(code, number, "submit", run, check)

    @expose("/<code>/<int:number>/delete/", methods=["POST"])
    def wf_delete(self, code: str, number: int) -> ResponseReturnValue:
        """删除草稿: a draft nobody will submit (a take-up abandoned, a revision begun by mistake) goes; its whole
        content stays in the audit log, and its number is not used again."""
        def check(errors: dict[str, list[str]]) -> None:
            if not request.form.get("confirm_delete"):
                errors["confirm_delete"] = [gettext("Tick the box to confirm: the draft is deleted.")]

        def run(actor: Any, v: SchemeVersion) -> str:
            lock = _form_lock()
            versions.delete_draft(db.session(), actor, v.id, lock_version=lock)
            flash(gettext("Draft version %(n)s is deleted; its content is kept in the audit log.", n=v.number),
                  "success")
            return url_for(".index")
        return self._step(code, number, "delete", run, check)

    @expose("/<code>/<int:number>/approve/", methods=["POST"])
    def wf_approve(self, code: str, number: int) -> ResponseReturnValue:
        """批准: four eyes and the simulation gate are the service's."""
        def run(actor: Any, v: SchemeVersion) -> None:
            versions.approve(db.session(), actor, v.id, note=str(request.form.get("note", "")).strip())
        return self._step(code, number, "approve", run)

    @expose("/<code>/<int:number>/reject/", methods=["POST"])
    def wf_reject(self, code: str, number: int) -> ResponseReturnValue:
        """退回, with the reviewer's note (required: the service refuses without one)."""
        def run(actor: Any, v: SchemeVersion) -> None:
            versions.reject(db.session(), actor, v.id, note=str(request.form.get("note", "")))
        return self._step(code, number, "reject", run)

    @expose("/<code>/<int:number>/activate/", methods=["POST"])
    def wf_activate(self, code: str, number: int) -> ResponseReturnValue:
        """生效 from a date; the version in force until then ends the day before."""
        day: dict[str, dt.date | None] = {}

        def check(errors: dict[str, list[str]]) -> None:
            from admin.designer import _actor, _lang

            day["from"] = _day(request.form, "effective_from", errors, required=True)
            when = day["from"]
            if when is None:
                return
            # A date activation refuses whatever is confirmed: said first, before any question.
            try:
                v = versions.scheme_version(db.session(), _actor(), code, number)
                versions.check_activation_date(db.session(), v, when)
            except (InvalidInput, Conflict) as exc:
                errors.update(_messages(exc, _lang()))
                return
            except NotFound:
                return  # the step answers 404
            p = periods.period_of(when, v.scheme.period_kind)
            if when != p.start and not request.form.get("confirm_mid"):
                # A date inside a period: that period stays under the rules in force on its first day.
                nxt = periods.period_of(p.end + dt.timedelta(days=1), v.scheme.period_kind)
                errors.setdefault("effective_from", []).append(gettext(
                    "%(date)s is not the first day of a period: %(period)s (from %(start)s) stays under the rules in "
                    "force on its first day, and this version first applies to %(next)s (from %(next_start)s). Tick "
                    "the box below to confirm, or choose %(next_start)s.",
                    date=when.isoformat(), period=_period_words(p), start=p.start.isoformat(),
                    next=_period_words(nxt), next_start=nxt.start.isoformat()))
                g.wf_confirm_mid = True
            if when < localtime.today() and not request.form.get("confirm_past"):
                # Going live in the past rescores closed periods (not what is published): asked once more.
                errors.setdefault("effective_from", []).append(gettext(
                    "%(date)s is in the past: the results of the periods since then that are not published will be "
                    "computed under this version. Tick the box below to confirm, then put it in force.",
                    date=when.isoformat()))
                g.wf_confirm_past = True

        def run(actor: Any, v: SchemeVersion) -> None:
            when = day["from"]
            assert when is not None
            versions.activate(db.session(), actor, v.id, effective_from=when)
            flash(gettext("Version %(n)s is in force from %(date)s.", n=v.number, date=when.isoformat()), "success")
        return self._step(code, number, "activate", run, check)

    @expose("/<code>/<int:number>/retire/", methods=["POST"])
    def wf_retire(self, code: str, number: int) -> ResponseReturnValue:
        """停用; an active version stays in force up to the date given (default today)."""
        day: dict[str, dt.date | None] = {}

        def check(errors: dict[str, list[str]]) -> None:
            from admin.designer import _actor

            day["to"] = _day(request.form, "effective_to", errors, required=False)
            if errors or request.form.get("confirm_gap"):
                return
            try:
                v = versions.scheme_version(db.session(), _actor(), code, number)
            except NotFound:
                return  # the step answers 404
            if v.status != "active" or v.effective_from is None:
                return
            end = day.get("to") or localtime.today()
            if v.effective_to is not None and v.effective_to < end:
                end = v.effective_to
            if end < v.effective_from:
                return  # the service refuses it, in its words
            after = end + dt.timedelta(days=1)
            if any(versions.in_force_on(x, after) for x in v.scheme.versions if x.id != v.id):
                return
            # Nothing in force after its last day: a scheme without rules from then on (an audit: a county reviewer
            # ended the county's only version with one click, and the page said only "已停用。").
            above = v.parent.scheme.name if v.parent is not None else None
            errors.setdefault("effective_to", []).append(
                gettext("From %(date)s no version of this scheme is in force: its people are not scored under it "
                        "(they still are under %(above)s). Tick the box below to confirm, or put another version in "
                        "force first.", date=after.isoformat(), above=above) if above else
                gettext("From %(date)s no version of this scheme is in force: no one is scored under it until another "
                        "version is put in force. Tick the box below to confirm, or put another version in force "
                        "first.", date=after.isoformat()))
            g.wf_confirm_gap = True

        def run(actor: Any, v: SchemeVersion) -> None:
            done = versions.retire(db.session(), actor, v.id, effective_to=day.get("to"))
            if done.effective_to is not None:
                # The last day kept (the one set when a later version was scheduled, if that came first): said.
                flash(gettext("Version %(n)s is retired; its last day in force is %(date)s.", n=done.number,
                              date=done.effective_to.isoformat()), "success")
            else:
                flash(str(STEP_DONE["retire"]), "success")
        return self._step(code, number, "retire", run, check)

    @expose("/<code>/<int:number>/unschedule/", methods=["POST"])
    def wf_unschedule(self, code: str, number: int) -> ResponseReturnValue:
        """撤销生效安排: a version set to come into force later goes back to approved; the one before stays in force."""
        def check(errors: dict[str, list[str]]) -> None:
            if not str(request.form.get("note", "")).strip():
                errors["note"] = [gettext("Say why the go-live is taken back.")]

        def run(actor: Any, v: SchemeVersion) -> None:
            start = v.effective_from
            resumes, ends_before = _before_it(v)
            versions.unschedule(db.session(), actor, v.id, note=str(request.form.get("note", "")))
            flash(gettext("Version %(n)s will not come into force on %(date)s: it is approved again, and can be put "
                          "in force from another date.", n=v.number, date=start.isoformat() if start else ""),
                  "success")
            if resumes is None and ends_before is not None and start is not None:
                end = start - dt.timedelta(days=1)  # the retired version's last day (it ends the day before)
                flash(gettext("From %(date)s no version of this scheme is in force (version %(m)s, retired, ends on "
                              "%(end)s) until another one is put in force.", date=start.isoformat(),
                              m=ends_before.number, end=end.isoformat()), "warning")
        return self._step(code, number, "unschedule", run, check)

    @expose("/<code>/<int:number>/rebase/", methods=["POST"])
    def wf_rebase(self, code: str, number: int) -> ResponseReturnValue:
        """跟进上级新版本: a new draft on the newer parent version; its conflicts are settled next."""
        def check(errors: dict[str, list[str]]) -> None:
            chosen = str(request.form.get("new_parent_id", ""))
            if not chosen.isdigit() or len(chosen) > 9:
                errors["new_parent_id"] = [gettext("Pick the version above to take up.")]

        def run(actor: Any, v: SchemeVersion) -> str:
            wf.require_step(actor, v, "rebase")  # the service's first check, before reading the other version
            new_parent = versions.get_version(db.session(), actor, int(request.form["new_parent_id"]))
            # The change note in the designer's words (the service's default says 变基 and the code).
            note = f"跟进上级新版本：{new_parent.scheme.name} 第 {new_parent.number} 版"
            draft = versions.rebase(db.session(), actor, v.id, new_parent_id=new_parent.id, change_note=note)
            flash(gettext("Version %(n)s is a new draft on the newer version above.", n=draft.number), "success")
            if draft.document.get("conflicts"):
                return url_for(".conflicts", code=code, number=draft.number)
            return url_for(".version", code=code, number=draft.number)
        return self._step(code, number, "rebase", run, check)

    # -- conflicts -------------------------------------------------------------------------------------------------

    def _conflicts_page(self, code: str, number: int, *, status: int = 200,
                        errors: Mapping[str, list[str]] | None = None, path: str = "") -> ResponseReturnValue:
        from admin.designer import _actor, _lang

        started = time.perf_counter()
        actor = _actor()
        try:
            v = versions.scheme_version(db.session(), actor, code, number)
        except NotFound:
            return self._not_found()
        if not (actor.may("edit") and actor.in_scope(v.scheme.procuratorate_id)):
            return self._forbidden()
        rows = designer_conflicts.conflict_rows(v, lang=_lang())
        html, _, headers = self._page("admin/designer/conflicts.html", v=v, rows=rows, errors=errors or {},
                                      failed_path=path, form=request.form if status != 200 else {}, started=started)
        return html, status, headers

    @expose("/<code>/<int:number>/conflicts/")
    def conflicts(self, code: str, number: int) -> ResponseReturnValue:
        """The conflicts of a draft that took up a newer parent version, one by one."""
        return self._conflicts_page(code, number)

    @expose("/<code>/<int:number>/conflicts/settle/", methods=["POST"])
    def settle(self, code: str, number: int) -> ResponseReturnValue:
        """Settle one conflict: 保留本地 (keep), 采用上级 (take_upstream) or 修改 (edit, with the new value)."""
        from admin.designer import _actor, _lang

        lang = _lang()
        actor = _actor()
        path = str(request.form.get("path", ""))
        choice = str(request.form.get("choice", ""))
        try:
            v = versions.scheme_version(db.session(), actor, code, number)
        except NotFound:
            return self._not_found()
        try:
            lock = int(request.form.get("lock_version", ""))
        except ValueError:
            lock = -1
        try:
            wf.require_step(actor, v, "settle")  # a person who may not edit learns nothing from the form's checks
            value = designer_conflicts.value_from_form(v, path, choice, request.form, lang=lang)
            kwargs: dict[str, Any] = {} if value is designer_conflicts.NO_VALUE else {"value": value}
            versions.settle(db.session(), actor, v.id, lock_version=lock, path=path, choice=choice,
                            reason=str(request.form.get("reason", "")).strip() or None, **kwargs)
            db.session.commit()
        except PermissionDenied:
            return self._forbidden()
        except NotFound:
            db.session.rollback()
            return self._not_found()
        except (InvalidInput, Conflict) as exc:
            db.session.rollback()
            messages = _messages(exc, lang)
            if "lock_version" in messages:
                messages = {"": messages["lock_version"]}
            return self._conflicts_page(code, number, status=422 if isinstance(exc, InvalidInput) else 409,
                                        errors=messages, path=path)
        flash(gettext("Conflict settled."), "success")
        v = versions.scheme_version(db.session(), actor, code, number)
        if v.document.get("conflicts"):
            return redirect(url_for(".conflicts", code=code, number=number))
        return redirect(url_for(".version", code=code, number=number))

    # -- the drift report ----------------------------------------------------------------------------------------

    @expose("/<code>/<int:number>/drift/")
    def drift(self, code: str, number: int) -> ResponseReturnValue:
        """偏离情况: every localization below this version the person may see, with its local changes."""
        from admin.designer import _actor, _lang

        started = time.perf_counter()
        actor = _actor()
        try:
            v = versions.scheme_version(db.session(), actor, code, number)
            report = designer_conflicts.drift_rows(db.session(), actor, v, lang=_lang())
        except NotFound:
            return self._not_found()
        return self._page("admin/designer/drift.html", v=v, report=report, started=started)
