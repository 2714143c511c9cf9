"""Migrations of running instances to another version of their process (batches)."""
from ..schemas.common import PageArgs
from ..schemas.migrations import (
    MigrationItemPageSchema, MigrationItemQuerySchema, MigrationPageSchema, MigrationRequestSchema, MigrationSchema,
)
from ..services import batches
from .common import current_actor, problems, protected_blueprint

blp = protected_blueprint("migrations", __name__, "/migrations", "Migrations of running instances")


@blp.route("", methods=["POST"])
@blp.arguments(MigrationRequestSchema)
@blp.response(200, MigrationSchema)
@problems(blp, 400, 401, 403, 409, 422)
def migrate(body):
    """Migrate instances to another definition, or check them (`dry_run`): per instance, migrated or refused
    with the reasons (admins, or `migrate` on both process keys)."""
    return batches.migrate(current_actor(), **body)


@blp.route("", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, MigrationPageSchema)
@problems(blp, 400, 401)
def list_migrations(query):
    """Migrations, newest first, with their progress (admins: all; others: their own)."""
    return batches.list_batches(current_actor(), query["page"], query["per_page"])


@blp.route("/<batch_id>", methods=["GET"])
@blp.response(200, MigrationSchema)
@problems(blp, 401, 404)
def get_migration(batch_id):
    """One migration's plan and progress."""
    return batches.migration(batch_id, current_actor())


@blp.route("/<batch_id>/instances", methods=["GET"])
@blp.arguments(MigrationItemQuerySchema, location="query")
@blp.response(200, MigrationItemPageSchema)
@problems(blp, 400, 401, 404)
def list_migration_instances(query, batch_id):
    """A migration's instances in order: migrated, refused (with the reasons), failed or pending."""
    return batches.batch_items(batch_id, current_actor(), status=query["status"], page=query["page"],
                               per_page=query["per_page"])


@blp.route("/<batch_id>/resume", methods=["POST"])
@blp.response(200, MigrationSchema)
@problems(blp, 401, 403, 404, 409)
def resume_migration(batch_id):
    """Migrate the instances a migration left pending (after a crash), now."""
    return batches.resume_batch(batch_id, current_actor())
