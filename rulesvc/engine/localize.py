"""Localisation (本地化) of a scheme: a parent version plus a list of overrides, each with its reason.

A procuratorate localises a parent version (e.g. the provincial template) by storing only its
overrides; the resolved document (parent + overrides + the child's own identity) is what runs. When
the parent publishes a new version, ``rebase`` carries over the overrides that still apply and
reports the others as conflicts for a person to settle (``settle``, then ``rebased_overrides``).

Override format (plain data, as in YAML/JSON)::

    {"op": "set" | "add" | "remove" | "disable", "path": "dimensions.quality.weight",
     "value": <JSON data, only for set and add>, "reason": "理由…"}

Paths are dotted keys with ``[i]`` for list indices: ``grading.bands[0].min``,
``indicators.PLEA_APPLY_RATE.scoring.tiers``.

- ``set``: replace the value at a path of the parent. The container must exist; a key absent from a
  mapping may be set (``indicators.X.scoring.missing``), a list index must be in range, and a whole
  entry (``indicators.X``) must exist (new entries are added with ``add``). Whole collections
  (``indicators``…) cannot be set: that would copy the parent instead of localising it.
- ``add``: a new entry ``metrics|indicators|adjustments|vetoes|dimensions.CODE``, absent from the
  parent; the value is the entry (a mapping).
- ``remove``: delete an existing ``metrics|indicators|adjustments|vetoes.CODE``.
- ``disable``: make an existing, scored indicator analysis-only (``indicators.CODE`` → ``scored:
  false``; it is still computed and shown).
- ``reason`` is required for every override.

Identity keys (``code``, ``name``, ``org``, ``description``) are not overrides: they are the
child's own and passed to ``resolve`` separately; ``subject`` cannot be localised. Two overrides may
not touch the same place, nor may one lie inside another (``indicators.X`` removed and
``indicators.X.lines`` set; ``disable`` touches ``indicators.X.scored``).

Every problem of every override is reported at once in one :class:`LocalizationError`.

Pure: no framework, no database; inputs are never mutated; results are deterministic.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rulesvc.engine.docdiff import MISSING, same_data
from rulesvc.engine.texts import visible

OPS = ("set", "add", "remove", "disable")
IDENTITY_KEYS = ("code", "name", "org", "description")
COLLECTIONS = ("dimensions", "metrics", "indicators", "adjustments", "vetoes")
SECTIONS = ("participants", "combination", "grading", "peers")
SETTABLE_ROOTS = ("period", "peer_group", "peer_min_size", *SECTIONS, *COLLECTIONS)
ADDABLE = COLLECTIONS
REMOVABLE = ("metrics", "indicators", "adjustments", "vetoes")
OVERRIDE_KEYS = ("op", "path", "value", "reason")
CHOICES = ("keep", "take_upstream", "edit")

Token = str | int
Problem = dict[str, Any]

_KEY = r"[A-Za-z_][A-Za-z0-9_]*"
_SEGMENT = re.compile(rf"({_KEY})((?:\[\d+\])*)")

MSG_NO_PATH = "路径不存在 (no such path in the parent)"


class LocalizationError(ValueError):
    """Overrides that cannot be applied. ``problems``: ``[{"index", "path", "message"}]``, where
    ``index`` is the override's position in the list (``None`` for the list or the identity)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (-1 if p["index"] is None else p["index"], p["path"]))
        lines = [("" if p["index"] is None else f"#{p['index']} ") + f"{p['path'] or '(overrides)'}: {p['message']}"
                 for p in self.problems]
        super().__init__("本地化覆盖项有误 (invalid localisation overrides):\n  " + "\n  ".join(lines))


def _problem(index: int | None, path: Any, message: str) -> Problem:
    return {"index": index, "path": path if isinstance(path, str) else "", "message": message}


# ---------------------------------------------------------------------------------------------
# paths


def parse_path(path: Any) -> tuple[Token, ...]:
    """``"grading.bands[0].min"`` → ``("grading", "bands", 0, "min")``; ``ValueError`` when malformed."""
    if not isinstance(path, str) or not path.strip():
        raise ValueError("缺少路径 (missing path)")
    tokens: list[Token] = []
    for part in path.strip().split("."):
        m = _SEGMENT.fullmatch(part)
        if not m:
            raise ValueError(f"路径格式不对：{part!r} (malformed path: keys are codes, list indices are [i])")
        tokens.append(m.group(1))
        tokens.extend(int(i) for i in re.findall(r"\d+", m.group(2)))
    return tuple(tokens)



