"""The instances that have not ended, newest first, in an index of their own

Revision ID: 0029_live_instances_index
Revises: 0028_task_history_order
Create Date: 2026-12-07 06:30:00.000000

Camunda's runtime instance list holds the instances that have not ended (running, in error, suspended),
newest first. It walked the index of every instance by start time and skipped the ended ones: at
1,000,000 instances, 10 % running, the page at row 50,000 read 500,000 entries and their rows (165 ms).
A partial index of live instances by (started_at, id), carrying their status and key (a list of one status or
one key filters in the index), answers any page from one range; an ended instance leaves it. A deep page
reads the ids of the rows it skips from the index alone (`core.pagination`): 16 ms instead of 165.
"""
from alembic import op
import sqlalchemy as sa


revision = '0029_live_instances_index'
down_revision = '0028_task_history_order'
branch_labels = None
depends_on = None

LIVE = sa.text("status IN ('error', 'running', 'suspended')")


def upgrade():
    op.create_index('ix_process_instance_live', 'process_instance', ['started_at', 'id', 'status', 'process_key'],
                    postgresql_where=LIVE, sqlite_where=LIVE)


def downgrade():
    op.drop_index('ix_process_instance_live', table_name='process_instance')
