"""api keys remember the person who created them: four eyes counts a holder-less key's work as theirs

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 10:00:00

A key that belongs to no one is a named system (``system:key-<id>``) for four eyes. A security review found the
gap: an administrator created such a key with *edit*, wrote and submitted a county's weights with it, then
approved them signed in — two "people" on the record, one person in fact. The key now keeps its creator's person
(``user:<id>``), and what the key contributes to a version is that person's contribution too. Keys made before
this migration get it from ``created_by`` (the creator's user name) where that user exists.
"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("api_keys", sa.Column("created_by_person", sa.String(40), nullable=True,
                                        comment="the person who created the key (user:<id>), for four eyes"))
    op.execute("UPDATE api_keys SET created_by_person = (SELECT 'user:' || CAST(u.id AS VARCHAR(20)) FROM users u "
               "WHERE u.username = api_keys.created_by)")


def downgrade():
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("created_by_person")
