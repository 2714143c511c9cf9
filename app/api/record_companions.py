"""What records carry besides their fields: notes, attachments, and related lists through lookups."""
from flask import current_app, request, send_file

from ..errors import PayloadTooLargeError, ValidationError
from ..schemas.common import PageArgs
from ..schemas.companions import (
    AttachmentPageSchema, AttachmentSchema, NotePageSchema, NoteSchema, RelatedQuerySchema,
)
from ..schemas.crm import RecordPageSchema
from ..services import attachments, notes, related, records
from .common import current_actor, problems, protected_blueprint
from .inputs import accepts

blp = protected_blueprint("record_companions", __name__, "/modules",
                          "Notes, attachments and related lists of CRM records")

RECORD = "/<module>/records/<record_id>"
_MULTIPART_OVERHEAD = 64 * 1024  # boundaries and part headers around the file
_UPLOAD_DOC = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary"}}}}}}}
_DOWNLOAD_DOC = {"responses": {"200": {"description": "the file, as an attachment",
                                       "content": {"application/octet-stream": {"schema": {
                                           "type": "string", "format": "binary"}}}}}}


@blp.url_value_preprocessor
def _attachment_body_limit(endpoint, values):
    """An upload of an attachment may be as large as ATTACHMENT_MAX_BYTES, not only MAX_CONTENT_LENGTH.

    URL value preprocessors run before every before_request function, so the body limit is set
    before the request's body is first read (app/api/inputs.py reads it to check it).
    """
    if endpoint != f"{blp.name}.add_attachment" or request.method != "POST":
        return
    limit = current_app.config["ATTACHMENT_MAX_BYTES"]
    allowed = max(limit + _MULTIPART_OVERHEAD, current_app.config.get("MAX_CONTENT_LENGTH") or 0)
    if request.content_length is not None and request.content_length > allowed:
        raise PayloadTooLargeError(f"the file is larger than {limit} bytes (STAGECOACH_ATTACHMENT_MAX_BYTES)",
                                   limit="STAGECOACH_ATTACHMENT_MAX_BYTES", limit_value=limit)
    request.max_content_length = allowed


# -- notes -------------------------------------------------------------------------------------------

@blp.route(f"{RECORD}/notes", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, NotePageSchema)
@problems(blp, 400, 401, 404)
def list_notes(query, module, record_id):
    """A record's notes, newest first."""
    return notes.list_notes(module, record_id, current_actor(), query["page"], query["per_page"])


@blp.route(f"{RECORD}/notes", methods=["POST"])
@blp.arguments(NoteSchema)
@blp.response(201, NoteSchema)
@problems(blp, 400, 401, 404)
def add_note(body, module, record_id):
    """Add a note to a record you may read; it goes on the timeline."""
    return notes.add_note(module, record_id, body["text"], current_actor())


@blp.route(f"{RECORD}/notes/<note_id>", methods=["PATCH"])
@blp.arguments(NoteSchema)
@blp.response(200, NoteSchema)
@problems(blp, 400, 401, 403, 404)
def update_note(body, module, record_id, note_id):
    """Change a note's text (its author or an admin)."""
    return notes.update_note(module, record_id, note_id, body["text"], current_actor())


@blp.route(f"{RECORD}/notes/<note_id>", methods=["DELETE"])
@blp.response(204)
@problems(blp, 401, 403, 404)
def delete_note(module, record_id, note_id):
    """Delete a note (its author, an admin, or whoever may change the record)."""
    notes.delete_note(module, record_id, note_id, current_actor())


# -- attachments -----------------------------------------------------------------------------------

@blp.route(f"{RECORD}/attachments", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, AttachmentPageSchema)
@problems(blp, 400, 401, 404)
def list_attachments(query, module, record_id):
    """A record's attachments, newest first."""
    return attachments.list_attachments(module, record_id, current_actor(), query["page"], query["per_page"])


@blp.route(f"{RECORD}/attachments", methods=["POST"])
@accepts("multipart/form-data")
@blp.response(201, AttachmentSchema)
@blp.doc(**_UPLOAD_DOC)
@problems(blp, 400, 401, 404, 413, 415)
def add_attachment(module, record_id):
    """Attach a file (multipart field `file`); its type is read from its bytes and must be allowed."""
    upload = request.files.get("file")
    if upload is None:
        raise ValidationError("send the file in the multipart field `file`", errors={"file": ["required"]})
    return attachments.add_attachment(module, record_id, upload.stream, upload.filename, upload.mimetype,
                                      current_actor())


@blp.route(f"{RECORD}/attachments/<attachment_id>", methods=["GET"])
@blp.doc(**_DOWNLOAD_DOC)
@problems(blp, 401, 404)
def download_attachment(module, record_id, attachment_id):
    """Download an attachment's file (`Content-Disposition: attachment`, never shown inline)."""
    attachment, path = attachments.open_attachment(module, record_id, attachment_id, current_actor())
    response = send_file(path, mimetype=attachment.content_type, as_attachment=True,
                         download_name=attachment.file_name, max_age=0, conditional=False, etag=False)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@blp.route(f"{RECORD}/attachments/<attachment_id>", methods=["DELETE"])
@blp.response(204)
@problems(blp, 401, 403, 404)
def delete_attachment(module, record_id, attachment_id):
    """Delete an attachment and its file (its uploader, an admin, or whoever may change the record)."""
    attachments.delete_attachment(module, record_id, attachment_id, current_actor())


# -- related lists ---------------------------------------------------------------------------------

@blp.route(f"{RECORD}/related/<other_module>", methods=["GET"])
@blp.arguments(RelatedQuerySchema, location="query")
@blp.response(200, RecordPageSchema)
@problems(blp, 400, 401, 404)
def list_related(query, module, record_id, other_module):
    """Records of `other_module` whose lookup points at this record (a deal's contacts), those you may read."""
    result = related.list_related(module, record_id, other_module, current_actor(), query["page"],
                                  query["per_page"], query["field"])
    result.items = [records.record_view(r) for r in result.items]
    return result