def value_at(doc: Any, tokens: Sequence[Any], default: Any = None) -> Any:
    """The value at a parsed path (``parse_path``) of a document, or ``default`` where the path leads nowhere."""
    node = doc
    for t in tokens:
        if isinstance(node, Mapping) and t in node:
            node = node[t]
        elif isinstance(node, list) and isinstance(t, int) and 0 <= t < len(node):
            node = node[t]
        else:
            return default
    return node

def format_path(tokens: Iterable[Token]) -> str:
    out = ""
    for t in tokens:
        out += f"[{t}]" if isinstance(t, int) else (f".{t}" if out else t)
    return out


def _get(doc: Any, tokens: Sequence[Token]) -> Any:
    """The value at ``tokens`` or ``MISSING``."""
    node = doc
    for t in tokens:
        if isinstance(t, int):
            if not isinstance(node, list) or t >= len(node):
                return MISSING
        elif not isinstance(node, Mapping) or t not in node:
            return MISSING
        node = node[t]
    return node


def _touched(ov: Mapping[str, Any]) -> tuple[Token, ...]:
    """The place an override changes (``disable`` changes the indicator's ``scored``)."""
    tokens = parse_path(ov["path"])
    return (*tokens, "scored") if ov["op"] == "disable" else tokens


def _part(tokens: Sequence[Token]) -> str:
    """The part of the document a path belongs to: ``indicators.X``, ``grading``…"""
    return format_path(tokens[:2]) if tokens[0] in COLLECTIONS else str(tokens[0])


# ---------------------------------------------------------------------------------------------
# validation


def _is_json(value: Any) -> bool:
    if value is None or isinstance(value, str | bool | int):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list | tuple):
        return all(_is_json(v) for v in value)
    if isinstance(value, Mapping):
        return all(isinstance(k, str) and _is_json(v) for k, v in value.items())
    return False


def _static(index: int, raw: Any) -> tuple[dict[str, Any] | None, list[Problem]]:
    """Check one override on its own (no parent): its normalised copy, or ``None`` and the problems."""
    if not isinstance(raw, Mapping):
        return None, [_problem(index, "", "覆盖项应为映射 (an override is a mapping of op, path, value, reason)")]
    path = raw.get("path")
    problems: list[Problem] = []

    def bad(message: str) -> None:
        problems.append(_problem(index, path, message))

    for key in raw:
        if key not in OVERRIDE_KEYS:
            bad(f"未知的键 {key!r}，可能是拼写错误 (unknown key — a typo? expected op, path, value, reason)")
    op = raw.get("op")
    if op not in OPS:
        bad(f"未知的操作 {op!r}，应为 set、add、remove、disable 之一 (unknown op)" if op is not None
            else "缺少操作 op (missing op: set, add, remove or disable)")
    reason = raw.get("reason")
    if not isinstance(reason, str) or not visible(reason):
        bad("缺少理由 reason：每一项本地化都要说明理由 (missing reason: every override needs one)")
    tokens: tuple[Token, ...] = ()
    try:
        tokens = parse_path(path)
    except ValueError as exc:
        bad(str(exc))
    if tokens and op in OPS:
        root, depth = tokens[0], len(tokens)
        entry = depth == 2 and isinstance(tokens[1], str)
        if root in IDENTITY_KEYS:
            bad("身份项不是覆盖项，由本地方案自身给出 (identity keys come from the localisation itself, not overrides)")
        elif root == "subject":
            bad("考评对象不可本地化 (the subject kind cannot be localised)")
        elif root not in SETTABLE_ROOTS:
            bad(f"未知的方案部分 {root!r} (unknown part of a scheme)")
        elif op == "set" and depth == 1 and root in COLLECTIONS:
            bad("不能整体替换一个集合，请逐项 add/remove/set (a whole collection cannot be set)")
        elif op == "add" and not (root in ADDABLE and entry):
            bad("add 的路径应为 metrics|indicators|adjustments|vetoes|dimensions.代码 (add takes a collection entry)")
        elif op == "remove" and not (root in REMOVABLE and entry):
            bad("remove 的路径应为 metrics|indicators|adjustments|vetoes.代码 (remove takes a collection entry)")
        elif op == "disable" and not (root == "indicators" and entry):
            bad("disable 的路径应为 indicators.代码 (disable takes an indicator)")
    if op in ("set", "add"):
        if "value" not in raw:
            bad(f"{op} 需要取值 value (missing value)")
        elif not _is_json(raw["value"]):
            bad("取值须为 JSON 数据（映射、列表、文本、有限数值、true/false、null）(value must be JSON data)")
        elif op == "add" and not isinstance(raw["value"], Mapping):
            bad("add 的取值应为一个条目（映射）(the value of add is the new entry, a mapping)")
    elif op in ("remove", "disable") and raw.get("value") is not None:
        bad(f"{op} 不带取值 (takes no value)")
    if problems:
        return None, problems
    assert isinstance(reason, str)
    ov: dict[str, Any] = {"op": op, "path": format_path(tokens)}
    if op in ("set", "add"):
        ov["value"] = copy.deepcopy(raw["value"])
    ov["reason"] = reason.strip()
    return ov, []


