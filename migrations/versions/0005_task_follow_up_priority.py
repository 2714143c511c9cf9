"""Add follow-up date and priority to human tasks

Revision ID: 0005_task_follow_up_priority
Revises: 0004_external_tasks
Create Date: 2026-11-25 02:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005_task_follow_up_priority'
down_revision = '0004_external_tasks'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('follow_up_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('priority', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.drop_column('priority')
        batch_op.drop_column('follow_up_at')
