"""Every request's input, checked once before a view reads it.

What no schema can say field by field is refused here, for both APIs, so no
bad input reaches SQL or the engine and comes back as a 500:

- a NUL character in the path, the query, a header, HTTP Basic credentials,
  a form field, an uploaded file's name or any string or key of a JSON body
  (PostgreSQL cannot store it in text; SQLite would cut the string at it);
  so are lone surrogates in JSON strings, which no database encoding holds;
- a JSON body nested deeper than JSON_MAX_DEPTH: the depth is measured by a
  scan that does not recurse, before the parser (which does) sees the text;
- `NaN`, `Infinity` and numbers too large for a double (`1e400`), which
  are not JSON numbers and which PostgreSQL's json refuses;
- a body in another content type than the view reads (415): the views of
  /api/v1 and /engine-rest read JSON unless they declare otherwise with
  `accepts` (other pages, such as a console's forms, say what they read);
- a body over MAX_CONTENT_LENGTH (413), chunked or not: Werkzeug stops
  reading a chunked body at the limit without saying so, so the body is
  read here and refused when it goes past it.

Errors are raised as Stagecoach errors, so /api/v1 answers problem+json and
/engine-rest Camunda's error body, each naming the field at fault.
"""
from __future__ import annotations

import io
import json
import math
import re
from typing import Any, Callable

from flask import Flask, Request, current_app, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import cached_property

from ..errors import UnsupportedMediaTypeError, ValidationError

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
JSON_TYPES = ("application/json", "application/*+json")
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
API_PREFIXES = ("/api/", "/engine-rest/")  # whose views read JSON unless they say otherwise
MAX_FILE_NAME = 255
NUL_MESSAGE = "must not contain NUL characters"
UNSTORABLE_MESSAGE = "must not contain NUL characters or lone surrogates"
# NUL, and the surrogate code points a JSON \u escape can produce alone but no UTF-8 text can hold.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# A JSON string (skipped whole) or one bracket; the scan counts brackets outside strings.
_JSON_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)
_CHUNK = 64 * 1024
UNREADABLE_BODY = "malformed chunked transfer coding, or the body ended early"


class JSONInputError(ValueError):
    """A JSON text Stagecoach refuses: why, and where (a member's path, or "body")."""

    def __init__(self, message: str, field: str = "body"):
        super().__init__(message)
        self.message = message
        self.field = field or "body"


# -- JSON ------------------------------------------------------------------------------------------

def json_too_deep(text: str, limit: int) -> bool:
    """Whether `text` nests arrays and objects more than `limit` deep (one pass, no recursion)."""
    depth = 0
    for match in _JSON_TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > limit:
                return True
        elif token in "]}":
            depth -= 1
    return False


def _refuse_constant(name: str):
    raise JSONInputError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JSONInputError(f"{text} does not fit a double")
    return value


def strict_loads(text: str | bytes, max_depth: int) -> Any:
    """Parse JSON as Stagecoach accepts it.

    Raises:
        JSONInputError: nested too deep, NaN or Infinity, a number too large, NUL or a lone surrogate.
        ValueError: not JSON (json.JSONDecodeError, UnicodeDecodeError).
    """
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode(json.detect_encoding(text))
    if json_too_deep(text, max_depth):
        raise JSONInputError(f"the JSON nests arrays and objects more than {max_depth} deep")
    value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    where = unstorable_text(value)
    if where is not None:
        raise JSONInputError(UNSTORABLE_MESSAGE, printable(where))
    return value


def printable(name: str) -> str:
    """`name` with NUL and surrogates written as \\u escapes, to name a field without echoing them."""
    return _UNSTORABLE.sub(lambda match: f"\\u{ord(match.group()):04x}", name)


def unstorable_text(value: Any) -> str | None:
    """The path (`a.b[2]`, "" for the value itself) of the first string or key with NUL or a lone surrogate."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if _UNSTORABLE.search(item):
                return path
        elif isinstance(item, dict):
            for key, child in item.items():
                child_path = f"{path}.{key}" if path else str(key)
                if isinstance(key, str) and _UNSTORABLE.search(key):
                    return child_path
                stack.append((child_path, child))
        elif isinstance(item, list):
            stack.extend((f"{path}[{i}]", child) for i, child in enumerate(item))
    return None


class StrictJSONProvider(DefaultJSONProvider):
    """Flask's JSON, parsing as `strict_loads` does (request.get_json and flask.json.loads)."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return strict_loads(s, self._app.config["JSON_MAX_DEPTH"])


