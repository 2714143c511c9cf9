"""The caller's open tasks from a partial index of open tasks only

Revision ID: 0025_open_assignee_index
Revises: 0024_ended_state
Create Date: 2026-12-07 03:30:00.000000

"My tasks" asks for the open tasks assigned to the caller, newest first. The index it read held every task
ever made, by (state, assignee, created_at): about 130 bytes per three-task instance, almost all of it
for tasks long closed. A partial index of open tasks by (assignee, created_at, id) answers the same
question and stays the size of the inbox; a closed task's assignee is still found by ix_human_task_assignee.
"""
from alembic import op
import sqlalchemy as sa


revision = '0025_open_assignee_index'
down_revision = '0024_ended_state'
branch_labels = None
depends_on = None

OPEN = sa.text("state = 'open'")


def upgrade():
    op.create_index('ix_human_task_open_assignee', 'human_task', ['assignee', 'created_at', 'id'],
                    postgresql_where=OPEN, sqlite_where=OPEN)
    op.drop_index('ix_human_task_state_assignee', table_name='human_task')


def downgrade():
    op.create_index('ix_human_task_state_assignee', 'human_task', ['state', 'assignee', 'created_at'])
    op.drop_index('ix_human_task_open_assignee', table_name='human_task')
