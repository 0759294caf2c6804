"""What a run decided, for the summary: the model versions it registered and how its quality gates went.

A registered version is what the register operator returned (its ARN, from XCom). A gate's conditions
are shown as Airflow rendered them for the run (the values compared), and a gate that failed or took
its else branch lists the tasks after it that did not run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_REGISTER = "SageMakerRegisterModelVersionOperator"
_GATE = "SageMakerConditionOperator"
_SYMBOLS = {
    "Equals": "==",
    "GreaterThan": ">",
    "GreaterThanOrEqualTo": ">=",
    "LessThan": "<",
    "LessThanOrEqualTo": "<=",
}


def _shown(value: Any) -> str:
    """A compared value, numbers to four significant digits (0.9777777777777777 -> 0.9778)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{number:.4g}" if isinstance(value, str | float) and not isinstance(value, bool) else str(value)


def describe_condition(condition: dict[str, Any]) -> str:
    """A provider condition dict as text: ``0.9778 >= 0.9``, ``not (...)``, ``any of (...)``."""
    kind = condition.get("type")
    if kind in _SYMBOLS:
        left, right = _shown(condition.get("left_value")), _shown(condition.get("right_value"))
        return f"{left} {_SYMBOLS[kind]} {right}"
    if kind == "In":
        return f"{condition.get('value')} in {condition.get('in_values')}"
    if kind == "Not":
        return f"not ({describe_condition(condition.get('condition') or {})})"
    if kind == "Or":
        return "any of (" + "; ".join(describe_condition(c) for c in condition.get("conditions") or []) + ")"
    return str(condition)


def _rendered(ti: Any) -> dict[str, Any]:
    """The task's template fields as Airflow rendered them in this run (empty when not stored)."""
    try:
        from airflow.models.renderedtifields import RenderedTaskInstanceFields
        from airflow.utils.session import create_session

        with create_session() as session:
            return RenderedTaskInstanceFields.get_templated_fields(ti, session=session) or {}
    except Exception:  # an older row or no metadata database: the states still tell the story
        return {}


def collect_outcomes(dag: Any, dag_run: Any, returned: Callable[[Any, str], Any]) -> dict[str, Any]:
    registered, gates = [], []
    states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
    for ti in dag_run.get_task_instances():
        operator = type(dag.get_task(ti.task_id)).__name__
        if operator == _REGISTER and str(ti.state) == "success":
            registered.append({"task_id": ti.task_id, "model_package_arn": returned(dag_run, ti.task_id)})
        if operator == _GATE:
            rendered = _rendered(ti).get("conditions")
            conditions = rendered or dag.get_task(ti.task_id).conditions
            task = dag.get_task(ti.task_id)
            after = sorted(task.get_flat_relative_ids(upstream=False))
            gates.append(
                {
                    "task_id": ti.task_id,
                    "state": str(ti.state),
                    "branch": _branch_taken(task, states) if str(ti.state) == "success" else None,
                    "compared": bool(rendered),  # False: it failed before comparing (e.g. no such output)
                    "conditions": [describe_condition(c) for c in conditions],
                    "not_run": [t for t in after if states.get(t) in ("upstream_failed", "skipped", "None")],
                }
            )
    return {"registered": registered, "gates": gates}


def _branch_taken(task: Any, states: dict[str, str]) -> str | None:
    """ "if" or "else": the branch a gate that succeeded chose, read from what it skipped (Airflow 3 ends a
    branch operator by skipping, so it stores no return value); None when it chose neither."""
    if task.if_task_ids and all(states.get(t) == "skipped" for t in task.if_task_ids):
        return "else" if task.else_task_ids else None
    return "if"


def outcome_lines(outcomes: dict[str, Any]) -> list[str]:
    lines = []
    for package in outcomes.get("registered", []):
        lines.append(f"Registered model package ({package['task_id']}): {package['model_package_arn']}")
    for gate in outcomes.get("gates", []):
        checked = "; ".join(gate["conditions"])
        verdict = {"success": "passed", "failed": "FAILED: its conditions were not met"}.get(
            gate["state"], gate["state"]
        )
        if gate.get("branch") == "else":  # a success for Airflow: the conditions were not met all the same
            verdict = "took its else branch: its conditions were not met"
        if gate["state"] == "failed" and not gate.get("compared"):
            verdict = "FAILED before comparing (see its log)"
        line = f"Gate {gate['task_id']} {verdict} ({checked})"
        if gate["not_run"]:
            line += f"; not run: {', '.join(gate['not_run'])}"
        lines.append(line)
    return lines
