"""Activity instances: one row per element occurrence (entered to left) replaces the entered/left history pair

Revision ID: 0019_activity_instance
Revises: 0018_open_task_due
Create Date: 2026-12-07 00:10:00.000000

The history kept an `element_entered` and an `element_left` (or `element_cancelled`) row for every
element an instance passed: 14 rows for a three-task instance, paired again in Python by every reader.
One `activity_instance` row per occurrence carries both ends, its duration and how it ended, and is
what analytics read. Existing pairs are moved over (entered and left matched per instance and element
in order) and the pair rows deleted; an instance's end event is kept on the instance.
"""
from alembic import op
import sqlalchemy as sa


revision = '0019_activity_instance'
down_revision = '0018_open_task_due'
branch_labels = None
depends_on = None

OPEN = sa.text("ended_at IS NULL")
BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        'activity_instance',
        sa.Column('id', BIG, primary_key=True, autoincrement=True),
        sa.Column('instance_id', sa.String(length=32), sa.ForeignKey('process_instance.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('definition_id', sa.String(length=32), nullable=False),
        sa.Column('process_key', sa.String(length=255), nullable=False),
        sa.Column('task_id', sa.String(length=36), nullable=True),
        sa.Column('element_id', sa.String(length=255), nullable=False),
        sa.Column('element_name', sa.String(length=255), nullable=True),
        sa.Column('element_type', sa.String(length=80), nullable=False),
        sa.Column('from_element_id', sa.String(length=255), nullable=True),
        sa.Column('from_flow_id', sa.String(length=255), nullable=True),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('duration_ms', sa.BigInteger(), nullable=True),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('actor', sa.String(length=200), nullable=True),
        sa.Column('outcome', sa.String(length=255), nullable=True),
    )
    op.create_index('ix_activity_instance_instance', 'activity_instance', ['instance_id', 'id'])
    op.create_index('ix_activity_instance_definition', 'activity_instance', ['definition_id', 'element_id', 'started_at'])
    op.create_index('ix_activity_instance_key_started', 'activity_instance', ['process_key', 'started_at'])
    op.create_index('ix_activity_instance_open', 'activity_instance', ['instance_id', 'task_id'],
                    postgresql_where=OPEN, sqlite_where=OPEN)
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.add_column(sa.Column('end_element_id', sa.String(length=255), nullable=True))


def downgrade():
    conn = op.get_bind()
    meta = sa.MetaData()
    history = sa.Table('history_event', meta, autoload_with=conn)
    activities = sa.Table('activity_instance', meta, autoload_with=conn)
    for a in conn.execute(sa.select(activities).order_by(activities.c.id)).all():
        base = {'instance_id': a.instance_id, 'element_id': a.element_id, 'element_name': a.element_name,
                'element_type': a.element_type, 'user': None, 'message': None, 'data': None}
        conn.execute(history.insert(), [dict(base, type='element_entered', at=a.started_at)])
        if a.ended_at is not None:
            conn.execute(history.insert(), [dict(base, type='element_left' if a.state == 'completed'
                                                 else 'element_cancelled', at=a.ended_at)])
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.drop_column('end_element_id')
    op.drop_table('activity_instance')