# -- the request -------------------------------------------------------------------------------------

class CheckedRequest(Request):
    """Flask's request with a chunked body bounded by MAX_CONTENT_LENGTH and JSON errors as 400 problems."""

    @cached_property
    def stream(self):
        limit = self.max_content_length
        if limit is None or self.content_length is not None or "wsgi.input_terminated" not in self.environ:
            return super().stream
        raw = self.environ["wsgi.input"]
        chunks, size = [], 0
        while size <= limit:
            # What the server raises for a body it cannot read (a malformed chunk or trailer, a body cut
            # short) is its own class, whichever server it is: the client sent it.
            try:
                chunk = raw.read(min(_CHUNK, limit + 1 - size))
            except Exception as exc:
                raise ValidationError(f"the chunked body cannot be read: {printable(str(exc))[:200]}",
                                      errors={"body": [UNREADABLE_BODY]}) from None
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise RequestEntityTooLarge()
        return io.BytesIO(b"".join(chunks))

    def on_json_loading_failed(self, e: ValueError | None) -> Any:
        if e is None:
            raise UnsupportedMediaTypeError("send the body as application/json")
        if isinstance(e, JSONInputError):
            raise ValidationError(f"the JSON body is refused ({e.field}: {e.message})", errors={e.field: [e.message]})
        raise ValidationError("the body is not valid JSON", errors={"body": ["not valid JSON"]})


def accepts(*mimetypes: str) -> Callable:
    """Declare the body types a view reads instead of JSON (e.g. multipart/form-data)."""
    def mark(view):
        view.accepted_mimetypes = mimetypes
        return view
    return mark


def _matches(mimetype: str, accepted: tuple[str, ...]) -> bool:
    for pattern in accepted:
        if pattern == mimetype:
            return True
        if pattern.startswith("application/*+") and mimetype.startswith("application/") \
                and mimetype.endswith(pattern[len("application/*"):]):
            return True
    return False


def _refuse_nul(name: str, value: str | None) -> None:
    if value and "\x00" in value:
        raise ValidationError("the request contains a NUL character", errors={printable(name): [NUL_MESSAGE]})


def check_request() -> None:
    """before_request: refuse what no view should see (see the module docstring)."""
    _refuse_nul("path", request.path)
    for name, value in request.args.items(multi=True):
        _refuse_nul(name, name)
        _refuse_nul(name, value)
    for name, value in request.headers.items():
        _refuse_nul(name, value)
    auth = request.authorization
    if auth is not None and auth.type == "basic":
        _refuse_nul("username", auth.username)
        _refuse_nul("password", auth.password)
    if request.routing_exception is not None or request.method not in BODY_METHODS \
            or not request.get_data(cache=True):
        return  # an unknown URL or method answers 404 or 405, whatever its body
    view = current_app.view_functions.get(request.endpoint or "")
    accepted = getattr(view, "accepted_mimetypes", None)
    if accepted is None and request.path.startswith(API_PREFIXES):
        accepted = JSON_TYPES
    if accepted is not None and not _matches(request.mimetype, accepted):
        raise UnsupportedMediaTypeError(
            f"this call reads {' or '.join(accepted)}, not {request.mimetype or 'a body without Content-Type'}")
    if _matches(request.mimetype, JSON_TYPES):
        request.get_json()  # parsed once, strictly; views and webargs read the checked body
        return
    if request.mimetype in FORM_TYPES:
        for name, value in request.form.items(multi=True):
            _refuse_nul(name, name)
            _refuse_nul(name, value)
        for name, upload in request.files.items(multi=True):
            _refuse_nul(name, name)
            _refuse_nul(name, upload.filename)
            if upload.filename and len(upload.filename) > MAX_FILE_NAME:
                raise ValidationError(f"a file name is longer than {MAX_FILE_NAME} characters",
                                      errors={name: [f"file name longer than {MAX_FILE_NAME} characters"]})


def install_input_checks(app: Flask) -> None:
    """Parse JSON strictly, bound chunked bodies, and check every request before its view."""
    app.json = StrictJSONProvider(app)
    app.request_class = CheckedRequest
    app.before_request(check_request)
