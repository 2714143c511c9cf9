"""Each timeline entry keeps its Path Finder node (stage reached, touchpoint type and name) in a column

Revision ID: 0023_timeline_node
Revises: 0022_analytics_indexes
Create Date: 2026-12-07 01:20:00.000000

Path Finder and the funnel read every timeline entry of a period; asking each one's JSON whether it is a
touchpoint, what it is called and which stage it reached took most of their time (a JSON value parsed
again per row and per question: 9 s for 50,000 records). The node is now written with the entry; existing
entries get theirs here, read once.
"""
from alembic import op
import sqlalchemy as sa


revision = '0023_timeline_node'
down_revision = '0022_analytics_indexes'
branch_labels = None
depends_on = None

BATCH = 5000
NODE_LENGTH = 255


def _node(type_, data):
    """As `app.models.crm.touchpoint_node` wrote it when this revision was made."""
    data = data if isinstance(data, dict) else {}
    if type_ == 'stage_changed':
        node = f"stage: {data.get('to') if data.get('to') is not None else ''}"
    elif data.get('touchpoint') is True:
        name = data.get('name')
        node = f"{type_}: {name}" if name not in (None, '') else type_
    else:
        return None
    return node[:NODE_LENGTH]


def upgrade():
    with op.batch_alter_table('crm_record_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('node', sa.String(length=NODE_LENGTH), nullable=True))
    conn = op.get_bind()
    events = sa.Table('crm_record_event', sa.MetaData(), autoload_with=conn)
    maybe = sa.or_(events.c.type == 'stage_changed', sa.cast(events.c.data, sa.Text).like('%touchpoint%'))
    last = 0
    while True:
        rows = conn.execute(sa.select(events.c.id, events.c.type, events.c.data)
                            .where(events.c.id > last, maybe).order_by(events.c.id).limit(BATCH)).all()
        if not rows:
            break
        last = rows[-1].id
        updates = [{'row_id': r.id, 'node': _node(r.type, r.data)} for r in rows]
        updates = [u for u in updates if u['node'] is not None]
        if updates:
            conn.execute(events.update().where(events.c.id == sa.bindparam('row_id'))
                         .values(node=sa.bindparam('node')), updates)


def downgrade():
    with op.batch_alter_table('crm_record_event', schema=None) as batch_op:
        batch_op.drop_column('node')
