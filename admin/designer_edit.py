"""The rule designer's editing pages (issue 12, pages 3–4), mixed into :class:`admin.designer.SchemesView`:

- ``POST /admin/schemes/<CODE>/<N>/localize/``: one button — the localization draft of a published version for
  the person's procuratorate (:func:`rulesvc.services.designer_edit.start_localization`);
- ``/admin/schemes/<CODE>/<N>/edit/``: the draft's editor — its local changes (each can be taken back), the
  dimension weights (sum checked as you type), the indicators (switch one off, change its scoring rule, add a
  local one), grade bands and quotas; every lint error and warning beside the part it concerns;
- ``…/edit/indicators/<IND>/`` and ``…/edit/new-indicator/``: an indicator's form, the formula checked as you
  type (``…/edit/check-formula/``, an htmx fragment).

Views stay thin: parse the form (:mod:`rulesvc.services.designer_forms`), call one service, commit or roll back.
The services check permissions (403 page) and visibility (404 page) exactly as for the API; bad input re-renders
the form with field messages (422) and saves nothing; a stale save (409) shows what the other person changed and
keeps what was typed.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from flask import current_app, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_admin import expose
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import func, select

from rulesvc.catalogue import msg
from rulesvc.errors import Conflict, InvalidInput, NotFound, PermissionDenied, RulesvcError
from rulesvc.extensions import db
from rulesvc.persistence import lifecycle
from rulesvc.persistence.models import SchemeVersion
from rulesvc.services import designer, designer_forms, designer_items, designer_stale
from rulesvc.services import designer_edit as edit
from rulesvc.services import designer_words as W
from rulesvc.services.dictionary import get_dictionary
from rulesvc.services.governance import versions

METHOD_CHOICES = designer_forms.METHODS
MISSING_WORDS = {"zh": {"zero": "计零分", "worst": "计最低分", "best": "计满分", "exclude": "不计入"},
                 "en": {"zero": "scores zero", "worst": "scores the lowest points", "best": "scores full points",
                        "exclude": "left out"}}
MISSING_CHOICES = designer_forms.MISSING_POLICIES


# A check's finding on a part one of the forms edits, under that form's field: beside the row, not as a path at
# the top (a designer read "grading.bands 等次须从高到低排列" above the page).
_FORM_FIELDS = ((re.compile(r"grading\.bands\[(\d+)\]\.(min|quota)"), r"\2.\1"),
                (re.compile(r"dimensions\.([A-Za-z0-9_]+)\.weight"), r"weight.\1"))


def _form_field(key: str) -> str:
    for pattern, field in _FORM_FIELDS:
        if pattern.fullmatch(key):
            return pattern.sub(field, key)
    return key


def _field_errors(exc: RulesvcError, lang: str) -> dict[str, list[str]]:
    rendered = exc.rendered_errors(lang)
    if not isinstance(rendered, Mapping) or not rendered:
        return {"": [exc.msg.render(lang) if exc.msg else str(exc)]}
    out: dict[str, list[str]] = {}
    for k, v in rendered.items():
        out.setdefault(_form_field(str(k)), []).extend(edit.one_language(str(m), lang)
                                                        for m in (v if isinstance(v, list) else [v]))
    return out


class EditViews:
    """Pages 3–4, as exposures of the schemes view (its ``_page``, ``_not_found`` and ``render``)."""

    _page: Callable[..., tuple[str, int, dict[str, str]]]
    _not_found: Callable[[], ResponseReturnValue]
    render: Callable[..., str]

    # -- helpers ------------------------------------------------------------------------------------------

    @staticmethod
    def _dictionary() -> Any:
        return get_dictionary(current_app.config["RULES_DIR"])

    def _forbidden(self, state: Any = None) -> ResponseReturnValue:
        """403 — said as what it is: a version no longer a draft (submitted, approved, in force) cannot be
        edited by anyone, which is not a matter of the person's rights."""
        from admin.designer import _lang

        db.session.rollback()
        v = getattr(state, "version", None)
        if v is not None and not lifecycle.is_editable(v.status):
            lang = _lang()
            status = W.STATUS_WORDS[lang].get(v.status, v.status)
            message = (f"第 {v.number} 版{status}，已不是草稿，不能修改。"
                       + ("审核人退回后可继续修改；" if v.status == lifecycle.Status.IN_REVIEW else "")
                       + "需要修改时请在方案页新建修订版。") if lang == "zh" else (
                f"Version {v.number} is {status}: no longer a draft, it cannot be changed. "
                + ("Once the reviewer sends it back it can be edited again; " if v.status == lifecycle.Status.IN_REVIEW
                   else "")
                + "To change it, start a revision from the scheme's page.")
            return self.render("admin/designer/forbidden.html", message=message,
                               version_url=url_for(".version", code=v.scheme.code, number=v.number)), 403
        return self.render("admin/designer/forbidden.html"), 403

    def _editable(self, code: str, number: int) -> tuple[Any, ResponseReturnValue | None]:
        """(the draft's editor state, None), or (None, the page to answer instead): 404 when the person may
        not see the version, 403 when they may see it but not edit it."""
        from admin.designer import _actor, _lang

        try:
            state = edit.editor_state(db.session(), _actor(), code, number, self._dictionary(), lang=_lang())
        except NotFound:
            return None, self._not_found()
        if not state.editable:
            return None, self._forbidden(state)
        return state, None

    def _load(self, code: str, number: int) -> tuple[Any, Any]:
        from admin.designer import _actor, _lang

        actor = _actor()
        doc = designer.version_document(db.session(), actor, code, number, self._dictionary(), lang=_lang(),
                                        history=False)
        state = edit.editor_state(db.session(), actor, code, number, self._dictionary(), lang=_lang())
        return doc, state

    def _editor(self, code: str, number: int, *, status: int = 200, errors: Mapping[str, list[str]] | None = None,
                form: Mapping[str, Any] | None = None, stale: list[dict[str, Any]] | None = None,
                section: str = "") -> ResponseReturnValue:
        started = time.perf_counter()
        try:
            doc, state = self._load(code, number)
        except NotFound:
            return self._not_found()
        if not state.editable:
            return self._forbidden(state)
        from admin.designer import _lang

        subject = str(state.document.get("subject") or "prosecutor")
        html, _, headers = self._page("admin/designer/edit.html", doc=doc, state=state, errors=errors or {},
                                      form=form or {}, stale=stale, section=section, started=started,
                                      peer_groups=designer_items.PEER_GROUPS.get(subject, ()),
                                      peer_group_words=W.PEER_GROUP_WORDS[_lang()])
        return html, status, headers

    def _after(self, code: str, number: int, anchor: str) -> ResponseReturnValue:
        return redirect(url_for(".edit", code=code, number=number) + f"?saved={anchor}#{anchor}")

    def _save(self, code: str, number: int, section: str, run: Callable[[Any, Any, int], Any],
              page: Callable[..., ResponseReturnValue] | None = None, done: str | None = None) -> ResponseReturnValue:
        """Run one change (``run(actor, version, lock_version)``) and commit; or roll back and re-render the
        form (``page``, default the editor) with what was typed and why it was refused."""
        from admin.designer import _actor, _lang

        lang = _lang()
        page = page or (lambda **kw: self._editor(code, number, section=section, **kw))
        actor = _actor()
        try:
            v = versions.scheme_version(db.session(), actor, code, number)
        except NotFound:
            return self._not_found()
        try:
            lock = int(request.form.get("lock_version", ""))
        except ValueError:
            lock = -1
        try:
            run(actor, v, lock)
            db.session.commit()
        except PermissionDenied:
            return self._forbidden()
        except NotFound:
            db.session.rollback()
            return self._not_found()
        except InvalidInput as exc:
            db.session.rollback()
            return page(status=422, errors=_field_errors(exc, lang), form=request.form)
        except Conflict as exc:
            db.session.rollback()
            errors = _field_errors(exc, lang)
            if "lock_version" in errors or "status" not in errors:
                v = versions.scheme_version(db.session(), actor, code, number)
                stale = designer_stale.changes_since(db.session(), v, lock, lang)
                return page(status=409, errors={}, form=request.form, stale=stale or [{"who": "", "at": None,
                                                                                         "what": []}])
            return page(status=409, errors=errors, form=request.form)
        return self._after(code, number, done or section)

    # -- page 4: localize ---------------------------------------------------------------------------------

    @expose("/<code>/<int:number>/localize/", methods=["POST"])
    def localize(self, code: str, number: int) -> ResponseReturnValue:
        """One button: the person's localization draft of this published version (an existing one is opened)."""
        from admin.designer import _actor, _lang

        try:
            last = db.session.scalar(select(func.max(SchemeVersion.id))) or 0
            v = edit.start_localization(db.session(), _actor(), code, number,
                                        procuratorate_id=current_user.procuratorate_id)
            fresh = v.number == 1 and v.id > last  # a new localization (else its draft, or a new draft of it)
            db.session.commit()
            if not fresh:  # the procuratorate localizes it already: its draft opened, not a second scheme
                flash(gettext("Your procuratorate already localizes this scheme: its draft, version %(n)s, is open.",
                              n=v.number), "info")
            edit.findings_of(versions.resolve(v), self._dictionary(), _lang())  # checked now, shown next
        except PermissionDenied:
            return self._forbidden()
        except NotFound:
            db.session.rollback()
            return self._not_found()
        except (InvalidInput, Conflict) as exc:
            db.session.rollback()
            return self.render("admin/designer/forbidden.html", message="；".join(
                m for ms in _field_errors(exc, _lang()).values() for m in ms)), 409
        return redirect(url_for(".edit", code=v.scheme.code, number=v.number))

    @expose("/<code>/<int:number>/revise/", methods=["POST"])
    def revise(self, code: str, number: int) -> ResponseReturnValue:
        """修订: a draft to change this version (the scheme's draft when it has one), opened in the editor."""
        from admin.designer import _actor

        try:
            v = edit.start_revision(db.session(), _actor(), code, number)
            db.session.commit()
        except PermissionDenied:
            return self._forbidden()
        except NotFound:
            db.session.rollback()
            return self._not_found()
        # A version still in review is not in this draft's content: said once, so the designer is not surprised
        # that its changes are missing (and the reviewer of the older one sees the newer one on its page).
        waiting = [x.number for x in v.scheme.versions if x.status == "in_review" and x.number != v.number]
        if waiting and v.number > max(waiting) and v.status == "draft" and v.lock_version <= 1:
            flash(gettext("Version %(n)s is in review: its changes are not in this draft, which starts from version "
                          "%(from)s.", n="、".join(str(n) for n in waiting), **{"from": number}), "warning")
        return redirect(url_for(".edit", code=v.scheme.code, number=v.number))

    # -- page 3: the editor -------------------------------------------------------------------------------

    @expose("/<code>/<int:number>/edit/")
    def edit(self, code: str, number: int) -> ResponseReturnValue:
        """The draft's editor (403 for a person who may read it but not edit it; 404 when invisible)."""
        return self._editor(code, number, section=request.args.get("saved", ""))

    @expose("/<code>/<int:number>/edit/description/", methods=["POST"])
    def edit_description(self, code: str, number: int) -> ResponseReturnValue:
        """方案说明: the draft's own description (a template's and a localization's alike; no reason asked —
        it changes no score)."""
        def run(actor: Any, v: Any, lock: int) -> None:
            edit.set_description(db.session(), actor, v.id, lock_version=lock,
                                 text=str(request.form.get("description", "")))
        return self._save(code, number, "sec-description", run)

    @expose("/<code>/<int:number>/edit/weights/", methods=["POST"])
    def edit_weights(self, code: str, number: int) -> ResponseReturnValue:
        from admin.designer import _lang

        def run(actor: Any, v: Any, lock: int) -> None:
            changes = weights_changes(versions.resolve(v), request.form, _lang(), self._dictionary())
            edit.apply_changes(db.session(), actor, v.id, lock_version=lock, changes=changes,
                               reason=request.form.get("reason", ""), dictionary=self._dictionary(), lang=_lang())
        return self._save(code, number, "sec-weights", run)

    @expose("/<code>/<int:number>/edit/new-dimension/", methods=["POST"])
    def new_dimension(self, code: str, number: int) -> ResponseReturnValue:
        """A local dimension (本地新增): name and weight, with its reason; its indicators are added after."""
        from admin.designer import _lang

        def run(actor: Any, v: Any, lock: int) -> None:
            doc = versions.resolve(v)
            dim, entry = designer_forms.new_dimension(request.form, taken=list(doc.get("dimensions") or {}),
                                                      lang=_lang())
            edit.apply_changes(db.session(), actor, v.id, lock_version=lock,
                               changes=[{"op": "add", "path": f"dimensions.{dim}", "value": entry}],
                               reason=request.form.get("reason", ""), dictionary=self._dictionary(), lang=_lang())
        return self._save(code, number, "sec-new-dimension", run, done="sec-weights")

    @expose("/<code>/<int:number>/edit/grades/", methods=["POST"])
    def edit_grades(self, code: str, number: int) -> ResponseReturnValue:
        from admin.designer import _lang

        def run(actor: Any, v: Any, lock: int) -> None:
            changes = grades_changes(versions.resolve(v), request.form, _lang(), self._dictionary())
            edit.apply_changes(db.session(), actor, v.id, lock_version=lock, changes=changes,
                               reason=request.form.get("reason", ""), dictionary=self._dictionary(), lang=_lang())
        return self._save(code, number, "sec-grades", run)

    @expose("/<code>/<int:number>/edit/indicators/<ind>/switch/", methods=["POST"])
    def edit_switch(self, code: str, number: int, ind: str) -> ResponseReturnValue:
        """Switch an indicator off (analysis only) or back on — one action, with its reason."""
        from admin.designer import _lang

        on = request.form.get("on") == "1"

        def run(actor: Any, v: Any, lock: int) -> None:
            if ind not in (versions.resolve(v).get("indicators") or {}):
                raise NotFound(ind)
            change = {"op": "set", "path": f"indicators.{ind}.scored", "value": on}
            edit.apply_changes(db.session(), actor, v.id, lock_version=lock, changes=[change],
                               reason=request.form.get("reason", ""), dictionary=self._dictionary(), lang=_lang())
        return self._save(code, number, f"ind-{ind}", run,
                          page=lambda **kw: self._editor(code, number, section=f"ind-{ind}", **kw))

    @expose("/<code>/<int:number>/edit/overrides/<int:index>/revert/", methods=["POST"])
    def edit_revert(self, code: str, number: int, index: int) -> ResponseReturnValue:
        """Take back one local change: that part is inherited again."""
        from admin.designer import _lang

        def run(actor: Any, v: Any, lock: int) -> None:
            edit.revert(db.session(), actor, v.id, lock_version=lock, index=index, dictionary=self._dictionary(),
                        lang=_lang())
        return self._save(code, number, "sec-overrides", run)

    # -- an indicator's form --------------------------------------------------------------------------------

    def _indicator_page(self, code: str, number: int, ind: str | None, *, status: int = 200,
                        errors: Mapping[str, list[str]] | None = None, form: Mapping[str, Any] | None = None,
                        stale: list[dict[str, Any]] | None = None) -> ResponseReturnValue:
        from admin.designer import _lang

        started = time.perf_counter()
        state, refused = self._editable(code, number)
        if refused is not None:
            return refused
        indicators = state.document.get("indicators") or {}
        if ind is not None and ind not in indicators:
            return self._not_found()
        entry = dict(indicators.get(ind) or {}) if ind else {}
        unit = str((form or {}).get("unit", entry.get("unit", "")) if ind is None else entry.get("unit", ""))
        values = designer_forms.form_of_scoring(entry.get("scoring"), unit)
        metrics = sorted(((c, str(m.get("name") or c)) for c, m in (state.document.get("metrics") or {}).items()),
                         key=lambda x: x[1])
        lang = _lang()
        getlist = getattr(form, "getlist", None)
        bounds = getlist("tier_bound") if getlist is not None else []
        tier_rows = ([{"bound": b, "points": p} for b, p in zip(bounds, getlist("tier_points"), strict=False)]
                     if getlist is not None and bounds else values["tiers"])
        html, _, headers = self._page(
            "admin/designer/indicator.html", state=state, code=ind, entry=entry, unit=unit, values=values,
            tier_rows=tier_rows, method_words=W.METHOD_WORDS[lang],
            missing_words=MISSING_WORDS[lang] if lang in MISSING_WORDS else MISSING_WORDS["zh"],
            errors=errors or {}, form=form or {}, stale=stale, metrics=metrics, methods=METHOD_CHOICES,
            missing_choices=MISSING_CHOICES, started=started,
            peer_groups=designer_items.PEER_GROUPS.get(str(state.document.get("subject") or "prosecutor"), ()),
            peer_group_words=W.PEER_GROUP_WORDS[lang], scheme_peer_group=str(state.document.get("peer_group") or "all"),
            dimensions=[(c, str(d.get("name") or c)) for c, d in (state.document.get("dimensions") or {}).items()],
            lines=self._line_choices(state.document, lang),
            checked_lines=(list(getlist("lines")) if getlist is not None and (form or {}).get("lines_shown")
                           else list(entry.get("lines") or [])),
            businesses=self._business_choices(state.document, lang),
            checked_businesses=(list(getlist("businesses")) if getlist is not None and (form or {}).get("lines_shown")
                                else list(entry.get("businesses") or [])))
        return html, status, headers

    def _business_choices(self, doc: Mapping[str, Any], lang: str) -> list[tuple[str, str]]:
        """The ten businesses (十大业务) an indicator may be limited to, finer than the lines (附条件不起诉率: 未成年人检察
        only) — a designer could not limit a new indicator to one, and the form showed such an indicator as if it
        applied to its whole line (an audit)."""
        if str(doc.get("subject") or "prosecutor") != "prosecutor":
            return []
        return [(b.code, b.name if lang == "zh" else b.name_en or b.name)
                for b in sorted(self._dictionary().businesses, key=lambda b: b.sort)]

    def _line_choices(self, doc: Mapping[str, Any], lang: str) -> list[tuple[str, str]]:
        """The lines of work (四大检察) an indicator may be limited to — prosecutors' schemes only (a procuratorate
        has no line of its own)."""
        if str(doc.get("subject") or "prosecutor") != "prosecutor":
            return []
        names = dict(self._dictionary().lines)
        return [(str(c), str(n if lang == "zh" else W.LINE_EN.get(c, n))) for c, n in names.items()]

    @expose("/<code>/<int:number>/edit/indicators/<ind>/", methods=["GET", "POST"])
    def edit_indicator(self, code: str, number: int, ind: str) -> ResponseReturnValue:
        """An indicator's formula and scoring rule."""
        from admin.designer import _lang

        if request.method == "GET":
            return self._indicator_page(code, number, ind)

        def run(actor: Any, v: Any, lock: int) -> None:
            changes = indicator_changes(versions.resolve(v), request.form, _lang(), self._dictionary(), ind)
            edit.apply_changes(db.session(), actor, v.id, lock_version=lock, changes=changes,
                               reason=request.form.get("reason", ""), dictionary=self._dictionary(), lang=_lang())
        return self._save(code, number, f"ind-{ind}", run,
                          page=lambda **kw: self._indicator_page(code, number, ind, **kw))

    @expose("/<code>/<int:number>/edit/new-indicator/", methods=["GET", "POST"])
    def new_indicator(self, code: str, number: int) -> ResponseReturnValue:
        """A local indicator (本地新增): name, dimension, formula, scoring rule — one form, one reason."""
        from admin.designer import _lang

        if request.method == "GET":
            metric = request.args.get("metric", "")
            return self._indicator_page(code, number, None,
                                        form={"formula": metric} if designer_forms.CODE.fullmatch(metric) else None)
        added: list[str] = []

        def run(actor: Any, v: Any, lock: int) -> None:
            changes = new_indicator_changes(versions.resolve(v), request.form, _lang(), self._dictionary(),
                                            template=v.parent_id is None)
            edit.apply_changes(db.session(), actor, v.id, lock_version=lock, changes=changes,
                               reason=request.form.get("reason", ""), dictionary=self._dictionary(), lang=_lang())
            added.append(str(changes[0]["path"]).split(".", 1)[1])
        response = self._save(code, number, "sec-indicators", run,
                              page=lambda **kw: self._indicator_page(code, number, None, **kw))
        if added:
            return self._after(code, number, f"ind-{added[0]}")
        return response

    @expose("/<code>/<int:number>/edit/new-metric/", methods=["GET", "POST"])
    def new_metric(self, code: str, number: int) -> ResponseReturnValue:
        """A local metric — what a formula counts: an event type, a condition picked from the data dictionary's
        choices (nothing typed), counted by event or by case; then on to the new indicator with it."""
        from admin.designer import _lang

        if request.method == "GET":
            return self._metric_page(code, number)
        added: list[str] = []

        def run(actor: Any, v: Any, lock: int) -> None:
            doc = versions.resolve(v)
            taken = [*(doc.get("indicators") or {}), *(doc.get("metrics") or {})]
            metric, entry = designer_forms.new_metric(request.form, self._dictionary(), taken=taken, lang=_lang())
            edit.apply_changes(db.session(), actor, v.id, lock_version=lock,
                               changes=[{"op": "add", "path": f"metrics.{metric}", "value": entry}],
                               reason=request.form.get("reason", ""), dictionary=self._dictionary(), lang=_lang())
            added.append(metric)
        response = self._save(code, number, "sec-indicators", run,
                              page=lambda **kw: self._metric_page(code, number, **kw))
        if added:
            return redirect(url_for(".new_indicator", code=code, number=number, metric=added[0]))
        return response

    def _metric_page(self, code: str, number: int, *, status: int = 200,
                     errors: Mapping[str, list[str]] | None = None, form: Mapping[str, Any] | None = None,
                     stale: list[dict[str, Any]] | None = None) -> ResponseReturnValue:
        from admin.designer import _lang

        started = time.perf_counter()
        state, refused = self._editable(code, number)
        if refused is not None:
            return refused
        d = self._dictionary()
        lang = _lang()
        events = [(c, et.name_en if lang == "en" else et.name, et.requires_case) for c, et in d.event_types.items()]
        html, _, headers = self._page("admin/designer/metric.html", state=state, errors=errors or {}, form=form or {},
                                      stale=stale, events=events,
                                      conditions=designer_forms.condition_choices(d, lang), started=started)
        return html, status, headers

    @expose("/<code>/<int:number>/edit/check-formula/", methods=["POST"])
    def check_formula(self, code: str, number: int) -> ResponseReturnValue:
        """htmx: the formula language's verdict on what is typed (position, 是否为…？), nothing saved."""
        from admin.designer import _actor, _lang

        try:
            v = versions.scheme_version(db.session(), _actor(), code, number)
            doc = versions.resolve(v)
        except (NotFound, InvalidInput):
            return "", 404
        ind = request.form.get("indicator") or None
        formula = str(request.form.get("formula", ""))[:2000]
        result = edit.check_formula(doc, self._dictionary(), formula, code=ind, lang=_lang())
        return self.render("admin/designer/formula_check.html", result=result, formula=formula)


