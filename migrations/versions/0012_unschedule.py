"""a go-live that has not happened yet can be taken back (撤销生效安排)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 12:00:00

A version put in force from a later date could not be withdrawn before that date: the guards allowed no way back
from ``active`` and froze an end date once set, so a county that scheduled the wrong version (or the right one on
the wrong date) could only retire it on or after its first day — and the version it was to replace had already been
given its last day. The guards now allow exactly two more things:

- ``active`` → ``approved`` for a version whose first day is still ahead (``effective_from`` later than the
  database's current date), its dates cleared in the same update;
- an ``active`` version's end date that is still ahead may move later or go (the version it made room for was
  taken back).

Everything else stays as it was: a version whose first day has come only ends (停用), and an end date already
past never moves. The service checks the Beijing date (``RULESVC_TIMEZONE``), which is never behind the database's
UTC date: the service refuses first. The lifecycle table (``rulesvc.persistence.lifecycle``) has the same edge.
"""
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

CONTENT = ("scheme_id", "number", "parent_id", "document", "resolved", "content_hash", "author", "author_ref",
           "change_note", "created_at", "scenarios")
AS_TEXT = ("document", "resolved")  # json on PostgreSQL (0008): compared as text
EDGES = (("draft", "in_review"), ("in_review", "draft"), ("in_review", "approved"), ("approved", "active"),
         ("approved", "retired"), ("active", "retired"), ("active", "approved"))
FROZEN = "scheme version left draft: its content cannot change (已提交的版本内容不可修改，请新建版本)"
NO_DELETE = "scheme version left draft: it cannot be deleted (已提交的版本不可删除)"
BAD_EDGE = "scheme version status cannot move this way (版本状态不能如此变更)"
FROZEN_META = "approved version: simulation and effective dates are fixed (已批准版本的模拟测评引用与生效日期不可修改)"


def _unschedule(today: str, false: str) -> str:
    """The update that takes back a go-live: active → approved before the first day, dates cleared."""
    return (f"COALESCE((OLD.status = 'active' AND NEW.status = 'approved' AND OLD.effective_from > {today} "
            f"AND NEW.effective_from IS NULL AND NEW.effective_to IS NULL), {false})")


def _extend(today: str, false: str) -> str:
    """An active version's end date still ahead moves later or goes."""
    return (f"COALESCE((OLD.status = 'active' AND NEW.status = 'active' AND OLD.effective_to >= {today} "
            f"AND (NEW.effective_to IS NULL OR NEW.effective_to > OLD.effective_to)), {false})")


def _edges(unschedule: str, edges=EDGES) -> str:
    return " OR ".join(unschedule if (a, b) == ("active", "approved") else f"(OLD.status = '{a}' AND NEW.status = '{b}')"
                       for a, b in edges)


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        _pg_guard(with_unschedule=True)
        return
    _sqlite_guards(with_unschedule=True)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        _pg_guard(with_unschedule=False)
        return
    _sqlite_guards(with_unschedule=False)


def _pg_guard(*, with_unschedule: bool) -> None:
    """The guard function (0008's, plus the two allowances); its trigger stays as it is."""
    changed = " OR ".join(f"NEW.{c}::text IS DISTINCT FROM OLD.{c}::text" if c in AS_TEXT
                          else f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in CONTENT)
    unschedule = _unschedule("CURRENT_DATE", "FALSE") if with_unschedule else "FALSE"
    extend = _extend("CURRENT_DATE", "FALSE") if with_unschedule else "FALSE"
    edges = _edges(unschedule, EDGES if with_unschedule else EDGES[:-1])
    op.execute(f"""
        CREATE OR REPLACE FUNCTION rulesvc_guard_scheme_version() RETURNS trigger AS $$
        BEGIN
          IF TG_OP = 'DELETE' THEN
            IF OLD.status <> 'draft' THEN
              RAISE EXCEPTION '{NO_DELETE}' USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN OLD;
          END IF;
          IF OLD.status <> 'draft' AND ({changed}) THEN
            RAISE EXCEPTION '{FROZEN}' USING ERRCODE = 'integrity_constraint_violation';
          END IF;
          IF NOT (NEW.status = OLD.status OR {edges}) THEN
            RAISE EXCEPTION '{BAD_EDGE}' USING ERRCODE = 'integrity_constraint_violation';
          END IF;
          IF (OLD.status IN ('approved', 'active', 'retired')
              AND NEW.simulation IS DISTINCT FROM OLD.simulation)
             OR (OLD.status IN ('active', 'retired') AND NEW.effective_from IS DISTINCT FROM OLD.effective_from
                 AND NOT {unschedule})
             OR (OLD.effective_to IS NOT NULL AND NEW.effective_to IS DISTINCT FROM OLD.effective_to
                 AND NOT {unschedule} AND NOT {extend}) THEN
            RAISE EXCEPTION '{FROZEN_META}' USING ERRCODE = 'integrity_constraint_violation';
          END IF;
          RETURN NEW;
        END $$ LANGUAGE plpgsql
    """)


def _sqlite_guards(*, with_unschedule: bool) -> None:
    """SQLite's lifecycle and dates triggers (0005's, plus the two allowances); the content and delete ones stay."""
    today = "date('now')"  # UTC: never ahead of the Beijing date the service checks
    unschedule = _unschedule(today, "0") if with_unschedule else "0"
    extend = _extend(today, "0") if with_unschedule else "0"
    edges = _edges(unschedule, EDGES if with_unschedule else EDGES[:-1])
    triggers = {
        "scheme_versions_lifecycle": (f"BEFORE UPDATE ON scheme_versions WHEN NOT (NEW.status = OLD.status OR {edges})",
                                      BAD_EDGE),
        "scheme_versions_frozen_meta": (
            "BEFORE UPDATE ON scheme_versions WHEN (OLD.status IN ('approved', 'active', 'retired') "
            "AND NEW.simulation IS NOT OLD.simulation) OR (OLD.status IN ('active', 'retired') "
            f"AND NEW.effective_from IS NOT OLD.effective_from AND NOT {unschedule}) OR (OLD.effective_to IS NOT NULL "
            f"AND NEW.effective_to IS NOT OLD.effective_to AND NOT {unschedule} AND NOT {extend})", FROZEN_META),
    }
    for name, (when, message) in triggers.items():
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute(f"CREATE TRIGGER {name} {when} BEGIN SELECT RAISE(ABORT, '{message}'); END")
