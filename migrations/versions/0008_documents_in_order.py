"""rule documents keep the designer's order on PostgreSQL

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 22:20:00

``scheme_versions.document`` and ``scheme_versions.resolved`` were JSONB on PostgreSQL. JSONB stores an
object's keys in its own order (shortest key first), so a scheme read back from PostgreSQL listed its
dimensions, metrics and indicators in that order instead of the order the designer wrote them in — on
every card, page, export and explanation — while the same version on SQLite kept it. Both columns are
now ``json`` (the text as written, keys in their order). Nothing queried inside them.

Versions stored before this migration keep the order JSONB gave them (it cannot be recovered); a version
created after it keeps its author's. Content hashes do not depend on key order and do not change.

The guard that freezes a submitted version compared the columns with ``IS DISTINCT FROM``, which
``json`` has no operator for: it compares their text now (a stricter test: any change of the text).
SQLite stored JSON text already: nothing changes there.
"""
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

CONTENT = ("scheme_id", "number", "parent_id", "document", "resolved", "content_hash", "author", "author_ref",
           "change_note", "created_at", "scenarios")
AS_TEXT = ("document", "resolved")
EDGES = (("draft", "in_review"), ("in_review", "draft"), ("in_review", "approved"), ("approved", "active"),
         ("approved", "retired"), ("active", "retired"))
FROZEN = "scheme version left draft: its content cannot change (已提交的版本内容不可修改，请新建版本)"
NO_DELETE = "scheme version left draft: it cannot be deleted (已提交的版本不可删除)"
BAD_EDGE = "scheme version status cannot move this way (版本状态不能如此变更)"
FROZEN_META = "approved version: simulation and effective dates are fixed (已批准版本的模拟测评引用与生效日期不可修改)"


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    _guard(as_text=AS_TEXT)  # first: the guard must not compare json with an operator it lacks
    for column in AS_TEXT:
        op.execute(f"ALTER TABLE scheme_versions ALTER COLUMN {column} TYPE json USING {column}::json")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for column in AS_TEXT:
        op.execute(f"ALTER TABLE scheme_versions ALTER COLUMN {column} TYPE jsonb USING {column}::jsonb")
    _guard(as_text=())


def _guard(as_text):
    """The scheme versions' guard function (0005's, with ``as_text`` columns compared as text); its
    trigger stays as it is."""
    changed = " OR ".join(f"NEW.{c}::text IS DISTINCT FROM OLD.{c}::text" if c in as_text
                          else f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in CONTENT)
    edges = " OR ".join(f"(OLD.status = '{a}' AND NEW.status = '{b}')" for a, b in EDGES)
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
             OR (OLD.status IN ('active', 'retired') AND NEW.effective_from IS DISTINCT FROM OLD.effective_from)
             OR (OLD.effective_to IS NOT NULL AND NEW.effective_to IS DISTINCT FROM OLD.effective_to) THEN
            RAISE EXCEPTION '{FROZEN_META}' USING ERRCODE = 'integrity_constraint_violation';
          END IF;
          RETURN NEW;
        END $$ LANGUAGE plpgsql
    """)