def _validate(overrides: Any) -> tuple[list[dict[str, Any] | None], list[Problem]]:
    """Normalised overrides aligned with the input (``None`` where one has a problem) and all problems."""
    if not isinstance(overrides, list | tuple):
        raise LocalizationError([_problem(None, "", "覆盖项应为列表 (overrides must be a list)")])
    out: list[dict[str, Any] | None] = []
    problems: list[Problem] = []
    for i, raw in enumerate(overrides):
        ov, found = _static(i, raw)
        out.append(ov)
        problems += found
    seen: list[tuple[int, tuple[Token, ...]]] = []
    for i, ov in enumerate(out):
        if ov is None:
            continue
        mine = _touched(ov)
        for j, theirs in seen:
            n = min(len(mine), len(theirs))
            if mine[:n] != theirs[:n]:
                continue
            if len(mine) == len(theirs):
                msg = f"与覆盖项 #{j} 改动同一处 (touches the same place as override #{j})"
            else:
                msg = (f"与覆盖项 #{j}（{format_path(theirs)}）重叠：一项在另一项之内 "
                       f"(overlaps override #{j}: one lies inside the other)")
            problems.append(_problem(i, ov["path"], msg))
            out[i] = None
            break
        else:
            seen.append((i, mine))
    return out, problems


def validate_overrides(overrides: Any) -> list[dict[str, Any]]:
    """Check overrides on their own (no parent): normalised copies ``{"op", "path", "value"?,
    "reason"}`` (canonical path, stripped reason), or :class:`LocalizationError` with every problem."""
    out, problems = _validate(overrides)
    if problems:
        raise LocalizationError(problems)
    return [ov for ov in out if ov is not None]


def _check(doc: Any, ov: Mapping[str, Any], tokens: Sequence[Token]) -> str | None:
    """Why a (statically valid) override cannot be applied to ``doc``, or ``None``."""
    op, target = ov["op"], _get(doc, tokens)
    if op == "add":
        if target is not MISSING:
            return "上级方案已有此条目，不能新增；修改请用 set (already in the parent: use set to change it)"
        coll = doc.get(tokens[0]) if isinstance(doc, Mapping) else MISSING
        if coll is not None and not isinstance(coll, Mapping):
            return MSG_NO_PATH
        return None
    if op in ("remove", "disable"):
        if target is MISSING:
            return MSG_NO_PATH
        if op == "disable":
            if not isinstance(target, Mapping):
                return MSG_NO_PATH
            if not target.get("scored", True):
                return "该指标已不计分，无需停用 (the indicator is already analysis-only)"
        return None
    if target is not MISSING:
        return None
    if (len(tokens) == 2 and tokens[0] in COLLECTIONS and isinstance(tokens[1], str)
            and isinstance(doc.get(tokens[0]), Mapping)):
        return "上级方案没有此条目；新增条目请用 add (no such entry in the parent: use add)"
    node: Any = doc
    for depth, t in enumerate(tokens):
        last = depth == len(tokens) - 1
        if isinstance(t, int):
            if not isinstance(node, list):
                return MSG_NO_PATH
            if t >= len(node):
                return f"下标 {t} 越界：列表只有 {len(node)} 项 (index out of range: the list has {len(node)} items)"
        elif not isinstance(node, Mapping):
            return MSG_NO_PATH
        elif t not in node:
            return None if last else MSG_NO_PATH  # a mapping may gain a key the parent omits
        node = node[t]
    return None  # pragma: no cover - the target exists


