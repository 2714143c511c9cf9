"""Camunda REST: the version of Camunda 7's REST API that /engine-rest follows."""
from flask import jsonify

from .common import CAMUNDA_VERSION, camunda_blueprint

blp = camunda_blueprint("version", __name__)


@blp.get("/version")
def version():
    """The Camunda 7 version whose REST reference the shapes under /engine-rest follow."""
    return jsonify({"version": CAMUNDA_VERSION})
