"""Add external tasks fetched and locked by workers

Revision ID: 0004_external_tasks
Revises: 0003_jobs_and_events
Create Date: 2026-11-25 01:45:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004_external_tasks'
down_revision = '0003_jobs_and_events'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('external_task',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('instance_id', sa.String(length=32), nullable=False),
    sa.Column('definition_id', sa.String(length=32), nullable=False),
    sa.Column('element_id', sa.String(length=255), nullable=False),
    sa.Column('topic', sa.String(length=255), nullable=False),
    sa.Column('business_key', sa.String(length=255), nullable=True),
    sa.Column('worker_id', sa.String(length=255), nullable=True),
    sa.Column('lock_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('retries', sa.Integer(), nullable=True),
    sa.Column('error_message', sa.Text(), nullable=True),
    sa.Column('error_details', sa.Text(), nullable=True),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('external_task', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_external_task_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index('ix_external_task_topic_lock', ['topic', 'lock_expires_at'], unique=False)


def downgrade():
    with op.batch_alter_table('external_task', schema=None) as batch_op:
        batch_op.drop_index('ix_external_task_topic_lock')
        batch_op.drop_index(batch_op.f('ix_external_task_instance_id'))

    op.drop_table('external_task')
