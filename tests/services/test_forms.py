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


def test_a_validator_is_made_once_per_schema_and_never_follows_a_later_change_to_it():
    from app.patterns import json_schema_validator

    form = {"type": "object", "properties": {"n": {"type": "integer", "maximum": 5}}}
    first = json_schema_validator(form)
    assert json_schema_validator({"properties": {"n": {"maximum": 5, "type": "integer"}}, "type": "object"}) is first
    form["properties"]["n"]["maximum"] = 1  # the caller's dict changes after the check
    assert json_schema_validator(form) is not first
    with pytest.raises(FormValidationError):
        validate_form(form, {"n": 3})
    same_as_first = {"type": "object", "properties": {"n": {"type": "integer", "maximum": 5}}}
    assert json_schema_validator(same_as_first) is first
    assert validate_form(same_as_first, {"n": 3}) == {"n": 3}
