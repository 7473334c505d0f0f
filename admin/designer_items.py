"""Bonus and penalty items (加减分项) and vetoes (一票否决) in the draft editor (issue 12, page 3), mixed into
:class:`admin.designer.SchemesView` beside :class:`admin.designer_edit.EditViews`:

- ``/admin/schemes/<CODE>/<N>/edit/adjustments/<ITEM>/`` (or ``vetoes``): change one;
- ``…/edit/adjustments-new/`` (or ``vetoes-new``): add a local one from the data dictionary's choices;
- ``POST …/edit/adjustments/<ITEM>/remove/``: take one out (a local one simply goes);
- ``POST …/edit/total/``: the total's base, span, cap and floor and the peer group;
- ``…/edit/yaml/``: the raw YAML tab for power users (:mod:`rulesvc.services.designer_yaml`), same checks.

Thin like the rest: :mod:`rulesvc.services.designer_items` reads the form, :mod:`rulesvc.services.designer_edit`
saves through the versions service; permissions, errors, stale saves as in :mod:`admin.designer_edit`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from flask import current_app, request
from flask.typing import ResponseReturnValue
from flask_admin import expose

from rulesvc.errors import NotFound
from rulesvc.extensions import db
from rulesvc.services import designer, designer_forms, designer_items, designer_yaml
from rulesvc.services import designer_edit as edit
from rulesvc.services import designer_words as W
from rulesvc.services.dictionary import get_dictionary
from rulesvc.services.governance import versions


class ItemViews:
    """Bonus and penalty items and vetoes: change one, add a local one, take one out; and the YAML tab."""

    _page: Callable[..., tuple[str, int, dict[str, str]]]
    _not_found: Callable[[], ResponseReturnValue]
    _forbidden: Callable[[], ResponseReturnValue]
    _save: Callable[..., ResponseReturnValue]
    _after: Callable[..., ResponseReturnValue]
    _dictionary: Callable[[], Any]
    _editable: Callable[[str, int], tuple[Any, ResponseReturnValue | None]]

    def _item_page(self, code: str, number: int, kind: str, item: str | None, *, status: int = 200,
                   errors: Mapping[str, list[str]] | None = None, form: Mapping[str, Any] | None = None,
                   stale: list[dict[str, Any]] | None = None) -> ResponseReturnValue:
        from admin.designer import _lang

        started = time.perf_counter()
        lang = _lang()
        state, refused = self._editable(code, number)
        if refused is not None:
            return refused
        entries = state.document.get(kind) or {}
        if item is not None and item not in entries:
            return self._not_found()
        entry = dict(entries.get(item) or {})
        d = self._dictionary()
        doc = state.document
        html, _, headers = self._page(
            "admin/designer/item.html", state=state, kind=kind, code=item, entry=entry, errors=errors or {},
            form=form or {}, stale=stale, started=started,
            events=[(c, et.name_en if lang == "en" else et.name) for c, et in d.event_types.items()],
            conditions=designer_forms.condition_choices(d, lang),
            dimensions=[(c, str(x.get("name") or c)) for c, x in (doc.get("dimensions") or {}).items()],
            grades=[str(b.get("grade")) for b in ((doc.get("grading") or {}).get("bands") or [])],
            effect=designer_items.veto_effect(entry) if kind == "vetoes" else {},
            event_words=W.events_words(_events_of(entry), d.event_types, lang) if entry else "",
            words=_item_words(code, number, kind, item, lang))
        return html, status, headers

    def _item_save(self, code: str, number: int, kind: str, item: str | None) -> ResponseReturnValue:
        from admin.designer import _lang

        added: list[str] = []

        def run(actor: Any, v: Any, lock: int) -> None:
            changes = item_changes(kind)(versions.resolve(v), request.form, _lang(), self._dictionary(), item)
            if item is None:
                added.append(str(changes[0]["path"]).split(".", 1)[1])
            edit.apply_changes(db.session(), actor, v.id, lock_version=lock, changes=changes,
                               reason=request.form.get("reason", ""), dictionary=self._dictionary(), lang=_lang())
        anchor = f"sec-{kind}" if item is None else f"item-{item}"
        response = self._save(code, number, anchor, run,
                              page=lambda **kw: self._item_page(code, number, kind, item, **kw))
        if added:
            return self._after(code, number, f"item-{added[0]}")
        return response

    @expose("/<code>/<int:number>/edit/<any(adjustments, vetoes):kind>/<item>/", methods=["GET", "POST"])
    def edit_item(self, code: str, number: int, kind: str, item: str) -> ResponseReturnValue:
        """An adjustment's points, per case, cap and dimension — or a veto's effect."""
        if request.method == "GET":
            return self._item_page(code, number, kind, item)
        return self._item_save(code, number, kind, item)

    @expose("/<code>/<int:number>/edit/<any(adjustments, vetoes):kind>-new/", methods=["GET", "POST"])
    def new_item(self, code: str, number: int, kind: str) -> ResponseReturnValue:
        """A local adjustment or veto, from the dictionary's choices."""
        if request.method == "GET":
            return self._item_page(code, number, kind, None)
        return self._item_save(code, number, kind, None)

    @expose("/<code>/<int:number>/edit/<any(adjustments, vetoes):kind>/<item>/remove/", methods=["POST"])
    def remove_item(self, code: str, number: int, kind: str, item: str) -> ResponseReturnValue:
        """Take an adjustment or a veto out of this scheme (a local one simply goes)."""
        from admin.designer import _lang

        def run(actor: Any, v: Any, lock: int) -> None:
            if item not in (versions.resolve(v).get(kind) or {}):
                raise NotFound(item)
            edit.apply_changes(db.session(), actor, v.id, lock_version=lock,
                               changes=[{"op": "remove", "path": f"{kind}.{item}"}],
                               reason=request.form.get("reason", ""), dictionary=self._dictionary(), lang=_lang())
        return self._save(code, number, f"item-{item}", run, done=f"sec-{kind}")

    @expose("/<code>/<int:number>/edit/total/", methods=["POST"])
    def edit_total(self, code: str, number: int) -> ResponseReturnValue:
        """The total's base, span, cap and floor, and the peer group scoring compares within."""
        from admin.designer import _lang

        def run(actor: Any, v: Any, lock: int) -> None:
            changes = total_changes(versions.resolve(v), request.form, _lang(), self._dictionary())
            edit.apply_changes(db.session(), actor, v.id, lock_version=lock, changes=changes,
                               reason=request.form.get("reason", ""), dictionary=self._dictionary(), lang=_lang())
        return self._save(code, number, "sec-total", run)

    @expose("/<code>/<int:number>/edit/participants/", methods=["POST"])
    def edit_participants(self, code: str, number: int) -> ResponseReturnValue:
        """Who is evaluated: quota statuses (or levels), the least share of the period in office, no activity."""
        from admin.designer import _lang

        def run(actor: Any, v: Any, lock: int) -> None:
            changes = participants_changes(versions.resolve(v), request.form, _lang(), self._dictionary())
            edit.apply_changes(db.session(), actor, v.id, lock_version=lock, changes=changes,
                               reason=request.form.get("reason", ""), dictionary=self._dictionary(), lang=_lang())
        return self._save(code, number, "sec-participants", run)

    @expose("/<code>/<int:number>/edit/comparison/", methods=["POST"])
    def edit_comparison(self, code: str, number: int) -> ResponseReturnValue:
        """The procuratorate comparison: indicators compared, the middle band, last places, months running."""
        from admin.designer import _lang

        def run(actor: Any, v: Any, lock: int) -> None:
            changes = designer_items.comparison_changes(versions.resolve(v), request.form, _lang())
            edit.apply_changes(db.session(), actor, v.id, lock_version=lock, changes=changes,
                               reason=request.form.get("reason", ""), dictionary=self._dictionary(), lang=_lang())
        return self._save(code, number, "sec-comparison", run)

    # -- the raw YAML tab (power users) -------------------------------------------------------------------

    @expose("/<code>/<int:number>/edit/yaml/", methods=["GET", "POST"])
    def edit_yaml(self, code: str, number: int) -> ResponseReturnValue:
        """The draft's own document as YAML, saved with the forms' checks (reasons, no new lint error)."""
        from admin.designer import _lang

        if request.method == "GET":
            return self._yaml_page(code, number)

        def run(actor: Any, v: Any, lock: int) -> None:
            designer_yaml.save(db.session(), actor, v.id, lock_version=lock, text=request.form.get("yaml", ""),
                               dictionary=self._dictionary(), lang=_lang())
        return self._save(code, number, "sec-overrides", run, page=lambda **kw: self._yaml_page(code, number, **kw))

    def _yaml_page(self, code: str, number: int, *, status: int = 200, errors: Mapping[str, list[str]] | None = None,
                   form: Mapping[str, Any] | None = None, stale: list[dict[str, Any]] | None = None) -> ResponseReturnValue:

        started = time.perf_counter()
        state, refused = self._editable(code, number)
        if refused is not None:
            return refused
        text = (form or {}).get("yaml") if form else None
        html, _, headers = self._page("admin/designer/yaml.html", state=state, errors=errors or {}, form=form or {},
                                      stale=stale, text=text if text is not None else designer_yaml.as_yaml(state.version),
                                      started=started)
        return html, status, headers


