"""A precompiled "is this certainly valid?" check for the licence-type field schemas.

``jsonschema`` walks the schema and builds an error object per keyword on every call (~200 µs for a licence).
Licence face fields use a small subset of JSON Schema 2020-12 (``type`` object/string/integer/number, ``properties``,
``required``, ``additionalProperties: false``, ``minLength``/``maxLength``, ``pattern``, ``format: date``,
``enum``, ``minimum``/``maximum``), which compiles into a few closures. The compiled check only ever answers
"valid" when ``jsonschema`` would; anything it is unsure of (another keyword, an unusual value) answers
"not sure", and the caller then asks ``jsonschema`` for the full list of errors — so results are identical.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from jsonschema import Draft202012Validator

__all__ = ["FastCheck", "compile_fast_check"]

FastCheck = Callable[[Mapping[str, Any]], bool]
_ANNOTATIONS = frozenset({"title", "title_en", "description", "$schema", "$comment", "x-identifier",
                          "contentEncoding", "contentMediaType", "examples", "default"})
_STRING_KEYS = frozenset({"type", "minLength", "maxLength", "pattern", "format", "enum"}) | _ANNOTATIONS
_INTEGER_KEYS = frozenset({"type", "minimum", "maximum", "enum"}) | _ANNOTATIONS
_OBJECT_KEYS = frozenset({"type", "properties", "required", "additionalProperties"}) | _ANNOTATIONS
_FORMATS = Draft202012Validator.FORMAT_CHECKER


def _string_check(schema: Mapping[str, Any]) -> Callable[[object], bool] | None:
    if set(schema) - _STRING_KEYS:
        return None
    lo, hi = schema.get("minLength", 0), schema.get("maxLength")
    pattern = re.compile(schema["pattern"]) if "pattern" in schema else None
    fmt = schema.get("format")
    if fmt is not None and fmt not in _FORMATS.checkers:
        return None
    enum = schema.get("enum")
    if enum is not None and not all(isinstance(e, str) for e in enum):
        return None
    allowed = frozenset(enum) if enum is not None else None
    if not isinstance(lo, int) or (hi is not None and not isinstance(hi, int)):
        return None

    def check(value: object) -> bool:
        if type(value) is not str:
            return False
        n = len(value)
        if n < lo or (hi is not None and n > hi):
            return False
        if pattern is not None and pattern.search(value) is None:  # JSON Schema patterns are unanchored
            return False
        if allowed is not None and value not in allowed:
            return False
        return fmt is None or _FORMATS.conforms(value, fmt)

    return check


def _integer_check(schema: Mapping[str, Any]) -> Callable[[object], bool] | None:
    if set(schema) - _INTEGER_KEYS or "enum" in schema:
        return None
    lo, hi = schema.get("minimum"), schema.get("maximum")
    if not all(b is None or type(b) is int for b in (lo, hi)):
        return None

    def check(value: object) -> bool:
        if type(value) is not int:  # bool and float (even 1.0) go to jsonschema
            return False
        return (lo is None or value >= lo) and (hi is None or value <= hi)

    return check


def _number_check(schema: Mapping[str, Any]) -> Callable[[object], bool] | None:
    if set(schema) - _INTEGER_KEYS or "enum" in schema:
        return None
    lo, hi = schema.get("minimum"), schema.get("maximum")
    if not all(b is None or type(b) in (int, float) for b in (lo, hi)):
        return None

    def check(value: object) -> bool:
        if type(value) not in (int, float):  # bool and subclasses go to jsonschema
            return False
        number: float = value  # type: ignore[assignment]  # int or float, checked just above
        if number != number:  # NaN (never from the strict JSON parser; jsonschema decides)
            return False
        return (lo is None or number >= lo) and (hi is None or number <= hi)

    return check


def compile_fast_check(schema: Mapping[str, Any]) -> FastCheck | None:
    """A function that returns True only for instances ``jsonschema`` accepts; None if the schema uses
    something this compiler does not handle (then always use ``jsonschema``)."""
    if schema.get("type") != "object" or set(schema) - _OBJECT_KEYS:
        return None
    if schema.get("additionalProperties", True) is not False:
        return None
    props = schema.get("properties", {})
    required = tuple(schema.get("required", ()))
    checks: dict[str, Callable[[object], bool]] = {}
    for name, prop in props.items():
        kind = prop.get("type") if isinstance(prop, Mapping) else None
        check = (_string_check(prop) if kind == "string" else _integer_check(prop) if kind == "integer"
                 else _number_check(prop) if kind == "number" else None)
        if check is None:
            return None
        checks[name] = check
    known = frozenset(checks)

    def fast_check(instance: Mapping[str, Any]) -> bool:
        if not known.issuperset(instance.keys()):
            return False
        for name in required:
            if name not in instance:
                return False
        return all(checks[name](value) for name, value in instance.items())

    return fast_check
