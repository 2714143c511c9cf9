"""The migrations build exactly the schema the models describe (on the suite's database)."""
from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.database import schema_items_of
from app.extensions import db


@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index")
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_the_migrated_schema_matches_the_models(app):
    with app.app_context():
        dialect = db.engine.dialect.name
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"include_object": schema_items_of(dialect)})
            differences = compare_metadata(context, db.metadata)
        db.session.remove()
    assert differences == []


def test_every_expression_index_the_models_declare_is_in_the_migrated_database(app):
    """Alembic cannot compare indexes on expressions (it skips them, with a warning): each is checked by name."""
    import sqlalchemy as sa

    declared = {index.name: table.name for table in db.metadata.tables.values() for index in table.indexes
                if any(not isinstance(e, sa.Column) for e in index.expressions)}
    assert declared, "the models declare an expression index (open tasks by priority)"
    catalog = {"sqlite": "SELECT name FROM sqlite_master WHERE type = 'index'",
               "postgresql": "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"}
    with app.app_context():
        present = set(db.session.scalars(sa.text(catalog[db.engine.dialect.name])))
        db.session.remove()
    assert set(declared) <= present


def test_every_revision_id_fits_the_version_table():
    """alembic_version.version_num is VARCHAR(32): PostgreSQL refuses a longer id when it is written."""
    from pathlib import Path

    from alembic.config import Config
    from alembic.script import ScriptDirectory

    migrations = Path(__file__).resolve().parent.parent / "migrations"
    config = Config()
    config.set_main_option("script_location", str(migrations))
    too_long = [r.revision for r in ScriptDirectory.from_config(config).walk_revisions() if len(r.revision) > 32]
    assert too_long == []


def test_a_business_key_prefix_is_read_from_its_index_on_postgresql(app, is_postgres):
    """businessKeyLike 'BK-12%': PostgreSQL's pattern operator class lets the index serve the prefix as a
    range (a default one cannot under a collation other than C), and still serves equality."""
    import sqlalchemy as sa

    from app.database import like
    from app.models import ProcessInstance

    if not is_postgres:
        pytest.skip("an operator class of PostgreSQL's")
    with app.app_context():
        definition = db.session.scalar(sa.text(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_process_instance_business_key'"))
        assert "text_pattern_ops" in definition
        db.session.execute(sa.text("SET LOCAL enable_seqscan = off"))
        for clause in (like(ProcessInstance.business_key, "BK-12%"), ProcessInstance.business_key == "BK-12"):
            compiled = sa.select(ProcessInstance.id).where(clause).compile(
                db.engine, compile_kwargs={"literal_binds": True})
            plan = "\n".join(db.session.scalars(sa.text(f"EXPLAIN {compiled}")))
            assert "ix_process_instance_business_key" in plan, plan
        db.session.rollback()


def test_a_business_key_part_is_read_from_its_trigram_index_on_postgresql(app, is_postgres):
    """businessKeyLike '%-2026' or '%ACME%': no B-tree serves a leading wildcard; the key's trigrams do
    (pg_trgm, migration 0036), for any three characters in a row, escapes included."""
    import sqlalchemy as sa

    from app.database import like
    from app.models import ProcessInstance

    if not is_postgres:
        pytest.skip("an index of PostgreSQL's pg_trgm")
    with app.app_context():
        db.session.execute(sa.text("SET LOCAL enable_seqscan = off"))
        connection = db.session.connection()
        for pattern in ("%-2026", "%ACME%", "%50\\%%", "%CM_E1%"):
            compiled = sa.select(ProcessInstance.id).where(like(ProcessInstance.business_key, pattern)).compile(
                db.engine)
            plan = "\n".join(r[0] for r in connection.exec_driver_sql(f"EXPLAIN {compiled}", compiled.params))
            assert "ix_process_instance_business_key_trgm" in plan, (pattern, plan)
        db.session.rollback()


def test_no_index_reads_what_a_step_rewrites_in_an_instance(app, is_postgres):
    """A step rewrites an instance's variables, state and version: with no index reading them, PostgreSQL
    updates the row in place (HOT) instead of writing an entry in every index of process_instance."""
    import re

    import sqlalchemy as sa

    catalog = ("SELECT indexdef FROM pg_indexes WHERE tablename = 'process_instance'" if is_postgres else
               "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'process_instance'"
               " AND sql IS NOT NULL")
    with app.app_context():
        definitions = list(db.session.scalars(sa.text(catalog)))
        db.session.remove()
    assert len(definitions) >= 8
    rewritten = re.compile(r"\b(variables|state|state_version|lock_version|updated_at)\b")
    assert [d for d in definitions if rewritten.search(d.split(" ON ", 1)[1])] == []


def test_the_instances_that_concern_a_user_are_found_from_indexes_alone_on_postgresql(app, is_postgres):
    """The per-object read rule's parts each read one index range and nothing else: the instances a user
    started (their ids in the index, migration 0037), and those offered to them and to their groups (each its
    own part: an OR of both would be a bitmap scan, which reads every candidate row from the table)."""
    import sqlalchemy as sa

    from app.services.access import _concerning_ids
    from app.services.core import Actor

    if not is_postgres:
        pytest.skip("PostgreSQL's plans")
    with app.app_context():
        db.session.execute(sa.text("SET LOCAL enable_seqscan = off"))
        db.session.execute(sa.text("SET LOCAL enable_bitmapscan = off"))
        compiled = _concerning_ids(Actor("rita", ("sales", "support"), False)).compile(
            db.engine, compile_kwargs={"render_postcompile": True})
        plan = "\n".join(r[0] for r in db.session.connection().exec_driver_sql(f"EXPLAIN {compiled}",
                                                                                compiled.params))
        db.session.rollback()
    assert "Index Only Scan using ix_process_instance_started_by" in plan, plan
    assert plan.count("Index Only Scan using ix_task_candidate_lookup") == 2, plan
    assert " OR " not in str(compiled), compiled
