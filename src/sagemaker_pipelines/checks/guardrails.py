"""``validate``'s side of the guardrails: each compiled request against the environment's guardrails
(``compile/guardrails.py``), ``config:`` entries the platform fixes, and literal ``for_each`` widths -
each a problem at the YAML value it comes from (the ``config:`` entry, the task field, the ``for_each``
element, the pipeline's ``defaults:``), naming the guardrail and what is allowed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sagemaker_pipelines.compile.fan_out import mapped_kwargs
from sagemaker_pipelines.compile.guardrails import Breach, check_task, fan_out_breaches, protected_in_config
from sagemaker_pipelines.problems import Problem, field_path

if TYPE_CHECKING:
    from sagemaker_pipelines.compile.compiled import CompiledPipeline
    from sagemaker_pipelines.format.environment import Environment
    from sagemaker_pipelines.format.yaml_source import Document

CODE = "guardrail"
# The task field (or pipeline default) that a request member is compiled from.
FIELD_OF = {
    "InstanceType": "instance_type",
    "InstanceCount": "instance_count",
    "InitialInstanceCount": "instance_count",
    "MaxRuntimeInSeconds": "max_runtime",
    "RoleArn": "role_arn",
    "ExecutionRoleArn": "role_arn",
}


def _hint(environment: Environment) -> str:
    return f"the platform team sets what is allowed in {environment.file} (guardrails); see docs/security.md"


def check_config(doc: Document, file: str, data: dict[str, Any], environment: Environment) -> list[Problem]:
    """``config:`` entries that set what the environment fixes (role, VPC, KMS keys, ...)."""
    if environment.guardrails is None:
        return []
    problems = []
    for task_id, task in (data.get("tasks") or {}).items():
        config = task.get("config") if isinstance(task, dict) else None
        if not isinstance(config, dict):
            continue
        for path, message, hint in protected_in_config(config, environment.guardrails):
            where = ("tasks", task_id, "config", *path)
            problems.append(Problem(file, *doc.position(where), field_path(where), message, hint, code=CODE))
    return problems


def check_guardrails(
    doc: Document, file: str, data: dict[str, Any], compiled: CompiledPipeline, environment: Environment
) -> list[Problem]:
    """Every literal value of the compiled requests beyond the environment's guardrails."""
    guardrails = environment.guardrails
    if guardrails is None:
        return []
    found: dict[tuple, Problem] = {}
    for task in compiled.tasks:
        for kwargs in mapped_kwargs(task):  # each element of a literal for_each list
            for breach in check_task(task.kind, kwargs, guardrails, environment.name, environment.bucket):
                where = locate(doc, data, task.task_id, breach)
                message = f"guardrail {breach.guardrail}: {breach.message}"
                position = doc.value_position(where)
                problem = Problem(file, *position, field_path(where), message, _hint(environment), CODE)
                found.setdefault((where, message), problem)
    widths = {t.task_id: len(t.mapped["values"]) for t in compiled.tasks if "values" in t.mapped}
    for task_id, message in fan_out_breaches(widths, guardrails, environment.name).items():
        where = ("tasks", task_id, "for_each")
        problem = Problem(file, *doc.position(where), field_path(where), message, _hint(environment), CODE)
        found.setdefault((where, message), problem)
    return list(found.values())


def locate(doc: Document, data: dict[str, Any], task_id: str, breach: Breach) -> tuple:
    """The YAML value a breach comes from: the ``config:`` entry, the task's own field holding the value,
    a ``for_each`` element (or other value of the task) equal to it, the pipeline's default, the task."""
    base = ("tasks", task_id)
    task = data["tasks"][task_id]
    config = (*base, "config", *breach.path)
    if config in doc.values:
        return config
    field = FIELD_OF.get(breach.path[-1]) if breach.path else None
    if field and task.get(field) == breach.value and (*base, field) in doc.values:
        return (*base, field)
    for path in _matching(task, breach.value):
        if (*base, *path) in doc.values:
            return (*base, *path)
    if field:
        for where in ((*base, field), ("defaults", field), (field,)):
            if where in doc.values:
                return where
    return base


def _matching(value: Any, wanted: Any, path: tuple = ()) -> list[tuple]:
    """Paths in ``value`` whose value is ``wanted`` (an ``s3://`` location: one in its bucket)."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _matching(v, wanted, (*path, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _matching(v, wanted, (*path, i))]
    if isinstance(wanted, str) and wanted.startswith("s3://") and isinstance(value, str):
        bucket = wanted.removeprefix("s3://").partition("/")[0]
        return [path] if value.startswith(f"s3://{bucket}") else []
    if isinstance(wanted, str | int) and not isinstance(wanted, bool) and value == wanted:
        return [path] if not isinstance(value, bool) else []
    return []
