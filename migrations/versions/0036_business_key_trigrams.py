"""Business keys by any part, from a trigram index, on PostgreSQL

Revision ID: 0036_business_key_trigrams
Revises: 0035_no_variables_index
Create Date: 2026-12-07 15:30:00.000000

Camunda's businessKeyLike with a leading wildcard (`%-2026`, `%ACME%`) cannot use a B-tree: it read every
instance's key (about 170 ms at a million instances). PostgreSQL's pg_trgm extension (shipped with
PostgreSQL, a trusted extension since 13: a database owner may create it) indexes the three-letter pieces
of each key in a GIN index, which serves LIKE with wildcards anywhere once the pattern holds three
characters in a row. Only instances that have a key are indexed; the key never changes after the start,
so a step's update of its instance stays in place (HOT). Where the extension cannot be created (a
role without the right), the index is left out and the lists read the keys as before.
"""
import logging

from alembic import op
import sqlalchemy as sa


revision = '0036_business_key_trigrams'
down_revision = '0035_no_variables_index'
branch_labels = None
depends_on = None

NAME = 'ix_process_instance_business_key_trgm'
log = logging.getLogger("alembic.runtime.migration")


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name != 'postgresql':
        return
    savepoint = bind.begin_nested()
    try:
        bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError as exc:
        savepoint.rollback()
        log.warning("pg_trgm could not be created (%s): business keys matched by a leading wildcard are read "
                    "without an index", str(exc.orig).strip().splitlines()[0])
        return
    savepoint.commit()
    op.create_index(NAME, 'process_instance', ['business_key'], postgresql_using='gin',
                    postgresql_ops={'business_key': 'gin_trgm_ops'},
                    postgresql_where=sa.text('business_key IS NOT NULL'))


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute(f"DROP INDEX IF EXISTS {NAME}")
