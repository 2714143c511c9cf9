"""Scoring rules per module: criteria worth points and points per touchpoint

Revision ID: 0011_scoring
Revises: 0010_record_companions
Create Date: 2026-12-08 12:00:00.000000

One row per scored module: the number field the score is written to, the
criteria (name, expression, points) and the points per touchpoint type.
"""
from alembic import op
import sqlalchemy as sa


revision = '0011_scoring'
down_revision = '0010_record_companions'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('crm_scoring',
    sa.Column('module', sa.String(length=100), nullable=False),
    sa.Column('field', sa.String(length=100), nullable=False),
    sa.Column('criteria', sa.JSON(), nullable=False),
    sa.Column('touchpoints', sa.JSON(), nullable=False),
    sa.Column('updated_by', sa.String(length=200), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('module')
    )


def downgrade():
    op.drop_table('crm_scoring')
