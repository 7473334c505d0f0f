"""idempotency keys: the first answer to a POST sent with an ``Idempotency-Key``, for its retries

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08 10:00:00

- ``idempotency_keys``: one row per (caller, key). A caller is the credential of the request
  (``key:<id>`` for an API key, ``user:<id>`` for a signed-in person), so two callers may use the same
  key. The row records what was asked (method, path, sha256 of the query string and body), whether the
  first request is still running (``in_progress``) or answered (``done``), and the answer to replay:
  status code, body bytes, content type and the few headers that belong to it (``Location``…). Rows
  live 24 hours (see :mod:`rulesvc.api.idempotency`); expired rows are pruned a few hundred at a time
  when new keys are stored, hence the index on ``created_at``.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade():
    op.create_table(
        'idempotency_keys',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('caller', sa.String(length=40), nullable=False,
                  comment='the credential: key:<id> (API key) or user:<id> (signed-in person)'),
        sa.Column('key', sa.String(length=255), nullable=False, comment='the Idempotency-Key header as sent'),
        sa.Column('method', sa.String(length=10), nullable=False),
        sa.Column('path', sa.String(length=500), nullable=False),
        sa.Column('request_hash', sa.String(length=64), nullable=False,
                  comment='sha256 of the query string and the body'),
        sa.Column('state', sa.String(length=16), nullable=False, comment='in_progress, done'),
        sa.Column('status_code', sa.Integer(), nullable=True),
        sa.Column('response_body', sa.LargeBinary(), nullable=True),
        sa.Column('content_type', sa.String(length=200), nullable=True),
        sa.Column('response_headers', JSON, nullable=True,
                  comment='other headers of the answer to replay (Location…)'),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("state IN ('in_progress', 'done')", name=op.f('ck_idempotency_keys_state')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_keys')),
        sa.UniqueConstraint('caller', 'key', name='uq_idempotency_keys_caller_key'),
    )
    op.create_index('ix_idempotency_keys_created_at', 'idempotency_keys', ['created_at'])


def downgrade():
    op.drop_index('ix_idempotency_keys_created_at', table_name='idempotency_keys')
    op.drop_table('idempotency_keys')
