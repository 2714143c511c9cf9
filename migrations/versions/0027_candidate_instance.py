"""A candidate row carries its task's instance

Revision ID: 0027_candidate_instance
Revises: 0026_open_task_by_id
Create Date: 2026-12-07 06:30:00.000000

A user may read the instances that offer them a task (by name or through a group). Those instances were
found by looking up each offered task's row for its instance: at 1,000,000 instances, 2,000 lookups for a
user of a group offered 2,000 open tasks, for every page of their instance list. The candidate row now
carries the instance and the lookup index ends with it, so the instances come from the index alone.
Candidate rows live only while their task is open, so the copy costs nothing once a task closes.
"""
from alembic import op
import sqlalchemy as sa


revision = '0027_candidate_instance'
down_revision = '0026_open_task_by_id'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('task_candidate', schema=None) as batch_op:
        batch_op.add_column(sa.Column('instance_id', sa.String(length=32), nullable=True))
    op.execute("UPDATE task_candidate SET instance_id = "
               "(SELECT human_task.instance_id FROM human_task WHERE human_task.id = task_candidate.task_id)")
    op.execute("DELETE FROM task_candidate WHERE instance_id IS NULL")  # none: the task's foreign key holds
    with op.batch_alter_table('task_candidate', schema=None) as batch_op:
        batch_op.alter_column('instance_id', existing_type=sa.String(length=32), nullable=False)
        batch_op.drop_index('ix_task_candidate_lookup')
        batch_op.create_index('ix_task_candidate_lookup', ['kind', 'name', 'task_id', 'instance_id'])


def downgrade():
    with op.batch_alter_table('task_candidate', schema=None) as batch_op:
        batch_op.drop_index('ix_task_candidate_lookup')
        batch_op.create_index('ix_task_candidate_lookup', ['kind', 'name', 'task_id'])
        batch_op.drop_column('instance_id')
