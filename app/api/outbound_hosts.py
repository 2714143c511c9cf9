"""The outbound allow list: the hosts webhooks may reach (admins)."""
from ..schemas.outbound_hosts import OutboundHostPageSchema, OutboundHostQuerySchema, OutboundHostSchema
from ..services import outbound as service
from .common import current_actor, problems, protected_blueprint

blp = protected_blueprint("outbound_hosts", __name__, "/outbound-hosts",
                          "Hosts that webhooks may call (admins)")


@blp.route("", methods=["GET"])
@blp.arguments(OutboundHostQuerySchema, location="query")
@blp.response(200, OutboundHostPageSchema)
@problems(blp, 400, 401, 403)
def list_hosts(query):
    """The allow list, by pattern."""
    return service.list_hosts(current_actor(), **query)


@blp.route("", methods=["POST"])
@blp.arguments(OutboundHostSchema)
@blp.response(201, OutboundHostSchema)
@problems(blp, 400, 401, 403, 409)
def create_host(body):
    """Allow webhooks to a host, `*.domain`, an IP address or a network."""
    return service.create_host(body, current_actor())


@blp.route("/<host_id>", methods=["DELETE"])
@blp.response(204)
@problems(blp, 401, 403, 404)
def delete_host(host_id):
    """Take an entry off the allow list; queued calls to its hosts are refused when delivered."""
    service.delete_host(host_id, current_actor())
