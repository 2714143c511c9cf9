"""Authorizations, the outbound allow list, revocable tokens

Revision ID: 0007_security
Revises: 0006_task_delegation
Create Date: 2026-12-06 18:00:00.000000

Seeds the default grants: every user may start every process and create
records; the `modelers` group deploys; the `workers` group works every
external task topic. Admins need no grant.
"""
from alembic import op
import sqlalchemy as sa


revision = '0007_security'
down_revision = '0006_task_delegation'
branch_labels = None
depends_on = None

_DEFAULTS = [
    ('default-start', '*', None, 'process', '*', ['start']),
    ('default-records', '*', None, 'module', '*', ['create']),
    ('default-deploy', None, 'modelers', 'process', '*', ['deploy', 'start', 'read']),
    ('default-topics', None, 'workers', 'topic', '*', ['work']),
]


def upgrade():
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('disabled', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('token_version', sa.Integer(), nullable=False, server_default='0'))
    grants = op.create_table(
        'authorization_grant',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('user_id', sa.String(length=200), nullable=True),
        sa.Column('group_id', sa.String(length=200), nullable=True),
        sa.Column('resource_type', sa.String(length=40), nullable=False),
        sa.Column('resource_id', sa.String(length=255), nullable=False),
        sa.Column('permissions', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column('created_by', sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('user_id', 'group_id', 'resource_type', 'resource_id', name='uq_authorization_grant'),
    )
    op.create_index('ix_authorization_lookup', 'authorization_grant', ['resource_type', 'resource_id'])
    op.create_table(
        'outbound_host',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('pattern', sa.String(length=255), nullable=False),
        sa.Column('allow_private', sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column('note', sa.String(length=500), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column('created_by', sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('pattern'),
    )
    op.bulk_insert(grants, [
        {'id': id_, 'user_id': user, 'group_id': group, 'resource_type': type_, 'resource_id': res,
         'permissions': perms, 'created_by': 'migration'}
        for id_, user, group, type_, res, perms in _DEFAULTS])


def downgrade():
    op.drop_table('outbound_host')
    op.drop_index('ix_authorization_lookup', table_name='authorization_grant')
    op.drop_table('authorization_grant')
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.drop_column('token_version')
        batch_op.drop_column('disabled')
