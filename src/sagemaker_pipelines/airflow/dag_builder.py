"""Build an Airflow DAG from a compiled pipeline through dag-factory's dict API.

We hand dag-factory a ready config and call its ``DagBuilder`` directly rather than ``load_yaml_dags``:
its YAML path re-reads files with PyYAML's pure-Python FullLoader after expanding environment
variables in the raw text, honours ``__type__`` keys that import any dotted path, and dumps each config
back to YAML twice for ``doc_md`` - slow and unsafe for files users edit. Our configs are already
validated data, so only the building is left to it. Operators come only from the kinds table (or, for
``kind: operator``, from the environment's ``allowed_operators``, checked again here) and callables
only from :mod:`sagemaker_pipelines.airflow.tasks`, and only in the arguments the compiler writes them
to (``compile/callables.py``): the same shape written by a user anywhere else stays plain data.
"""

from __future__ import annotations

import datetime as dt
import json
from functools import cache
from typing import TYPE_CHECKING, Any

from sagemaker_pipelines.airflow.assets import outlets, schedule_value
from sagemaker_pipelines.airflow.mapping import dag_factory_tasks
from sagemaker_pipelines.airflow.notifiers import CALLBACK_ARGS, attach
from sagemaker_pipelines.airflow.teardown import apply_teardowns
from sagemaker_pipelines.compile.callables import reference
from sagemaker_pipelines.compile.compiled import CompiledPipeline, CompiledTask
from sagemaker_pipelines.compile.groups import dag_factory_groups, set_edges
from sagemaker_pipelines.compile.kinds import KINDS

if TYPE_CHECKING:
    from sagemaker_pipelines.format.environment import Environment

_ALLOWED_OPERATORS = frozenset(kind.operator for kind in KINDS.values())
_ALLOWED_CALLABLE_PREFIX = "sagemaker_pipelines.airflow.tasks."
_SECONDS_ARGS = ("retry_delay", "execution_timeout", "max_retry_delay")
_CALLBACK_SET = frozenset(CALLBACK_ARGS)
# The only arguments whose compiled value may be a callable marker: where the compiler writes one.
_CALLABLE_ARGS: dict[str, frozenset[str] | None] = {
    "pre_execute": None,
    "parser": frozenset({"s3_to_sql"}),
    **dict.fromkeys(CALLBACK_ARGS),  # notify: (compile/notifications.py), on the DAG and on tasks
}


def holds_callable(kind: str, argument: str) -> bool:
    """Whether the compiler writes a callable marker into ``argument`` of ``kind`` (None: every kind)."""
    if argument not in _CALLABLE_ARGS:
        return False
    kinds = _CALLABLE_ARGS[argument]
    return kinds is None or kind in kinds


def _callable(dotted: str):
    if not dotted.startswith(_ALLOWED_CALLABLE_PREFIX):
        raise ValueError(f"callable {dotted!r} is not one of the project's runtime functions")
    from sagemaker_pipelines.airflow import tasks as runtime

    return getattr(runtime, dotted.removeprefix(_ALLOWED_CALLABLE_PREFIX))


def _python_values(value: Any) -> Any:
    """References in compiled data that stand for Python objects (only project callables exist): a
    function, or what calling it returns (a guard, which may wrap another)."""
    if (ref := reference(value)) is not None:
        function = _callable(ref.path)
        return function if ref.kwargs is None else function(**_python_values(ref.kwargs))
    if isinstance(value, dict):
        return {k: _python_values(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_python_values(v) for v in value]
    return value


# Guards built in this process, by their compiled data: every task of an environment has one of a few.
_GUARDS: dict[str, Any] = {}


def _guard(value: Any, built: dict[int, Any]) -> Any:
    """A task's ``pre_execute`` guard, shared by every task (of any DAG this process builds) whose guard
    is the same data. Guards are frozen dataclasses of plain values (``airflow/tasks.py``), so one
    object serves them all: building thousands of equal ones cost a DagBag time, memory and garbage
    collections that hand-written DAG files never pay. ``built``: this DAG's guards by the identity of
    their data (the tasks of a cached pipeline share one object per guard, ``cache/entry.py``)."""
    guard = built.get(id(value))
    if guard is None:
        key = json.dumps(value, separators=(",", ":"))
        guard = _GUARDS.get(key)
        if guard is None:
            guard = _GUARDS[key] = _python_values(value)
        built[id(value)] = guard
    return guard


def _callbacks(args: dict[str, Any]) -> dict[str, Any]:
    """Callbacks are set after dag-factory built the DAG (``notifiers.attach``): its own handling of
    callbacks imports strings or calls dicts from the config, and refuses lists."""
    return {k: _python_values(v) for k, v in args.items() if k in CALLBACK_ARGS}


def _with_timedeltas(args: dict[str, Any]) -> dict[str, Any]:
    return {k: dt.timedelta(seconds=v) if k in _SECONDS_ARGS else v for k, v in args.items()}


def parse_date(text: str, timezone: str | None = None) -> dt.datetime:
    """Dates as the schema allows them; in the pipeline's ``timezone`` (UTC by default) unless an offset
    is written, and then converted into it.

    dag-factory replaces (rather than converts) a date's zone with its ``timezone`` setting, so the
    date is given to it already in that zone (a pendulum zone: Airflow's DAG takes its time zone from
    the start date, and its cron timetables fire at that zone's wall-clock times).
    """
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if timezone is None:
        return value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)
    import pendulum

    zone = pendulum.timezone(timezone)
    return value.astimezone(zone) if value.tzinfo else value.replace(tzinfo=zone)


