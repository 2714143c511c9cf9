"""Form checks: each refused field is named once, with each of its messages once."""
from __future__ import annotations

import pytest

from app.errors import FormValidationError
from app.services.forms import validate_form

FORM = {
    "type": "object",
    "properties": {"transition": {"enum": ["close", "lose"]}, "closing_date": {"type": "string"},
                   "lost_reason": {"type": "string"}},
    "required": ["transition", "closing_date"],
    # the transition rule names closing_date again, as a blueprint's if/then does
    "allOf": [{"if": {"properties": {"transition": {"const": "close"}}}, "then": {"required": ["closing_date"]}}],
}


def test_a_field_required_twice_is_reported_required_once():
    with pytest.raises(FormValidationError) as refused:
        validate_form(FORM, {"transition": "close"})
    assert refused.value.errors == {"closing_date": ["required"]}


def test_undeclared_and_mistyped_fields_are_each_named():
    with pytest.raises(FormValidationError) as refused:
        validate_form(FORM, {"transition": "close", "closing_date": 5, "approved": True})
    assert set(refused.value.errors) == {"closing_date", "approved"}
    assert refused.value.errors["approved"] == ["not a field of this task's form"]


def test_a_complete_submission_passes_unchanged():
    data = {"transition": "close", "closing_date": "2031-01-31"}
    assert validate_form(FORM, data) == data
