"""Tenants: a deployment's tenant id on it, its definitions and what they run; versions per key and tenant

Revision ID: 0012_tenants
Revises: 0011_scoring
Create Date: 2026-12-09 12:00:00.000000

Camunda's `tenant-id` of a deployment is kept on the deployment and on every
definition it creates; instances, human tasks and external tasks copy their
definition's. Every existing row belongs to no tenant (NULL). A definition's
version now counts per key and tenant, so the unique (key, version) becomes a
unique (tenant_id, key, version) plus a unique (key, version) over the rows
without a tenant (NULLs never collide in a unique index).
"""
from alembic import op
import sqlalchemy as sa


revision = '0012_tenants'
down_revision = '0011_scoring'
branch_labels = None
depends_on = None

NO_TENANT = sa.text('tenant_id IS NULL')


def upgrade():
    with op.batch_alter_table('deployment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tenant_id', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_deployment_tenant_id'), ['tenant_id'], unique=False)

    with op.batch_alter_table('process_definition', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tenant_id', sa.String(length=64), nullable=True))
        batch_op.drop_constraint('uq_process_definition_key_version', type_='unique')
    op.create_index('uq_process_definition_tenant_key_version', 'process_definition',
                    ['tenant_id', 'key', 'version'], unique=True)
    op.create_index('uq_process_definition_key_version_no_tenant', 'process_definition', ['key', 'version'],
                    unique=True, sqlite_where=NO_TENANT, postgresql_where=NO_TENANT)

    op.add_column('process_instance', sa.Column('tenant_id', sa.String(length=64), nullable=True))
    op.create_index('ix_process_instance_tenant', 'process_instance', ['tenant_id', 'started_at'])
    op.add_column('human_task', sa.Column('tenant_id', sa.String(length=64), nullable=True))
    op.create_index('ix_human_task_tenant', 'human_task', ['tenant_id', 'state'])
    op.add_column('external_task', sa.Column('tenant_id', sa.String(length=64), nullable=True))


def downgrade():
    op.drop_column('external_task', 'tenant_id')
    op.drop_index('ix_human_task_tenant', table_name='human_task')
    op.drop_column('human_task', 'tenant_id')
    op.drop_index('ix_process_instance_tenant', table_name='process_instance')
    op.drop_column('process_instance', 'tenant_id')

    # The old unique (key, version) fails here when a key has versions in more than one tenant line:
    # remove those definitions (and their instances) first; nothing is deleted silently.
    op.drop_index('uq_process_definition_key_version_no_tenant', table_name='process_definition')
    op.drop_index('uq_process_definition_tenant_key_version', table_name='process_definition')
    with op.batch_alter_table('process_definition', schema=None) as batch_op:
        batch_op.drop_column('tenant_id')
        batch_op.create_unique_constraint('uq_process_definition_key_version', ['key', 'version'])

    with op.batch_alter_table('deployment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deployment_tenant_id'))
        batch_op.drop_column('tenant_id')
