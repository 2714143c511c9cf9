"""What the Camunda 7 REST resources share: HTTP Basic (or a bearer token), Camunda's error body, typed variables,
paging.

Camunda clients (the Modeler's deploy button, camunda-external-task-client,
pycamunda, ...) expect `{"type": "...Exception", "message": "..."}` errors, not
problem+json, so every error raised under /engine-rest is rendered that way by
handlers registered on these blueprints (routing 404s outside any route still
get the app's problem+json).
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import math
import re

from flask import Blueprint, current_app, g, jsonify, request
from marshmallow import ValidationError as SchemaError
from werkzeug.exceptions import HTTPException

from ...errors import (
    AuthenticationError, BpmnValidationError, ConflictError, ForbiddenError, NotFoundError, StagecoachError,
    ValidationError, WrongWorkerError, answer_unrouted_under, database_error,
)
from ..common import current_actor  # noqa: F401  (re-exported for the resource modules)
from ..inputs import strict_loads
from ...services.core import DefinitionNotFoundError, TenantFilter
from ...services.sessions import actor_from_token, authenticate_password

log = logging.getLogger(__name__)

PREFIX = "/engine-rest"
# The Camunda 7 release whose REST reference these resources follow (GET /version answers it).
CAMUNDA_VERSION = "7.20.0"
REALM = 'Basic realm="stagecoach"'

# Camunda's exception names for each kind of Stagecoach error.
_TYPES = [
    (BpmnValidationError, "ParseException"),
    (WrongWorkerError, "BadUserRequestException"),
    (AuthenticationError, "AuthenticationException"),
    (ForbiddenError, "AuthorizationException"),
    (NotFoundError, "InvalidRequestException"),
    (ValidationError, "InvalidRequestException"),
    (ConflictError, "ProcessEngineException"),
]
_STATUS_TYPES = {400: "InvalidRequestException", 401: "AuthenticationException", 403: "AuthorizationException",
                 404: "InvalidRequestException", 429: "AuthenticationException",
                 413: "RestException", 415: "NotSupportedException"}


class CamundaError(StagecoachError):
    """An error whose Camunda type differs from the default for its status."""

    def __init__(self, status: int, camunda_type: str, message: str, **details):
        super().__init__(message)
        self.status = status
        self.camunda_type = camunda_type
        self.details = details


def camunda_blueprint(name: str, import_name: str) -> Blueprint:
    """A blueprint under /engine-rest: HTTP Basic required, errors in Camunda's shape."""
    blp = Blueprint(f"camunda_{name}", import_name, url_prefix=PREFIX)
    blp.before_request(authenticate)
    blp.register_error_handler(StagecoachError, _stagecoach_error)
    blp.register_error_handler(SchemaError, _schema_error)
    blp.register_error_handler(HTTPException, _http_error)
    blp.register_error_handler(Exception, _unexpected_error)
    return blp


def authenticate() -> None:
    """before_request: require HTTP Basic with a Stagecoach user's password, or a bearer token.

    Failed Basic logins are throttled like the token endpoint's (429 with Retry-After); a verified
    password is remembered briefly so a client does not pay argon2 on every request (see sessions).
    """
    auth = request.authorization
    try:
        if auth is not None and auth.type == "bearer" and auth.token:
            g.actor = actor_from_token(auth.token)
            return
        if auth is None or auth.type != "basic" or not auth.username:
            raise AuthenticationError("send HTTP Basic credentials of a Stagecoach user")
        g.actor = authenticate_password(auth.username, auth.password or "", address=request.remote_addr)
    except AuthenticationError as exc:
        exc.headers = {"WWW-Authenticate": REALM}
        raise


