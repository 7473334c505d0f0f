"""trust: sessions held server-side, contributors of a version, keys that belong to a person,
datasets that correct or are withdrawn

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 16:30:00

Columns are added with plain ``ALTER TABLE … ADD COLUMN`` (no batch copy): on SQLite a batch copy of
``scheme_versions`` would drop its guard triggers, and one of ``datasets`` would trip the events'
foreign keys.
"""
from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

APPEND_ONLY = "dataset_withdrawals is append-only (撤回记录只能追加，不能修改或删除)"


def upgrade():
    op.create_table(
        'user_sessions',
        sa.Column('id', sa.String(length=64), nullable=False, comment='sha256 of the session token'),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('end_reason', sa.String(length=32), nullable=True,
                  comment='logout, password, idle, absolute, deactivated'),
        sa.Column('ip', sa.String(length=64), nullable=False),
        sa.Column('client', sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_sessions_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_user_sessions')),
    )
    op.create_index(op.f('ix_user_sessions_user_id'), 'user_sessions', ['user_id'], unique=False)

    op.create_table(
        'version_contributions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('version_id', sa.Integer(), nullable=False),
        sa.Column('person', sa.String(length=40), nullable=False,
                  comment='user:<id>, or system:<name> for a key of no one'),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('via', sa.String(length=40), nullable=False,
                  comment='the credential used: user:<id>, key:<id>, system:<name>'),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('from_version_id', sa.Integer(), nullable=True,
                  comment='copied: the version it was copied from'),
        sa.CheckConstraint("role IN ('created', 'edited', 'copied', 'rebased', 'submitted')",
                           name=op.f('ck_version_contributions_role')),
        sa.ForeignKeyConstraint(['version_id'], ['scheme_versions.id'],
                                name=op.f('fk_version_contributions_version_id_scheme_versions'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_version_contributions')),
    )
    op.create_index('ix_version_contributions_version_person', 'version_contributions', ['version_id', 'person'])

    op.create_table(
        'dataset_withdrawals',
        sa.Column('dataset_id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('by', sa.String(length=120), nullable=False),
        sa.Column('by_ref', sa.String(length=40), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_dataset_withdrawals_dataset_id_datasets')),
        sa.PrimaryKeyConstraint('dataset_id', name=op.f('pk_dataset_withdrawals')),
    )

    _add_reference('datasets', 'corrects_id', 'datasets', 'the earlier dataset this one corrects')
    op.create_index(op.f('ix_datasets_corrects_id'), 'datasets', ['corrects_id'], unique=False)
    op.create_index('ix_events_external_id', 'events', ['external_id'], unique=False)
    _add_reference('api_keys', 'owner_id', 'users', 'the person the key acts for; NULL: a named system')
    op.create_index(op.f('ix_api_keys_owner_id'), 'api_keys', ['owner_id'], unique=False)
    op.create_index('ix_scheme_versions_summary', 'scheme_versions',
                    ['scheme_id', 'number', 'status', 'parent_id', 'content_hash', 'effective_from', 'effective_to',
                     'updated_at', 'id'])
    op.add_column('scheme_versions', sa.Column('submitted_by_ref', sa.String(length=40), nullable=True,
                                               comment='the person who submitted: user:<id>…'))

    # Contributors of the versions that exist already, from the audit log (by person: a key's
    # records count as that key, a named system — keys had no owners before this revision).
    person = "CASE WHEN actor_ref LIKE 'key:%' THEN 'system:key-' || substr(actor_ref, 5) ELSE actor_ref END"
    op.execute(f"""
        INSERT INTO version_contributions (version_id, person, name, role, via, at)
        SELECT version_id, {person}, substr(actor, 1, 120),
               CASE action WHEN 'version.submit' THEN 'submitted' WHEN 'version.rebase' THEN 'rebased'
                           WHEN 'version.update' THEN 'edited' WHEN 'version.settle' THEN 'edited'
                           ELSE 'created' END,
               actor_ref, min(at)
        FROM audit_log
        WHERE action IN ('version.create', 'version.localize', 'version.update', 'version.settle',
                         'version.rebase', 'version.submit', 'rules.import')
          AND version_id IN (SELECT id FROM scheme_versions)
        GROUP BY version_id, actor_ref, actor, action
    """)
    op.execute(f"""
        INSERT INTO version_contributions (version_id, person, name, role, via, at)
        SELECT v.id, CASE WHEN v.author_ref LIKE 'key:%' THEN 'system:key-' || substr(v.author_ref, 5)
                          ELSE v.author_ref END, substr(v.author, 1, 120), 'created', v.author_ref, v.created_at
        FROM scheme_versions v
        WHERE NOT EXISTS (SELECT 1 FROM version_contributions c WHERE c.version_id = v.id AND c.role = 'created')
    """)

    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE TRIGGER dataset_withdrawals_append_only BEFORE UPDATE OR DELETE ON dataset_withdrawals "
                   "FOR EACH ROW EXECUTE FUNCTION rulesvc_append_only()")
    else:
        for name, when in (("dataset_withdrawals_no_update", "BEFORE UPDATE"),
                           ("dataset_withdrawals_no_delete", "BEFORE DELETE")):
            op.execute(f"CREATE TRIGGER {name} {when} ON dataset_withdrawals "
                       f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END")


def _add_reference(table, column, target, comment):
    """A nullable foreign-key column. SQLite accepts one in ALTER TABLE ADD COLUMN (Alembic refuses to
    emit it outside batch mode)."""
    if op.get_bind().dialect.name == "postgresql":
        op.add_column(table, sa.Column(column, sa.Integer(), nullable=True, comment=comment))
        op.create_foreign_key(op.f(f'fk_{table}_{column}_{target}'), table, target, [column], ['id'])
    else:
        op.execute(f"ALTER TABLE {table} ADD COLUMN {column} INTEGER REFERENCES {target}(id)")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS dataset_withdrawals_append_only ON dataset_withdrawals")
    else:
        op.execute("DROP TRIGGER IF EXISTS dataset_withdrawals_no_update")
        op.execute("DROP TRIGGER IF EXISTS dataset_withdrawals_no_delete")
    op.drop_index('ix_scheme_versions_summary', table_name='scheme_versions')
    with op.batch_alter_table('scheme_versions') as batch_op:
        batch_op.drop_column('submitted_by_ref')
    op.drop_index(op.f('ix_api_keys_owner_id'), table_name='api_keys')
    with op.batch_alter_table('api_keys') as batch_op:
        batch_op.drop_column('owner_id')
    op.drop_index('ix_events_external_id', table_name='events')
    op.drop_index(op.f('ix_datasets_corrects_id'), table_name='datasets')
    with op.batch_alter_table('datasets') as batch_op:
        batch_op.drop_column('corrects_id')
    op.drop_table('dataset_withdrawals')
    op.drop_index('ix_version_contributions_version_person', table_name='version_contributions')
    op.drop_table('version_contributions')
    op.drop_index(op.f('ix_user_sessions_user_id'), table_name='user_sessions')
    op.drop_table('user_sessions')
