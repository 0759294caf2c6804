"""What compiling a pipeline yields: plain data, ready to cache, print or build.

Kept apart from ``compiler.py`` so that what only reads a compiled pipeline (the DAG builder, the compile
cache answering an unchanged pipeline, the toolkit) does not import the compiler and the kinds' compile
functions: Airflow parses each DAG file in a fresh process, so every module a cache hit imports is paid
once per file and per task start.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class CompiledTask:
    """One task as its operator will be built: the operator's dotted path, its arguments, its edges.
    (A dataclass without a docstring gets one from ``inspect.signature`` at import, paid per process.)"""

    task_id: str
    kind: str  # the kind after aliases (warehouse_load -> s3_to_sql or s3_to_redshift)
    operator: str
    kwargs: dict[str, Any]
    depends_on: list[str] = field(default_factory=list)
    teardown: bool = False  # an Airflow teardown task (as_teardown) of its setups
    setups: list[str] = field(default_factory=list)  # what a teardown cleans up after
    task_group: str = ""  # the task group it is shown in ("" for none): compile/groups.py
    # for_each (compile/fan_out.py): {"argument", "values"} for a literal list, {"argument", "items"}
    # for a run-time one; empty for a task that is not mapped.
    mapped: dict[str, Any] = field(default_factory=dict)


@dataclass
class CompiledPipeline:
    """One pipeline for one environment: the DAG's arguments, its tasks in file order and task groups."""

    dag_id: str
    file: str
    environment: str
    dag: dict[str, Any]  # DAG arguments
    tasks: list[CompiledTask]
    task_groups: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> doc, parent, depends_on

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON (shallow: the values are JSON-like already; asdict's deep copy is slow)."""
        return {**vars(self), "tasks": [dict(vars(t)) for t in self.tasks]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CompiledPipeline:
        return cls(**{**data, "tasks": [CompiledTask(**t) for t in data["tasks"]]})

    def task(self, task_id: str) -> CompiledTask:
        return next(t for t in self.tasks if t.task_id == task_id)