def _params(spec: dict[str, dict[str, Any]]) -> dict[str, Any]:
    from airflow.sdk import Param

    return {name: Param(**p) for name, p in spec.items()}


def _task_config(task: CompiledTask, guards: dict[int, Any]) -> dict[str, Any]:
    """A task's dag-factory config: its operator, its upstream tasks and its arguments, in one pass over
    them (every DAG parse builds thousands): markers made Python objects only in the arguments the
    compiler writes them to, durations as timedeltas, ``publish:`` URIs as assets (compile/assets.py),
    and no callbacks (set once the DAG is built, :func:`_callbacks`)."""
    conf: dict[str, Any] = {"operator": task.operator, "dependencies": list(task.depends_on)}
    for name, value in task.kwargs.items():
        if name in CALLBACK_ARGS:
            continue
        if name in _SECONDS_ARGS:
            value = dt.timedelta(seconds=value)
        elif name == "outlets":
            value = outlets(value)
        elif holds_callable(task.kind, name):
            value = _guard(value, guards) if name == "pre_execute" else _python_values(value)
        conf[name] = value
    return conf


def _ensure_operator(task: CompiledTask, compiled: CompiledPipeline, environment: Environment | None) -> None:
    """A kinds-table operator, or for ``kind: operator`` a class the environment lists now."""
    from sagemaker_pipelines.compile.allowed_operators import KIND, check_buildable

    if task.kind != KIND:
        if task.operator not in _ALLOWED_OPERATORS:
            raise ValueError(f"operator {task.operator!r} is not in the kinds table")
        return
    if environment is None or environment.name != compiled.environment:
        from sagemaker_pipelines.format.environment import load_environment

        environment = load_environment(compiled.environment)
    check_buildable(task.operator, task.kwargs, environment)


def dag_factory_config(compiled: CompiledPipeline, environment: Environment | None = None) -> dict[str, Any]:
    """The dict dag-factory's DagBuilder takes: DAG arguments plus ``tasks`` with ``operator`` paths."""
    dag = dict(compiled.dag)
    config: dict[str, Any] = {
        **{
            k: v
            for k, v in dag.items()
            if k not in ("start_date", "end_date", "dagrun_timeout", "params", "schedule", *CALLBACK_ARGS)
        },
        "default_args": _with_timedeltas(dag["default_args"]),
        "start_date": parse_date(dag["start_date"], dag.get("timezone")),
        "schedule": schedule_value(dag.get("schedule"), dag.get("timezone")),  # assets: airflow/assets.py
    }
    if "end_date" in dag:
        config["end_date"] = parse_date(dag["end_date"], dag.get("timezone"))
    if "dagrun_timeout" in dag:
        config["dagrun_timeout"] = dt.timedelta(seconds=dag["dagrun_timeout"])
    if "params" in dag:
        config["params"] = _params(dag["params"])
    tasks = {}
    guards: dict[int, Any] = {}  # while the compiled pipeline holds the data whose identity keys them
    for task in compiled.tasks:
        _ensure_operator(task, compiled, environment)
        tasks.update(dag_factory_tasks(task, _task_config(task, guards)))  # for_each: partial/expand
    config["tasks"] = tasks
    return config


def _config_and_edges(
    compiled: CompiledPipeline, environment: Environment | None = None
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    config = dag_factory_config(compiled, environment)
    return config, dag_factory_groups(compiled, config)  # task groups


@cache
def _builder_class():
    """dag-factory's DagBuilder without its defensive deep copies of the config.

    ``DagBuilder.__init__`` deep-copies the DAG and default configs; ours is built fresh for each
    DAG and never reused, so the copy only costs time (about a fifth of building a DAG).
    """
    from dagfactory.dagbuilder import DagBuilder

    class FreshConfigDagBuilder(DagBuilder):
        def __init__(self, dag_name: str, dag_config: dict[str, Any]) -> None:
            self.dag_name = dag_name
            self.dag_config = dag_config
            self.default_config = {}
            self._yml_dag = ""

    return FreshConfigDagBuilder


def build_dag(compiled: CompiledPipeline, fileloc: str | None = None, environment: Environment | None = None):
    """The Airflow DAG of a compiled pipeline; ``fileloc`` is the loader file Airflow parsed;
    ``environment`` the one it was compiled for (read again when not given and an operator task needs
    its allowed_operators)."""
    config, group_edges = _config_and_edges(compiled, environment)
    built = _builder_class()(compiled.dag_id, config).build()
    dag = built["dag"]
    set_edges(dag, group_edges)
    apply_teardowns(dag, compiled)
    task_callbacks = {
        t.task_id: _callbacks(t.kwargs) for t in compiled.tasks if _CALLBACK_SET.intersection(t.kwargs)
    }
    attach(dag, _callbacks(compiled.dag), task_callbacks)
    dag.tags = sorted(set(dag.tags) - {"dagfactory"} | {"sagemaker"})
    if fileloc:
        dag.fileloc = fileloc
    return dag