def _events_of(entry: Mapping[str, Any]) -> list[str]:
    events = entry.get("events") or ([entry["event"]] if entry.get("event") else [])
    return [str(e) for e in events]


def _item_words(code: str, number: int, kind: str, item: str | None, lang: str) -> dict[str, Any]:
    """The read page's words for one adjustment or veto (its condition, its effects)."""
    from admin.designer import _actor

    if item is None:
        return {}
    doc = designer.version_document(db.session(), _actor(), code, number, get_dictionary(current_app.config["RULES_DIR"]),
                                    lang=lang)
    rows = doc.adjustments if kind == "adjustments" else doc.vetoes
    return next((r for r in rows if r.get("code") == item), {})


# -- what a form changes: the same for a save and for the live impact (admin/designer_impact.py) -------------


def total_changes(doc: Mapping[str, Any], form: Mapping[str, Any], lang: str, dictionary: Any,
                  target: str | None = None) -> list[dict[str, Any]]:
    """The total's base, span, cap and floor and the peer group."""
    return designer_items.total_changes(doc, form, lang)


def participants_changes(doc: Mapping[str, Any], form: Mapping[str, Any], lang: str, dictionary: Any,
                         target: str | None = None) -> list[dict[str, Any]]:
    """Who is evaluated."""
    return designer_items.participants_changes(doc, form, lang)


