"""``render``: what a pipeline becomes - DAG arguments, and per task its operator and full request.

Everything comes from the compiled pipeline, so what is shown is exactly what the DAG builder and the
``compile`` command use. Jinja templates (job names, XCom references, ``{{ params.x }}``) are shown as
written; Airflow fills them in when the task runs.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sagemaker_pipelines.airflow.dag_builder import parse_date
from sagemaker_pipelines.compile.assets import S3_EVENTS, scheduled_on, watcher
from sagemaker_pipelines.compile.callables import reference
from sagemaker_pipelines.compile.compiled import CompiledPipeline, CompiledTask
from sagemaker_pipelines.compile.compiler import GUARDRAIL_GUARD
from sagemaker_pipelines.compile.fan_out import describe
from sagemaker_pipelines.compile.kinds import KINDS
from sagemaker_pipelines.compile.notifications import NOTIFIER

_INDENT = "    "
_SECONDS = ("retry_delay", "execution_timeout", "max_retry_delay", "dagrun_timeout", "timeout")


def render_json(compiled: CompiledPipeline) -> str:
    data = compiled.as_dict()
    for task in data["tasks"]:
        task["operator_class"] = task["operator"].rsplit(".", 1)[-1]
        task["api_operation"] = KINDS[task["kind"]].api_operation
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def _value(name: str, value: Any, indent: str) -> list[str]:
    """``name: value``; mappings and lists as indented JSON below the name."""
    if (ref := reference(value)) is not None and ref.kwargs is None:
        return [f"{indent}{name}: {ref.path} (function)"]
    if _guardrail(value):
        return [f"{indent}{name}: {_guardrail(value)}"]
    if isinstance(value, list) and value and all(_notifier(v) for v in value):
        return [f"{indent}{name}: notify {', '.join(_notifier(v) for v in value)}"]
    compact = json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict | list) and value and len(indent + name + compact) > 100:
        body = _pretty(value).splitlines()
        return [f"{indent}{name}: {body[0]}", *(f"{indent}{line}" for line in body[1:])]
    if isinstance(value, str) and "\n" in value:
        lines = value.rstrip("\n").splitlines()
        return [f"{indent}{name}: |", *(f"{indent}{_INDENT}{line}" for line in lines)]
    text = compact if not isinstance(value, str) else value
    if name in _SECONDS and isinstance(value, int):
        text += " (seconds)"
    return [f"{indent}{name}: {text}"]


def _guardrail(value: Any) -> str:
    """A compiled guardrail check (airflow.tasks.Guardrail) in a few words, and the guard it runs first;
    "" for anything else. Its guardrails are the environment file's, shown there."""
    ref = reference(value)
    if ref is None or ref.path != GUARDRAIL_GUARD or ref.kwargs is None:
        return ""
    spec = ref.kwargs
    text = f"the guardrails of environment '{spec['environment']}' on the rendered {spec['kind']} request"
    then = spec.get("then")
    if (guard := reference(then)) is not None:
        shown = ", ".join(f"{k}={v}" for k, v in (guard.kwargs or {}).items())
        text += f", after {guard.name}({shown})"
    return text


def _notifier(value: Any) -> str:
    """``team (file notifications/team.jsonl)`` for a compiled notification marker; "" for anything else."""
    ref = reference(value)
    if ref is None or ref.path != NOTIFIER or ref.kwargs is None:
        return ""
    spec = ref.kwargs
    options = spec["options"]
    target = next((options[k] for k in ("topic_arn", "channel", "to", "path") if k in options), "")
    target = ", ".join(target) if isinstance(target, list) else target
    return f"{spec['name']} ({spec['type']}{' ' + target if target else ''})"


