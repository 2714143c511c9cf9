"""Groups: every group users belong to (admins)."""
from ..schemas.users import GroupListSchema
from ..services import users as service
from .common import current_actor, problems, protected_blueprint

blp = protected_blueprint("groups", __name__, "/groups", "Groups and their number of members (admins)")


@blp.route("", methods=["GET"])
@blp.response(200, GroupListSchema)
@problems(blp, 401, 403)
def list_groups():
    """Every group, with its number of members (admin)."""
    items = service.list_groups(current_actor())
    return {"items": items, "total": len(items)}
