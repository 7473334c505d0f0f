"""Structural difference between two scheme documents, as data and as readable text.

``diff(old, new)`` compares the parts people reason about — dimensions, metrics, indicators,
adjustments, vetoes (by code), the single sections ``combination``, ``grading``, ``peers`` and the
top-level scalars — and returns only what differs (``diff(a, a) == {}``)::

    {
      "scheme":  [{"field": "code", "old": "SFS-PROSECUTOR-TEMPLATE", "new": "SFS-PROSECUTOR-910101"}],
      "weights": [{"dimension": "quality", "name": "质量", "old": 40, "new": 45}],
      "indicators": {
        "added":   ["BLACK_SOIL_PIL_SHARE"],
        "removed": [],                                  # (empty parts are left out)
        "changed": {"PLEA_APPLY_RATE": [{"field": "scoring.tiers[0].min", "old": 0.9, "new": 0.92}]},
        "names":   {"BLACK_SOIL_PIL_SHARE": "黑土地保护…", "PLEA_APPLY_RATE": "认罪认罚从宽制度适用率"},
      },
      "grading": [{"field": "bands[0].min", "old": 95, "new": 96}],
    }

Fields are dotted paths relative to the entry (or section). Mappings are compared key by key; lists
are compared whole, except lists of mappings of the same length, which are compared item by item
(``bands[0].min``). A value absent on one side is reported as ``None``. ``weights`` repeats the
dimension weight changes (including added and removed dimensions) because people read them first;
``names`` gives each added, removed or changed entry's name (the new one, or the old one if removed).

Pure: plain JSON-like data in, plain data out.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

COLLECTIONS = ("dimensions", "metrics", "indicators", "adjustments", "vetoes")
SECTIONS = ("participants", "combination", "grading", "peers")
SCALARS = ("code", "name", "subject", "period", "org", "description", "peer_group", "peer_min_size")

COLLECTION_LABELS = {
    "dimensions": "维度", "metrics": "度量", "indicators": "指标", "adjustments": "加减分项", "vetoes": "一票否决项",
}
SECTION_LABELS = {"participants": "参评范围 (participants)", "combination": "总分合成 (combination)",
                  "grading": "等次 (grading)", "peers": "组内比较 (peers)"}
SCALAR_LABELS = {
    "code": "方案代码 (code)", "name": "方案名称 (name)", "subject": "考评对象 (subject)", "period": "考评周期 (period)",
    "org": "制定院 (org)", "description": "说明 (description)", "peer_group": "比较组 (peer_group)",
    "peer_min_size": "比较组最少人数 (peer_min_size)",
}


class _Missing:
    """A value that is not there (distinct from ``None``, which a document may hold)."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<missing>"


MISSING: Any = _Missing()


