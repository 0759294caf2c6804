"""Build the DAG of one pipeline for the DAG file Airflow is parsing: nothing else is read.

Every pipeline has its own small generated DAG file, ``dags/<dag_id>.py`` (written by
``sagemaker-pipelines sync``), that calls :func:`load_pipeline`. Airflow keys import errors, staleness,
parse timeouts, parse processes and DAG versions by DAG file, so a broken, slow or crashing pipeline
affects only its own DAG, and a task runner parses only the pipeline whose task it runs.

A broken pipeline becomes a stand-in DAG whose ``validate()`` raises every problem: that is how Airflow
records an import error (the Broken DAG banner, ``/api/v2/importErrors``) with the YAML file, line and
message, without a Python traceback the data scientist did not write.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sagemaker_pipelines.problems import Code, PipelineInvalid, Problem

if TYPE_CHECKING:
    from sagemaker_pipelines.cache.compile_cache import CompileCache

log = logging.getLogger(__name__)


class _ProblemsDag:
    """Mixin for the stand-in DAG: Airflow calls validate() before bagging, and records what it raises."""

    problems: list[Problem]

    def validate(self) -> None:
        raise PipelineInvalid(self.problems)


def error_dag(dag_id: str, problems: list[Problem], fileloc: str) -> Any:
    """The stand-in Airflow records as this DAG file's import error."""
    from airflow.sdk import DAG

    cls = type("InvalidPipeline", (_ProblemsDag, DAG), {})
    dag = cls(dag_id=dag_id, schedule=None, description="This pipeline failed validation")
    dag.problems = sorted(problems)
    dag.fileloc = fileloc
    return dag


def _problem(file: str, message: str, hint: str = "", code: str = Code.DAG_FILE) -> Problem:
    return Problem(file, 1, 1, "", message, hint, code=code)


def build_pipeline(
    dag_file: Path, pipeline: Path, environment_name: str | None = None, cache: CompileCache | None = None
) -> Any:
    """The DAG of ``pipeline``, or the stand-in that carries its problems; never raises. ``cache``: the
    compile cache to answer from and mark built (default: ``CompileCache.default()``, the one the
    environment names); a fresh one per DAG, since it remembers the entry it read last."""
    from sagemaker_pipelines.paths import display_path

    dag_id = dag_file.stem
    try:
        return _build(dag_file, pipeline, environment_name, cache)
    except PipelineInvalid as exc:
        return error_dag(dag_id, exc.problems, str(dag_file))
    except Exception as exc:  # a bug of ours or a library's must still name the pipeline, not hide it
        shown = display_path(pipeline)
        log.exception("checking or building %s failed", shown)
        problem = _problem(shown, f"internal error while loading this pipeline: {type(exc).__name__}: {exc}")
        return error_dag(dag_id, [problem], str(dag_file))


def _build(dag_file: Path, pipeline: Path, environment_name: str | None, cache: CompileCache | None) -> Any:
    from sagemaker_pipelines.airflow.dag_builder import build_dag
    from sagemaker_pipelines.cache.compile_cache import (
        CompileCache,
        check_file_cached,
        load_environment_cached,
    )
    from sagemaker_pipelines.format.environment import current_environment_name
    from sagemaker_pipelines.paths import display_path

    if not pipeline.is_file():
        raise PipelineInvalid(
            [
                _problem(
                    display_path(dag_file),
                    f"this DAG file builds {display_path(pipeline)}, which does not exist",
                    "run `make sync` to remove DAG files of deleted pipelines",
                )
            ]
        )
    cache = CompileCache.default() if cache is None else cache
    environment = load_environment_cached(environment_name or current_environment_name(), cache)  # may raise
    result = check_file_cached(pipeline, environment, cache)
    if not result.ok:
        raise PipelineInvalid(result.errors)
    if result.dag_id != dag_file.stem:
        raise PipelineInvalid(
            [
                Problem(
                    result.file,
                    *result.dag_id_at,
                    "dag_id",
                    f"the pipeline's DAG id is '{result.dag_id}' but its DAG file is {dag_file.name}",
                    "run `make sync` to rename the DAG file",
                    code=Code.DAG_FILE,
                )
            ]
        )
    from airflow import __version__ as airflow_version

    try:
        dag = build_dag(result.compiled, str(dag_file), environment)
        if not cache.built_before(airflow_version):
            dag.validate()  # what Airflow runs: its failure must name this YAML file, not the DAG file
            cache.mark_built(airflow_version)
    except Exception as exc:  # an Airflow-side rejection (e.g. a bad cron) stays this pipeline's problem
        log.exception("building %s failed", result.file)
        problem = _problem(result.file, f"Airflow rejected the DAG: {exc}", code=Code.AIRFLOW)
        raise PipelineInvalid([problem]) from exc
    return dag


def load_pipeline(dag_file: str, *, project: str, pipeline: str) -> Any:
    """Entry point of a generated DAG file: ``project`` is relative to the DAG file's folder, ``pipeline``
    to the project. The project becomes the root for ``environments/`` and ``include/`` unless
    ``SAGEMAKER_PIPELINES_ROOT`` says otherwise, so an installed package serves the bundle it is in."""
    from sagemaker_pipelines.paths import project_root, use_bundle_root

    here = Path(dag_file).resolve()
    use_bundle_root(here.parent / project)
    return build_pipeline(here, project_root() / pipeline)
