"""Open tasks by priority, in an index

Revision ID: 0030_open_task_priority
Revises: 0029_live_instances_index
Create Date: 2026-12-07 06:40:00.000000

An inbox sorted by priority (Camunda's tasklist: sortBy=priority) sorted every open task for each page: at
100,000 open tasks, 120 ms for the first page and 250 ms for the page at row 40,000. A partial index of
open tasks by (coalesce(priority, 50), id), read forwards or backwards (ties follow the sort's direction),
with the priority itself (a page's skipped rows are read from the index alone), gives any page from one
range.
"""
from alembic import op
import sqlalchemy as sa


revision = '0030_open_task_priority'
down_revision = '0029_live_instances_index'
branch_labels = None
depends_on = None

OPEN = sa.text("state = 'open'")


def upgrade():
    op.create_index('ix_human_task_open_priority', 'human_task',
                    [sa.text('coalesce(priority, 50)'), 'id', 'priority'], postgresql_where=OPEN, sqlite_where=OPEN)


def downgrade():
    op.drop_index('ix_human_task_open_priority', table_name='human_task')