# -- what a form changes: the same for a save and for the live impact (admin/designer_impact.py) -------------

Changes = list[dict[str, Any]]


def weights_changes(doc: Mapping[str, Any], form: Mapping[str, Any], lang: str, dictionary: Any,
                    target: str | None = None) -> Changes:
    """The dimension weights' form."""
    return designer_forms.weight_changes(doc.get("dimensions") or {}, form, lang)


def grades_changes(doc: Mapping[str, Any], form: Mapping[str, Any], lang: str, dictionary: Any,
                   target: str | None = None) -> Changes:
    """The grade bands' lowest totals and quotas."""
    return designer_forms.grade_changes((doc.get("grading") or {}).get("bands") or [], form, lang)


def indicator_changes(doc: Mapping[str, Any], form: Mapping[str, Any], lang: str, dictionary: Any,
                      target: str | None = None) -> Changes:
    """An indicator's formula and scoring rule (``target``: its code); field errors for both at once."""
    entry = (doc.get("indicators") or {}).get(target or "")
    if target is None or entry is None:
        raise NotFound(str(target))
    errors = designer_forms.FormErrors(lang)
    rule = designer_forms.scoring_from_form(form, unit=str(entry.get("unit", "")),
                                            direction=str(entry.get("direction", "higher_better")),
                                            lang=lang, errors=errors)
    formula = str(form.get("formula", entry.get("formula", ""))).strip()
    checked = edit.check_formula(doc, dictionary, formula, code=target, lang=lang)
    if not checked.get("ok"):
        errors.setdefault("formula", []).append(str(checked["message"]))
    errors.raise_if_any()
    formula = str(checked["formula"])  # names typed as the pages show them, saved as codes
    changes = designer_forms.scoring_changes(target, entry.get("scoring"), rule)
    changes += peer_group_changes(doc, form, target, rule, lang)
    if form.get("lines_shown"):  # the form showed the lines of work and the businesses (a prosecutors' scheme)
        lines = designer_forms.lines_of(form, dictionary)
        if lines != sorted(entry.get("lines") or []):
            changes.append({"op": "set", "path": f"indicators.{target}.lines", "value": lines})
        businesses = designer_forms.businesses_of(form, dictionary)
        if businesses != sorted(entry.get("businesses") or []):
            changes.append({"op": "set", "path": f"indicators.{target}.businesses", "value": businesses})
    if formula != entry.get("formula"):
        changes.append({"op": "set", "path": f"indicators.{target}.formula", "value": formula})
    return changes


