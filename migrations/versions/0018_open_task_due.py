"""Open tasks indexed by due date, for the inbox sorted by due date

Revision ID: 0018_open_task_due
Revises: 0017_activity_definition
Create Date: 2026-12-06 22:30:00.000000

My Jobs sorted by due date read every open task offered to the user's groups and sorted them; with the
open tasks indexed by (due_at, id) the first page is read in order.
"""
from alembic import op
import sqlalchemy as sa


revision = '0018_open_task_due'
down_revision = '0017_activity_definition'
branch_labels = None
depends_on = None

OPEN = sa.text("state = 'open'")


def upgrade():
    op.create_index('ix_human_task_open_due', 'human_task', ['due_at', 'id'], unique=False,
                    postgresql_where=OPEN, sqlite_where=OPEN)


def downgrade():
    op.drop_index('ix_human_task_open_due', table_name='human_task')
