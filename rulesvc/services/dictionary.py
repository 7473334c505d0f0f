"""Keep the database copy of the data dictionary (event types, fields, businesses) in step with ``rules/``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from rulesvc.engine.dictionary import Dictionary, load_dictionary
from rulesvc.persistence.models import BusinessLine, EventField, EventType


@lru_cache(maxsize=4)
def _cached(rules_dir: str, mtime: float) -> Dictionary:
    return load_dictionary(rules_dir)


def get_dictionary(rules_dir: str | Path) -> Dictionary:
    """The dictionary from ``rules_dir``, re-read when the file changes."""
    path = Path(rules_dir) / "dictionary" / "events.yaml"
    return _cached(str(rules_dir), path.stat().st_mtime)


def sync_dictionary(session: Session, dictionary: Dictionary) -> bool:
    """Write the dictionary to the database if its hash changed. Returns whether anything changed.

    Event types and businesses are upserted (events reference them); fields are replaced.
    """
    current = session.scalars(select(EventType.dictionary_hash)).first()
    have_lines = session.scalar(select(BusinessLine.code).limit(1)) is not None
    if current == dictionary.content_hash and have_lines:
        return False
    for b in dictionary.businesses:
        session.merge(
            BusinessLine(code=b.code, name=b.name, name_en=b.name_en, line=b.line, line_name=b.line_name, sort=b.sort)
        )
    session.execute(delete(EventField))
    for et in dictionary.event_types.values():
        session.merge(
            EventType(
                code=et.code,
                name=et.name,
                name_en=et.name_en,
                line=et.line,
                description=et.description,
                requires_case=et.requires_case,
                dictionary_hash=dictionary.content_hash,
            )
        )
        for pos, f in enumerate(et.fields.values()):
            session.add(
                EventField(
                    event_type_code=et.code,
                    name=f.name,
                    label=f.label,
                    label_en=f.label_en,
                    type=f.type,
                    required=f.required,
                    choices=dict(f.choices) if f.choices else None,
                    minimum=f.minimum,
                    maximum=f.maximum,
                    position=pos,
                )
            )
    session.flush()
    return True
