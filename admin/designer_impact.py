"""The rule designer's pages (issue 12), page 5: the preview (预览) of one prosecutor under a version and under the
version in force, and the live impact (影响预览) beside the editor. Mixed into :class:`admin.designer.SchemesView`
(its ``_page``, ``_not_found``, ``_forbidden`` and ``render``).

- ``/admin/schemes/<CODE>/<N>/preview/``: pick a prosecutor (among those the scheme scores that the person may
  see) and a closed period; the two score cards side by side come as a fragment (``…/preview/card/``) so the
  page answers at once and the comparison follows ("计算中…" on a cold cache);
- ``GET …/edit/impact/``: the saved draft against the version in force (the editor's panel on opening);
  ``POST …/edit/impact/``: the same for the form being typed, unsaved — the form is turned into the changes its
  save would make (the same functions as the save: :mod:`admin.designer_edit`, :mod:`admin.designer_items`),
  made to the draft's document in memory (:func:`rulesvc.services.designer_edit.unsaved_document`) and scored by
  :func:`rulesvc.services.impact.impact`. Nothing is saved, no record is written; the transaction is rolled back.

Both read only through the services' own checks (404 when the version or the prosecutor is not the person's to
see, 403 when they may not score or edit); errors of the unsaved form are the save's field messages.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping
from typing import Any

import polars as pl
from flask import current_app, request, url_for
from flask.typing import ResponseReturnValue
from flask_admin import expose

from admin.designer_edit import (
    _field_errors,
    grades_changes,
    indicator_changes,
    new_indicator_changes,
    weights_changes,
)
from admin.designer_items import item_changes, participants_changes, total_changes
from rulesvc.errors import Conflict, InvalidInput, NotEvaluated, NotFound, PermissionDenied
from rulesvc.extensions import db
from rulesvc.persistence import lifecycle
from rulesvc.services import designer_edit as edit
from rulesvc.services import impact, impact_data, results
from rulesvc.services.dictionary import get_dictionary
from rulesvc.services.governance import versions
from rulesvc.services.scoring import subjects_for

# Each form of the editor that the live impact follows → what its save would change.
PARTS: dict[str, Callable[..., list[dict[str, Any]]]] = {
    "weights": weights_changes, "grades": grades_changes, "total": total_changes, "participants": participants_changes,
    "indicator": indicator_changes, "new-indicator": new_indicator_changes,
    "adjustments": item_changes("adjustments"), "vetoes": item_changes("vetoes"),
}
CROSSERS_SHOWN = 8  # people named in the panel (the counts cover everyone)
PICK_LIST = 300  # up to this many people in view: one list to choose from; more: search by name or code
FOUND_SHOWN = 30  # search results listed
PERIODS_OFFERED = 6


def _lang() -> str:
    from admin.designer import _lang as lang

    return lang()


def _actor() -> Any:
    from admin.designer import _actor as actor

    return actor()


def _dictionary() -> Any:
    return get_dictionary(current_app.config["RULES_DIR"])


class ImpactViews:
    """Page 5: the preview and the live impact."""

    _page: Callable[..., Any]
    _not_found: Callable[[], Any]
    _forbidden: Callable[[], Any]
    render: Callable[..., str]

    # -- the preview ------------------------------------------------------------------------------------------

    @expose("/<code>/<int:number>/preview/")
    def preview(self, code: str, number: int) -> ResponseReturnValue:
        """Pick a prosecutor and a period; their card under this version and under the version in force."""
        started = time.perf_counter()
        if len(code) > 64:
            return self._not_found()
        actor = _actor()
        try:
            v = versions.scheme_version(db.session(), actor, code, number)
        except NotFound:
            return self._not_found()
        people = _people(v, actor)
        subject = request.args.get("subject", "").strip()[:64]
        q = request.args.get("q", "").strip()[:64]
        found: list[dict[str, Any]] = []
        if q and not subject:
            found = _search(people, q)
            if len(found) == 1:
                subject = found[0]["code"]
        chosen = None
        if subject:
            hit = people.filter(pl.col("code") == subject)
            if hit.height == 0:
                return self._not_found()  # not in the scheme's scope or not the person's to see: as if absent
            chosen = hit.row(0, named=True)
        elif not q and people.height:
            chosen = people.row(0, named=True)  # the first of the list (the person's own procuratorate first)
        periods, default_period = _periods(v.scheme.period_kind)
        period = request.args.get("period", "").strip()[:16] or default_period
        card_url = None
        if chosen is not None:
            card_url = url_for(".preview_card", code=code, number=number, subject=chosen["code"], period=period or None)
        return self._page("admin/designer/preview.html", v=v, people=people.to_dicts() if people.height <= PICK_LIST
                          else None, count=people.height, q=q, found=found, chosen=chosen, periods=periods,
                          period=period, card_url=card_url, editable=lifecycle.is_editable(v.status)
                          and actor.may("edit") and actor.in_scope(v.scheme.procuratorate_id), started=started)

    @expose("/<code>/<int:number>/preview/card/")
    def preview_card(self, code: str, number: int) -> ResponseReturnValue:
        """The two cards side by side, with the difference per indicator and bonus/penalty item (a fragment)."""
        started = time.perf_counter()
        actor = _actor()
        lang = _lang()
        try:
            v = versions.scheme_version(db.session(), actor, code[:64], number)
            answer = impact.preview(db.session(), actor, _dictionary(), version_id=v.id,
                                    subject=request.args.get("subject", "")[:64],
                                    period=request.args.get("period") or None)
        except NotFound:
            db.session.rollback()
            return self.render("admin/designer/preview_message.html", message=None), 404
        except PermissionDenied:
            db.session.rollback()
            return self.render("admin/designer/preview_message.html", message=None, forbidden=True), 403
        except (InvalidInput, NotEvaluated) as exc:
            db.session.rollback()
            return self.render("admin/designer/preview_message.html",
                               message="；".join(m for ms in _field_errors(exc, lang).values() for m in ms)), 422
        finally:
            db.session.rollback()
        units = _units(v)
        shown, rest = _split(answer["difference"]["indicators"])
        html, _, headers = self._page("admin/designer/preview_card.html", a=answer, units=units, shown=shown,
                                      rest=rest, lang=lang, why=_why(answer), uncounted=_uncounted(answer),
                                      one_language=lambda s: edit.one_language(str(s or ""), lang), started=started)
        return html, 200, headers

    # -- the live impact ----------------------------------------------------------------------------------------

    @expose("/<code>/<int:number>/edit/impact/", methods=["GET", "POST"])
    def edit_impact(self, code: str, number: int) -> ResponseReturnValue:
        """The live impact of the saved draft (GET) or of the form being typed (POST), nothing saved."""
        started = time.perf_counter()
        actor = _actor()
        lang = _lang()
        dictionary = _dictionary()
        errors: dict[str, list[str]] = {}
        answer = None
        status = 200
        try:
            v = versions.scheme_version(db.session(), actor, code[:64], number)
            document = None
            if not (lifecycle.is_editable(v.status) and actor.may("edit")):  # before reading any form: 403, not 422
                return self._forbidden()
            if request.method == "POST":
                part = PARTS.get(request.form.get("impact_part", ""))
                if part is None:
                    raise NotFound(request.form.get("impact_part", ""))
                changes = part(versions.resolve(v), request.form, lang, dictionary,
                               request.form.get("impact_target") or None)
                document = edit.unsaved_document(db.session(), actor, v.id, changes=changes)
            answer = impact.impact(db.session(), actor, dictionary, version_id=v.id, document=document,
                                   limit=CROSSERS_SHOWN)
        except NotFound:
            db.session.rollback()
            return self.render("admin/designer/preview_message.html", message=None), 404
        except PermissionDenied:
            return self._forbidden()
        except (InvalidInput, Conflict) as exc:
            errors, status = _field_errors(exc, lang), 422
        finally:
            db.session.rollback()  # nothing is saved, whatever happened
        html, _, headers = self._page("admin/designer/impact.html", a=answer, errors=errors,
                                      unsaved=request.method == "POST", started=started,
                                      field_words=lambda k: edit.field_words(k, lang))
        return html, status, headers


# -- helpers ---------------------------------------------------------------------------------------------------


def _people(v: Any, actor: Any) -> pl.DataFrame:
    """Those the version's scheme scores that the person may see: code, name, procuratorate (own one first)."""
    org = v.scheme.procuratorate.code if v.scheme.procuratorate is not None else None
    frame = subjects_for(db.session(), v.scheme.subject_kind, org)
    if actor.scope is not None:
        frame = frame.filter(pl.col("procuratorate_id").is_in(sorted(actor.scope)))
    from rulesvc.services.governance.access import tree_of

    names = {i: n.get("name", "") for i, n in tree_of(db.session()).names.items()}
    from flask_login import current_user

    own = current_user.procuratorate_id
    frame = frame.select("code", "name", "procuratorate_id").with_columns(
        pl.col("procuratorate_id").replace_strict(names, default="", return_dtype=pl.Utf8).alias("procuratorate"),
        (pl.col("procuratorate_id") != (own if own is not None else -1)).alias("_other"))
    return frame.sort(["_other", "procuratorate_id", "code"]).drop("_other")


