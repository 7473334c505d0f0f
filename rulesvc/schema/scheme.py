"""Scheme documents (YAML/JSON) validated with marshmallow into the engine's frozen dataclasses.

Structure only: types, required keys, allowed values, unknown keys refused (a typo must not be
silently ignored). Names, formulas and scoring parameters are checked by the engine's compiler,
which knows the data dictionary. Every problem becomes a :class:`DocumentError` naming its path.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

import yaml
from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_load,
    validate,
    validates_schema,
)

from rulesvc.engine import model as m
from rulesvc.schema import limits

CODE = validate.Regexp(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$", error="须为字母、数字、下划线组成的代码 (letters, digits, _)")


class DocumentError(ValueError):
    """A scheme document failed structural validation; ``problems`` maps paths to messages."""

    def __init__(self, problems: dict[str, list[str]]) -> None:
        self.problems = problems
        lines = [f"{path}: {'; '.join(msgs)}" for path, msgs in sorted(problems.items())]
        super().__init__("方案文件有误 (invalid scheme document):\n  " + "\n  ".join(lines))


def _flatten(messages: Any, prefix: str = "", data: Any = None) -> dict[str, list[str]]:
    """marshmallow's nested messages as ``{path: [Chinese message, …]}`` (see ``rulesvc.schema.messages``);
    given ``data``, the document as loaded, a message also says what the offending value was."""
    from rulesvc.schema.messages import NO_VALUE, flatten

    return flatten(messages, NO_VALUE if data is None else data, prefix)


def _translate(msg: str) -> str:
    """One marshmallow message in Chinese, the English after it in brackets."""
    from rulesvc.schema.messages import translate

    return translate(msg)


class _Base(Schema):
    class Meta:
        unknown = RAISE


def _events_list(data: Any) -> Any:
    """Accept ``event: x`` as shorthand for ``events: [x]``."""
    if isinstance(data, Mapping) and "event" in data and "events" not in data:
        data = dict(data)
        ev = data.pop("event")
        data["events"] = ev if isinstance(ev, list) else [ev]
    return data


MAX_DENOMINATOR = 1_000_000


def exact_fraction(raw: Any) -> Fraction:
    """A weight as written — ``2``, ``0.5`` or ``"4/3"`` — as an exact fraction (4/3 stays 4/3, 0.1 is
    1/10), so both executors add weights without rounding. Raises ``ValueError`` with the reason."""
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise ValueError("须为数值或分数，如 1、0.5、\"4/3\" (a number or a fraction such as \"4/3\")")
    try:
        f = Fraction(repr(raw) if isinstance(raw, float) else str(raw).strip())
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"无法识别的系数“{raw}”，应为数值或分数，如 \"4/3\" (not a number or fraction)") from None
    if f.denominator > MAX_DENOMINATOR or abs(f.numerator) > MAX_DENOMINATOR * 1000:
        raise ValueError(f"系数“{raw}”的分母或分子过大 (too many digits)")
    return f


class _WeightValue(fields.Field):
    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return exact_fraction(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


class WeightsSchema(_Base):
    by = fields.String(required=True, validate=validate.Length(min=1, max=64))
    table = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=200)), values=_WeightValue(),
                        required=True, validate=validate.Length(min=1, max=500))
    default = _WeightValue(load_default=Fraction(0))


class MetricSchema(_Base):
    name = fields.String(load_default="")
    events = fields.List(fields.String(validate=validate.Length(min=1)), required=True, validate=validate.Length(min=1))
    agg = fields.String(load_default="count", validate=validate.OneOf(m.AGGREGATIONS))
    field = fields.String(load_default=None)
    where = fields.String(load_default=None)
    description = fields.String(load_default="")
    weights = fields.Nested(WeightsSchema, load_default=None)
    unit = fields.String(load_default="", validate=validate.Length(max=8))

    @pre_load
    def _shorthand(self, data, **_):
        return _events_list(data)


class ScoringSchema(Schema):
    """``method`` and ``missing`` are known; every other key is a parameter of the method."""

    class Meta:
        unknown = "include"

    method = fields.String(required=True)
    missing = fields.String(load_default="zero", validate=validate.OneOf(m.MISSING_POLICIES))

    @post_load
    def _make(self, data, **_):
        method, missing = data.pop("method"), data.pop("missing")
        return m.ScoringRule(method=method, params=m.frozen_map(data), missing=missing)


class IndicatorSchema(_Base):
    name = fields.String(required=True)
    formula = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    dimension = fields.String(load_default=None)
    direction = fields.String(load_default="higher_better", validate=validate.OneOf(m.DIRECTIONS))
    scoring = fields.Nested(ScoringSchema, load_default=None)
    scored = fields.Boolean(load_default=True)
    lines = fields.List(fields.String(), load_default=list)
    unit = fields.String(load_default="")
    description = fields.String(load_default="")
    source = fields.String(load_default="")
    businesses = fields.List(fields.String(), load_default=list)
    peer_group = fields.String(load_default=None, validate=validate.OneOf(m.PEER_GROUPS))
    peer_min_size = fields.Integer(load_default=None, strict=True, validate=validate.Range(min=2, max=100_000))
    prorate = fields.Boolean(load_default=False)


class PatternStepSchema(_Base):
    name = fields.String(required=True)
    events = fields.List(fields.String(), required=True, validate=validate.Length(min=1))
    where = fields.String(load_default=None)
    at_least = fields.Float(load_default=1, allow_nan=False, validate=validate.Range(min=0, min_inclusive=False))
    sum = fields.String(load_default=None, validate=validate.Length(min=1, max=64))

    @validates_schema
    def _whole_counts(self, data, **_):
        n = data.get("at_least", 1)
        if data.get("sum") is None and (n != int(n) or not 1 <= n <= 100):
            raise ValidationError("按件数计时须为 1 到 100 的整数；累计某字段请写 sum (a count: a whole number"
                                  " from 1 to 100; to add up a field, give sum)", "at_least")

    @pre_load
    def _shorthand(self, data, **_):
        return _events_list(data)


class AdjustmentSchema(_Base):
    name = fields.String(required=True)
    events = fields.List(fields.String(), required=True, validate=validate.Length(min=1))
    points = fields.Float(required=True, allow_nan=False)
    where = fields.String(load_default=None)
    dimension = fields.String(load_default=None)
    cap = fields.Float(load_default=None, allow_nan=False, validate=validate.Range(min=0, min_inclusive=False))
    per_case = fields.Boolean(load_default=False)
    pattern = fields.List(fields.Nested(PatternStepSchema), load_default=None)
    lines = fields.List(fields.String(), load_default=list)
    businesses = fields.List(fields.String(), load_default=list)
    description = fields.String(load_default="")

    @pre_load
    def _shorthand(self, data, **_):
        return _events_list(data)


class VetoEffectSchema(_Base):
    effect = fields.String(required=True, validate=validate.OneOf(m.VETO_EFFECTS))
    dimension = fields.String(load_default=None)
    grade = fields.String(load_default=None)


class VetoSchema(_Base):
    """One effect (``effect`` with its ``dimension`` or ``grade``) or several (``effects: [...]``)."""

    name = fields.String(required=True)
    events = fields.List(fields.String(), required=True, validate=validate.Length(min=1))
    effect = fields.String(load_default=None, validate=validate.OneOf(m.VETO_EFFECTS))
    effects = fields.List(fields.Nested(VetoEffectSchema), load_default=None, validate=validate.Length(min=1, max=10))
    where = fields.String(load_default=None)
    dimension = fields.String(load_default=None)
    grade = fields.String(load_default=None)
    description = fields.String(load_default="")

    @pre_load
    def _shorthand(self, data, **_):
        return _events_list(data)

    @validates_schema
    def _one_form(self, data, **_):
        single = data.get("effect") is not None
        if single == (data.get("effects") is not None):
            raise ValidationError("须写 effect（一个后果）或 effects（多个后果）之一 (give either effect or effects)",
                                  "effect")
        if not single and (data.get("dimension") is not None or data.get("grade") is not None):
            raise ValidationError("使用 effects 时，dimension、grade 写在各后果中 (with effects, put dimension"
                                  " and grade inside each effect)", "effects")


class DimensionSchema(_Base):
    name = fields.String(required=True)
    weight = fields.Float(required=True, allow_nan=False, validate=validate.Range(min=0))
    adjustment_cap = fields.Float(load_default=None, allow_nan=False, validate=validate.Range(min=0))


class CombinationSchema(_Base):
    method = fields.String(load_default="weighted", validate=validate.OneOf(("weighted", "sum")))
    base = fields.Float(load_default=0.0, allow_nan=False)
    span = fields.Float(load_default=None, allow_nan=False)
    cap = fields.Float(load_default=None, allow_nan=False)
    floor = fields.Float(load_default=None, allow_nan=False)


class BandSchema(_Base):
    grade = fields.String(required=True)
    min = fields.Float(required=True, allow_nan=False)
    quota = fields.Float(load_default=None, validate=validate.Range(min=0, max=1, min_inclusive=False))
    quota_rounding = fields.String(load_default="round", validate=validate.OneOf(m.ROUNDINGS))


class GradingSchema(_Base):
    bands = fields.List(fields.Nested(BandSchema), required=True, validate=validate.Length(min=1))
    quota_group = fields.String(load_default="all", validate=validate.OneOf(m.PEER_GROUPS))


class PeersSchema(_Base):
    indicators = fields.List(fields.String(), load_default=list)
    band = fields.Float(load_default=0.05, validate=validate.Range(min=0, max=1))
    bottom_k = fields.Integer(load_default=None, strict=True, validate=validate.Range(min=1))
    bottom_share = fields.Float(load_default=None, validate=validate.Range(min=0, max=1, min_inclusive=False))
    streak = fields.Integer(load_default=None, strict=True, validate=validate.Range(min=2, max=36))
    group = fields.String(load_default="level", validate=validate.OneOf(m.PEER_GROUPS))
    bottom_k_groups = fields.List(fields.String(), load_default=list)
    bottom_share_groups = fields.List(fields.String(), load_default=list)
    bottom_k_when_small = fields.String(load_default="none", validate=validate.OneOf(m.SMALL_GROUP))
    bottom_share_rounding = fields.String(load_default="floor", validate=validate.OneOf(m.ROUNDINGS[:3]))


class ParticipantsSchema(_Base):
    quota_status = fields.List(fields.String(validate=validate.OneOf(m.QUOTA_STATUSES)),
                               load_default=lambda: ["quota"], validate=validate.Length(min=1))
    min_office_share = fields.Float(load_default=0.5, allow_nan=False, validate=validate.Range(min=0, max=1))
    levels = fields.List(fields.String(validate=validate.OneOf(m.LEVELS)), load_default=list)
    no_activity = fields.String(load_default="not_graded", validate=validate.OneOf(m.NO_ACTIVITY))


def _dict_of(schema: type[Schema]) -> fields.Dict:
    return fields.Dict(keys=fields.String(validate=CODE), values=fields.Nested(schema), load_default=dict)


class SchemeSchema(_Base):
    code = fields.String(required=True, validate=validate.Regexp(limits.SCHEME_CODE_PATTERN))
    name = fields.String(required=True)
    subject = fields.String(required=True, validate=validate.OneOf(m.SUBJECT_KINDS))
    period = fields.String(required=True, validate=validate.OneOf(m.PERIOD_KINDS))
    org = fields.String(load_default=None, validate=validate.Regexp(r"^\d{6}$"))
    description = fields.String(load_default="")
    peer_group = fields.String(load_default="all", validate=validate.OneOf(m.PEER_GROUPS))
    peer_min_size = fields.Integer(load_default=m.DEFAULT_PEER_MIN_SIZE, strict=True,
                                   validate=validate.Range(min=2, max=100_000))
    participants = fields.Nested(ParticipantsSchema, load_default=None)
    combination = fields.Nested(CombinationSchema, load_default=dict)
    dimensions = fields.Dict(keys=fields.String(validate=CODE), values=fields.Nested(DimensionSchema), required=True)
    metrics = _dict_of(MetricSchema)
    indicators = fields.Dict(keys=fields.String(validate=CODE), values=fields.Nested(IndicatorSchema), required=True)
    adjustments = _dict_of(AdjustmentSchema)
    vetoes = _dict_of(VetoSchema)
    grading = fields.Nested(GradingSchema, load_default=None)
    peers = fields.Nested(PeersSchema, load_default=None)


def canonical_json(doc: Mapping[str, Any]) -> str:
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def content_hash(doc: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of a document: what identifies a published version."""
    return hashlib.sha256(canonical_json(doc).encode()).hexdigest()


