"""Business keys by prefix from their index, on PostgreSQL

Revision ID: 0033_business_key_pattern
Revises: 0032_open_task_sorts
Create Date: 2026-12-07 13:00:00.000000

Camunda's businessKeyLike (and processInstanceBusinessKeyLike) with a prefix (`BK-12345%`) read every
running instance (or, in the history, every instance) and tested each key: 300 ms at a million instances.
PostgreSQL's default index on a text column under a collation other than C cannot serve LIKE; one built with
`text_pattern_ops` serves a prefix pattern as a range, and equality (message correlation by business key)
as before. Nothing sorts instances by business key, which such an index could not serve. SQLite's index is
left as it is (its LIKE, made to mind case, uses the plain index for a prefix).
"""
from alembic import op


revision = '0033_business_key_pattern'
down_revision = '0032_open_task_sorts'
branch_labels = None
depends_on = None

NAME = 'ix_process_instance_business_key'


def upgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.drop_index(NAME, table_name='process_instance')
    op.create_index(NAME, 'process_instance', ['business_key'], postgresql_ops={'business_key': 'text_pattern_ops'})


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.drop_index(NAME, table_name='process_instance')
    op.create_index(NAME, 'process_instance', ['business_key'])
