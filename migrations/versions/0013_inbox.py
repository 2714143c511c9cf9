"""The inbox at any size: candidate rows only for open tasks; indexes in the lists' own orders

Revision ID: 0013_inbox
Revises: 0012_tenants
Create Date: 2026-12-06 21:00:00.000000

A closed task's candidate rows are deleted (the task keeps its candidate users and groups as data), so
the inbox's candidate lookups read open tasks only. Open tasks get an index in the inbox's default
order (newest first), and the instance list by key and status one that ends in the list's tie-breaker.
"""
from alembic import op
import sqlalchemy as sa


revision = '0013_inbox'
down_revision = '0012_tenants'
branch_labels = None
depends_on = None

OPEN = sa.text("state = 'open'")


def upgrade():
    op.execute("DELETE FROM task_candidate WHERE task_id IN (SELECT id FROM human_task WHERE state <> 'open')")
    op.create_index('ix_human_task_open_created', 'human_task', ['created_at', 'id'], unique=False,
                    postgresql_where=OPEN, sqlite_where=OPEN)
    op.drop_index('ix_process_instance_key_status', table_name='process_instance')
    op.create_index('ix_process_instance_key_status', 'process_instance',
                    ['process_key', 'status', 'started_at', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_process_instance_key_status', table_name='process_instance')
    op.create_index('ix_process_instance_key_status', 'process_instance', ['process_key', 'status', 'started_at'],
                    unique=False)
    op.drop_index('ix_human_task_open_created', table_name='human_task')
