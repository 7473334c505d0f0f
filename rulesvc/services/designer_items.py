"""Bonus and penalty items (加减分项) and vetoes (一票否决) from the editor's forms (issue 12, page 3).

An existing item keeps its events and condition (shown in words); its points, per-case counting, cap,
dimension — or a veto's effect — can change. A new local item is built from choices only: an event type of
the data dictionary and up to two conditions among that type's field choices (:func:`designer_forms.
condition_choices`), joined by "and". Nothing typed becomes a condition.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rulesvc.engine.dictionary import Dictionary
from rulesvc.services.designer_forms import (
    Change,
    Form,
    FormErrors,
    _list,
    _read,
    condition_choices,
    next_code,
)

VETO_EFFECTS = ("zero_dimension", "cap_grade", "bar_grade")
CONDITION_FIELDS = ("where", "where2")


def entry_changes(collection: str, code: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    """Changes from entry ``old`` to ``new``: key by key, or the whole entry when a key goes away."""
    base = f"{collection}.{code}"
    if any(k not in new for k in old):
        return [{"op": "set", "path": base, "value": dict(new)}]
    return [{"op": "set", "path": f"{base}.{k}", "value": v} for k, v in new.items() if old.get(k) != v]


def _condition(form: Form, dictionary: Dictionary, event: str, errors: FormErrors, lang: str) -> str | None:
    allowed = {c["value"] for c in condition_choices(dictionary, lang) if c["event"] == event}
    picked = []
    for key in CONDITION_FIELDS:
        value = str(form.get(key) or "")
        if not value:
            continue
        if value not in allowed:
            errors.add(key, "required")
        elif value not in picked:
            picked.append(value)
    return " and ".join(picked) if picked else None


def _new_common(form: Form, dictionary: Dictionary, errors: FormErrors, lang: str) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    name = str(form.get("name") or "").strip()
    if not name:
        errors.add("name", "required")
    event = str(form.get("event") or "")
    if event not in dictionary.event_types:
        errors.add("event", "required")
    entry.update(name=name, event=event)
    where = _condition(form, dictionary, event, errors, lang)
    if where:
        entry["where"] = where
    return entry


def adjustment(form: Form, *, old: Mapping[str, Any] | None, dimensions: Sequence[str], dictionary: Dictionary,
               taken: Sequence[str], lang: str) -> tuple[str | None, dict[str, Any]]:
    """An adjustment from its form: (a new code or None when editing ``old``, the entry)."""
    errors = FormErrors(lang)
    entry: dict[str, Any] = dict(old) if old is not None else _new_common(form, dictionary, errors, lang)
    points = _read(form, "points", errors)
    if points is not None:
        if points == 0:
            errors.add("points", "positive")
        entry["points"] = points
    cap = _read(form, "cap", errors, required=False)
    if cap is not None and cap <= 0:
        errors.add("cap", "positive")
    if cap is None:
        entry.pop("cap", None)
    else:
        entry["cap"] = cap
    if form.get("per_case"):
        entry["per_case"] = True
    else:
        entry.pop("per_case", None)
    dimension = str(form.get("dimension") or "")
    if dimension and dimension not in dimensions:
        errors.add("dimension", "dimension")
    if dimension:
        entry["dimension"] = dimension
    else:
        entry.pop("dimension", None)
    errors.raise_if_any()
    return (None if old is not None else next_code("local_adj", taken)), entry


def veto(form: Form, *, old: Mapping[str, Any] | None, dimensions: Sequence[str], grades: Sequence[str],
         dictionary: Dictionary, taken: Sequence[str], lang: str) -> tuple[str | None, dict[str, Any]]:
    """A veto with one effect from its form: (a new code or None when editing ``old``, the entry)."""
    errors = FormErrors(lang)
    entry: dict[str, Any] = dict(old) if old is not None else _new_common(form, dictionary, errors, lang)
    rest = list(entry.get("effects") or [])[1:]  # a veto's other effects stay as they are
    for key in ("effect", "effects", "dimension", "grade"):
        entry.pop(key, None)
    effect = str(form.get("effect") or "")
    first: dict[str, Any] = {}
    if effect not in VETO_EFFECTS:
        errors.add("effect", "required")
    elif effect == "zero_dimension":
        dimension = str(form.get("veto_dimension") or "")
        if dimension not in dimensions:
            errors.add("veto_dimension", "dimension")
        first = {"effect": effect, "dimension": dimension}
    else:
        grade = str(form.get("grade") or "")
        if grade not in grades:
            errors.add("grade", "required")
        first = {"effect": effect, "grade": grade}
    errors.raise_if_any()
    if rest:
        entry["effects"] = [first, *rest]
    else:
        entry.update(first)
    return (None if old is not None else next_code("local_veto", taken)), entry


def veto_effect(entry: Mapping[str, Any]) -> dict[str, str]:
    """The one effect a veto form shows (the first, when a veto has several)."""
    effects = entry.get("effects")
    first = effects[0] if isinstance(effects, list) and effects else entry
    return {"effect": str(first.get("effect") or ""), "dimension": str(first.get("dimension") or ""),
            "grade": str(first.get("grade") or "")}


# -- the total and the peer groups ------------------------------------------------------------------------

PEER_GROUPS = {"prosecutor": ("all", "procuratorate", "department", "business", "line"),
               "procuratorate": ("all", "level")}


def total_changes(doc: Mapping[str, Any], form: Form, lang: str) -> list[Change]:
    """``base``, ``span``, ``cap``, ``floor`` of the total and the scheme's peer group and its least size →
    a change per value that changed (an emptied cap or floor: the whole combination without it)."""
    errors = FormErrors(lang)
    old = dict(doc.get("combination") or {})
    new = dict(old)
    for key, required in (("base", True), ("span", True), ("cap", False), ("floor", False)):
        value = _read(form, key, errors, required=required)
        if value is None:
            new.pop(key, None)
        else:
            new[key] = value
    group = str(form.get("peer_group") or "")
    choices = PEER_GROUPS.get(str(doc.get("subject")), PEER_GROUPS["prosecutor"])
    if group not in choices:
        errors.add("peer_group", "required")
    size = _read(form, "peer_min_size", errors, required=False)
    if size is not None and (size < 1 or not float(size).is_integer()):
        errors.add("peer_min_size", "positive")
    errors.raise_if_any()
    changes: list[Change] = []
    if any(k not in new for k in old):
        changes.append({"op": "set", "path": "combination", "value": new})
    else:
        changes += [{"op": "set", "path": f"combination.{k}", "value": v} for k, v in new.items() if old.get(k) != v]
    if group != doc.get("peer_group", "all"):
        changes.append({"op": "set", "path": "peer_group", "value": group})
    if size is not None and size != doc.get("peer_min_size"):
        changes.append({"op": "set", "path": "peer_min_size", "value": int(size)})
    return changes


# -- who is evaluated (谁参加考评) ------------------------------------------------------------------------------

QUOTA_STATUSES = ("quota", "non_quota")
LEVELS = ("province", "city", "county")
NO_ACTIVITY = ("not_graded", "score")
PARTICIPANT_DEFAULTS: dict[str, Any] = {"quota_status": ["quota"], "min_office_share": 0.5, "levels": [],
                                        "no_activity": "not_graded"}


def participants_changes(doc: Mapping[str, Any], form: Form, lang: str) -> list[Change]:
    """Who takes part: the quota statuses taken (``p_status``, prosecutors' schemes) or the levels
    (``p_levels``, procuratorates' schemes; none ticked: every level), the least share of the period in
    office to be graded (``p_office``, a percentage) and what becomes of a subject without activity
    (``p_no_activity``) → a change per value that changed (the whole section when it had none of them)."""
    errors = FormErrors(lang)
    old = dict(doc.get("participants") or {})
    new = dict(old)
    if str(doc.get("subject") or "prosecutor") == "prosecutor":
        statuses = [x for x in QUOTA_STATUSES if x in _list(form, "p_status")]
        if not statuses:
            errors.add("p_status", "required")
        new["quota_status"] = statuses
    else:
        new["levels"] = [x for x in LEVELS if x in _list(form, "p_levels")]
    share = _read(form, "p_office", errors, scale=100.0)
    if share is not None and not 0 <= share <= 1:
        errors.add("p_office", "percent")
    elif share is not None:
        new["min_office_share"] = share
    idle = str(form.get("p_no_activity") or "")
    if idle not in NO_ACTIVITY:
        errors.add("p_no_activity", "required")
    new["no_activity"] = idle
    errors.raise_if_any()
    moved = [k for k in new if new[k] != old.get(k, PARTICIPANT_DEFAULTS.get(k))]
    if not moved:
        return []
    if not old or any(k not in old for k in moved):
        return [{"op": "set", "path": "participants", "value": {k: v for k, v in new.items()
                                                                if k in old or k in moved}}]
    return [{"op": "set", "path": f"participants.{k}", "value": new[k]} for k in moved]


# -- the procuratorate comparison (检察院之间的比较) -------------------------------------------------------------

ROUNDINGS = ("floor", "round", "ceil")
PEERS_DEFAULTS: dict[str, Any] = {"indicators": [], "band": 0.05, "bottom_k": None, "bottom_share": None,
                                  "streak": None, "bottom_k_groups": [], "bottom_share_groups": [],
                                  "bottom_share_rounding": "floor"}


def comparison_changes(doc: Mapping[str, Any], form: Form, lang: str) -> list[Change]:
    """The comparison of procuratorates with their peers: the indicators compared (``cmp_indicators``), the
    band of the middle (``cmp_band``, % of the average), the last places to explain (``cmp_bottom_k`` in the
    levels ``cmp_bottom_k_groups``; ``cmp_bottom_share`` % in ``cmp_bottom_share_groups``, rounded
    ``cmp_rounding``) and the months running worse than the average that are reported (``cmp_streak``) → a
    change per value that changed (the whole section when it had none)."""
    errors = FormErrors(lang)
    old = dict(doc.get("peers") or {})
    new = dict(old)
    codes = list(doc.get("indicators") or {})
    new["indicators"] = [c for c in codes if c in _list(form, "cmp_indicators")]
    band = _read(form, "cmp_band", errors, scale=100.0)
    if band is not None and not 0 <= band <= 1:
        errors.add("cmp_band", "percent")
    new["band"] = band
    k = _read(form, "cmp_bottom_k", errors, required=False)
    if k is not None and (k < 1 or not float(k).is_integer()):
        errors.add("cmp_bottom_k", "positive")
    new["bottom_k"] = int(k) if k is not None else None
    share = _read(form, "cmp_bottom_share", errors, required=False, scale=100.0)
    if share is not None and not 0 < share <= 1:
        errors.add("cmp_bottom_share", "percent")
    new["bottom_share"] = share
    streak = _read(form, "cmp_streak", errors, required=False)
    if streak is not None and (not float(streak).is_integer() or not 2 <= streak <= 36):
        errors.add("cmp_streak", "months")
    new["streak"] = int(streak) if streak is not None else None
    new["bottom_k_groups"] = [x for x in LEVELS if x in _list(form, "cmp_bottom_k_groups")]
    new["bottom_share_groups"] = [x for x in LEVELS if x in _list(form, "cmp_bottom_share_groups")]
    rounding = str(form.get("cmp_rounding") or "floor")
    if rounding not in ROUNDINGS:
        errors.add("cmp_rounding", "required")
    new["bottom_share_rounding"] = rounding
    errors.raise_if_any()
    new = {k: v for k, v in new.items() if v is not None}
    moved = [k for k in {**old, **new} if new.get(k, PEERS_DEFAULTS.get(k)) != old.get(k, PEERS_DEFAULTS.get(k))]
    if not moved:
        return []
    if not old or any(k not in old or k not in new for k in moved):
        return [{"op": "set", "path": "peers", "value": {k: v for k, v in new.items() if k in old or k in moved}}]
    return [{"op": "set", "path": f"peers.{k}", "value": new[k]} for k in moved]