def same_data(a: Any, b: Any) -> bool:
    """Equality of JSON-like data that keeps ``true`` apart from ``1`` (Python's ``True == 1``) but
    treats ``40`` and ``40.0`` as the same number. Tuples compare like lists."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(same_data(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same_data(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Mapping | list | tuple) or isinstance(b, Mapping | list | tuple):
        return False
    return type(a) is type(b) and a == b


def _join(prefix: str, key: Any) -> str:
    if isinstance(key, int) and not isinstance(key, bool):
        return f"{prefix}[{key}]"
    return f"{prefix}.{key}" if prefix else str(key)


def _plain(value: Any) -> Any:
    return None if value is MISSING else copy.deepcopy(value)


def changes(old: Any, new: Any, prefix: str = "") -> list[dict[str, Any]]:
    """``[{"field", "old", "new"}]`` for every place where ``old`` and ``new`` differ (see the module doc)."""
    if same_data(old, new):
        return []
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        out: list[dict[str, Any]] = []
        for key in [*old, *(k for k in new if k not in old)]:
            out += changes(old.get(key, MISSING), new.get(key, MISSING), _join(prefix, key))
        return out
    if (isinstance(old, list) and isinstance(new, list) and len(old) == len(new) and old
            and all(isinstance(x, Mapping) for x in (*old, *new))):
        out = []
        for i, (x, y) in enumerate(zip(old, new, strict=True)):
            out += changes(x, y, _join(prefix, i))
        return out
    return [{"field": prefix, "old": _plain(old), "new": _plain(new)}]


def _as_map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _name(entry: Any) -> str:
    name = entry.get("name") if isinstance(entry, Mapping) else None
    return name if isinstance(name, str) else ""


def _collection(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    added = [c for c in new if c not in old]
    removed = [c for c in old if c not in new]
    changed = {c: ch for c in old if c in new and (ch := changes(old[c], new[c]))}
    out: dict[str, Any] = {}
    if added:
        out["added"] = added
    if removed:
        out["removed"] = removed
    if changed:
        out["changed"] = changed
    if out:
        names = {c: _name(new[c]) for c in new if c in changed or c in added}
        names.update({c: _name(old[c]) for c in removed})
        out["names"] = names
    return out


def _weights(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[dict[str, Any]]:
    out = []
    for code in [*old, *(c for c in new if c not in old)]:
        a = _as_map(old.get(code)).get("weight") if code in old else None
        b = _as_map(new.get(code)).get("weight") if code in new else None
        if not same_data(a, b) or (code in old) != (code in new):
            name = _name(new[code]) if code in new else _name(old[code])
            out.append({"dimension": code, "name": name, "old": copy.deepcopy(a), "new": copy.deepcopy(b)})
    return out


def diff(old_doc: Mapping[str, Any], new_doc: Mapping[str, Any]) -> dict[str, Any]:
    """The structural difference from ``old_doc`` to ``new_doc`` (shape in the module doc).

    Top-level keys other than the known parts (should a document carry any) are compared whole and
    reported under ``scheme`` with the scalars, so ``diff(a, b) == {}`` exactly when the documents
    hold the same data (``same_data``), except that an absent collection and an empty one are equal.
    """
    out: dict[str, Any] = {}
    known = {*COLLECTIONS, *SECTIONS}
    top = [k for k in SCALARS if k in old_doc or k in new_doc]
    top += [k for k in [*old_doc, *(k for k in new_doc if k not in old_doc)] if k not in known and k not in SCALARS]
    scheme = [
        {"field": k, "old": _plain(old_doc.get(k, MISSING)), "new": _plain(new_doc.get(k, MISSING))}
        for k in top if not same_data(old_doc.get(k, MISSING), new_doc.get(k, MISSING))
    ]
    if scheme:
        out["scheme"] = scheme
    weights = _weights(_as_map(old_doc.get("dimensions")), _as_map(new_doc.get("dimensions")))
    if weights:
        out["weights"] = weights
    for coll in COLLECTIONS:
        part = _collection(_as_map(old_doc.get(coll)), _as_map(new_doc.get(coll)))
        if part:
            out[coll] = part
    for section in SECTIONS:
        section_changes = changes(old_doc.get(section, MISSING), new_doc.get(section, MISSING))
        if section_changes:
            out[section] = section_changes
    return out


def show(value: Any) -> str:
    """A value as compact JSON for a line of text; an absent value as （无）."""
    if value is None or value is MISSING:
        return "（无）"
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)


def _entry(label: str, code: str, name: str) -> str:
    return f"{label} {code}（{name}）" if name else f"{label} {code}"


def _scored(value: Any) -> str:
    return "仅作分析、不计分" if value is False else "计分"  # absent means scored (the default)


def _change_line(subject: str, ch: Mapping[str, Any]) -> str:
    if ch["field"] == "scored":
        return f"{subject}: 由{_scored(ch['old'])}改为{_scored(ch['new'])} (scored: {show(ch['new'])})"
    where = f" {ch['field']}" if ch["field"] else "（整体 whole）"
    return f"{subject}:{where} 由 {show(ch['old'])} 改为 {show(ch['new'])}"


def diff_lines(d: Mapping[str, Any]) -> list[str]:
    """One line of Chinese (with English keywords) per change in a ``diff`` result."""
    lines = [f"{SCALAR_LABELS.get(ch['field'], ch['field'])}: 由 {show(ch['old'])} 改为 {show(ch['new'])}"
             for ch in d.get("scheme", ())]
    for w in d.get("weights", ()):
        lines.append(f"维度权重 (weight) {_entry('', w['dimension'], w['name']).strip()}: "
                     f"{show(w['old'])} → {show(w['new'])}")
    for coll in COLLECTIONS:
        part = d.get(coll)
        if not part:
            continue
        label, names = COLLECTION_LABELS[coll], part.get("names", {})
        lines += [f"新增{_entry(label, c, names.get(c, ''))}" for c in part.get("added", ())]
        lines += [f"删除{_entry(label, c, names.get(c, ''))}" for c in part.get("removed", ())]
        for code, field_changes in part.get("changed", {}).items():
            subject = _entry(label, code, names.get(code, ""))
            for ch in field_changes:
                if coll == "dimensions" and ch["field"] == "weight" and "weights" in d:
                    continue  # already in the weights lines
                lines.append(_change_line(subject, ch))
    for section in SECTIONS:
        lines += [_change_line(SECTION_LABELS[section], ch) for ch in d.get(section, ())]
    return lines


def diff_text(d: Mapping[str, Any], old_label: str = "v1", new_label: str = "v2") -> str:
    """Readable text of a ``diff`` result: a heading, then one line per change."""
    lines = diff_lines(d)
    if not lines:
        return f"{old_label} 与 {new_label} 相同 (no changes)"
    head = f"{old_label} → {new_label}：{len(lines)} 处变化 ({len(lines)} changes)"
    return "\n".join([head, *(f"- {line}" for line in lines)])
