"""``validate --build``: build each valid pipeline's DAG with Airflow, as its DAG file does.

``validate`` alone never imports Airflow, so what only Airflow checks (the DAG's and the operators' own
argument checks and ``DAG.validate``: a rule our checks do not know yet, or one a newer Airflow adds)
would reach the data scientist as a Broken DAG banner. With ``--build`` such a problem fails the command,
with the YAML file's name, in CI or at image build. And since the build
runs the loader's own path through the compile cache, it also records there that each DAG validated:
a pod of an image built with ``validate --build`` neither checks a pipeline nor validates its DAG
again (docs/deploy.md).
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

from sagemaker_pipelines.cache.compile_cache import CompileCache
from sagemaker_pipelines.paths import dags_dir
from sagemaker_pipelines.problems import Problem


def build_problems(
    valid: list[tuple[Path, str]], environment_names: list[str], use_cache: bool = True
) -> list[Problem]:
    """What Airflow found building each ``(pipeline file, DAG id)`` in each environment; none when it
    accepted every DAG. The DAG file need not exist yet: only its name, the DAG id, is read. Without
    ``use_cache`` (``validate --no-cache``) the loader neither reads nor writes the cache either."""
    problems: list[Problem] = []
    # Each rejection is a problem in the report: the loader's log of it (a traceback, for the DAG
    # processor's log) and the libraries' deprecation warnings on import would only bury it.
    logging.disable(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from sagemaker_pipelines.airflow.loader import build_pipeline

            for path, dag_id in valid:
                for name in environment_names:
                    cache = CompileCache.default() if use_cache else CompileCache(None)
                    dag = build_pipeline(dags_dir() / f"{dag_id}.py", path, name, cache)
                    problems.extend(getattr(dag, "problems", ()))  # the stand-in of a rejected DAG
    finally:
        logging.disable(logging.NOTSET)
    return problems
