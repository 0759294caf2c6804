"""Compile a checked pipeline into operator configs: plain data (``compiled.py``), ready to cache, print
or build.

The result holds only JSON-like values (durations in seconds, dates as text, callables as dotted
names), so it can be cached by content hash, shown by ``render`` and written out by ``compile``; the
DAG builder turns it into Airflow objects.
"""

from __future__ import annotations

from typing import Any

from sagemaker_pipelines.compile import fan_out
from sagemaker_pipelines.compile.assets import AssetError, normalized_schedule, published
from sagemaker_pipelines.compile.callables import call
from sagemaker_pipelines.compile.compiled import CompiledPipeline, CompiledTask
from sagemaker_pipelines.compile.connections import task_connections
from sagemaker_pipelines.compile.dependencies import dependencies_of
from sagemaker_pipelines.compile.groups import apply_groups
from sagemaker_pipelines.compile.guardrails import BUCKET_ARGUMENTS, UNGUARDED_KINDS, with_required_tags
from sagemaker_pipelines.compile.kinds import KINDS, TaskContext, resolve_kind
from sagemaker_pipelines.compile.kinds.context import Pipeline
from sagemaker_pipelines.compile.notifications import dag_callbacks, task_callbacks
from sagemaker_pipelines.format.durations import to_seconds

_TASK_ARGS = ("retries", "trigger_rule", "pool")
LOOPBACK_GUARD = "sagemaker_pipelines.airflow.tasks.LoopbackOnly"
GUARDRAIL_GUARD = "sagemaker_pipelines.airflow.tasks.Guardrail"
_TASK_DURATIONS = ("retry_delay", "execution_timeout")
_DEFAULT_ARG_DURATIONS = ("retry_delay", "max_retry_delay", "execution_timeout")


class TaskCompileError(ValueError):
    """A checked task the compiler could not turn into arguments (a run-time value where it needs one)."""

    def __init__(self, task_id: str, error: Exception) -> None:
        super().__init__(f"task {task_id}: {error}")
        self.task_id = task_id


def _default_args(pipeline: Pipeline) -> dict[str, Any]:
    args = {"owner": "airflow", **pipeline.data.get("default_args", {})}
    for name in _DEFAULT_ARG_DURATIONS:
        if name in args:
            args[name] = to_seconds(args[name])
    if pipeline.environment.retry_delay is not None:
        args["retry_delay"] = pipeline.environment.retry_delay
    return args


def _dag_args(pipeline: Pipeline, source_text: str) -> dict[str, Any]:
    data = pipeline.data
    doc_md = data.get("doc_md") or data.get("description") or ""
    where = f"Defined in `{pipeline.file}` (environment `{pipeline.environment.name}`)"
    doc_md += f"\n\n{where}:\n\n```yaml\n{source_text}\n```\n"
    args: dict[str, Any] = {
        "description": data.get("description"),
        "doc_md": doc_md.strip() + "\n",
        "schedule": normalized_schedule(data.get("schedule"), pipeline.aws_conn_id),
        "start_date": data["start_date"],
        "catchup": data.get("catchup", False),
        "max_active_runs": data.get("max_active_runs", 1),
        "tags": sorted({*data.get("tags", []), "sagemaker"}),
        "default_args": _default_args(pipeline),
    }
    for name in ("end_date", "max_active_tasks", "timezone"):
        if name in data:
            args[name] = data[name]
    if "dagrun_timeout" in data:
        args["dagrun_timeout"] = to_seconds(data["dagrun_timeout"])
    if data.get("params"):
        args["params"] = data["params"]
    args.update(dag_callbacks(pipeline))  # notify: (compile/notifications.py)
    return args


def _task_args(ctx: TaskContext, compiled: dict[str, Any]) -> dict[str, Any]:
    """The task's own fields as operator arguments (``compiled``: what its kind made of the rest)."""
    args = {name: ctx.get(name) for name in _TASK_ARGS if ctx.get(name) is not None}
    for name in _TASK_DURATIONS:
        if ctx.get(name) is not None:
            args[name] = to_seconds(ctx.get(name))
    if "retry_delay" in args and ctx.pipeline.environment.retry_delay is not None:
        args["retry_delay"] = ctx.pipeline.environment.retry_delay
    if ctx.get("doc"):
        args["doc_md"] = ctx.get("doc")
    environment = ctx.pipeline.environment
    if environment.loopback_only:  # checked when the task runs: see airflow.tasks.LoopbackOnly
        guard = {"environment": environment.name, "aws_conn_id": ctx.pipeline.aws_conn_id}
        others = [c for c in task_connections(compiled) if c != ctx.pipeline.aws_conn_id]
        if others:  # every connection the task uses must be on this machine, not only the AWS one
            guard["connections"] = others
        args["pre_execute"] = call(LOOPBACK_GUARD, guard)
    args.update(task_callbacks(ctx))  # notify: (compile/notifications.py)
    return args


