"""The instances that hold variables, newest first, in an index

Revision ID: 0034_instances_with_variables
Revises: 0033_business_key_pattern
Create Date: 2026-12-07 13:20:00.000000

Camunda's historic variable list (/history/variable-instance) lists each instance's variables in the order
the instances started. Where most instances hold none (a blueprint keeps its data on the record), a page
walked every instance to find the few that do: 1.4 s at a million instances. A partial index of the
instances whose variables are not `{}`, by (started, id), gives the list only those; an instance without
variables costs nothing in it.
"""
from alembic import op
import sqlalchemy as sa


revision = '0034_instances_with_variables'
down_revision = '0033_business_key_pattern'
branch_labels = None
depends_on = None

NAME = 'ix_process_instance_with_variables'
HOLDS_VARIABLES = sa.text("CAST(variables AS TEXT) != '{}'")


def upgrade():
    op.create_index(NAME, 'process_instance', ['started_at', 'id'], postgresql_where=HOLDS_VARIABLES,
                    sqlite_where=HOLDS_VARIABLES)


def downgrade():
    op.drop_index(NAME, table_name='process_instance')
