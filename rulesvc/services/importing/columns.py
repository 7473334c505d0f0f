"""What an import file may hold: its kinds, their columns, the Chinese header aliases, kind detection.

Header names are matched after trimming spaces and ignoring ASCII case. Event files may also name an
attribute column by its Chinese label from the data dictionary (``犯罪嫌疑人数`` for ``suspects``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from rulesvc.catalogue import msg
from rulesvc.engine.dictionary import Dictionary
from rulesvc.errors import ImportRejected, InvalidInput, RowError

EVENTS = "events"
REFERENCE_KINDS = ("procuratorates", "departments", "prosecutors")
KINDS = (EVENTS, *REFERENCE_KINDS)
KIND_LABELS = {EVENTS: "事件", "procuratorates": "检察院", "departments": "部门", "prosecutors": "检察官"}


@dataclass(frozen=True)
class KindSpec:
    """The columns of one kind of file: canonical names in order, which are required, the aliases."""

    kind: str
    columns: tuple[str, ...]
    required: tuple[str, ...]
    aliases: Mapping[str, str] = field(default_factory=dict)


def _spec(kind: str, columns: str, required: str, aliases: Mapping[str, str]) -> KindSpec:
    return KindSpec(kind, tuple(columns.split()), tuple(required.split()), aliases)


SPECS: dict[str, KindSpec] = {
    EVENTS: _spec(
        EVENTS,
        "event_id event_type procuratorate prosecutor case_id occurred_on",
        "event_id event_type procuratorate occurred_on",
        {
            "事件编号": "event_id",
            "事件id": "event_id",
            "事件类型": "event_type",
            "检察院代码": "procuratorate",
            "procuratorate_code": "procuratorate",
            "检察官工号": "prosecutor",
            "工号": "prosecutor",
            "prosecutor_code": "prosecutor",
            "案件编号": "case_id",
            "发生日期": "occurred_on",
        },
    ),
    "procuratorates": _spec(
        "procuratorates",
        "code name level parent_code",
        "code name level",
        {
            "检察院代码": "code",
            "代码": "code",
            "检察院名称": "name",
            "名称": "name",
            "级别": "level",
            "上级院代码": "parent_code",
            "上级检察院代码": "parent_code",
            "parent": "parent_code",
        },
    ),
    "departments": _spec(
        "departments",
        "procuratorate code name business",
        "procuratorate code name",
        {
            "检察院代码": "procuratorate",
            "procuratorate_code": "procuratorate",
            "部门代码": "code",
            "部门名称": "name",
            "业务条线": "business",
            "business_code": "business",
        },
    ),
    "prosecutors": _spec(
        "prosecutors",
        "code name procuratorate department business quota_status is_leader leader_title active_from active_to post_from",
        "code name procuratorate business active_from",
        {
            "工号": "code",
            "检察官工号": "code",
            "姓名": "name",
            "检察院代码": "procuratorate",
            "procuratorate_code": "procuratorate",
            "部门代码": "department",
            "department_code": "department",
            "业务条线": "business",
            "business_code": "business",
            "员额状态": "quota_status",
            "是否院领导": "is_leader",
            "领导职务": "leader_title",
            "任职起始日期": "active_from",
            "任职终止日期": "active_to",
            "现岗位起始日期": "post_from",
            "调动日期": "post_from",
        },
    ),
}


def normalise(name: str) -> str:
    """How header names are compared: trimmed, ASCII lower-case, BOM removed."""
    return name.replace("\ufeff", "").strip().lower()


def attribute_aliases(dictionary: Dictionary) -> dict[str, str]:
    """Attribute column names an event file may use: every field name, and every unambiguous label."""
    names: dict[str, str] = {}
    by_label: dict[str, set[str]] = {}
    for et in dictionary.event_types.values():
        for f in et.fields.values():
            names[normalise(f.name)] = f.name
            by_label.setdefault(normalise(f.label), set()).add(f.name)
    for label, fields in by_label.items():
        if len(fields) == 1 and label not in names:
            names[label] = next(iter(fields))
    return names


class ColumnMap:
    """Resolves column names as written to canonical names for one kind (cached; used per JSON line)."""

    def __init__(self, spec: KindSpec, attributes: Mapping[str, str] | None = None) -> None:
        self.spec = spec
        self._table: dict[str, str] = {normalise(c): c for c in spec.columns}
        self._table.update({normalise(a): c for a, c in spec.aliases.items()})
        self._attributes = attributes or {}
        self._cache: dict[str, str | None] = {}
        self.shown: dict[str, str] = {}

    def resolve(self, written: str) -> str | None:
        """The canonical name, or ``None`` for a name this kind does not know."""
        try:
            return self._cache[written]
        except KeyError:
            pass
        key = normalise(written)
        canonical = self._table.get(key) or self._attributes.get(key)
        self._cache[written] = canonical
        if canonical is not None:
            self.shown.setdefault(canonical, written)
        return canonical

    def display(self, canonical: str) -> str:
        """The column as the user wrote it, for messages."""
        return self.shown.get(canonical, canonical)


def resolve_header(
    cmap: ColumnMap, header: Sequence[str]
) -> tuple[list[str | None], list[RowError], list[str]]:
    """Canonical names for a header row, its problems (reported as line 1), the missing required columns.

    Blank header cells are dropped. Unknown columns, repeated columns and missing required columns
    are errors: a misspelt header must not silently drop a fact.
    """
    names: list[str | None] = []
    errors: list[RowError] = []
    seen: dict[str, str] = {}
    for written in header:
        if not written.strip():
            names.append(None)
            continue
        canonical = cmap.resolve(written)
        if canonical is None:
            names.append(None)
            errors.append(_unknown_column(cmap.spec.kind, written))
            continue
        if canonical in seen:
            names.append(None)
            errors.append(
                RowError(
                    1,
                    written,
                    f"列“{written}”与列“{seen[canonical]}”重复（都表示 {canonical}）",
                    f"column '{written}' repeats column '{seen[canonical]}' (both mean {canonical})",
                )
            )
            continue
        seen[canonical] = written
        names.append(canonical)
    missing = [col for col in cmap.spec.required if col not in seen]
    for col in missing:
        errors.append(RowError(1, col, f"缺少必需的列“{col}”", f"required column '{col}' is missing from the header"))
    return names, errors, missing


def _unknown_column(kind: str, written: str) -> RowError:
    if kind == EVENTS:
        return RowError(
            1,
            written,
            f"未知的列“{written}”：既不是事件的通用列，也不是数据字典中任何事件类型的字段",
            f"unknown column '{written}': neither a common event column nor a field of any event type",
        )
    return RowError(
        1,
        written,
        f"未知的列“{written}”（{KIND_LABELS[kind]}文件的列为：{', '.join(SPECS[kind].columns)}）",
        f"unknown column '{written}' (a {kind} file has: {', '.join(SPECS[kind].columns)})",
    )


def unknown_column_error(kind: str, line: int, written: str) -> RowError:
    """The error for a key a JSON line has but its kind does not know."""
    err = _unknown_column(kind, written)
    return RowError(line, err.column, err.message_zh, err.message_en)


def check_kind(kind: str | None) -> None:
    """Refuse a kind name that is not one of :data:`KINDS`."""
    if kind is not None and kind not in KINDS:
        raise InvalidInput(msg("import.unknown_kind", kind=kind, kinds=list(KINDS)),
                           errors={"kind": [msg("import.bad_choice", name="kind", choices=list(KINDS))]})


def detect_kind(header: Sequence[str], source: str) -> str:
    """Which kind of file this is, from its columns.

    A column meaning ``event_type`` makes it an event file. Otherwise the reference kinds whose
    required columns are all present compete, and the one with fewest unknown columns wins.
    """
    events = ColumnMap(SPECS[EVENTS])
    if any(events.resolve(h) == "event_type" for h in header):
        return EVENTS
    best: tuple[int, int, str] | None = None
    for kind in REFERENCE_KINDS:
        cmap = ColumnMap(SPECS[kind])
        resolved = {cmap.resolve(h) for h in header if h.strip()}
        if not set(SPECS[kind].required) <= resolved:
            continue
        unknown = sum(1 for h in header if h.strip() and cmap.resolve(h) is None)
        score = (unknown, -len(resolved), kind)
        if best is None or score < best:
            best = score
    if best is None:
        wanted = "；".join(f"{k}：{', '.join(SPECS[k].required)}" for k in KINDS)
        raise ImportRejected(
            row_errors=[
                RowError(
                    1,
                    None,
                    f"无法从表头判断文件内容（各类文件的必需列 {wanted}），请指明文件内容（导入页面的“文件内容”；命令行 --kind）",
                    f"cannot tell what the file holds from its header (required columns: {wanted}); say what it holds "
                    "(the import page's 'The file holds'; on the command line --kind)",
                )
            ],
            source=source,
        )
    return best[2]
