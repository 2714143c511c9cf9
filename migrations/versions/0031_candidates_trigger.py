"""A task's candidate rows go when it closes, in the database

Revision ID: 0031_candidates_trigger
Revises: 0030_open_task_priority
Create Date: 2026-12-07 09:20:00.000000

Candidate rows live only while their task is open (the inbox reads open tasks only). Every command that
closed a task (completed, cancelled, withdrawn, interrupted) sent a DELETE of them after its UPDATE of the
task: one statement per step, and one more place each new way of closing a task had to remember. A trigger
on human_task deletes them as the task's state leaves 'open', whatever closes it.
"""
from alembic import op


revision = '0031_candidates_trigger'
down_revision = '0030_open_task_priority'
branch_labels = None
depends_on = None

_SQLITE = """
CREATE TRIGGER tr_human_task_closed AFTER UPDATE OF state ON human_task
FOR EACH ROW WHEN OLD.state = 'open' AND NEW.state <> 'open'
BEGIN
    DELETE FROM task_candidate WHERE task_id = NEW.id;
END
"""
_POSTGRES = ["""
CREATE FUNCTION task_candidates_close() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM task_candidate WHERE task_id = NEW.id;
    RETURN NULL;
END
$$
""", """
CREATE TRIGGER tr_human_task_closed AFTER UPDATE OF state ON human_task
FOR EACH ROW WHEN (OLD.state = 'open' AND NEW.state <> 'open')
EXECUTE FUNCTION task_candidates_close()
"""]


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        for statement in _POSTGRES:
            op.execute(statement)
    else:
        op.execute(_SQLITE)
    # rows of tasks closed before (none, as every path deleted them; kept for a database that holds some)
    op.execute("DELETE FROM task_candidate WHERE task_id IN (SELECT id FROM human_task WHERE state <> 'open')")


def downgrade():
    op.execute("DROP TRIGGER IF EXISTS tr_human_task_closed" +
               (" ON human_task" if op.get_bind().dialect.name == "postgresql" else ""))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS task_candidates_close()")
