"""The run-time half of ``for_each`` (see ``compile/fan_out.py``): dag-factory configs of mapped tasks,
the ``<task>__items`` step that turns a run-time list into one operator argument per element, and the
``pre_execute`` hook that gives each mapped try its own job name.

Airflow renders the literal values a task is expanded over once per mapped index, but never renders
values it resolves from XCom (run-time data is not a template). So a run-time list is handled in two
steps: ``<task>__items`` is a PythonOperator whose ``op_kwargs`` hold the task's argument as a template;
Airflow renders it there (params, task outputs, the run's timestamp), and only then is each element put
in - so an element that looks like ``{{ ... }}`` stays text. The try number is left as a marker the
mapped task fills in before it runs (:class:`MappedTry`), so a retry never reuses a job name.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sagemaker_pipelines.compile.fan_out import BUILDER_SUFFIX, MAP_INDEX, TRY_NUMBER, put_item

MAX_ELEMENTS = 1024  # Airflow's default [core] max_map_length; the job-name budget assumes it


def dag_factory_tasks(task: Any, conf: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """dag-factory task configs for one compiled task: itself, or a mapped task (``partial``/``expand``)
    and, for a run-time list, the ``<task>__items`` step before it."""
    mapped = task.mapped
    if not mapped:
        return {task.task_id: conf}
    argument = mapped["argument"]
    conf = {k: v for k, v in conf.items() if k != argument}
    if "values" in mapped:
        return {task.task_id: {**conf, "expand": {argument: mapped["values"]}}}
    builder = task.task_id + BUILDER_SUFFIX
    step = {
        "operator": "airflow.providers.standard.operators.python.PythonOperator",
        "dependencies": list(task.depends_on),
        "python_callable": build_mapped_values,
        "op_kwargs": builder_op_kwargs(task),
        "doc_md": builder_doc(task.task_id, argument),
    }
    hook = MappedTry(argument, conf.get("pre_execute"))  # after the environment's guard, if any
    expanded = {
        **conf,
        "pre_execute": hook,
        "dependencies": [builder],
        "expand": {argument: builder + ".output"},
    }
    return {builder: step, task.task_id: expanded}


def builder_op_kwargs(task: Any) -> dict[str, Any]:
    """The ``<task>__items`` step's arguments: the template, the list, and the guardrails it checks."""
    mapped = task.mapped
    kwargs = {"template": task.kwargs[mapped["argument"]], "items": mapped["items"]}
    if mapped.get("guardrails"):
        kwargs["guardrails"] = {**mapped["guardrails"], "argument": mapped["argument"]}
    return kwargs


def builder_doc(task_id: str, argument: str) -> str:
    return f"Builds one `{argument}` per element of `{task_id}`'s for_each list."


def read_items(items: Any) -> list[Any]:
    """The rendered list: Jinja renders a list as its Python text, read back with ``literal_eval``
    (literals only: it runs no code)."""
    if isinstance(items, str):
        try:
            items = ast.literal_eval(items.strip())
        except (ValueError, SyntaxError):
            try:  # the outputs of a mapped task arrive as JSON (see fan_out.items_of)
                items = json.loads(items)
            except ValueError as exc:
                raise ValueError(f"for_each: {items[:200]!r} is not a list") from exc
    if isinstance(items, tuple):
        items = list(items)
    if not isinstance(items, list):
        raise ValueError(f"for_each: expected a list, got {type(items).__name__}: {items!r}"[:300])
    if len(items) > MAX_ELEMENTS:
        raise ValueError(f"for_each: {len(items)} elements; at most {MAX_ELEMENTS}")
    return items


def _put_marker(value: Any, marker: str, text: str) -> Any:
    """``value`` with every ``marker`` (MAP_INDEX, TRY_NUMBER) in its strings replaced by ``text``."""
    if isinstance(value, dict):
        return {k: _put_marker(v, marker, text) for k, v in value.items()}
    if isinstance(value, list):
        return [_put_marker(v, marker, text) for v in value]
    return value.replace(marker, text) if isinstance(value, str) else value


def build_mapped_values(
    template: Any, items: Any, guardrails: dict[str, Any] | None = None, **context: Any
) -> list[Any]:
    """The ``<task>__items`` step: the rendered ``template`` once per element, element and index put in.
    With the environment's ``guardrails``, a list wider than they allow, or an element whose request
    they refuse, fails this step: the mapped task never starts, so no job is created."""
    elements = read_items(items)
    if guardrails:
        check_width(len(elements), guardrails, context.get("ti"))
    values = [_put_marker(put_item(template, item), MAP_INDEX, str(i)) for i, item in enumerate(elements)]
    if guardrails:
        check_values(values, guardrails)
    return values


def check_width(width: int, spec: dict[str, Any], ti: Any = None) -> None:
    """``max_fan_out`` of the environment: this list, and the run's lists together (the literal ones,
    counted when the pipeline compiled, and the run-time ones other steps built before this one)."""
    from sagemaker_pipelines.airflow.tasks import guardrail_refusal

    limits = spec["guardrails"].get("max_fan_out") or {}
    where = f"in environment '{spec['environment']}'"
    per_task, per_run = limits.get("per_task"), limits.get("per_run")
    if per_task is not None and width > per_task:
        message = f"{width} elements; a task {where} fans out to at most {per_task}"
        raise guardrail_refusal(f"guardrail max_fan_out.per_task: for_each: {message}")
    if per_run is None:
        return
    built = 0
    if ti is not None and spec.get("others"):
        pulled = ti.xcom_pull(task_ids=list(spec["others"])) or []
        built = sum(len(v) for v in pulled if isinstance(v, list))
    total = spec.get("literal_width", 0) + built + width
    if total > per_run:
        message = (
            f"this run's for_each lists have {total} elements together; "
            f"a run {where} fans out to at most {per_run}"
        )
        raise guardrail_refusal(f"guardrail max_fan_out.per_run: {message}")


def check_values(values: list[Any], spec: dict[str, Any]) -> None:
    """Each element's request (when the mapped argument is the request itself) against the guardrails."""
    from sagemaker_pipelines.airflow.tasks import guardrail_refusal
    from sagemaker_pipelines.compile.guardrails import check_task, refusal
    from sagemaker_pipelines.compile.kinds import KINDS
    from sagemaker_pipelines.format.guardrails import read_guardrails

    if spec["argument"] != "config" or KINDS[spec["kind"]].request is not None:
        return  # the mapped task's own pre_execute (airflow.tasks.Guardrail) checks its request
    guardrails = read_guardrails(spec["guardrails"])
    for index, value in enumerate(values):
        breaches = check_task(
            spec["kind"], {"config": value}, guardrails, spec["environment"], spec["bucket"], rendered=True
        )
        if breaches:
            raise guardrail_refusal(f"for_each element {index}: {refusal(breaches)}")


@dataclass(frozen=True)
class MappedTry:
    """``pre_execute`` of a task mapped over a run-time list: the loopback guard of its environment (if
    any), then this try's number into its argument (the job name), which Airflow does not render."""

    argument: str
    guard: Callable[[Any], None] | None = None  # the task's own pre_execute (airflow.tasks.LoopbackOnly)

    def __call__(self, context: Any = None) -> None:
        if self.guard is not None:
            self.guard(context)
        task = context["task"]
        value = getattr(task, self.argument)
        setattr(task, self.argument, _put_marker(value, TRY_NUMBER, str(context["ti"].try_number)))
