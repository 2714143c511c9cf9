"""The definition of each active activity, indexed with its element, for statistics per element

Revision ID: 0017_activity_definition
Revises: 0016_ops
Create Date: 2026-12-09 12:00:00.000000

Counting the instances waiting at each element of a definition read every live
instance to find its definition; with the definition on the active activity row
the count is one index range. Rows that exist are given their instance's
definition.
"""
from alembic import op
import sqlalchemy as sa


revision = '0017_activity_definition'
down_revision = '0016_ops'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('active_activity', schema=None) as batch_op:
        batch_op.add_column(sa.Column('definition_id', sa.String(length=32), nullable=True))
    op.execute("UPDATE active_activity SET definition_id = (SELECT process_instance.definition_id FROM process_instance "
               "WHERE process_instance.id = active_activity.instance_id)")
    op.create_index('ix_active_activity_definition', 'active_activity', ['definition_id', 'element_id', 'instance_id'])


def downgrade():
    op.drop_index('ix_active_activity_definition', table_name='active_activity')
    with op.batch_alter_table('active_activity', schema=None) as batch_op:
        batch_op.drop_column('definition_id')
