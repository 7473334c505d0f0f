"""prosecutor posts: the procuratorate, department and business a prosecutor held before a move, and until when

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 09:00:00

Before, the directory held only each prosecutor's present post: a move, once imported, regrouped every past
period (their old unit's group sizes, quota places and peer averages changed for months they had worked there),
and events of the old unit dated before the move were refused on import ("belongs to procuratorate X"). A
directory import that gives ``post_from`` (现岗位起始日期) for a changed post now keeps the old one here, held
until the day before; a past period is scored with the post held on its last day. Without ``post_from`` a
changed post is a correction of the directory (as before: every period reads the new one).
"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "prosecutor_posts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("prosecutor_id", sa.Integer(), sa.ForeignKey("prosecutors.id"), nullable=False),
        sa.Column("procuratorate_id", sa.Integer(), sa.ForeignKey("procuratorates.id"), nullable=False),
        sa.Column("department_id", sa.Integer(), sa.ForeignKey("departments.id"), nullable=True),
        sa.Column("business_code", sa.String(32), sa.ForeignKey("business_lines.code"), nullable=False),
        sa.Column("held_until", sa.Date(), nullable=False, comment="该岗位的最后一天"),
        sa.UniqueConstraint("prosecutor_id", "held_until", name="uq_prosecutor_posts_until"),
    )
    op.create_index("ix_prosecutor_posts_prosecutor_id", "prosecutor_posts", ["prosecutor_id"])


def downgrade():
    op.drop_index("ix_prosecutor_posts_prosecutor_id", table_name="prosecutor_posts")
    op.drop_table("prosecutor_posts")
