"""Small helpers several integration test modules share (not fixtures: import them)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator

from sqlalchemy import event, select

from rulesvc.extensions import db
from rulesvc.persistence.models import Procuratorate


@contextlib.contextmanager
def sql_statements(app, keep: Callable[[str], bool] = lambda _: True) -> Iterator[list[str]]:
    """The SQL statements the app's engine runs inside the block (those ``keep`` accepts)."""
    seen: list[str] = []

    def _before(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        if keep(statement):
            seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", _before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", _before)


def add_procuratorates(tree: Iterable[tuple[str, str, str, str | None]]) -> dict[str, int]:
    """``(code, name, level, parent code)`` rows, parents first (flushed, in the current app context):
    ``{code: id}``."""
    ids: dict[str, int] = {}
    for code, name, level, parent in tree:
        p = Procuratorate(code=code, name=name, level=level, parent_id=ids.get(parent) if parent else None)
        db.session.add(p)
        db.session.flush()
        ids[code] = p.id
    return ids


def province_id(app) -> int:
    """The province's procuratorate, created (910000) in an empty database."""
    with app.app_context():
        found = db.session.scalar(select(Procuratorate.id).where(Procuratorate.parent_id.is_(None))
                                  .order_by(Procuratorate.code))
        if found is None:
            found = add_procuratorates([("910000", "示范省人民检察院", "province", None)])["910000"]
            db.session.commit()
        return found
