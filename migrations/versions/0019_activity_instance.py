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
from collections import defaultdict, deque

from alembic import op
import sqlalchemy as sa


revision = '0019_activity_instance'
down_revision = '0018_open_task_due'
branch_labels = None
depends_on = None

OPEN = sa.text("ended_at IS NULL")
BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
BATCH = 5000


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
    op.create_index('ix_activity_instance_instance', 'activity_instance', ['instance_id'])
    op.create_index('ix_activity_instance_definition', 'activity_instance', ['definition_id', 'element_id', 'started_at'])
    op.create_index('ix_activity_instance_open', 'activity_instance', ['instance_id', 'task_id'],
                    postgresql_where=OPEN, sqlite_where=OPEN)
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.add_column(sa.Column('end_element_id', sa.String(length=255), nullable=True))
    _move_pairs()


def _move_pairs():
    """Pair each instance's entered and left rows per element, in order, into activity rows."""
    conn = op.get_bind()
    meta = sa.MetaData()
    history = sa.Table('history_event', meta, autoload_with=conn)
    instances = sa.Table('process_instance', meta, autoload_with=conn)
    activities = sa.Table('activity_instance', meta, autoload_with=conn)
    kinds = ('element_entered', 'element_left', 'element_cancelled')
    last = None
    while True:
        # one instance at a time, whole, in batches of instances
        ids = conn.execute(sa.select(instances.c.id).where(instances.c.id > last if last else sa.true())
                           .order_by(instances.c.id).limit(BATCH)).scalars().all()
        if not ids:
            break
        last = ids[-1]
        owners = {row.id: row for row in conn.execute(
            sa.select(instances.c.id, instances.c.definition_id, instances.c.process_key).where(instances.c.id.in_(ids)))}
        events = conn.execute(sa.select(history).where(history.c.instance_id.in_(ids), history.c.type.in_(kinds))
                              .order_by(history.c.instance_id, history.c.id)).all()
        rows, ends = [], {}
        opened = defaultdict(deque)  # (instance, element) -> rows entered and not yet left
        for ev in events:
            key = (ev.instance_id, ev.element_id)
            if ev.type == 'element_entered':
                owner = owners[ev.instance_id]
                row = {'instance_id': ev.instance_id, 'definition_id': owner.definition_id,
                       'process_key': owner.process_key, 'task_id': None, 'element_id': ev.element_id or '',
                       'element_name': ev.element_name, 'element_type': ev.element_type or '',
                       'from_element_id': None, 'from_flow_id': None, 'started_at': ev.at, 'claimed_at': None,
                       'ended_at': None, 'duration_ms': None, 'state': 'active', 'actor': ev.user, 'outcome': None}
                rows.append(row)
                opened[key].append(row)
            elif opened[key]:
                row = opened[key].popleft()
                row['ended_at'] = ev.at
                row['duration_ms'] = int((ev.at - row['started_at']).total_seconds() * 1000)
                row['state'] = 'completed' if ev.type == 'element_left' else 'cancelled'
                if ev.element_type and ev.element_type.endswith('EndEvent') and row['state'] == 'completed':
                    ends[ev.instance_id] = ev.element_id
        if rows:
            conn.execute(activities.insert(), rows)
        for instance_id, element_id in ends.items():
            conn.execute(instances.update().where(instances.c.id == instance_id, instances.c.ended_at.is_not(None))
                         .values(end_element_id=element_id))
        conn.execute(history.delete().where(history.c.instance_id.in_(ids), history.c.type.in_(kinds)))


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
