"""History retention: a history time to live per definition, a removal time per ended instance

Revision ID: 0015_retention
Revises: 0014_instance_migration
Create Date: 2026-12-20 12:00:00.000000

`process_definition.history_ttl_days` (camunda:historyTimeToLive, or set by an admin; null: the
server's default applies) and `process_instance.removal_time` (end time plus that time to live,
written when the instance ends), indexed so history cleanup finds what is due with one range scan.
Instances that ended before this revision have no removal time: `flask history recompute` gives
them one from the time to live in force.
"""
from alembic import op
import sqlalchemy as sa


revision = '0015_retention'
down_revision = '0014_instance_migration'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN (nullable, no default) on both databases: no table is rewritten.
    op.add_column('process_definition', sa.Column('history_ttl_days', sa.Integer(), nullable=True))
    op.add_column('process_instance', sa.Column('removal_time', sa.DateTime(timezone=True), nullable=True))
    if op.get_bind().dialect.name == 'postgresql':
        # Built without blocking writes to a table that may hold millions of instances.
        with op.get_context().autocommit_block():
            op.create_index('ix_process_instance_removal_time', 'process_instance', ['removal_time'],
                            unique=False, postgresql_concurrently=True)
    else:
        op.create_index('ix_process_instance_removal_time', 'process_instance', ['removal_time'], unique=False)


def downgrade():
    op.drop_index('ix_process_instance_removal_time', table_name='process_instance')
    with op.batch_alter_table('process_instance') as batch:
        batch.drop_column('removal_time')
    with op.batch_alter_table('process_definition') as batch:
        batch.drop_column('history_ttl_days')
