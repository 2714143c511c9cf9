"""An ended instance keeps no engine state

Revision ID: 0024_ended_state
Revises: 0023_timeline_node
Create Date: 2026-12-07 03:40:00.000000

Nothing acts on a completed or cancelled instance (every command refuses it; its history, activity rows
and variables say what it did), yet each kept its serialized workflow: about 950 bytes of a three-task
instance's 1.6 KB row in PostgreSQL. Ended instances now keep an empty state ('', as the server writes
it when an instance ends); the column's type stays, so no table is rebuilt.
"""
from alembic import op
import sqlalchemy as sa


revision = '0024_ended_state'
down_revision = '0023_timeline_node'
branch_labels = None
depends_on = None

ENDED = ('completed', 'cancelled')
ENDED_STATE = ''


def upgrade():
    instances = sa.table('process_instance', sa.column('status', sa.String), sa.column('state', sa.Text))
    op.execute(instances.update().where(instances.c.status.in_(ENDED), instances.c.state != ENDED_STATE)
               .values(state=ENDED_STATE))


def downgrade():
    pass  # an ended instance's state is gone; the schema is as it was
