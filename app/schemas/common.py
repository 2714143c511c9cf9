"""Shared schema pieces: input limits, pagination and list envelopes."""
from marshmallow import Schema, fields, validate

from ..clock import as_utc

# Input limits: what the database columns hold, and integers SQL and Python handle without overflow.
MAX_INT32 = 2**31 - 1
MAX_PAGE = MAX_INT32
MAX_KEY = 255  # process keys, business keys, message and signal names, element ids, topics, worker ids
MAX_NAME = 200  # usernames, group names, binding and rule names, labels
MAX_MODULE = 100  # module api names and field names
MAX_ID = 36  # generated ids: 32 hex characters (36 for task ids)
MAX_INSTANCE_ID = 32


class Moment(fields.DateTime):
    """An ISO 8601 moment, made UTC as it is read (no offset: UTC). One that UTC cannot hold (the first day
    of year 1 east of Greenwich, the last of 9999 west of it) is refused like any other invalid date."""

    default_error_messages = {"out_of_range": "not a moment UTC can hold (years 1 to 9999 in UTC)"}

    def _deserialize(self, value, attr, data, **kwargs):
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            return as_utc(moment)
        except (OverflowError, ValueError):
            raise self.make_error("out_of_range") from None


def text(limit: int, **kwargs) -> fields.String:
    """A string field of at most `limit` characters."""
    return fields.String(validate=validate.Length(max=limit), **kwargs)


class PageArgs(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=200))


class CursorArgs(Schema):
    """For long lists: a cursor instead of a page number, and a total that need not count everything."""
    after = text(200, load_default=None, metadata={
        "description": "continue after the page whose `next_cursor` this is (default order only); "
                       "`page` is then ignored. Deep pages by cursor cost what the first page costs."})
    exact = fields.Boolean(load_default=False, metadata={
        "description": "count every match for `total`; by default at most 10,000 are counted and "
                       "`total_exact` is false when there are more"})


def page_of(item_schema, name: str):
    """A `{items, total, page, per_page, total_exact, next_cursor}` envelope schema around `item_schema`."""
    return Schema.from_dict({
        "items": fields.List(fields.Nested(item_schema)),
        "total": fields.Integer(),
        "page": fields.Integer(),
        "per_page": fields.Integer(),
        "total_exact": fields.Boolean(metadata={"description": "false: there are more than `total` matches"}),
        "next_cursor": fields.String(allow_none=True, metadata={
            "description": "pass as `after` for the next page (lists with a cursor; null on the last page)"}),
    }, name=name)


class ReasonSchema(Schema):
    reason = fields.String(load_default=None, validate=validate.Length(max=2000))