def _dag_lines(compiled: CompiledPipeline) -> list[str]:
    lines = ["DAG arguments"]
    for name, value in compiled.dag.items():
        if name == "doc_md":
            count = len(value.splitlines())
            lines.append(f"{_INDENT}doc_md: {count} lines of Markdown (the description and the YAML source)")
            continue
        if name == "default_args":
            lines.append(f"{_INDENT}default_args:")
            for arg, arg_value in value.items():
                lines += _value(arg, arg_value, _INDENT * 2)
            continue
        lines += _value(name, value, _INDENT)
        # the instant in the pipeline's zone
        if name in ("start_date", "end_date") and compiled.dag.get("timezone"):
            instant = parse_date(value, compiled.dag["timezone"]).astimezone(dt.UTC)
            lines[-1] += f" ({compiled.dag['timezone']}: {instant.isoformat().replace('+00:00', 'Z')})"
    for name, spec in compiled.task_groups.items():  # the groups, with nesting and tooltips
        notes = [f"in {spec['parent']}"] if spec.get("parent") else []
        notes += [f"after {', '.join(spec['depends_on'])}"] if spec.get("depends_on") else []
        where = f" ({'; '.join(notes)})" if notes else ""
        doc = f": {spec['doc']}" if spec.get("doc") else ""
        lines.append(f"{_INDENT}task group {name}{where}{doc}")
    return lines


def _asset_lines(compiled: CompiledPipeline) -> list[str]:
    """The assets it runs on and the ones its tasks publish: what connects it to other pipelines."""
    waits = scheduled_on(compiled.dag.get("schedule"))
    publishes = [(uri, t.task_id) for t in compiled.tasks for uri in t.kwargs.get("outlets", [])]
    if not waits and not publishes:
        return []
    lines = ["", "Assets"]
    lines += [f"{_INDENT}scheduled on: {uri}" for uri in waits]
    if (watched := watcher(compiled.dag.get("schedule"))) is not None:  # airflow/watchers.py
        what = "objects created under it (S3 event notifications)" if S3_EVENTS in watched else "messages"
        lines.append(f"{_INDENT}watcher: SQS queue {watched['queue']} -> {what} update {watched['asset']}")
    lines += [f"{_INDENT}publishes: {uri}  (task {task_id})" for uri, task_id in publishes]
    return lines


def _lineage_lines(compiled: CompiledPipeline) -> list[str]:
    """What each SageMaker task reads and writes in S3: the datasets of its OpenLineage events."""
    from sagemaker_pipelines.toolkit.lineage import datasets

    verbs = {"in": "reads", "out": "writes"}
    lines = [f"{_INDENT}{task_id} {verbs[way]} {uri}" for task_id, uri, way in datasets(compiled)]
    return ["", "Lineage (S3 locations each SageMaker task reads and writes)", *lines] if lines else []


def _task_lines(task: CompiledTask) -> list[str]:
    cls = task.operator.rsplit(".", 1)[-1]
    operation = KINDS[task.kind].api_operation
    lines = [
        f"{task.task_id}  ({task.kind} -> {cls})",
        f"{_INDENT}operator: {task.operator}",
        f"{_INDENT}depends on: {', '.join(task.depends_on) if task.depends_on else '(nothing)'}",
    ]
    if task.task_group:
        lines.append(f"{_INDENT}task group: {task.task_group}")
    if task.mapped:
        lines.append(f"{_INDENT}{describe(task)}")
        for i, value in enumerate(task.mapped.get("values", [])):
            lines += _value(f"{task.mapped['argument']} [{i}]", value, _INDENT)
    if task.teardown:
        after = ", ".join(task.setups) or "(no setup: it runs once its upstream tasks are done)"
        lines.append(f"{_INDENT}teardown of: {after}")
    for name, value in task.kwargs.items():
        if name == "config" and operation:
            lines.append(f"{_INDENT}config: the {operation} request")
            lines += [f"{_INDENT * 2}{line}" for line in _pretty(value).splitlines()]
            continue
        lines += _value(name, value, _INDENT)
    return lines


def render_text(compiled: CompiledPipeline) -> str:
    lines = [
        f"{compiled.dag_id}  ({compiled.file}, environment {compiled.environment})",
        "",
        *_dag_lines(compiled),
        *_asset_lines(compiled),
        *_lineage_lines(compiled),
        "",
        f"Tasks ({len(compiled.tasks)}, in file order)",
    ]
    for task in compiled.tasks:
        lines += ["", *_task_lines(task)]
    return "\n".join(lines) + "\n"
