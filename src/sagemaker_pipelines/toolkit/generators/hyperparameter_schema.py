"""The editors' view of the built-in algorithms' hyperparameters (``pipeline.authored.schema.json``).

Once a training or tuning task says ``algorithm: knn``, an editor completes its ``hyperparameters`` with
the names the SDK declares for KNN (with their descriptions) and flags an unknown name, a missing
required one (training), a wrong type, a number out of bounds or a value outside the allowed set, from
the same ``compile/hyperparameters.json`` that ``validate`` reads (``compile/hyperparameters.py``).

The rules are added to the authored view only: ``validate`` checks hyperparameters itself, where it can
parse the strings the API takes (``"3"`` is an integer) and judge ``${params.x}`` by its default. Each
hyperparameter is described in its resolved form - its typed value, the string that parses to it, or a
template, known only at run time - and turned into its written form by the view's own machinery
(``schema_views.authored_node``), so ``${params.k}`` and ``${env.x}`` are accepted as everywhere else.
"""

from __future__ import annotations

import re
from typing import Any

from sagemaker_pipelines.compile.hyperparameters import expected
from sagemaker_pipelines.toolkit.generators.schema_views import authored_node

TRAINING_DEF = "algorithm_hyperparameters"
TUNING_DEF = "algorithm_tuning_hyperparameters"
NAMES_DEF = "hyperparameters"
_TEMPLATE = {"type": "string", "pattern": r"\{\{"}  # a run-time value: validate does not judge it
_STRINGS = {
    "integer": r"^\s*[+-]?\d+\s*$",
    "number": r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$",
    "boolean": r"^\s*([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])\s*$",
}
_BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")


def apply(authored: dict, source: dict, data: dict[str, Any]) -> dict:
    """``authored`` with, per checked algorithm, its hyperparameters in the training and tuning tasks."""
    defs = {**authored["$defs"]}
    training, tuning = [], []
    for algorithm, table in data["algorithms"].items():
        if not re.fullmatch(r"[a-z0-9-]+", algorithm):
            raise ValueError(f"algorithm {algorithm!r} needs escaping in a pattern")
        condition = {"properties": {"algorithm": {"pattern": f"^{algorithm}$"}}, "required": ["algorithm"]}
        properties = {
            name: authored_node(source, _resolved(algorithm, name, spec))
            for name, spec in table["hyperparameters"].items()
        }
        names = f"{NAMES_DEF}_{algorithm}"  # one definition, read by the training and the tuning rule
        defs[names] = {
            "description": f"The hyperparameters of {algorithm} (from {table['estimator']}).",
            "type": "object",
            "properties": properties,
            "additionalProperties": False,
        }
        ref = {"$ref": f"#/$defs/{names}"}
        required = {"required": table["required"]} if table["required"] else {}
        training.append({"if": condition, "then": {"properties": {"hyperparameters": {**ref, **required}}}})
        ranges = {"propertyNames": {"enum": sorted(properties)}}
        tuning.append({"if": condition, "then": {"properties": {"hyperparameters": ref, "ranges": ranges}}})
    source_note = f"generated from {data['source'].partition(':')[0]} by make schemas"
    defs[TRAINING_DEF] = {
        "description": f"The hyperparameters of each checked built-in algorithm ({source_note}).",
        "allOf": training,
    }
    defs[TUNING_DEF] = {
        "description": f"The static hyperparameters and ranges of each checked built-in algorithm "
        f"({source_note}).",
        "allOf": tuning,
    }
    for kind, def_name in (("training_task", TRAINING_DEF), ("tuning_task", TUNING_DEF)):
        task = defs[kind]
        defs[kind] = {**task, "allOf": [*task.get("allOf", []), {"$ref": f"#/$defs/{def_name}"}]}
    return {**authored, "$defs": defs}


def _resolved(algorithm: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    """One hyperparameter as it stands once references are resolved: what validate would accept."""
    kind = spec["type"]
    words = expected(spec)
    described = spec.get("description", words)
    annotations = {"title": words, "description": f"{algorithm} {name}: {described}"}
    if "enum" in spec:
        values = list(dict.fromkeys([*spec["enum"], *(str(v) for v in spec["enum"])]))
        typed = {"enum": values}
    elif "subset_of" in spec:
        one = "(" + "|".join(re.escape(v) for v in spec["subset_of"]) + ")"
        typed = {"type": "string", "pattern": rf"^\s*{one}\s*(,\s*{one}\s*)*$"}
    elif kind in _STRINGS:
        bounds = {k: spec[k] for k in _BOUNDS if k in spec}
        typed = {"type": kind, **bounds}
        return {**annotations, "anyOf": [typed, {"type": "string", "pattern": _STRINGS[kind]}, _TEMPLATE]}
    else:  # a string or list: any scalar becomes one
        return {**annotations, "type": ["string", "number", "boolean"]}
    return {**annotations, "anyOf": [typed, _TEMPLATE]}
