"""login counts: the sign-in throttle's counters in the database when there is no Redis

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 18:05:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'login_counts',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('key', sa.String(length=300), nullable=False),
        sa.Column('at', sa.Float(), nullable=False, comment='seconds since the epoch'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_login_counts')),
    )
    op.create_index('ix_login_counts_key_at', 'login_counts', ['key', 'at'])


def downgrade():
    op.drop_index('ix_login_counts_key_at', table_name='login_counts')
    op.drop_table('login_counts')
