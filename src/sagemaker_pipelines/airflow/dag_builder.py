"""Build an Airflow DAG from a compiled pipeline through dag-factory's dict API.

We hand dag-factory a ready config and call its ``DagBuilder`` directly rather than ``load_yaml_dags``:
its YAML path re-reads files with PyYAML's pure-Python FullLoader after expanding environment
variables in the raw text, honours ``__type__`` keys that import any dotted path, and dumps each config
back to YAML twice for ``doc_md`` - slow and unsafe for files users edit. Our configs are already
validated data, so only the building is left to it. Operators come only from the kinds table and
callables only from :mod:`sagemaker_pipelines.airflow.tasks`.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any

from sagemaker_pipelines.airflow.mapping import dag_factory_tasks
from sagemaker_pipelines.airflow.teardown import apply_teardowns
from sagemaker_pipelines.compile.compiler import CompiledPipeline
from sagemaker_pipelines.compile.kinds import KINDS

_ALLOWED_OPERATORS = frozenset(kind.operator for kind in KINDS.values())
_ALLOWED_CALLABLE_PREFIX = "sagemaker_pipelines.airflow.tasks."
_SECONDS_ARGS = ("retry_delay", "execution_timeout", "max_retry_delay")


def _callable(dotted: str):
    if not dotted.startswith(_ALLOWED_CALLABLE_PREFIX):
        raise ValueError(f"callable {dotted!r} is not one of the project's runtime functions")
    from sagemaker_pipelines.airflow import tasks as runtime

    return getattr(runtime, dotted.removeprefix(_ALLOWED_CALLABLE_PREFIX))


def _python_values(value: Any) -> Any:
    """Markers in compiled data that stand for Python objects (only project callables exist)."""
    if isinstance(value, dict):
        if set(value) == {"__callable__"}:
            return _callable(value["__callable__"])
        if set(value) == {"__callable__", "__kwargs__"}:  # issue 15: what it returns (the loopback guard)
            return _callable(value["__callable__"])(**value["__kwargs__"])
        return {k: _python_values(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_python_values(v) for v in value]
    return value


def _with_timedeltas(args: dict[str, Any]) -> dict[str, Any]:
    return {k: dt.timedelta(seconds=v) if k in _SECONDS_ARGS else v for k, v in args.items()}


def parse_date(text: str) -> dt.datetime:
    """Dates as the schema allows them; UTC unless an offset is written."""
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    # In UTC: dag-factory replaces (rather than converts) any other zone.
    return value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _params(spec: dict[str, dict[str, Any]]) -> dict[str, Any]:
    from airflow.sdk import Param

    return {name: Param(**p) for name, p in spec.items()}


def dag_factory_config(compiled: CompiledPipeline) -> dict[str, Any]:
    """The dict dag-factory's DagBuilder takes: DAG arguments plus ``tasks`` with ``operator`` paths."""
    dag = dict(compiled.dag)
    config: dict[str, Any] = {
        **{
            k: v
            for k, v in dag.items()
            if k not in ("start_date", "end_date", "dagrun_timeout", "params", "schedule")
        },
        "default_args": _with_timedeltas(dag["default_args"]),
        "start_date": parse_date(dag["start_date"]),
        "schedule": dag.get("schedule"),
    }
    if "end_date" in dag:
        config["end_date"] = parse_date(dag["end_date"])
    if "dagrun_timeout" in dag:
        config["dagrun_timeout"] = dt.timedelta(seconds=dag["dagrun_timeout"])
    if "params" in dag:
        config["params"] = _params(dag["params"])
    tasks = {}
    for task in compiled.tasks:
        if task.operator not in _ALLOWED_OPERATORS:
            raise ValueError(f"operator {task.operator!r} is not in the kinds table")
        kwargs = _with_timedeltas(_python_values(task.kwargs))
        conf = {"operator": task.operator, "dependencies": list(task.depends_on), **kwargs}
        tasks.update(dag_factory_tasks(task, conf))  # for_each: partial/expand
    config["tasks"] = tasks
    return config


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


def build_dag(compiled: CompiledPipeline, fileloc: str | None = None):
    """The Airflow DAG of a compiled pipeline; ``fileloc`` is the loader file Airflow parsed."""
    built = _builder_class()(compiled.dag_id, dag_factory_config(compiled)).build()
    dag = built["dag"]
    apply_teardowns(dag, compiled)
    dag.tags = sorted(set(dag.tags) - {"dagfactory"} | {"sagemaker"})
    if fileloc:
        dag.fileloc = fileloc
    return dag
