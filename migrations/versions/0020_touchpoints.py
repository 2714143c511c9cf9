"""Touchpoints the server records itself: email opens and clicks kept once each, and a CRM to-do's kind

Revision ID: 0020_touchpoints
Revises: 0019_activity_instance
Create Date: 2026-12-07 12:00:00.000000

A tracked email's first open and the first click of each of its links are recorded once on the record's
timeline: `email_tracking` holds one row per (message, open or link), its unique key turning a replayed
pixel or a second click into a no-op. A CRM to-do of kind `call` or `meeting` logs a call or a meeting on
its record's timeline when completed.
"""
from alembic import op
import sqlalchemy as sa


revision = '0020_touchpoints'
down_revision = '0019_activity_instance'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'email_tracking',
        sa.Column('id', sa.String(length=32), primary_key=True),
        sa.Column('message_id', sa.String(length=32), nullable=False),
        sa.Column('key', sa.String(length=80), nullable=False),
        sa.Column('record_id', sa.String(length=32), nullable=True),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint('message_id', 'key', name='uq_email_tracking_message_key'),
    )
    with op.batch_alter_table('crm_task') as batch:
        batch.add_column(sa.Column('kind', sa.String(length=20), nullable=True))


def downgrade():
    with op.batch_alter_table('crm_task') as batch:
        batch.drop_column('kind')
    op.drop_table('email_tracking')
