"""Whose people a scheme's figures are not the results of: the procuratorates that score their people under their own
localization of the scheme in a period (本地化方案, in force on the period's first day).

A template still scores everyone in its scope, so asking for a county's prosecutor under the provincial template
answers a figure — but that county's people are evaluated under the county's own scheme. An integrator stored
template figures as results with nothing to warn them (an API audit); the admin pages said it (the rankings' and
the card's ``localized-note``). Every evaluation answer now carries ``own_scheme``: the localization its subject's
procuratorate (or the nearest unit above that has one) scores them under, or ``null``.

Read once per process for each state of the versions and the data (``access.versions_state``, read with the
hierarchy's state once per transaction): no query on the scoring path.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Mapping
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from rulesvc.persistence.lifecycle import can_be_in_force
from rulesvc.persistence.models import Procuratorate, Scheme, SchemeVersion
from rulesvc.services.governance.access import Tree, tree_of, versions_state

_KEPT: dict[tuple[Any, ...], dict[str, dict[str, Any]]] = {}
T = TypeVar("T")
_LOCK = threading.Lock()


def localizations(session: Session, scheme_id: int, on: dt.date) -> dict[str, dict[str, Any]]:
    """procuratorate code → the localization of scheme ``scheme_id`` in force on ``on`` that the procuratorate owns
    (``{"code", "name", "procuratorate": {"code", "name"}}``)."""
    key = (versions_state(session), scheme_id, on)
    with _LOCK:
        found = _KEPT.get(key)
    if found is not None:
        return found
    parent = aliased(SchemeVersion)
    rows = session.execute(
        select(SchemeVersion.scheme_id, SchemeVersion.status, SchemeVersion.effective_to, parent.scheme_id,
               Scheme.code, Scheme.name, Procuratorate.code, Procuratorate.name)
        .join(Scheme, Scheme.id == SchemeVersion.scheme_id).join(Procuratorate, Procuratorate.id == Scheme.procuratorate_id)
        .outerjoin(parent, parent.id == SchemeVersion.parent_id)
        .where(SchemeVersion.effective_from.is_not(None), SchemeVersion.effective_from <= on,
               SchemeVersion.scheme_id != scheme_id)
        .order_by(SchemeVersion.scheme_id, SchemeVersion.effective_from.desc(), SchemeVersion.number.desc())).all()
    found, seen = {}, set()
    for sid, status, end, parent_scheme, code, name, org_code, org_name in rows:
        if sid in seen or not can_be_in_force(status) or (end is not None and end < on):
            continue
        seen.add(sid)  # the scheme's version in force on the day: the latest go-live on or before it
        if parent_scheme == scheme_id:
            found[org_code] = {"code": code, "name": name, "procuratorate": {"code": org_code, "name": org_name}}
    with _LOCK:
        if len(_KEPT) >= 64:
            _KEPT.clear()
        _KEPT[key] = found
    return found


def localization_above(tree: Tree, local: Mapping[str, T], procuratorate_id: int | None) -> T | None:
    """``local``'s entry (by procuratorate code) for the unit ``procuratorate_id`` or the nearest unit above it that
    has one — a city's localization scores its counties' people too; None when none has."""
    pid, seen = procuratorate_id, set()
    while pid is not None and pid not in seen:
        seen.add(pid)
        org = tree.names.get(pid)
        hit = local.get(org["code"]) if org else None
        if hit is not None:
            return hit
        pid = tree.parent.get(pid)
    return None


def own_scheme(session: Session, scheme_id: int, scheme_code: str, on: dt.date, period: str,
               procuratorate_id: int | None) -> dict[str, Any] | None:
    """The localization (of scheme ``scheme_id``, in force on ``on``) that the unit ``procuratorate_id`` — or the
    nearest unit above it that has one: a city's localization scores its counties' people too — scores its people
    under, with a note in both languages; None when there is none."""
    if procuratorate_id is None:
        return None
    local = localizations(session, scheme_id, on)
    if not local:
        return None
    hit = localization_above(tree_of(session), local, procuratorate_id)
    if hit is None:
        return None
    o, n, c = hit["procuratorate"]["name"], hit["name"], hit["code"]
    return {**hit,
            "note": f"{o}在 {period} 按本院本地化方案“{n}”（{c}）考评其人员：此处是按 {scheme_code} 计算的分数，"
                    "不是其考评结果",
            "note_en": f"{o} scores its people under its own localization “{n}” ({c}) in {period}: this is a "
                       f"figure under {scheme_code}, not their result"}