def error_body(status: int, camunda_type: str, message: str, headers: dict | None = None, **extra):
    response = jsonify({"type": camunda_type, "message": message, **extra})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _stagecoach_error(error: StagecoachError):
    if isinstance(error, DefinitionNotFoundError):  # a key (and tenant) that names no definition, in Camunda's words
        where = "no tenant-id" if error.tenant_id is None else f"tenant-id: {error.tenant_id}"
        return error_body(404, "RestException", f"No matching process definition with key: {error.key} and {where}")
    if isinstance(error, CamundaError):
        return error_body(error.status, error.camunda_type, error.detail, error.headers, **error.details)
    camunda_type = next((t for cls, t in _TYPES if isinstance(error, cls)),
                        _STATUS_TYPES.get(error.status, "ProcessEngineException"))
    message = error.detail
    if error.errors:
        message += ": " + "; ".join(f"{field}: {', '.join(map(str, msgs)) if isinstance(msgs, list) else msgs}"
                                     for field, msgs in error.errors.items())
    return error_body(error.status, camunda_type, message, error.headers)


def _schema_error(error: SchemaError):
    return error_body(400, "InvalidRequestException", f"invalid request: {error.messages}")


def _http_error(error: HTTPException):
    status = error.code or 500
    valid_methods = getattr(error, "valid_methods", None)
    headers = {"Allow": ", ".join(valid_methods)} if status == 405 and valid_methods else None
    return error_body(status, _STATUS_TYPES.get(status, "RestException"), error.description or error.name, headers)


def install_routing_errors(app) -> None:
    """An unknown path or a method a path does not take under /engine-rest (refused by the router, before
    any blueprint is chosen) answers in Camunda's error shape too."""
    answer_unrouted_under(app, PREFIX, _http_error)


def _unexpected_error(error: Exception):
    known = database_error(error)  # the database out of reach (503), or a value it refused (400)
    if known is not None:
        return _stagecoach_error(known)
    log.exception("unhandled error on %s %s", request.method, request.path)
    return error_body(500, "ProcessEngineException", "the server failed to handle this request; it has been logged")


# -- request bodies and paging ---------------------------------------------------------

def json_body() -> dict:
    """The JSON body as an object (an empty body counts as `{}`, as Camunda accepts)."""
    if not request.get_data():
        return {}
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationError("the request body must be a JSON object")
    return body


def query_args() -> dict:
    """The query string, one value per name."""
    return request.args.to_dict()


def count(page) -> dict:
    return {"count": page.total}


def tenants(query: dict) -> TenantFilter | None:
    """A loaded query's `tenantIdIn`, `withoutTenantId` and `include...WithoutTenantId` as one filter."""
    return TenantFilter.of(query.get("tenant_id_in"), query.get("without_tenant_id"),
                           query.get("include_without_tenant"))


# -- typed variables ---------------------------------------------------------------------

_INT32 = range(-2**31, 2**31)
_INTEGER_RANGES = {"short": range(-2**15, 2**15), "integer": _INT32, "long": range(-2**63, 2**63)}


def typed_value(value) -> dict:
    """A Python value as a Camunda typed value. Json values are serialized strings, as Camunda sends them."""
    if value is None:
        return {"type": "Null", "value": None, "valueInfo": {}}
    if isinstance(value, bool):
        return {"type": "Boolean", "value": value, "valueInfo": {}}
    if isinstance(value, int):
        return {"type": "Integer" if value in _INT32 else "Long", "value": value, "valueInfo": {}}
    if isinstance(value, float):
        return {"type": "Double", "value": value, "valueInfo": {}}
    if isinstance(value, str):
        return {"type": "String", "value": value, "valueInfo": {}}
    return {"type": "Json", "value": json.dumps(value), "valueInfo": {}}


def typed_variables(variables: dict | None) -> dict:
    return {name: typed_value(value) for name, value in (variables or {}).items()}


def plain_variables(typed: dict | None) -> dict:
    """Camunda typed variables `{"name": {"value": v, "type": "..."}}` as plain values.

    Raises:
        ValidationError: a value that does not fit its type, or a type Stagecoach does not store.
    """
    plain, errors = {}, {}
    for name, entry in (typed or {}).items():
        try:
            plain[name] = _plain_value(entry)
        except (TypeError, ValueError) as exc:
            errors[name] = [str(exc)]
    if errors:
        raise ValidationError("variables do not match their types", errors=errors)
    return plain