def _build(data: dict[str, Any], doc: Mapping[str, Any]) -> m.Scheme:
    comb = data["combination"] or {}
    base = comb.get("base", 0.0)
    span = comb.get("span")
    combination = m.Combination(
        method=comb.get("method", "weighted"), base=base,
        span=span if span is not None else 100.0 - base if comb.get("method", "weighted") == "weighted" else 0.0,
        cap=comb.get("cap"), floor=comb.get("floor"),
    )
    grading = None
    if data["grading"]:
        g = data["grading"]
        grading = m.Grading(tuple(m.GradeBand(**b) for b in g["bands"]), quota_group=g["quota_group"])
    pa = data["participants"]
    participants = m.Participants() if not pa else m.Participants(
        quota_statuses=tuple(pa["quota_status"]), min_office_share=pa["min_office_share"],
        levels=tuple(pa["levels"]), no_activity=pa["no_activity"])
    peers = None
    if data["peers"]:
        p = data["peers"]
        peers = m.PeerComparison(**{**p, **{k: tuple(p[k]) for k in ("indicators", "bottom_k_groups", "bottom_share_groups")}})

    def tup(d: dict[str, Any], *keys: str) -> dict[str, Any]:
        return {**d, **{k: tuple(d[k]) for k in keys if d.get(k) is not None}}

    adjustments = {}
    for code, a in data["adjustments"].items():
        pattern = None
        if a.get("pattern"):
            pattern = m.CasePattern(tuple(m.PatternStep(**tup(s, "events")) for s in a["pattern"]))
        adjustments[code] = m.Adjustment(code=code, **{**tup(a, "events", "lines", "businesses"), "pattern": pattern})
    vetoes = {}
    for code, v in data["vetoes"].items():
        v = dict(v)
        single = m.VetoEffect(v.pop("effect"), v.pop("dimension"), v.pop("grade"))
        many = v.pop("effects")
        effects = (single,) if many is None else tuple(m.VetoEffect(**e) for e in many)
        vetoes[code] = m.Veto(code=code, effects=effects, **tup(v, "events"))
    return m.Scheme(
        code=data["code"], name=data["name"], subject=data["subject"], period=data["period"], org=data["org"],
        description=data["description"], peer_group=data["peer_group"],
        metrics=m.frozen_map({c: m.Metric(code=c, **{**tup(x, "events"), "weights": _weights(x["weights"])})
                              for c, x in data["metrics"].items()}),
        indicators=m.frozen_map({c: m.Indicator(code=c, **tup(x, "lines", "businesses"))
                                 for c, x in data["indicators"].items()}),
        dimensions=m.frozen_map({c: m.Dimension(code=c, **x) for c, x in data["dimensions"].items()}),
        combination=combination,
        grading=grading,
        adjustments=m.frozen_map(adjustments),
        vetoes=m.frozen_map(vetoes),
        peers=peers,
        content_hash=content_hash(doc),
        participants=participants,
        peer_min_size=data["peer_min_size"],
    )


