"""Record the user who locked an external task

Revision ID: 0008_external_task_lock_owner
Revises: 0007_security
Create Date: 2026-12-08 10:00:00.000000

A lock now belongs to the worker id and to the user who fetched it: a worker
id is only a string in the request, which anyone may send. `locked_by` holds
the username; it is empty for tasks not locked, and for locks taken before
this upgrade, which stay with their worker id alone until they expire (a
lock lasts the worker's lockDuration) or are unlocked by an admin.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_external_task_lock_owner'
down_revision = '0007_security'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('external_task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locked_by', sa.String(length=200), nullable=True))


def downgrade():
    with op.batch_alter_table('external_task', schema=None) as batch_op:
        batch_op.drop_column('locked_by')
