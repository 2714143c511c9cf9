"""The CRM domain: modules, typed fields, validation rules, record events and bindings.

Pure functions over plain data: no HTTP, no database, no engine internals.
Expressions (validation rules, binding criteria) are evaluated by a sandbox
handed in by the caller.
"""
from .builtin import BUILTIN_MODULES
from .fields import FIELD_TYPES, FieldError, check_field_definitions, clean_values
from .rules import binding_matches, check_rules
from .stages import stage_of

__all__ = ["BUILTIN_MODULES", "FIELD_TYPES", "FieldError", "binding_matches", "check_field_definitions",
           "check_rules", "clean_values", "stage_of"]
