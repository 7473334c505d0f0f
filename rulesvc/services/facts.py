"""Facts for the engine: the events of a period as one polars frame, attributes typed by the dictionary.

The engine never reads the database; this module does, once per run, and hands it columns.
Numbers (int and float fields) become Float64 (the formula language has one number type), enums and
text become Utf8, dates Date, booleans Boolean. A field absent from an event is null.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from rulesvc.engine.dictionary import Dictionary
from rulesvc.persistence.models import Event, Prosecutor

POLARS_TYPES = {"bool": pl.Boolean, "int": pl.Float64, "float": pl.Float64, "str": pl.Utf8, "enum": pl.Utf8,
                "date": pl.Utf8}
BASE_COLUMNS = ("event_id", "event_type", "prosecutor_id", "procuratorate_id", "case_id", "occurred_on")


def attrs_struct(dictionary: Dictionary, event_types: Iterable[str] | None = None) -> pl.Struct:
    """The union of the fields of ``event_types`` as a polars struct (a field name has one type)."""
    found: dict[str, pl.DataType] = {}
    for code, et in dictionary.event_types.items():
        if event_types is not None and code not in event_types:
            continue
        for name, f in et.fields.items():
            found.setdefault(name, POLARS_TYPES[f.type])
    return pl.Struct([pl.Field(k, v) for k, v in sorted(found.items())])


def date_fields(dictionary: Dictionary) -> set[str]:
    return {n for et in dictionary.event_types.values() for n, f in et.fields.items() if f.type == "date"}


def events_frame(
    session: Session,
    dictionary: Dictionary,
    *,
    start: dt.date,
    end: dt.date,
    dataset_ids: Sequence[int] | None = None,
    event_types: Iterable[str] | None = None,
    prosecutor_ids: Sequence[int] | None = None,
) -> pl.DataFrame:
    """Events with ``start <= occurred_on <= end``, one column per dictionary field."""
    types = sorted(set(event_types)) if event_types is not None else None
    q = select(Event.external_id, Event.event_type, Event.prosecutor_id, Event.procuratorate_id, Event.case_id,
               Event.occurred_on, Event.attrs).where(Event.occurred_on.between(start, end))
    if dataset_ids is not None:
        q = q.where(Event.dataset_id.in_(dataset_ids))
    if types is not None:
        q = q.where(Event.event_type.in_(types))
    if prosecutor_ids is not None:
        q = q.where(Event.prosecutor_id.in_(prosecutor_ids))
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        # JSONB → text on the server: decoding in polars (Rust) is far faster than psycopg's dicts.
        from sqlalchemy import String, cast

        q = q.with_only_columns(*q.selected_columns[:-1], cast(Event.attrs, String).label("attrs"))
        rows = conn.execute(q).all()
    else:
        # SQLite stores the JSON text; read it raw instead of through the JSON type's per-row decode.
        raw = conn.connection.driver_connection
        sql, params = _sqlite_sql(q, conn)
        rows = raw.execute(sql, params).fetchall()
    return frame_from_rows(rows, dictionary, types)


def _sqlite_sql(q, conn) -> tuple[str, tuple]:
    compiled = q.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = tuple(
        (v.isoformat() if isinstance(v, dt.date) else v)
        for v in (compiled.params[k] for k in compiled.positiontup)  # type: ignore[union-attr]
    )
    return str(compiled), params


def frame_from_rows(rows: Sequence[Sequence], dictionary: Dictionary, event_types: Iterable[str] | None) -> pl.DataFrame:
    """Build the typed frame from (id, type, prosecutor, procuratorate, case, date, attrs JSON text) rows.

    Attributes are decoded per event type, each with its own few fields: one wide struct of every
    field in the dictionary decodes about 6x slower (measured: 6.4 s against 1.0 s for 1M events).
    """
    names = ("event_id", "event_type", "prosecutor_id", "procuratorate_id", "case_id", "occurred_on", "attrs")
    types = (pl.Utf8, pl.Utf8, pl.Int64, pl.Int64, pl.Utf8, None, pl.Utf8)
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(names)
    base = pl.DataFrame([pl.Series(n, c, dtype=t) for n, c, t in zip(names, columns, types, strict=True)])
    if base["occurred_on"].dtype != pl.Date:
        base = base.with_columns(pl.col("occurred_on").cast(pl.Utf8).str.slice(0, 10).str.to_date("%Y-%m-%d"))
    wanted = set(event_types) if event_types is not None else set(dictionary.event_types)
    parts = []
    for (etype,), sub in base.partition_by("event_type", as_dict=True, maintain_order=True).items():
        struct = attrs_struct(dictionary, [etype])
        parts.append(sub.with_columns(pl.col("attrs").str.json_decode(struct)).unnest("attrs"))
    template = pl.DataFrame(schema={**base.drop("attrs").schema, **dict(attrs_struct(dictionary, wanted).to_schema())})
    decoded = pl.concat([template, *parts], how="diagonal_relaxed")
    dates = [c for c in date_fields(dictionary) if c in decoded.columns]
    if dates:
        decoded = decoded.with_columns([pl.col(c).str.to_date("%Y-%m-%d", strict=False) for c in dates])
    return decoded


def subjects_frame(session: Session) -> pl.DataFrame:
    """Prosecutors with the groups peer comparisons use (procuratorate, department, business, line, level)
    and what decides who takes part (quota status, active dates) and formulas may read (leader, title)."""
    from rulesvc.persistence.models import BusinessLine, Procuratorate

    q = (
        select(Prosecutor.id.label("prosecutor_id"), Prosecutor.code, Prosecutor.name, Prosecutor.procuratorate_id,
               Prosecutor.department_id, Prosecutor.business_code, BusinessLine.line, Procuratorate.level,
               Prosecutor.quota_status, Prosecutor.is_leader, Prosecutor.leader_title, Prosecutor.active_from,
               Prosecutor.active_to)
        .join(BusinessLine, BusinessLine.code == Prosecutor.business_code)
        .join(Procuratorate, Procuratorate.id == Prosecutor.procuratorate_id)
        .order_by(Prosecutor.id)
    )
    rows = session.execute(q).all()
    types = [pl.Int64, pl.Utf8, pl.Utf8, pl.Int64, pl.Int64, pl.Utf8, pl.Utf8, pl.Utf8, pl.Utf8, pl.Boolean, pl.Utf8,
             pl.Date, pl.Date]
    return pl.DataFrame([tuple(r) for r in rows], schema=list(zip(q.selected_columns.keys(), types, strict=True)),
                        orient="row")
