"""marshmallow schemas, one module per resource."""
