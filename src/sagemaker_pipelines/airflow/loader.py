"""Turn every pipeline under ``pipelines/`` into an Airflow DAG; never let one bad file hide the rest.

Good pipelines become DAGs. Problems of all the bad ones are gathered into one stand-in DAG whose
``validate()`` raises them, because that is how Airflow's DagBag records an import error (the Broken DAG
banner and the import errors list) while still loading the module's other DAGs. All problems share one
entry since Airflow keys import errors by the Python file that made the DAGs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sagemaker_pipelines.airflow.cache import CompileCache, check_file_cached
from sagemaker_pipelines.checker import CheckResult, check_file
from sagemaker_pipelines.format.environment import Environment, current_environment_name, load_environment
from sagemaker_pipelines.paths import pipelines_dir
from sagemaker_pipelines.problems import PipelineInvalid, Problem

log = logging.getLogger(__name__)

ERROR_DAG_ID = "sagemaker_pipelines_errors"


def discover(folder: Path | None = None) -> list[Path]:
    """Every ``*.yaml``/``*.yml`` below the pipelines folder, in a stable order; a dangling symbolic link
    is included, so that it is reported rather than silently skipped."""
    root = folder or pipelines_dir()
    return sorted(
        p for p in root.rglob("*") if p.suffix in (".yaml", ".yml") and (p.is_file() or p.is_symlink())
    )


@dataclass
class CheckedPipelines:
    """Every file's result, plus problems that span files (duplicate DAG ids)."""

    results: list[CheckResult] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def good(self) -> list[CheckResult]:
        duplicated = {p.file for p in self.problems}
        return [r for r in self.results if r.ok and r.file not in duplicated]


class DagIdOwners:
    """Which file claimed each DAG id first, for telling later files that the id is taken."""

    def __init__(self) -> None:
        self.owners: dict[str, str] = {}

    def claim(self, result: CheckResult) -> Problem | None:
        first = self.owners.setdefault(result.dag_id, result.file)
        if first == result.file:
            return None
        return Problem(
            result.file,
            *result.dag_id_at,
            "dag_id",
            f"dag_id '{result.dag_id}' is already used by {first}",
            "DAG ids must be unique: set dag_id or rename the file",
            code="duplicate",
        )


def duplicate_dag_ids(results: Iterable[CheckResult]) -> list[Problem]:
    """A problem for each file whose DAG id an earlier file (in the given order) already uses."""
    owners = DagIdOwners()
    return [problem for result in results if (problem := owners.claim(result))]


def check_all(
    environment: Environment, files: list[Path] | None = None, cache: CompileCache | None = None
) -> CheckedPipelines:
    """Check each file on its own (answered from ``cache`` when given), then the ids across files."""
    checked = CheckedPipelines()
    for path in discover() if files is None else files:
        result = (
            check_file(path, environment) if cache is None else check_file_cached(path, environment, cache)
        )
        checked.results.append(result)
    checked.problems = duplicate_dag_ids(checked.results)
    return checked


class _ProblemsDag:
    """Mixin for the stand-in DAG: Airflow calls validate() before bagging, and records what it raises."""

    problems: list[Problem]

    def validate(self) -> None:
        raise PipelineInvalid(self.problems)


def _error_dag(problems: list[Problem], fileloc: str):
    from airflow.sdk import DAG

    cls = type("InvalidPipelines", (_ProblemsDag, DAG), {})
    dag = cls(dag_id=ERROR_DAG_ID, schedule=None, description="Pipelines that failed validation")
    dag.problems = problems
    dag.fileloc = fileloc
    return dag


def build_all(fileloc: str, environment_name: str | None = None) -> dict[str, Any]:
    """dag_id -> DAG for every good pipeline, plus the error DAG when any pipeline is broken."""
    from sagemaker_pipelines.airflow.dag_builder import build_dag

    name = environment_name or current_environment_name()
    try:
        environment = load_environment(name)
    except PipelineInvalid as exc:
        return {ERROR_DAG_ID: _error_dag(exc.problems, fileloc)}
    cache = CompileCache.default()
    owners = DagIdOwners()
    dags: dict[str, Any] = {}
    problems: list[Problem] = []
    # One file at a time, built as soon as it is checked: only the DAGs stay in memory.
    for path in discover():
        result = check_file_cached(path, environment, cache)
        duplicate = owners.claim(result)
        problems += result.problems + ([duplicate] if duplicate else [])
        if result.ok and not duplicate:
            try:
                dag = build_dag(result.compiled, fileloc)
                dag.validate()  # what DagBag runs: its failure must name this YAML file, not the loader
                dags[result.dag_id] = dag
            except Exception as exc:  # an Airflow-side rejection (e.g. a bad cron) stays this file's problem
                log.exception("building %s failed", result.file)
                problems.append(
                    Problem(result.file, 1, 1, "", f"Airflow rejected the DAG: {exc}", code="airflow")
                )
    if problems:
        dags[ERROR_DAG_ID] = _error_dag(sorted(problems), fileloc)
    return dags


def register(namespace: dict[str, Any], fileloc: str) -> None:
    """Put the DAGs where Airflow's importer finds them: the loader module's globals."""
    for dag_id, dag in build_all(fileloc).items():
        namespace[f"dag__{dag_id}"] = dag
