"""Indexes for finding the instances and tasks that concern a user

Revision ID: 0009_access_indexes
Revises: 0008_external_task_lock_owner
Create Date: 2026-12-06 18:30:00.000000

A user without a read grant sees the instances they started and those in
which they are or were assignee, delegation owner or completer of a task:
each is one index lookup.
"""
from alembic import op


revision = '0009_access_indexes'
down_revision = '0008_external_task_lock_owner'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_process_instance_started_by', 'process_instance', ['started_by'])
    op.create_index('ix_human_task_assignee', 'human_task', ['assignee'])
    op.create_index('ix_human_task_owner', 'human_task', ['owner'])
    op.create_index('ix_human_task_completed_by', 'human_task', ['completed_by'])


def downgrade():
    op.drop_index('ix_human_task_completed_by', table_name='human_task')
    op.drop_index('ix_human_task_owner', table_name='human_task')
    op.drop_index('ix_human_task_assignee', table_name='human_task')
    op.drop_index('ix_process_instance_started_by', table_name='process_instance')