def item_changes(kind: str) -> Callable[..., list[dict[str, Any]]]:
    """The form of an adjustment or a veto (``kind``): changing ``target``, or a new one (``target`` None)."""

    def changes(doc: Mapping[str, Any], form: Mapping[str, Any], lang: str, dictionary: Any,
                target: str | None = None) -> list[dict[str, Any]]:
        old = (doc.get(kind) or {}).get(target) if target is not None else None
        if target is not None and old is None:
            raise NotFound(target)
        taken = [c for coll in ("metrics", "indicators", "adjustments", "vetoes") for c in (doc.get(coll) or {})]
        dims = list(doc.get("dimensions") or {})
        if kind == "adjustments":
            new_code, entry = designer_items.adjustment(form, old=old, dimensions=dims, dictionary=dictionary,
                                                        taken=taken, lang=lang)
        else:
            grades = [str(b.get("grade")) for b in ((doc.get("grading") or {}).get("bands") or [])]
            new_code, entry = designer_items.veto(form, old=old, dimensions=dims, grades=grades,
                                                  dictionary=dictionary, taken=taken, lang=lang)
        if new_code is not None:
            return [{"op": "add", "path": f"{kind}.{new_code}", "value": entry}]
        assert old is not None and target is not None
        return designer_items.entry_changes(kind, target, old, entry)
    return changes
