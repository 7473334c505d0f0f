"""publications: frozen results of a period under a version (发布)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 19:10:00

- ``publications``: one row per publication of a scheme's results for one period — the version and its
  content hash, the datasets (id, content hash), dictionary hash and engine version they came from, the
  whole bulk result as a zstd-compressed Parquet file, the hash of the figures, who published and when.
  A correction is a new row with ``sequence`` + 1 that names the one it ``supersedes`` and says why; the
  unique (scheme, period, sequence) keeps two corrections of the same publication from both landing.
- ``publication_cards``: each subject's published score card (gzip-compressed JSON) with its total,
  grade and place beside it for lists.

Both tables are append-only: database triggers refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL),
as they do for the audit log. Published figures never move.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
FROZEN = "published results cannot change (已发布的考评结果不可修改或删除；更正请发布新结果并说明理由)"
TABLES = ("publications", "publication_cards")


def upgrade():
    op.create_table(
        'publications',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('scheme_id', sa.Integer(), nullable=False),
        sa.Column('version_id', sa.Integer(), nullable=False),
        sa.Column('procuratorate_id', sa.Integer(), nullable=False,
                  comment="the scheme's procuratorate (who may see the publication)"),
        sa.Column('period', sa.String(length=16), nullable=False, comment='2020, 2020-Q3 or 2020-07'),
        sa.Column('period_start', sa.Date(), nullable=False),
        sa.Column('period_end', sa.Date(), nullable=False),
        sa.Column('sequence', sa.Integer(), nullable=False, comment='1 for the first; a correction is +1'),
        sa.Column('supersedes_id', sa.Integer(), nullable=True),
        sa.Column('reason', sa.Text(), nullable=False, comment='why a correction was published'),
        sa.Column('content_hash', sa.String(length=64), nullable=False, comment="the version's content hash"),
        sa.Column('datasets', JSON, nullable=False, comment='[[id, content hash], …] scored'),
        sa.Column('dictionary_hash', sa.String(length=64), nullable=False),
        sa.Column('engine_version', sa.String(length=40), nullable=False),
        sa.Column('result_hash', sa.String(length=64), nullable=False, comment='sha256 of the published figures'),
        sa.Column('subjects_count', sa.Integer(), nullable=False),
        sa.Column('graded_count', sa.Integer(), nullable=False),
        sa.Column('summary', JSON, nullable=False, comment='grade counts and totals, for lists'),
        sa.Column('frame', sa.LargeBinary(), nullable=False, comment='the bulk result, zstd Parquet'),
        sa.Column('left_out', sa.LargeBinary(), nullable=False, comment='who was not evaluated and why, zstd Parquet'),
        sa.Column('extra', sa.LargeBinary(), nullable=True,
                  comment='procuratorate schemes: monthly streaks, zstd Parquet'),
        sa.Column('published_by', sa.String(length=120), nullable=False),
        sa.Column('published_by_ref', sa.String(length=40), nullable=False),
        sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['scheme_id'], ['schemes.id'], name=op.f('fk_publications_scheme_id_schemes')),
        sa.ForeignKeyConstraint(['version_id'], ['scheme_versions.id'],
                                name=op.f('fk_publications_version_id_scheme_versions')),
        sa.ForeignKeyConstraint(['procuratorate_id'], ['procuratorates.id'],
                                name=op.f('fk_publications_procuratorate_id_procuratorates')),
        sa.ForeignKeyConstraint(['supersedes_id'], ['publications.id'],
                                name=op.f('fk_publications_supersedes_id_publications')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_publications')),
        sa.UniqueConstraint('scheme_id', 'period', 'sequence', name='uq_publications_scheme_period_sequence'),
        sa.UniqueConstraint('supersedes_id', name=op.f('uq_publications_supersedes_id')),
    )
    op.create_index('ix_publications_scheme_period', 'publications', ['scheme_id', 'period'])
    op.create_index(op.f('ix_publications_procuratorate_id'), 'publications', ['procuratorate_id'])
    op.create_table(
        'publication_cards',
        sa.Column('publication_id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=40), nullable=False),
        sa.Column('procuratorate_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('total', sa.Float(), nullable=True),
        sa.Column('grade', sa.String(length=40), nullable=True),
        sa.Column('place', sa.Integer(), nullable=True),
        sa.Column('card', sa.LargeBinary(), nullable=False, comment='the score card, gzip-compressed JSON'),
        sa.ForeignKeyConstraint(['publication_id'], ['publications.id'],
                                name=op.f('fk_publication_cards_publication_id_publications')),
        sa.PrimaryKeyConstraint('publication_id', 'code', name=op.f('pk_publication_cards')),
    )
    _install_guards()


def _install_guards():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE OR REPLACE FUNCTION rulesvc_published_frozen() RETURNS trigger AS $$
            BEGIN
              RAISE EXCEPTION '{FROZEN}' USING ERRCODE = 'integrity_constraint_violation';
            END $$ LANGUAGE plpgsql
        """)
        for t in TABLES:
            op.execute(f"CREATE TRIGGER {t}_frozen BEFORE UPDATE OR DELETE ON {t} "
                       "FOR EACH ROW EXECUTE FUNCTION rulesvc_published_frozen()")
            op.execute(f"CREATE TRIGGER {t}_no_truncate BEFORE TRUNCATE ON {t} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION rulesvc_published_frozen()")
        return
    for t in TABLES:
        for what in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {t}_no_{what.lower()} BEFORE {what} ON {t} "
                       f"BEGIN SELECT RAISE(ABORT, '{FROZEN}'); END")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for t in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {t}_frozen ON {t}")
            op.execute(f"DROP TRIGGER IF EXISTS {t}_no_truncate ON {t}")
        op.execute("DROP FUNCTION IF EXISTS rulesvc_published_frozen()")
    else:
        for t in TABLES:
            for what in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {t}_no_{what}")
    op.drop_table('publication_cards')
    op.drop_index(op.f('ix_publications_procuratorate_id'), table_name='publications')
    op.drop_index('ix_publications_scheme_period', table_name='publications')
    op.drop_table('publications')
