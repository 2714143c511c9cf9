"""A record's attachments on its page: upload one, download one.

The upload form posts `multipart/form-data` (CSRF-checked as every console form) to
`services.attachments.add_attachment`, which checks size (413), type read from the bytes (415) and
emptiness (400) before anything is stored; a refusal comes back on the record page beside the file
field, with its status. A body far past the limit is refused before it is read, the same way.
Downloads are the API's: `Content-Disposition: attachment`, never shown inline.
"""
from __future__ import annotations

from flask import current_app, flash, g, redirect, request, send_file, url_for

from ..errors import PayloadTooLargeError, StagecoachError, UnsupportedMediaTypeError, ValidationError
from ..services import attachments
from .auth import current_actor, load_session_actor
from .blueprint import bp
from .errors import error_page
from .records import render_record

UPLOAD_ENDPOINT = "console.add_attachment"
_MULTIPART_OVERHEAD = 64 * 1024  # boundaries, part headers and the CSRF token around the file


def _too_large() -> PayloadTooLargeError:
    limit = current_app.config["ATTACHMENT_MAX_BYTES"]
    return PayloadTooLargeError(f"the file is larger than {limit} bytes (STAGECOACH_ATTACHMENT_MAX_BYTES)",
                                limit="STAGECOACH_ATTACHMENT_MAX_BYTES", limit_value=limit)


@bp.url_value_preprocessor
def _upload_body_limit(endpoint, values):
    """An upload may be as large as ATTACHMENT_MAX_BYTES, not only MAX_CONTENT_LENGTH; set before the CSRF check
    reads the body (URL value preprocessors run before every before_request function)."""
    if endpoint != UPLOAD_ENDPOINT or request.method != "POST":
        return
    limit = current_app.config["ATTACHMENT_MAX_BYTES"]
    allowed = max(limit + _MULTIPART_OVERHEAD, current_app.config.get("MAX_CONTENT_LENGTH") or 0)
    if request.content_length is not None and request.content_length > allowed:
        raise _too_large()
    request.max_content_length = allowed


@bp.errorhandler(PayloadTooLargeError)
def _upload_too_large(error: PayloadTooLargeError):
    """A body refused before it was read (so before its CSRF token could be checked): a read of the record page
    for the session's user, beside the file field, as the service's own 413; nothing was stored."""
    if request.endpoint == UPLOAD_ENDPOINT and request.view_args:
        if g.get("actor") is None and load_session_actor() is None:
            return redirect(url_for("console.login"))
        return _refused(request.view_args["module"], request.view_args["record_id"], error)
    return error_page(error.status, error.title, error.detail, error.headers)


def _refused(module: str, record_id: str, error: StagecoachError):
    detail = error.detail[:1].upper() + error.detail[1:]
    return render_record(module, record_id, upload_errors={"file": [detail]}, status=error.status)


@bp.route("/records/<module>/<record_id>/attachments", methods=["POST"])
def add_attachment(module: str, record_id: str):
    """Attach the posted file to the record; a refused file is shown beside the field, nothing stored."""
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise ValidationError("choose a file to attach", errors={"file": ["choose a file to attach"]})
        attachment = attachments.add_attachment(module, record_id, upload.stream, upload.filename, upload.mimetype,
                                                current_actor())
    except (ValidationError, PayloadTooLargeError, UnsupportedMediaTypeError) as exc:
        return _refused(module, record_id, exc)
    flash(f"“{attachment.file_name}” attached.", "success")
    return redirect(url_for("console.record", module=module, record_id=record_id) + "#attachments-heading")


@bp.route("/records/<module>/<record_id>/attachments/<attachment_id>")
def download_attachment(module: str, record_id: str, attachment_id: str):
    """An attachment's file, as a download (never shown inline)."""
    attachment, path = attachments.open_attachment(module, record_id, attachment_id, current_actor())
    response = send_file(path, mimetype=attachment.content_type, as_attachment=True,
                         download_name=attachment.file_name, max_age=0, conditional=False, etag=False)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response
