"""simulations: runs and their per-subject results, regression scenarios of a version, the gate

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 16:40:00

- ``simulation_runs`` / ``simulation_subjects``: 模拟测评 runs (identity hash, state, progress, report)
  and their per-subject rows;
- ``scheme_versions.scenarios``: expected results a version carries, frozen with its content on
  submit (the guard triggers are recreated with the column in the frozen list);
- ``scheme_versions.simulation`` no longer holds free text: approval records the run it rests on. A
  version approved before this migration on a free-text reference keeps it as ``legacy_reference``
  (marked as such), so its history stays readable and nothing pretends it was simulated.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
CONTENT = ("scheme_id", "number", "parent_id", "document", "resolved", "content_hash", "author", "author_ref",
           "change_note", "created_at", "scenarios")
OLD_CONTENT = CONTENT[:-1]
EDGES = (("draft", "in_review"), ("in_review", "draft"), ("in_review", "approved"), ("approved", "active"),
         ("approved", "retired"), ("active", "retired"))
FROZEN = "scheme version left draft: its content cannot change (已提交的版本内容不可修改，请新建版本)"
NO_DELETE = "scheme version left draft: it cannot be deleted (已提交的版本不可删除)"
BAD_EDGE = "scheme version status cannot move this way (版本状态不能如此变更)"
FROZEN_META = "approved version: simulation and effective dates are fixed (已批准版本的模拟测评引用与生效日期不可修改)"
LEGACY_NOTE = "迁移前以文字引用附上的模拟测评，未经系统实际运行 (a free-text reference attached before real simulations existed)"


def upgrade():
    op.create_table(
        'simulation_runs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('run_hash', sa.String(length=64), nullable=False, comment='identity: sha256 of the inputs'),
        sa.Column('procuratorate_id', sa.Integer(), nullable=False,
                  comment="the candidate scheme's procuratorate (who may see it)"),
        sa.Column('scheme_id', sa.Integer(), nullable=False),
        sa.Column('candidate_version_id', sa.Integer(), nullable=True),
        sa.Column('baseline_version_id', sa.Integer(), nullable=True),
        sa.Column('documents', JSON, nullable=False,
                  comment='the resolved documents scored: {candidate: …, baseline: … or null}'),
        sa.Column('candidate_hash', sa.String(length=64), nullable=False),
        sa.Column('baseline_hash', sa.String(length=64), nullable=True),
        sa.Column('baseline_choice', sa.String(length=16), nullable=False,
                  comment='default (in force), explicit, or none'),
        sa.Column('periods', JSON, nullable=False),
        sa.Column('datasets', JSON, nullable=False, comment='[[id, content hash], …] scored'),
        sa.Column('dictionary_hash', sa.String(length=64), nullable=False),
        sa.Column('engine_version', sa.String(length=40), nullable=False),
        sa.Column('options', JSON, nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('phase', sa.String(length=40), nullable=False),
        sa.Column('percent', sa.Integer(), nullable=False),
        sa.Column('cancel_requested', sa.Boolean(), nullable=False),
        sa.Column('error', sa.Text(), nullable=False),
        sa.Column('error_code', sa.String(length=60), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('job_id', sa.String(length=80), nullable=False),
        sa.Column('result_hash', sa.String(length=64), nullable=True),
        sa.Column('report', sa.LargeBinary(), nullable=True, comment="the report's summary, gzip-compressed JSON"),
        sa.Column('scenario_results', JSON, nullable=True),
        sa.Column('scenarios_passed', sa.Boolean(), nullable=True),
        sa.Column('subjects_count', sa.Integer(), nullable=False),
        sa.Column('created_by', sa.String(length=120), nullable=False),
        sa.Column('created_by_ref', sa.String(length=40), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True,
                  comment='last sign of life of the process running it'),
        sa.CheckConstraint("status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')",
                           name=op.f('ck_simulation_runs_status')),
        sa.ForeignKeyConstraint(['procuratorate_id'], ['procuratorates.id'],
                                name=op.f('fk_simulation_runs_procuratorate_id_procuratorates')),
        sa.ForeignKeyConstraint(['scheme_id'], ['schemes.id'], name=op.f('fk_simulation_runs_scheme_id_schemes')),
        sa.ForeignKeyConstraint(['candidate_version_id'], ['scheme_versions.id'],
                                name=op.f('fk_simulation_runs_candidate_version_id_scheme_versions'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['baseline_version_id'], ['scheme_versions.id'],
                                name=op.f('fk_simulation_runs_baseline_version_id_scheme_versions'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_simulation_runs')),
        sa.UniqueConstraint('run_hash', name=op.f('uq_simulation_runs_run_hash')),
    )
    for col in ('procuratorate_id', 'scheme_id', 'candidate_version_id', 'baseline_version_id'):
        op.create_index(op.f(f'ix_simulation_runs_{col}'), 'simulation_runs', [col], unique=False)
    op.create_index('ix_simulation_runs_candidate', 'simulation_runs', ['candidate_hash', 'status'])

    op.create_table(
        'simulation_subjects',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('run_id', sa.Integer(), nullable=False),
        sa.Column('period', sa.String(length=16), nullable=False),
        sa.Column('subject_id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=40), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('procuratorate_id', sa.Integer(), nullable=True),
        sa.Column('business_code', sa.String(length=32), nullable=True),
        sa.Column('line', sa.String(length=32), nullable=True),
        sa.Column('level', sa.String(length=16), nullable=True),
        sa.Column('status_c', sa.String(length=16), nullable=True),
        sa.Column('status_b', sa.String(length=16), nullable=True),
        sa.Column('total_c', sa.Float(), nullable=True),
        sa.Column('total_b', sa.Float(), nullable=True),
        sa.Column('grade_c', sa.String(length=40), nullable=True),
        sa.Column('grade_b', sa.String(length=40), nullable=True),
        sa.Column('rank_c', sa.Integer(), nullable=True),
        sa.Column('rank_b', sa.Integer(), nullable=True),
        sa.Column('delta_total', sa.Float(), nullable=True),
        sa.Column('delta_rank', sa.Integer(), nullable=True),
        sa.Column('grade_move', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['run_id'], ['simulation_runs.id'],
                                name=op.f('fk_simulation_subjects_run_id_simulation_runs'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_simulation_subjects')),
    )
    op.create_index('ix_simulation_subjects_run_period_code', 'simulation_subjects', ['run_id', 'period', 'code'])
    op.create_table(
        'simulation_details',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('run_id', sa.Integer(), nullable=False),
        sa.Column('period', sa.String(length=16), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['run_id'], ['simulation_runs.id'],
                                name=op.f('fk_simulation_details_run_id_simulation_runs'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_simulation_details')),
        sa.UniqueConstraint('run_id', 'period', name='uq_simulation_details_run_period'),
    )
    op.create_index('ix_simulation_subjects_run_period_delta', 'simulation_subjects',
                    ['run_id', 'period', 'delta_total'])

    _drop_guards()
    op.execute("ALTER TABLE scheme_versions ADD COLUMN scenarios "
               + ("JSONB" if op.get_bind().dialect.name == "postgresql" else "JSON")
               + " NOT NULL DEFAULT '[]'")
    _legacy_references()
    _install_guards(CONTENT)


def _legacy_references():
    """A free-text ``{"reference": …}`` becomes ``{"legacy_reference": …, "note": …}``."""
    versions = sa.table('scheme_versions', sa.column('id', sa.Integer), sa.column('simulation', JSON))
    bind = op.get_bind()
    for vid, sim in bind.execute(sa.select(versions.c.id, versions.c.simulation)).all():
        if isinstance(sim, dict) and "reference" in sim and "run_id" not in sim:
            new = {k: v for k, v in sim.items() if k != "reference"}
            new.update(legacy_reference=sim["reference"], note=LEGACY_NOTE)
            bind.execute(versions.update().where(versions.c.id == vid).values(simulation=new))


def _install_guards(content):
    if op.get_bind().dialect.name == "postgresql":
        changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in content)
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
        op.execute("CREATE TRIGGER scheme_versions_guard BEFORE UPDATE OR DELETE ON scheme_versions "
                   "FOR EACH ROW EXECUTE FUNCTION rulesvc_guard_scheme_version()")
        return
    changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in content)
    edges = " OR ".join(f"(OLD.status = '{a}' AND NEW.status = '{b}')" for a, b in EDGES)
    triggers = {
        "scheme_versions_frozen": (f"BEFORE UPDATE ON scheme_versions WHEN OLD.status <> 'draft' AND ({changed})", FROZEN),
        "scheme_versions_no_delete": ("BEFORE DELETE ON scheme_versions WHEN OLD.status <> 'draft'", NO_DELETE),
        "scheme_versions_lifecycle": (f"BEFORE UPDATE ON scheme_versions WHEN NOT (NEW.status = OLD.status OR {edges})",
                                      BAD_EDGE),
        "scheme_versions_frozen_meta": (
            "BEFORE UPDATE ON scheme_versions WHEN (OLD.status IN ('approved', 'active', 'retired') "
            "AND NEW.simulation IS NOT OLD.simulation) OR (OLD.status IN ('active', 'retired') "
            "AND NEW.effective_from IS NOT OLD.effective_from) OR (OLD.effective_to IS NOT NULL "
            "AND NEW.effective_to IS NOT OLD.effective_to)", FROZEN_META),
    }
    for name, (when, message) in triggers.items():
        op.execute(f"CREATE TRIGGER {name} {when} BEGIN SELECT RAISE(ABORT, '{message}'); END")


def _drop_guards():
    """The scheme versions' guards only (the audit log's stay)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS scheme_versions_guard ON scheme_versions")
        return
    for name in ("scheme_versions_frozen", "scheme_versions_no_delete", "scheme_versions_lifecycle",
                 "scheme_versions_frozen_meta"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}")


