"""An external task's own variables

Revision ID: 0039_external_task_locals
Revises: 0038_counts_per_key
Create Date: 2026-12-07 19:25:00.000000

An external task that is an instance of a multi-instance activity has variables of its own (its element
variable, `loopCounter`): a worker fetching it gets them over the instance's, each instance its own item.
"""
from alembic import op
import sqlalchemy as sa


revision = '0039_external_task_locals'
down_revision = '0038_counts_per_key'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('external_task') as batch:
        batch.add_column(sa.Column('local_variables', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('external_task') as batch:
        batch.drop_column('local_variables')
