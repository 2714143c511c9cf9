"""Record companions: notes and attachments on records; CRM to-dos gain a description and completion

Revision ID: 0010_record_companions
Revises: 0009_access_indexes
Create Date: 2026-12-08 10:00:00.000000

Notes and attachments belong to their record and are deleted with it. An
attachment's bytes are stored on disk under `storage_name`, a random name;
`file_name` is the client's name, kept only to show it.
"""
from alembic import op
import sqlalchemy as sa


revision = '0010_record_companions'
down_revision = '0009_access_indexes'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('crm_note',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('record_id', sa.String(length=32), nullable=False),
    sa.Column('module', sa.String(length=100), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('author', sa.String(length=200), nullable=True),
    sa.Column('instance_id', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('modified_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['record_id'], ['crm_record.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_crm_note_record_created', 'crm_note', ['record_id', 'created_at'])
    op.create_table('crm_attachment',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('record_id', sa.String(length=32), nullable=False),
    sa.Column('module', sa.String(length=100), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=200), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('storage_name', sa.String(length=64), nullable=False),
    sa.Column('uploaded_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['record_id'], ['crm_record.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('storage_name')
    )
    op.create_index('ix_crm_attachment_record_created', 'crm_attachment', ['record_id', 'created_at'])
    with op.batch_alter_table('crm_task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('description', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('completed_by', sa.String(length=200), nullable=True))


def downgrade():
    with op.batch_alter_table('crm_task', schema=None) as batch_op:
        batch_op.drop_column('completed_by')
        batch_op.drop_column('completed_at')
        batch_op.drop_column('description')
    op.drop_index('ix_crm_attachment_record_created', table_name='crm_attachment')
    op.drop_table('crm_attachment')
    op.drop_index('ix_crm_note_record_created', table_name='crm_note')
    op.drop_table('crm_note')