def downgrade():
    _drop_guards()
    versions = sa.table('scheme_versions', sa.column('id', sa.Integer), sa.column('simulation', JSON))
    bind = op.get_bind()
    for vid, sim in bind.execute(sa.select(versions.c.id, versions.c.simulation)).all():
        if isinstance(sim, dict) and "legacy_reference" in sim:
            old = {k: v for k, v in sim.items() if k not in ("legacy_reference", "note")}
            old["reference"] = sim["legacy_reference"]
            bind.execute(versions.update().where(versions.c.id == vid).values(simulation=old))
    op.execute("ALTER TABLE scheme_versions DROP COLUMN scenarios")
    _install_guards(OLD_CONTENT)
    op.drop_table('simulation_details')
    op.drop_index('ix_simulation_subjects_run_period_delta', table_name='simulation_subjects')
    op.drop_index('ix_simulation_subjects_run_period_code', table_name='simulation_subjects')
    op.drop_table('simulation_subjects')
    op.drop_index('ix_simulation_runs_candidate', table_name='simulation_runs')
    for col in ('procuratorate_id', 'scheme_id', 'candidate_version_id', 'baseline_version_id'):
        op.drop_index(op.f(f'ix_simulation_runs_{col}'), table_name='simulation_runs')
    op.drop_table('simulation_runs')