def _plain_value(entry):
    if not isinstance(entry, dict):
        raise TypeError("send {\"value\": ..., \"type\": ...}")
    value, kind = entry.get("value"), (entry.get("type") or "").lower()
    if value is None or kind == "null":
        return None
    if kind == "string":
        if isinstance(value, (dict, list)):  # Camunda refuses an object or list as a String
            raise ValueError("an object or list is not a String: send it as Json")
        if isinstance(value, bool):
            return "true" if value else "false"  # as Camunda writes it (str() would give "True")
        return value if isinstance(value, str) else json.dumps(value)
    if kind in ("integer", "long", "short"):
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError(f"{value!r} is not an {entry['type']}")
        number = int(value)
        if number not in _INTEGER_RANGES[kind]:
            raise ValueError(f"{value!r} does not fit a {entry['type']}")
        return number
    if kind == "double":
        if isinstance(value, bool):
            raise ValueError(f"{value!r} is not a Double")
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"{value!r} is not a finite Double")
        return number
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise ValueError(f"{value!r} is not a Boolean")
    if kind in ("json", "object"):  # Object: only its application/json serialization, parsed as a body is
        info = entry.get("valueInfo") or {}
        data_format = info.get("serializationDataFormat") if isinstance(info, dict) else None
        if kind == "object" and data_format not in (None, "", "application/json"):
            raise ValueError(f"an Object serialized as {str(data_format)[:80]!r} cannot be stored: send "
                             "application/json")
        return strict_loads(value, current_app.config["JSON_MAX_DEPTH"]) if isinstance(value, str) else value
    if kind == "date":
        if not isinstance(value, str) or not _is_date(value):
            raise ValueError(f"{str(value)[:80]!r} is not a Date: send yyyy-MM-dd'T'HH:mm:ss.SSSZ, e.g. "
                             "2013-01-23T13:42:42.000+0200")
        return value
    if kind == "":
        return value
    raise ValueError(f"type {entry.get('type')!r} is not supported (String, Integer, Long, Short, Double, "
                     "Boolean, Date, Json, Object as JSON, Null)")


def _is_date(text: str) -> bool:
    """Whether `text` is a date in Camunda's format or another ISO 8601 form."""
    candidate = text.strip()
    if len(candidate) > 40:
        return False
    if re.fullmatch(r".*[+-]\d{4}", candidate):  # +0200 (Camunda's zone) as +02:00
        candidate = candidate[:-2] + ":" + candidate[-2:]
    try:
        dt.datetime.fromisoformat(candidate.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


# -- formatting ------------------------------------------------------------------------------

def camunda_time(moment: dt.datetime | None) -> str | None:
    """Camunda's date format: `2013-01-23T13:42:42.000+0000`."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}" + moment.strftime("%z")


def camunda_form_ref(form: dict | None) -> dict | None:
    """Camunda's `camundaFormRef` of a deployed Camunda form (form-js JSON), None without one."""
    return {"key": form["id"], "binding": "latest", "version": None} if form and form.get("id") else None


# JSON Schema types of form fields → Camunda value types.
_FORM_TYPES = {"boolean": "Boolean", "integer": "Long", "number": "Double", "string": "String",
               "object": "Json", "array": "Json"}


def form_variables(form: dict | None, current: dict | None) -> dict:
    """A form's fields as Camunda's form variables: typed, with the current value or the field's default."""
    current = current or {}
    variables = {}
    for name, field in ((form or {}).get("properties") or {}).items():
        field = field if isinstance(field, dict) else {}
        value = current.get(name, field.get("default"))
        entry = typed_variables({name: value})[name]
        if value is None:
            entry["type"] = _FORM_TYPES.get(_json_type(field), "String")
        variables[name] = entry
    return variables


def _json_type(field: dict) -> str | None:
    kind = field.get("type")
    if isinstance(kind, list):  # ["string", "null"]
        kind = next((k for k in kind if k != "null"), None)
    return kind
