"""No index on whether an instance holds variables

Revision ID: 0035_no_variables_index
Revises: 0034_instances_with_variables
Create Date: 2026-12-07 13:45:00.000000

0034's partial index named `variables` in its predicate, and PostgreSQL cannot update a row in place (a HOT
update, no index touched) when a column an index reads changes: every step that changed an instance's
variables would have written a new entry in each of its twelve indexes. The historic variable list it
served walks the instances in start order instead; where most instances hold no variables, an admin's
first page reads them all (about a second at a million), a cost paid by one list rather than by every step.
"""
from alembic import op
import sqlalchemy as sa


revision = '0035_no_variables_index'
down_revision = '0034_instances_with_variables'
branch_labels = None
depends_on = None

NAME = 'ix_process_instance_with_variables'
HOLDS_VARIABLES = sa.text("CAST(variables AS TEXT) != '{}'")


def upgrade():
    op.drop_index(NAME, table_name='process_instance')


def downgrade():
    op.create_index(NAME, 'process_instance', ['started_at', 'id'], postgresql_where=HOLDS_VARIABLES,
                    sqlite_where=HOLDS_VARIABLES)
