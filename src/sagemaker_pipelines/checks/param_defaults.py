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
            Draft202012Validator.check_schema(schema)
        except SchemaError:
            continue  # a malformed declaration: the pipeline schema reports it
        validator = Draft202012Validator(schema, format_checker=FormatChecker())
        errors = list(validator.iter_errors(declared["default"]))
        if not errors:
            continue
        error = min(errors, key=lambda e: list(e.path))
        wanted = ", ".join(f"{k}: {json.dumps(declared[k])}" for k in CONSTRAINTS if k in declared)
        message = f"the default does not fit the parameter's own declaration: {error.message}"
        add(("params", name, "default"), message, f"declared {wanted}", value=True)