RELATIVE_METHODS = ("percentile", "ratio_to_avg", "ratio_to_best")


def peer_group_changes(doc: Mapping[str, Any], form: Mapping[str, Any], ind: str, rule: Mapping[str, Any],
                       lang: str) -> Changes:
    """An indicator's own peer group (``ind_peer_group``; empty: the scheme's), for the methods that compare."""
    if rule.get("method") not in RELATIVE_METHODS or "ind_peer_group" not in form:
        return []
    entry = (doc.get("indicators") or {}).get(ind) or {}
    scheme_group = str(doc.get("peer_group") or "all")
    choices = designer_items.PEER_GROUPS.get(str(doc.get("subject") or "prosecutor"), ())
    group = str(form.get("ind_peer_group") or "") or scheme_group
    if group not in choices:
        errors = designer_forms.FormErrors(lang)
        errors.add("ind_peer_group", "required")
        errors.raise_if_any()
    if group == entry.get("peer_group", scheme_group):
        return []
    return [{"op": "set", "path": f"indicators.{ind}.peer_group", "value": group}]


def new_indicator_changes(doc: Mapping[str, Any], form: Mapping[str, Any], lang: str, dictionary: Any,
                          target: str | None = None, *, template: bool = False) -> Changes:
    """A new indicator (a local one, unless ``template``): one ``add`` (its code is the path's last part)."""
    taken = [*(doc.get("indicators") or {}), *(doc.get("metrics") or {})]
    try:
        ind, entry = designer_forms.new_indicator(form, taken=taken, dimensions=list(doc.get("dimensions") or {}),
                                                  lang=lang, prefix="IND_" if template else "LOCAL_")
        problems: dict[str, list[str]] = {}
    except InvalidInput as exc:
        problems = dict(exc.errors or {})
        ind, entry = str(form.get("code", "")), {}
    formula = str(form.get("formula", "")).strip()
    if formula and "formula" not in problems:
        checked = edit.check_formula(doc, dictionary, formula, code=ind or None, lang=lang)
        if not checked.get("ok"):
            problems.setdefault("formula", []).append(str(checked["message"]))
        elif entry:
            entry["formula"] = str(checked["formula"])  # names typed as the pages show them, saved as codes
    if problems:
        raise InvalidInput(msg("request.invalid"), errors=problems)
    lines = designer_forms.lines_of(form, dictionary)
    businesses = designer_forms.businesses_of(form, dictionary)
    entry.pop("lines", None)
    if str(doc.get("subject") or "prosecutor") == "prosecutor":
        if lines:
            entry["lines"] = lines
        if businesses:
            entry["businesses"] = businesses
    return [{"op": "add", "path": f"indicators.{ind}", "value": entry}]
