"""Add owner and delegation state to human tasks

Revision ID: 0006_task_delegation
Revises: 0005_task_follow_up_priority
Create Date: 2026-11-25 02:45:00.000000

Until now a Camunda delegation (POST /engine-rest/task/{id}/delegate) was
remembered only in the history: a `task_delegated` event with
`data.delegation == "pending"` and the previous assignee in `data.from`, ended
by a `task_resolved` event. The upgrade carries those delegations of open
tasks over into the new columns.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006_task_delegation'
down_revision = '0005_task_follow_up_priority'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('delegation_state', sa.String(length=20), nullable=True))
    _carry_over_delegations()


def _carry_over_delegations():
    history = sa.table('history_event', sa.column('id', sa.BigInteger()), sa.column('type', sa.String()),
                       sa.column('data', sa.JSON()))
    tasks = sa.table('human_task', sa.column('id', sa.String()), sa.column('state', sa.String()),
                     sa.column('owner', sa.String()), sa.column('delegation_state', sa.String()))
    conn = op.get_bind()
    latest: dict[str, tuple[str, str | None]] = {}
    rows = conn.execute(sa.select(history.c.type, history.c.data)
                        .where(history.c.type.in_(('task_delegated', 'task_resolved'))).order_by(history.c.id))
    for type_, data in rows:
        data = data or {}
        task_id = data.get('task_id')
        if not task_id:
            continue  # a plain reassignment (/api/v1), not a delegation to resolve
        if type_ == 'task_resolved':
            latest[task_id] = ('RESOLVED', data.get('to'))
        elif data.get('delegation') == 'pending':
            # as in Camunda, a second delegation keeps the first owner
            owner = latest.get(task_id, (None, None))[1] or data.get('from')
            latest[task_id] = ('PENDING', owner)
    for task_id, (state, owner) in latest.items():
        conn.execute(tasks.update().where(tasks.c.id == task_id, tasks.c.state == 'open')
                     .values(owner=owner, delegation_state=state))


def downgrade():
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.drop_column('delegation_state')
        batch_op.drop_column('owner')
