"""Analytics: completed activity instances indexed by definition, element and duration, for p50/p90

Revision ID: 0022_analytics_indexes
Revises: 0021_conversion_goal
Create Date: 2026-12-07 01:00:00.000000

The heat map and the bottlenecks rank the durations of every completed occurrence of each element of a
definition. Over a million rows PostgreSQL sorted them on disk (4.0 s with percentile_disc, 4.6 s with
window functions); read in order from this partial index, the same percentiles take 0.24 s. 7 MB per
million rows.
"""
from alembic import op
import sqlalchemy as sa


revision = '0022_analytics_indexes'
down_revision = '0021_conversion_goal'
branch_labels = None
depends_on = None

COMPLETED = sa.text("state = 'completed'")


def upgrade():
    op.create_index('ix_activity_instance_durations', 'activity_instance', ['definition_id', 'element_id', 'duration_ms'],
                    postgresql_where=COMPLETED, sqlite_where=COMPLETED)


def downgrade():
    op.drop_index('ix_activity_instance_durations', table_name='activity_instance')
