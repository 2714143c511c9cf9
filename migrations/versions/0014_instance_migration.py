"""Batches for instance migration: a batch with its plan, one item per instance, and jobs that run batches

Revision ID: 0014_instance_migration
Revises: 0013_inbox
Create Date: 2026-12-09 12:00:00.000000

A migration of many instances runs as a batch, a chunk per transaction: the
batch keeps the plan and counts, each item its instance's outcome, and a job
of kind `batch` (job.batch_id) keeps a batch with pending items in the job
runner's line, so a crash in the middle is resumed where it stopped.
"""
from alembic import op
import sqlalchemy as sa


revision = '0014_instance_migration'
down_revision = '0013_inbox'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('batch',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('plan', sa.JSON(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('refused', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('batch_item',
    sa.Column('batch_id', sa.String(length=32), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['batch.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('batch_id', 'position')
    )
    with op.batch_alter_table('batch_item', schema=None) as batch_op:
        batch_op.create_index('ix_batch_item_pending', ['batch_id', 'status', 'position'], unique=False)
        batch_op.create_index(batch_op.f('ix_batch_item_instance_id'), ['instance_id'], unique=False)
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.add_column(sa.Column('batch_id', sa.String(length=32), nullable=True))
        batch_op.create_index(batch_op.f('ix_job_batch_id'), ['batch_id'], unique=False)
        batch_op.create_foreign_key('fk_job_batch_id_batch', 'batch', ['batch_id'], ['id'], ondelete='CASCADE')


def downgrade():
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.drop_constraint('fk_job_batch_id_batch', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_job_batch_id'))
        batch_op.drop_column('batch_id')
    with op.batch_alter_table('batch_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_batch_item_instance_id'))
        batch_op.drop_index('ix_batch_item_pending')
    op.drop_table('batch_item')
    op.drop_table('batch')
