"""the guards hold: imported facts cannot be deleted, and SQLite's INSERT OR REPLACE cannot swap a frozen row

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 20:10:00

Found by an audit of published results:

- ``events`` and ``datasets`` refused UPDATE only: a DELETE (or TRUNCATE on PostgreSQL) took the facts of a
  published period away, and a published card's full trace then scored someone "not graded". Imported facts are
  never deleted — a dataset is withdrawn (an appended row) — so both now refuse DELETE and TRUNCATE as well.
- On SQLite, ``INSERT OR REPLACE`` deletes the row it conflicts with without firing DELETE triggers (unless
  ``recursive_triggers`` is on, which a person at the ``sqlite3`` prompt does not set): a forged publication card
  or publication row, a dataset, a retired version's document, a withdrawal or an audit record could replace the
  real one. Each of those tables now refuses, before the insert, a row whose key (its primary key or any of its
  unique keys) is already taken — an ordinary insert never does that (it would fail on the key anyway), so the
  application is not affected. PostgreSQL has no REPLACE (``ON CONFLICT DO UPDATE`` fires the UPDATE guards).
  Not ``events``: any BEFORE INSERT trigger doubles SQLite's cost of writing a row (measured: the demo
  province's 1.16M events 21 → 38 s), for a replacement only someone at the database's prompt can make — who
  could as well drop the trigger.

The application's own database role can still drop or disable triggers: these guards stop mistakes and
tools, not the owner of the database.
"""
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

FACTS = ("datasets", "events")
KEPT = "导入的数据不可删除：请撤回数据集 (imported facts are never deleted: withdraw the dataset)"
TAKEN = "该记录已存在，不能替换 (a row with this key exists and cannot be replaced)"
# table -> its keys (each a tuple of columns): what INSERT OR REPLACE would delete a row for
KEYS = {
    "datasets": (("id",), ("content_hash",)),
    "dataset_withdrawals": (("dataset_id",),),
    "scheme_versions": (("id",), ("scheme_id", "number")),
    "audit_log": (("id",),),
    "publications": (("id",), ("scheme_id", "period", "sequence"), ("supersedes_id",)),
    "publication_cards": (("publication_id", "code"),),
}


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(f"""
            CREATE OR REPLACE FUNCTION rulesvc_facts_kept() RETURNS trigger AS $$
            BEGIN
              RAISE EXCEPTION '{KEPT}' USING ERRCODE = 'integrity_constraint_violation';
            END $$ LANGUAGE plpgsql
        """)
        for t in FACTS:
            op.execute(f"CREATE TRIGGER {t}_kept BEFORE DELETE ON {t} FOR EACH ROW EXECUTE FUNCTION rulesvc_facts_kept()")
            op.execute(f"CREATE TRIGGER {t}_no_truncate BEFORE TRUNCATE ON {t} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION rulesvc_facts_kept()")
        return
    for t in FACTS:
        op.execute(f"CREATE TRIGGER {t}_kept BEFORE DELETE ON {t} BEGIN SELECT RAISE(ABORT, '{KEPT}'); END")
    for t, keys in KEYS.items():
        taken = " OR ".join(
            "EXISTS (SELECT 1 FROM {t} WHERE {cond})".format(
                t=t, cond=" AND ".join(f"{c} = NEW.{c}" for c in key))
            for key in keys)
        op.execute(f"CREATE TRIGGER {t}_not_replaced BEFORE INSERT ON {t} WHEN {taken} "
                   f"BEGIN SELECT RAISE(ABORT, '{TAKEN}'); END")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for t in FACTS:
            op.execute(f"DROP TRIGGER IF EXISTS {t}_kept ON {t}")
            op.execute(f"DROP TRIGGER IF EXISTS {t}_no_truncate ON {t}")
        op.execute("DROP FUNCTION IF EXISTS rulesvc_facts_kept()")
        return
    for t in FACTS:
        op.execute(f"DROP TRIGGER IF EXISTS {t}_kept")
    for t in KEYS:
        op.execute(f"DROP TRIGGER IF EXISTS {t}_not_replaced")