def _search(people: pl.DataFrame, q: str) -> list[dict[str, Any]]:
    exact = people.filter((pl.col("code") == q) | (pl.col("name") == q))
    if exact.height:
        return exact.head(FOUND_SHOWN).to_dicts()
    hit = people.filter(pl.col("code").str.starts_with(q) | pl.col("name").str.contains(q, literal=True))
    return hit.head(FOUND_SHOWN).to_dicts()


def _periods(kind: str) -> tuple[list[str], str]:
    """The closed periods with data offered (newest first) and the default: the last closed one."""
    today = results.today()
    try:
        p = impact_data.chosen_period(db.session(), kind, None, today)
    except InvalidInput:
        return [], ""
    out = [p.label]
    for _ in range(PERIODS_OFFERED - 1):
        p = impact_data.period_of(kind, p.start - dt.timedelta(days=1))
        try:
            impact_data.chosen_period(db.session(), kind, p.label, today)
        except InvalidInput:
            break
        out.append(p.label)
    return out, out[0]


def _split(indicators: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The indicators worth a row (changed, or with a value or points on either side) and the rest (not
    applicable to the person, or without data, the same under both)."""
    def worth(i: Mapping[str, Any]) -> bool:
        sides = ("in_force", "draft")
        if i["change"] != "same":
            return True
        if i.get("applies") and not any(i["applies"].values()):  # another business's: its value (0) says nothing
            return False
        return any(i["value"][s] is not None or i["points"][s] for s in sides)
    return [i for i in indicators if worth(i)], [i for i in indicators if not worth(i)]


def _why(answer: Mapping[str, Any]) -> dict[str, str]:
    """Why an indicator scores what it does when its rule does not say so, by indicator code: the draft's card's
    ``peer_note`` (同组不足 5 人（2 人），不作比较 — a localization compares a person only with the people it
    evaluates) or ``note`` (无数据，不计入，本维度按其余指标计分), and the version in force's when it says otherwise —
    an audit read 0.00 points beside a count of 49 with no word of why (left out: the group too small)."""
    cards = answer.get("cards") or {}
    draft = {i["code"]: i for i in (cards.get("draft") or {}).get("indicators") or []}
    in_force = {i["code"]: i for i in (cards.get("in_force") or {}).get("indicators") or []}
    out: dict[str, str] = {}
    for code in [*draft, *(c for c in in_force if c not in draft)]:
        now = str((draft.get(code) or {}).get("peer_note") or (draft.get(code) or {}).get("note") or "")
        before = str((in_force.get(code) or {}).get("peer_note") or (in_force.get(code) or {}).get("note") or "")
        if before and before != now:
            out[code] = f"{now}（现行：{before}）" if now else f"现行：{before}"
        elif now:
            out[code] = now
    return out


def _uncounted(answer: Mapping[str, Any]) -> dict[str, set[str]]:
    """Per side, the indicators whose points do not count (left out: no data, a group too small, not applying):
    shown "—", as the score card does, not "0.00" beside a count of 49."""
    cards = answer.get("cards") or {}
    return {side: {i["code"] for i in (cards.get(side) or {}).get("indicators") or []
                   if i.get("counted") is False or i.get("applies") is False}
            for side in ("in_force", "draft")}


def _units(v: Any) -> dict[str, str]:
    """Each indicator's unit (a rate is shown as a percentage), from the version and the one above it."""
    out: dict[str, str] = {}
    for version in (v.parent, v):
        if version is None:
            continue
        try:
            doc = versions.resolve(version)
        except InvalidInput:
            continue
        out.update({c: str(i.get("unit") or "") for c, i in (doc.get("indicators") or {}).items()
                    if isinstance(i, Mapping)})
    return out