def _weights(w: dict[str, Any] | None) -> m.Weights | None:
    if w is None:
        return None
    raw = {k: v for k, v in w["table"].items()}
    return m.Weights(by=w["by"], table=m.frozen_map({k: (f.numerator, f.denominator) for k, f in raw.items()}),
                     default=(w["default"].numerator, w["default"].denominator),
                     labels=m.frozen_map({k: str(f) for k, f in raw.items()}))


def load_scheme(doc: Mapping[str, Any]) -> m.Scheme:
    """Validate a parsed document and build the engine's :class:`~rulesvc.engine.model.Scheme`."""
    if not isinstance(doc, Mapping):
        raise DocumentError({"(document)": ["方案文件应为一个映射 (a scheme document is a mapping)"]})
    try:
        data = SchemeSchema().load(dict(doc))
    except ValidationError as exc:
        raise DocumentError(_flatten(exc.messages, data=dict(doc))) from None
    return _build(data, doc)


class _NoAliasLoader(yaml.SafeLoader):
    """``yaml.safe_load`` that refuses aliases (``*name``): a few kilobytes of nested aliases expand into
    gigabytes and minutes of CPU before any size check can see the document (a "billion laughs")."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "不接受 YAML 别名（*），请直接写出内容 (YAML aliases are not accepted: write the content out)",
                event.start_mark)
        return super().compose_node(parent, index)


def safe_yaml(text: str) -> Any:
    """YAML (a superset of JSON) read safely: plain data only, no aliases. Raises ``yaml.YAMLError``."""
    return yaml.load(text, Loader=_NoAliasLoader)  # a SafeLoader subclass: plain data only


def read_document(text: str, *, source: str = "") -> dict[str, Any]:
    """Parse YAML (a superset of JSON) safely, without aliases; a syntax error names the line."""
    try:
        doc = safe_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 1} 行 (line {mark.line + 1})" if mark else ""
        raise DocumentError({source or "(document)": [f"YAML 语法错误 {where}: {getattr(exc, 'problem', exc)}"]}) from None
    if not isinstance(doc, dict):
        raise DocumentError({source or "(document)": ["方案文件应为一个映射 (a scheme document is a mapping)"]})
    return doc
