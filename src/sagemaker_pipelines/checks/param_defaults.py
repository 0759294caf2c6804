"""A run parameter's default against its own declaration (type, enum, minimum, maximum).

The DAG turns each ``params:`` entry into an Airflow ``Param``, whose schema is the entry itself and which
validates a value with JSON Schema when a run is triggered. A default its own schema rejects (``k:
{type: integer, default: {a: 1}}``) compiles into a DAG whose every run needs an override, and whose
trigger form starts invalid; the pipeline schema cannot see it (it allows any default), so it is
checked here, with the same validator Airflow uses.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError

# The keywords of a params entry that constrain its value (the rest describe it).
CONSTRAINTS = ("type", "enum", "minimum", "maximum")


def check_param_defaults(data: dict[str, Any], add: Callable[..., None]) -> None:
    """``add(path, message, hint, value=True)`` for each default its own declaration rejects."""
    params = data.get("params")
    if not isinstance(params, dict):
        return
    for name, declared in params.items():
        if not isinstance(declared, dict) or "default" not in declared:
            continue
        schema = {k: declared[k] for k in CONSTRAINTS if k in declared}
        try:
            key = json.dumps([schema, declared["default"]])
        except (TypeError, ValueError):
            key = None
        if key is not None and len(key) <= _CACHED_CHARS:
            error = _default_error(key)
        else:
            error = _error_of(schema, declared["default"])
        if error is None:
            continue
        wanted = ", ".join(f"{k}: {json.dumps(declared[k])}" for k in CONSTRAINTS if k in declared)
        message = f"the default does not fit the parameter's own declaration: {error}"
        add(("params", name, "default"), message, f"declared {wanted}", value=True)


_CACHED_CHARS = 2048  # a long default list is judged each time rather than kept


@lru_cache(maxsize=1024)
def _default_error(key: str) -> str | None:
    """:func:`_error_of` of a declaration and default given as JSON: pipelines repeat the same few
    (``{type: integer, default: 3}``), and building a validator for each cost more than the rest of the
    semantic checks together."""
    schema, default = json.loads(key)
    return _error_of(schema, default)


def _error_of(schema: dict[str, Any], default: Any) -> str | None:
    """jsonschema's message of the first error of ``default`` against ``schema``, or None."""
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError:
        return None  # a malformed declaration: the pipeline schema reports it
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    errors = list(validator.iter_errors(default))
    if not errors:
        return None
    return min(errors, key=lambda e: list(e.path)).message
