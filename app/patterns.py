"""Regular expressions that users write, run on RE2: linear time, whatever the pattern.

Modelers and admins supply patterns in several places: a JSON Schema form's `pattern`, a Camunda form's
`validate.pattern` (form-js), a `camunda:constraint name="pattern"` of a form field, and a CRM field
definition's `pattern`. Python's `re` backtracks: `^(a+)+$` against thirty `a`s and a `!` takes seconds
per extra character while holding the interpreter lock (and, inside a write transaction, the database's
write lock). RE2 (the `google-re2` package) matches in time linear in the input, so every user pattern is
compiled and matched here, never with `re`.

RE2 has no backreferences (`\\1`) and no lookaround (`(?=...)`, `(?!...)`, `(?<=...)`, `(?<!...)`):
such a pattern is refused where it is saved (deploy, module save) with `problem()`'s reason. Patterns
are also capped in length (`max_pattern_length`), which bounds compile time and memory, and so is the
text one is checked against (`max_input_length`).

The limits are the app's (`PATTERN_MAX_LENGTH`, `PATTERN_MAX_INPUT` in config.py); `configure` is called
by the app factory. `json_schema_validator` gives jsonschema a validator whose `pattern`,
`patternProperties` and `additionalProperties` keywords and `regex` format go through RE2 too.
"""
from __future__ import annotations

import copy
import functools
import json
from dataclasses import dataclass

import re2
from jsonschema import FormatChecker
from jsonschema.exceptions import ValidationError as SchemaValidationError
from jsonschema.validators import extend, validator_for

__all__ = ["PatternError", "PatternInputError", "configure", "fullmatch", "json_schema_validator", "limits",
           "problem", "search"]

RE2_ADVICE = ("patterns run on RE2, which matches in linear time: backreferences (\\1) and lookaround "
              "((?=...), (?!...), (?<=...), (?<!...)) are not supported")


@dataclass(frozen=True)
class PatternLimits:
    max_pattern_length: int = 1_000
    max_input_length: int = 10_000


_limits = PatternLimits()


class PatternError(ValueError):
    """A pattern RE2 cannot run (or one longer than the limit); the message says why."""


class PatternInputError(ValueError):
    """A text longer than patterns are checked against."""


def configure(max_pattern_length: int, max_input_length: int) -> None:
    """Set the limits (the app factory calls this with PATTERN_MAX_LENGTH and PATTERN_MAX_INPUT)."""
    global _limits
    _limits = PatternLimits(int(max_pattern_length), int(max_input_length))
    _compile.cache_clear()


def limits() -> PatternLimits:
    return _limits


def _options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # a refused pattern is the caller's answer, not a log line on stderr
    return options


@functools.lru_cache(maxsize=512)
def _compile(pattern: str):
    if len(pattern) > _limits.max_pattern_length:
        raise PatternError(f"the pattern is {len(pattern)} characters long; at most "
                           f"{_limits.max_pattern_length} are accepted (STAGECOACH_PATTERN_MAX_LENGTH)")
    try:
        return re2.compile(pattern, options=_options())
    except re2.error as exc:
        reason = exc.args[0] if exc.args else str(exc)
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise PatternError(f"{reason}; {RE2_ADVICE}") from None


def compile_pattern(pattern: str):
    """The compiled RE2 pattern.

    Raises:
        PatternError: not a string, too long, or a pattern RE2 cannot run.
    """
    if not isinstance(pattern, str):
        raise PatternError("a pattern must be a string")
    return _compile(pattern)


def problem(pattern) -> str | None:
    """Why `pattern` cannot be used, or None when it can."""
    try:
        compile_pattern(pattern)
    except PatternError as exc:
        return str(exc)
    return None


def _checked(text: str) -> str:
    if len(text) > _limits.max_input_length:
        raise PatternInputError(f"longer than {_limits.max_input_length} characters, the most a pattern is "
                                f"checked against (STAGECOACH_PATTERN_MAX_INPUT)")
    return text


def search(pattern: str, text: str) -> bool:
    """Whether `pattern` matches anywhere in `text` (JSON Schema's and form-js's meaning).

    Raises:
        PatternError: the pattern cannot be used.
        PatternInputError: `text` is longer than the limit.
    """
    return compile_pattern(pattern).search(_checked(text)) is not None


def fullmatch(pattern: str, text: str) -> bool:
    """Whether `pattern` matches the whole of `text`.

    Raises:
        PatternError: the pattern cannot be used.
        PatternInputError: `text` is longer than the limit.
    """
    return compile_pattern(pattern).fullmatch(_checked(text)) is not None


# -- JSON Schema ------------------------------------------------------------------------------------------

def _search_or_error(pattern: str, text: str) -> str | None:
    """None when `pattern` matches `text`; otherwise why the value is refused."""
    try:
        return None if search(pattern, text) else f"{text!r} does not match {pattern!r}"
    except PatternInputError as exc:
        return str(exc)
    except PatternError as exc:
        return f"the form's pattern {pattern!r} cannot be checked: {exc}"


def _pattern(validator, pattern, instance, schema):
    if validator.is_type(instance, "string"):
        why = _search_or_error(pattern, instance)
        if why:
            yield SchemaValidationError(why)


def _matches_any(patterns, name: str) -> bool:
    return any(_search_or_error(p, name) is None for p in patterns)


def _pattern_properties(validator, pattern_properties, instance, schema):
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in pattern_properties.items():
        for key, value in instance.items():
            if _search_or_error(pattern, key) is None:
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_properties(validator, additional, instance, schema):
    if not validator.is_type(instance, "object"):
        return
    declared = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    extras = [k for k in instance if k not in declared and not (patterns and _matches_any(patterns, k))]
    if validator.is_type(additional, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], additional, path=extra)
    elif not additional and extras:
        verb = "was" if len(extras) == 1 else "were"
        yield SchemaValidationError(f"Additional properties are not allowed "
                                    f"({', '.join(repr(e) for e in sorted(extras, key=str))} {verb} unexpected)")


def _is_re2_regex(instance) -> bool:
    if not isinstance(instance, str):
        return True
    compile_pattern(instance)
    return True


FORMAT_CHECKER = FormatChecker()
FORMAT_CHECKER.checks("regex", raises=PatternError)(_is_re2_regex)

_OVERRIDES = {"pattern": _pattern, "patternProperties": _pattern_properties,
              "additionalProperties": _additional_properties}


@functools.lru_cache(maxsize=None)
def _re2_validator_class(base):
    return extend(base, _OVERRIDES)


def json_schema_validator(schema: dict):
    """A jsonschema validator for `schema` (of its declared draft) whose patterns and `regex` format use RE2.

    Made once per distinct schema (a task's form is checked at each completion) and kept, up to
    _VALIDATORS_KEPT of them: a validator holds no state between validations, and its patterns read the
    limits in force when they run.
    """
    try:
        key = json.dumps(schema, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):  # not JSON (no form parser makes one): made for this call only
        return _new_validator(schema)
    validator = _validators.get(key)
    if validator is None:
        if len(_validators) >= _VALIDATORS_KEPT:
            _validators.clear()
        validator = _validators[key] = _new_validator(copy.deepcopy(schema))
    return validator


_VALIDATORS_KEPT = 1024
_validators: dict[str, object] = {}


def _new_validator(schema: dict):
    return _re2_validator_class(validator_for(schema))(schema, format_checker=FORMAT_CHECKER)
