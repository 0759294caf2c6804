"""``notify:`` of a pipeline and of its tasks, compiled to callback markers (plain data).

What each level means in Airflow terms (docs/notifications.md):

- pipeline ``on_failure`` / ``on_success``: the DAG's ``on_failure_callback`` / ``on_success_callback``,
  one notification when a run ends;
- pipeline ``on_retry``: every task's ``on_retry_callback`` (a run is never retried, its tasks are);
- task ``on_failure`` / ``on_success`` / ``on_retry``: that task's own callbacks, *in addition to* the
  pipeline's (a task never replaces the pipeline's notifications; for ``on_retry`` the lists are merged).

Each marker names the notifier and carries its environment options, so the DAG builder needs no
environment file; the notifier class comes from the table in ``airflow/notifiers.py`` alone.
"""

from __future__ import annotations

from typing import Any

from sagemaker_pipelines.compile.callables import call
from sagemaker_pipelines.compile.kinds import TaskContext
from sagemaker_pipelines.compile.kinds.context import Pipeline

NOTIFIER = "sagemaker_pipelines.airflow.tasks.notifier"
EVENTS = {
    "on_failure": "on_failure_callback",
    "on_success": "on_success_callback",
    "on_retry": "on_retry_callback",
}


def _marker(pipeline: Pipeline, name: str, event: str, level: str) -> dict[str, Any]:
    spec = pipeline.environment.notifiers[name]
    options = {k: v for k, v in spec.items() if k != "type"}
    if spec["type"] == "sns":  # the environment's AWS connection; the topic's own region
        options["aws_conn_id"] = pipeline.environment.aws_conn_id
        options["region"] = spec["topic_arn"].split(":")[3]
    kwargs = {"name": name, "type": spec["type"], "event": event, "level": level, "options": options}
    return call(NOTIFIER, kwargs)


def _notify(data: dict[str, Any]) -> dict[str, list[str]]:
    notify = data.get("notify")
    return notify if isinstance(notify, dict) else {}


def dag_callbacks(pipeline: Pipeline) -> dict[str, Any]:
    """The DAG's run callbacks: the pipeline's ``on_failure`` and ``on_success``."""
    notify = _notify(pipeline.data)
    return {
        EVENTS[event]: [_marker(pipeline, name, event, "pipeline") for name in notify[event]]
        for event in ("on_failure", "on_success")
        if notify.get(event)
    }


def task_callbacks(ctx: TaskContext) -> dict[str, Any]:
    """A task's callbacks: its own ``notify``, plus the pipeline's ``on_retry``."""
    own, pipeline_level = _notify(ctx.task), _notify(ctx.pipeline.data)
    names = {event: list(own.get(event) or []) for event in EVENTS}
    names["on_retry"] = list(dict.fromkeys([*(pipeline_level.get("on_retry") or []), *names["on_retry"]]))
    return {
        EVENTS[event]: [_marker(ctx.pipeline, name, event, "task") for name in listed]
        for event, listed in names.items()
        if listed
    }