def _apply(doc: dict[Any, Any], ov: Mapping[str, Any], tokens: Sequence[Token]) -> None:
    op = ov["op"]
    if op == "add":
        if doc.get(tokens[0]) is None:
            doc[tokens[0]] = {}
        doc[tokens[0]][tokens[1]] = copy.deepcopy(ov["value"])
    elif op == "remove":
        del doc[tokens[0]][tokens[1]]
    elif op == "disable":
        doc[tokens[0]][tokens[1]]["scored"] = False
    else:
        _get(doc, tokens[:-1])[tokens[-1]] = copy.deepcopy(ov["value"])


def _identity_problems(identity: Any) -> list[Problem]:
    if identity is None:
        return []
    if not isinstance(identity, Mapping):
        return [_problem(None, "identity", "身份应为映射 (identity is a mapping of code, name, org, description)")]
    return [_problem(None, f"identity.{k}", "不是身份项 (not an identity key: code, name, org, description)")
            for k in identity if k not in IDENTITY_KEYS]


def resolve(parent_doc: Mapping[str, Any], overrides: Any, identity: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The document that runs: a deep copy of ``parent_doc`` with ``overrides`` applied in order and
    the child's ``identity`` (any of code, name, org, description) on top. Inputs are not mutated.
    Every problem (static or against the parent) is reported in one :class:`LocalizationError`."""
    if not isinstance(parent_doc, Mapping):
        raise LocalizationError([_problem(None, "", "上级方案应为映射 (the parent document must be a mapping)")])
    normalised, problems = _validate(overrides)
    problems += _identity_problems(identity)
    doc = copy.deepcopy(dict(parent_doc))
    for i, ov in enumerate(normalised):
        if ov is None:
            continue
        tokens = parse_path(ov["path"])
        message = _check(doc, ov, tokens)
        if message:
            problems.append(_problem(i, ov["path"], message))
        else:
            _apply(doc, ov, tokens)
    if problems:
        raise LocalizationError(problems)
    for key in IDENTITY_KEYS:
        if identity and key in identity:
            doc[key] = copy.deepcopy(identity[key])
    return doc


# ---------------------------------------------------------------------------------------------
# display: kinds and provenance

OTHER = ("其他修改", "other change")
_ADDED = {
    "indicators": ("新增本地指标", "local indicator added"), "metrics": ("新增本地度量", "local metric added"),
    "adjustments": ("新增加减分项", "adjustment added"), "vetoes": ("新增一票否决项", "veto added"),
    "dimensions": ("新增维度", "dimension added"),
}
_REMOVED = {
    "indicators": ("删除指标", "indicator removed"), "metrics": ("删除度量", "metric removed"),
    "adjustments": ("删除加减分项", "adjustment removed"), "vetoes": ("删除一票否决项", "veto removed"),
}


def kind_of(override: Mapping[str, Any]) -> tuple[str, str]:
    """A (Chinese, English) label of what an override does, for display:

    调整权重 weight changed (``dimensions.X.weight``) · 替换计分规则 scoring rule replaced
    (``indicators.X.scoring`` or its ``method``) · 调整档位/目标 threshold/target changed (another
    scoring parameter, e.g. ``scoring.tiers``; not ``scoring.missing``) · 停用指标 indicator switched
    off (``disable``, or ``set indicators.X.scored`` to false) · 恢复计分 switched back on · 调整等次
    grading changed · 新增… / 删除… added / removed · 其他修改 other change."""
    op = override.get("op") if isinstance(override, Mapping) else None
    try:
        tokens = parse_path(override.get("path") if isinstance(override, Mapping) else None)
    except ValueError:
        return OTHER
    root, rest = tokens[0], tokens[2:]
    if op == "disable":
        return ("停用指标", "indicator switched off")
    if op == "add":
        return _ADDED.get(str(root), OTHER)
    if op == "remove":
        return _REMOVED.get(str(root), OTHER)
    if op != "set":
        return OTHER
    if root == "dimensions" and rest == ("weight",):
        return ("调整权重", "weight changed")
    if root == "indicators" and rest == ("scored",):
        value = override.get("value")
        return ("停用指标", "indicator switched off") if value is False else ("恢复计分", "indicator switched back on")
    if root == "indicators" and rest[:1] == ("scoring",):
        if len(rest) == 1 or rest[1] == "method":
            return ("替换计分规则", "scoring rule replaced")
        if rest[1] != "missing":
            return ("调整档位/目标", "threshold/target changed")
    if root == "grading":
        return ("调整等次与名额", "grading changed")
    if root == "adjustments" and rest in (("points",), ("cap",)):
        return ("调整加减分项" + ("分值" if rest == ("points",) else "封顶"),
                "item " + ("points" if rest == ("points",) else "cap") + " changed")
    if root in ("adjustments", "vetoes", "indicators", "metrics", "dimensions") and rest:
        return {"adjustments": ("调整加减分项", "item changed"), "vetoes": ("调整一票否决项", "veto changed"),
                "indicators": ("调整指标", "indicator changed"), "metrics": ("调整度量", "metric changed"),
                "dimensions": ("调整维度", "dimension changed")}[str(root)]
    if root == "combination":
        return ("调整总分计算", "total's calculation changed")
    if root == "peers":
        return ("调整院际比较", "procuratorate comparison changed")
    if root == "participants":
        return ("调整参评范围", "who is evaluated changed")
    if root in ("peer_group", "peer_min_size") or (root == "indicators" and rest[:1] in (("peer_group",),
                                                                                       ("peer_min_size",))):
        return ("调整比较组", "peer group changed")
    return OTHER


def provenance(parent_doc: Mapping[str, Any], overrides: Any) -> dict[str, dict[str, Any]]:
    """Where each part of the resolved document comes from, keyed ``indicators.PLEA_APPLY_RATE``,
    ``dimensions.quality``, ``combination``…: ``{"status", "overrides"}`` with status

    - ``inherited``: as in the parent;
    - ``local``: added by the localisation (or a section the parent lacks, set locally);
    - ``changed``: inherited, then overridden;
    - ``disabled``: an indicator switched off (analysis-only);
    - ``removed``: deleted by the localisation (kept in the listing so it can be shown);

    and ``overrides`` the ``[{"index", "op", "path", "reason", "kind": [zh, en]}]`` touching it.
    Covers ``period``, ``peer_group``, ``peer_min_size``, ``participants``, ``combination``, every dimension, metric, indicator,
    adjustment and veto, ``grading`` and ``peers``. Raises :class:`LocalizationError` like ``resolve``."""
    resolved = resolve(parent_doc, overrides)
    normalised = validate_overrides(overrides)
    touching: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for i, ov in enumerate(normalised):
        touching.setdefault(_part(parse_path(ov["path"])), []).append((i, ov))

    order: list[str] = []
    for key in ("period", "peer_group", "peer_min_size", "participants", "combination"):
        if key in resolved or key in touching:
            order.append(key)
    for coll in COLLECTIONS:
        codes = list(parent_doc.get(coll) or {})
        codes += [c for c in (resolved.get(coll) or {}) if c not in codes]
        order += [f"{coll}.{c}" for c in codes]
    for key in ("grading", "peers"):
        if resolved.get(key) is not None or parent_doc.get(key) is not None or key in touching:
            order.append(key)

    out: dict[str, dict[str, Any]] = {}
    for part in order:
        found = touching.get(part, [])
        ops = {ov["op"] for _, ov in found}
        in_parent = _get(parent_doc, parse_path(part)) not in (MISSING, None)
        if "add" in ops or (found and not in_parent):
            status = "local"
        elif "remove" in ops:
            status = "removed"
        elif "disable" in ops or any(kind_of(ov)[1] == "indicator switched off" for _, ov in found):
            status = "disabled"
        elif found:
            status = "changed"
        else:
            status = "inherited"
        out[part] = {
            "status": status,
            "overrides": [{"index": i, "op": ov["op"], "path": ov["path"], "reason": ov["reason"],
                           "kind": list(kind_of(ov))} for i, ov in found],
        }
    return out


# ---------------------------------------------------------------------------------------------
# rebase onto a new parent version


@dataclass(frozen=True)
class Conflict:
    """An override whose target changed upstream between the old and the new parent.

    ``kind``: ``changed`` (the value at its path differs), ``gone`` (the path no longer exists in the
    new parent), ``added`` (an ``add`` whose entry the new parent now has) or ``weights`` (a local weight
    whose own value upstream kept, while upstream changed other weights: the split as a whole moved). ``upstream_old`` /
    ``upstream_new``: the value at the path in the old / new parent (``None`` when absent, see
    ``in_old`` / ``in_new``; for ``remove`` and ``disable`` the whole entry); ``local``: the
    override's value (``None`` for ``remove`` / ``disable``). ``applies``: the override, unchanged,
    can still be applied to the new parent. ``choices``: how it may be settled (see ``settle``)."""

    index: int
    op: str
    path: str
    kind: str
    message: str
    override: dict[str, Any]
    upstream_old: Any
    upstream_new: Any
    in_old: bool
    in_new: bool
    local: Any
    applies: bool
    choices: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index, "op": self.op, "path": self.path, "kind": self.kind, "message": self.message,
            "override": copy.deepcopy(self.override), "upstream_old": copy.deepcopy(self.upstream_old),
            "upstream_new": copy.deepcopy(self.upstream_new), "in_old": self.in_old, "in_new": self.in_new,
            "local": copy.deepcopy(self.local), "applies": self.applies, "choices": list(self.choices),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Conflict:
        """The inverse of ``as_dict`` (a conflict stored as JSON)."""
        values = {k: copy.deepcopy(data[k]) for k in cls.__dataclass_fields__}
        values["choices"] = tuple(values["choices"])
        return cls(**values)


@dataclass(frozen=True)
class RebaseResult:
    """``overrides``: the normalised input; ``carried``: those that apply unchanged to the new parent
    (in order); ``conflicts``: the others, each to be settled by a person."""

    overrides: list[dict[str, Any]] = field(default_factory=list)
    carried: list[dict[str, Any]] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.conflicts

    def as_dict(self) -> dict[str, Any]:
        return {"carried": copy.deepcopy(self.carried), "conflicts": [c.as_dict() for c in self.conflicts]}


_CONFLICT_MESSAGES = {
    "changed": "上级新版本改动了本项覆盖的内容 (upstream changed what this override changes)",
    "gone": "上级新版本已没有此路径 (the path no longer exists upstream)",
    "added": "上级新版本已有同名条目 (upstream now has an entry with this code)",
    "weights": "上级新版本调整了维度权重：各维度权重合起来才是一种分配，本地这项权重须重新确认 "
               "(upstream changed the dimension weights: the weights are one split, so this local weight must be "
               "confirmed again)",
}


def _weight_split(doc: Mapping[str, Any]) -> dict[str, Any]:
    """Each dimension's weight, by code (a dimension without one: None)."""
    dims = doc.get("dimensions") if isinstance(doc, Mapping) else None
    return {str(k): (d.get("weight") if isinstance(d, Mapping) else None) for k, d in (dims or {}).items()}


def _choices(op: str, kind: str, applies: bool) -> tuple[str, ...]:
    out = ["take_upstream"]
    if applies:
        out.insert(0, "keep")
    if (op == "set" and applies) or (op == "add" and kind == "added"):
        out.append("edit")
    return tuple(out)


def rebase(old_parent: Mapping[str, Any], new_parent: Mapping[str, Any], overrides: Any) -> RebaseResult:
    """Sort overrides written against ``old_parent`` into those carried to ``new_parent`` and conflicts.

    A ``set``, ``remove`` or ``disable`` conflicts when the value at its path differs between the two
    parents (upstream changed what it overrides; for ``remove``/``disable`` the whole entry) or when
    it no longer applies to the new parent (its path is gone, an index out of range, an indicator
    already analysis-only); an ``add`` conflicts when the new parent now has that entry; a local dimension
    weight conflicts (``weights``) whenever upstream changed any dimension's weight. Raises
    :class:`LocalizationError` when the overrides are invalid on their own."""
    normalised = validate_overrides(overrides)
    carried: list[dict[str, Any]] = []
    conflicts: list[Conflict] = []
    # The weights are one split: when upstream moved any of them, every local weight is confirmed again (a
    # county's 45/25/30 must not silently become 45/25/25 because the province moved 效果 it had not touched).
    weights_moved = not same_data(_weight_split(old_parent), _weight_split(new_parent))
    for i, ov in enumerate(normalised):
        tokens = parse_path(ov["path"])
        old_v, new_v = _get(old_parent, tokens), _get(new_parent, tokens)
        problem = _check(new_parent, ov, tokens)
        if ov["op"] == "add":
            kind = None if problem is None else "added" if new_v is not MISSING else "gone"
        elif new_v is MISSING and problem is not None:
            kind = "gone"
        elif problem is not None or not same_data(old_v, new_v):
            kind = "changed"
        elif weights_moved and ov["op"] == "set" and len(tokens) == 3 and tokens[0] == "dimensions" \
                and tokens[2] == "weight":
            kind = "weights"
        else:
            kind = None
        if kind is None:
            carried.append(ov)
            continue
        message = _CONFLICT_MESSAGES[kind]
        if problem is not None and kind == "changed":
            message += f"；{problem}"
        conflicts.append(Conflict(
            index=i, op=ov["op"], path=ov["path"], kind=kind, message=message, override=copy.deepcopy(ov),
            upstream_old=None if old_v is MISSING else copy.deepcopy(old_v),
            upstream_new=None if new_v is MISSING else copy.deepcopy(new_v),
            in_old=old_v is not MISSING, in_new=new_v is not MISSING,
            local=copy.deepcopy(ov.get("value")), applies=problem is None,
            choices=_choices(ov["op"], kind, problem is None),
        ))
    return RebaseResult(overrides=normalised, carried=carried, conflicts=conflicts)


_UNSET: Any = object()


def settle(override: Mapping[str, Any], conflict: Conflict | Mapping[str, Any], choice: str,
           value: Any = _UNSET, *, reason: str | None = None) -> dict[str, Any] | None:
    """How a person settles one conflict: the override to keep (against the new parent) or ``None``.

    - ``keep``: keep the override as it is — only when it still applies to the new parent
      (``conflict.applies``; e.g. a ``set`` whose path still exists).
    - ``take_upstream``: drop the override; the new parent's value stands. Always possible.
    - ``edit``: a new ``value``. For a ``set`` whose path still exists; for an ``add`` that collides
      with a new upstream entry, the result is a ``set`` of that entry (the local version replaces
      upstream's). ``remove`` and ``disable`` take no value.

    ``reason`` optionally replaces the override's reason (e.g. to say why it was kept). The
    ``conflict`` may be a :class:`Conflict` or its ``as_dict()``. Invalid choices raise
    :class:`LocalizationError`."""
    if not isinstance(conflict, Conflict):
        conflict = Conflict.from_dict(conflict)
    ov, problems = _static(conflict.index, override)
    if ov is None:
        raise LocalizationError(problems)

    def refuse(message: str) -> LocalizationError:
        return LocalizationError([_problem(conflict.index, conflict.path, message)])

    if (ov["op"], ov["path"]) != (conflict.op, conflict.path):
        raise refuse("覆盖项与冲突不符 (the override is not the one in conflict)")
    if choice not in CHOICES:
        raise refuse(f"未知的处理方式 {choice!r}，应为 keep、take_upstream、edit 之一 (unknown choice)")
    if choice not in conflict.choices:
        if choice == "keep":
            raise refuse("本地覆盖在新版上级方案中已不适用，不能保留 (keep: the override no longer applies upstream)")
        raise refuse("只有路径仍存在的 set、或与上级同名的 add 可以改值 "
                     "(edit: only a set whose path still exists, or a colliding add, takes a new value)")
    if choice == "take_upstream":
        return None
    if reason is not None:
        ov["reason"] = reason
    if choice == "edit":
        if value is _UNSET:
            raise refuse("edit 需要新的取值 (edit needs a value)")
        ov["op"], ov["value"] = "set", value
        ov = {k: ov[k] for k in ("op", "path", "value", "reason")}
    checked, problems = _static(conflict.index, ov)
    if checked is None:
        raise LocalizationError(problems)
    return checked


def rebased_overrides(result: RebaseResult, settled: Mapping[int, Mapping[str, Any] | None]) -> list[dict[str, Any]]:
    """The override list against the new parent: carried overrides and, at the position of each
    conflict, its settlement (``settled[index]``, an override or ``None`` to drop it), in the original
    order. Every conflict must be settled; the result is validated like ``validate_overrides``."""
    conflicts = {c.index for c in result.conflicts}
    problems = [_problem(c.index, c.path, "冲突尚未处理 (conflict not settled)")
                for c in result.conflicts if c.index not in settled]
    problems += [_problem(i, "", "此项没有冲突 (no conflict at this index)") for i in settled if i not in conflicts]
    if problems:
        raise LocalizationError(problems)
    out = []
    for i, ov in enumerate(result.overrides):
        chosen = settled[i] if i in conflicts else ov
        if chosen is not None:
            out.append(dict(chosen))
    return validate_overrides(out)