def guardrail_spec(pipeline: Pipeline, kind: str) -> dict[str, Any]:
    """What the run-time guardrail check needs, as plain data (compiled pipelines are cached as JSON)."""
    environment = pipeline.environment
    raw = environment.guardrails.raw if environment.guardrails else {}
    return {"environment": environment.name, "kind": kind, "guardrails": raw, "bucket": environment.bucket}


def _guardrail_guard(pipeline: Pipeline, kind: str, then: Any) -> dict[str, Any]:
    """``pre_execute`` that checks the rendered request against the environment's guardrails before
    the operator sends it (airflow.tasks.Guardrail), after the task's other guard (``then``), if any."""
    return call(GUARDRAIL_GUARD, {**guardrail_spec(pipeline, kind), "then": then})


def _run_time_fan_out_limits(compiled: CompiledPipeline, pipeline: Pipeline) -> None:
    """For each task mapped over a run-time list, what its ``<task>__items`` step checks before any job
    is made: the guardrails, the elements the literal lists already take from the run's budget and the
    other such steps of the run (airflow/mapping.py)."""
    if pipeline.environment.guardrails is None:
        return
    literal = sum(len(t.mapped["values"]) for t in compiled.tasks if "values" in t.mapped)
    builders = [t.task_id + fan_out.BUILDER_SUFFIX for t in compiled.tasks if "items" in t.mapped]
    for task in compiled.tasks:
        if "items" in task.mapped:
            own = task.task_id + fan_out.BUILDER_SUFFIX
            others = [b for b in builders if b != own]
            spec = {**guardrail_spec(pipeline, task.kind), "literal_width": literal, "others": others}
            task.mapped["guardrails"] = spec


def compile_task(pipeline: Pipeline, task_id: str, task: dict[str, Any]) -> CompiledTask:
    """One task through the kinds table, with its explicit and implied dependencies."""
    if "for_each" in task:
        try:
            depends_on = dependencies_of(task_id, pipeline.tasks[task_id], pipeline.tasks)
            return fan_out.compile_mapped(pipeline, task_id, task, _compile_one, depends_on)
        except (fan_out.FanOutError, KeyError) as exc:
            raise TaskCompileError(task_id, exc) from exc
    return _compile_one(pipeline, task_id, task)


def _compile_one(pipeline: Pipeline, task_id: str, task: dict[str, Any]) -> CompiledTask:
    ctx = TaskContext(pipeline, task_id, task)
    kind_name = resolve_kind(ctx)
    kind = KINDS[kind_name]
    try:
        compiled = kind.compile(ctx)
        kwargs = {**compiled, **_task_args(ctx, compiled)}
        outlets = published(kind_name, task.get("publish"), compiled)  # compile/assets.py
        if outlets:
            kwargs["outlets"] = outlets
    except (AssetError, ValueError, TypeError, KeyError) as exc:
        raise TaskCompileError(task_id, exc) from exc
    guardrails = pipeline.environment.guardrails
    guarded = (kind.api_operation and kind_name not in UNGUARDED_KINDS) or (
        kind_name in BUCKET_ARGUMENTS and guardrails and guardrails.limits_buckets
    )
    if guardrails is not None and guarded:
        if isinstance(kwargs.get("config"), dict):
            kwargs["config"] = with_required_tags(kind_name, kwargs["config"], guardrails)
        kwargs["pre_execute"] = _guardrail_guard(pipeline, kind_name, kwargs.get("pre_execute"))
    depends_on = dependencies_of(task_id, pipeline.tasks[task_id], pipeline.tasks)  # as written
    teardown = bool(task.get("teardown"))
    explicit = task.get("depends_on") or []
    return CompiledTask(
        task_id=task_id,
        kind=kind_name,
        operator=kind.operator_of(ctx) if kind.operator_of else kind.operator,
        kwargs=kwargs,
        depends_on=depends_on,
        teardown=teardown,
        # the tasks a teardown refers to or reads outputs of; depends_on only orders it
        setups=[d for d in depends_on if d not in explicit] if teardown else [],
    )


def compile_pipeline(
    pipeline: Pipeline, source_text: str, written: dict[str, dict[str, Any]] | None = None
) -> CompiledPipeline:
    """Every task through the kinds table, in file order. ``written``: tasks to compile in another form
    than ``pipeline``'s (the build stage's, with each task output traced; their dependencies stay the
    pipeline's own)."""
    written = written or {}
    compiled = CompiledPipeline(
        dag_id=pipeline.dag_id,
        file=pipeline.file,
        environment=pipeline.environment.name,
        dag=_dag_args(pipeline, source_text),
        tasks=[
            compile_task(pipeline, task_id, written.get(task_id, task))
            for task_id, task in pipeline.tasks.items()
        ],
    )
    _run_time_fan_out_limits(compiled, pipeline)
    apply_groups(compiled, pipeline.data)  # task groups, and depends_on naming a group
    return compiled
