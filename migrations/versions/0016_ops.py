"""Job runner heartbeats, read by the readiness check and the metrics

Revision ID: 0016_ops
Revises: 0015_retention
Create Date: 2026-12-06 21:00:00.000000

One row per job runner (an embedded runner thread, a `flask jobs worker`, a
Celery worker process), updated every few passes: `/health/ready` answers 503
when no runner has beaten recently. A new table only: no stored state changes.
"""
from alembic import op
import sqlalchemy as sa


revision = '0016_ops'
down_revision = '0015_retention'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('runner_heartbeat',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('beat_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_index('ix_runner_heartbeat_beat_at', 'runner_heartbeat', ['beat_at'], unique=False)


def downgrade():
    op.drop_index('ix_runner_heartbeat_beat_at', table_name='runner_heartbeat')
    op.drop_table('runner_heartbeat')
