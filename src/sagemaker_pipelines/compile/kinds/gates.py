"""Quality gates: the ``condition`` kind, the provider's SageMakerConditionOperator (a branch operator).

Conditions compare task outputs, run parameters and literals; all must hold. When they do, the tasks of
``if`` run and those of ``else`` are skipped; when they do not, the other way round - and a gate without
``else`` fails, which fails the run (the tasks after it are then never run). The gate is the upstream of
every task it names.
"""

from __future__ import annotations

from typing import Any

from sagemaker_pipelines.compile.kinds.context import TaskContext
from sagemaker_pipelines.compile.kinds.spec import SAGEMAKER_OPERATORS, Graph, Kind

# Our operators -> the provider's condition types (negations through its Not).
_COMPARISONS = {
    "==": "Equals",
    ">": "GreaterThan",
    ">=": "GreaterThanOrEqualTo",
    "<": "LessThan",
    "<=": "LessThanOrEqualTo",
}
_NEGATED = {"!=": "=="}


def condition_of(spec: dict[str, Any]) -> dict[str, Any]:
    """One condition of the schema's form as the provider's condition dict."""
    if "any" in spec:
        return {"type": "Or", "conditions": [condition_of(c) for c in spec["any"]]}
    if "not" in spec:
        return {"type": "Not", "condition": condition_of(spec["not"])}
    op = spec["op"]
    if op in ("in", "not_in"):
        found = {"type": "In", "value": spec["left"], "in_values": list(spec["right"])}
        return found if op == "in" else {"type": "Not", "condition": found}
    if op in _NEGATED:
        return {"type": "Not", "condition": condition_of({**spec, "op": _NEGATED[op]})}
    return {"type": _COMPARISONS[op], "left_value": spec["left"], "right_value": spec["right"]}


def condition(ctx: TaskContext) -> dict[str, Any]:
    return {
        "conditions": [condition_of(c) for c in ctx.get("conditions")],
        "if_task_ids": list(ctx.get("if") or []),
        **({"else_task_ids": list(ctx.get("else"))} if ctx.get("else") else {}),
    }


def branches_of(task: dict[str, Any]) -> list[str]:
    """The tasks a gate decides on (its if and else lists)."""
    if task.get("kind") != "condition":
        return []
    return [t for key in ("if", "else") for t in (task.get(key) or []) if isinstance(t, str)]


SPECS = {
    # A gate compares values: it calls no SageMaker API.
    "condition": Kind(
        SAGEMAKER_OPERATORS + "SageMakerConditionOperator",
        condition,
        Graph.DATA,
        (),
        templated=(
            "condition_type",
            "left_value",
            "right_value",
            "conditions",
            "if_task_ids",
            "else_task_ids",
        ),
        fan_out=False,
    ),
}
