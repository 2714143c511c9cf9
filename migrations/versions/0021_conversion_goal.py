"""Conversion goals per module, and the timeline indexed by (module, at) for process analytics

Revision ID: 0021_conversion_goal
Revises: 0020_touchpoints
Create Date: 2026-12-10 10:00:00.000000

One row per module with a goal: the field and the value a record converts at, and the values of that
field that lose it. Path Finder and the funnel read a module's timeline rows of a period: the index on
(module, at) gives them one range scan instead of the whole table.
"""
from alembic import op
import sqlalchemy as sa


revision = '0021_conversion_goal'
down_revision = '0020_touchpoints'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('crm_conversion_goal',
    sa.Column('module', sa.String(length=100), nullable=False),
    sa.Column('field', sa.String(length=100), nullable=False),
    sa.Column('value', sa.String(length=255), nullable=False),
    sa.Column('lost', sa.JSON(), nullable=False),
    sa.Column('updated_by', sa.String(length=200), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('module')
    )
    op.create_index('ix_crm_record_event_module_at', 'crm_record_event', ['module', 'at'], unique=False)


def downgrade():
    op.drop_index('ix_crm_record_event_module_at', table_name='crm_record_event')
    op.drop_table('crm_conversion_goal')
