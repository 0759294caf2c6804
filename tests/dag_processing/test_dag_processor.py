"""Isolation as Airflow's real dag-processor delivers it, read from its metadata database.

``airflow dag-processor --num-runs 1`` parses the project's DAG folder (one generated file per pipeline,
each in its own parsing process) and writes what the scheduler and the UI use: the ``dag`` table
(``is_stale`` hides a DAG from ``/api/v2/dags`` and refuses triggers), ``import_error`` (the Broken DAG
banner, ``/api/v2/importErrors``) and ``dag_version``. A DagBag test cannot show this: the staleness and
the versions are decided by the dag-processor from its per-file results.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.projects import clean_env, make_project

AIRFLOW = Path(sys.executable).with_name("airflow")


def airflow_env(home: Path, project: Path) -> dict[str, str]:
    return clean_env(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(project / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="false",
        # Passes follow each other within seconds here; Airflow skips rewriting a DAG's serialized form
        # for 30 s after the last write by default.
        AIRFLOW__CORE__MIN_SERIALIZED_DAG_UPDATE_INTERVAL="0",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'airflow.db'}",
        SAGEMAKER_PIPELINES_ENV="local",
        SAGEMAKER_PIPELINES_CACHE_DIR=str(home / "compile-cache"),
        PATH=os.pathsep.join([str(AIRFLOW.parent), os.environ.get("PATH", "")]),
    )


def airflow(env: dict[str, str], *args: str, cwd: Path | None = None) -> None:
    done = subprocess.run(
        [str(AIRFLOW), *args], env=env, capture_output=True, text=True, timeout=300, cwd=cwd
    )
    assert done.returncode == 0, f"airflow {' '.join(args)}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"


def state(home: Path) -> tuple[dict[str, bool], dict[str, str], dict[str, str]]:
    """(dag_id -> active, DAG file -> import error, dag_id -> hash of its latest serialized version)."""
    with sqlite3.connect(home / "airflow.db") as db:
        active = {dag_id: not stale for dag_id, stale in db.execute("select dag_id, is_stale from dag")}
        errors = dict(db.execute("select filename, stacktrace from import_error"))
        hashes = dict(db.execute("select dag_id, dag_hash from serialized_dag order by last_updated"))
    return active, errors, hashes


@pytest.mark.timeout(600)
def test_a_broken_pipeline_affects_only_its_own_dag(tmp_path):
    project = make_project(tmp_path / "project")
    home = tmp_path / "airflow"
    env = airflow_env(home, project)
    airflow(env, "db", "migrate")
    shipped = {p.stem for p in (project / "pipelines").glob("*.yaml")}
    assert {"iris_deploy", "iris_training"} <= shipped

    airflow(env, "dag-processor", "--num-runs", "1")
    active, errors, first = state(home)
    assert active == dict.fromkeys(shipped, True) and errors == {}
    assert set(first) == shipped

    # One pipeline breaks (a YAML syntax error), another is edited, in the same parsing pass.
    deploy = project / "pipelines" / "iris_deploy.yaml"
    good_deploy = deploy.read_text()
    deploy.write_text(good_deploy.replace("catchup: false", "catchup: [false"))
    training = project / "pipelines" / "iris_training.yaml"
    training.write_text(training.read_text().replace("description: Train", "description: Retrain"))
    airflow(env, "dag-processor", "--num-runs", "1")
    active, errors, second = state(home)

    assert active == {**dict.fromkeys(shipped, True), "iris_deploy": False}  # only the broken one goes
    assert list(errors) == ["iris_deploy.py"]
    message = errors["iris_deploy.py"]
    line = next(n for n, text in enumerate(good_deploy.splitlines(), 1) if text.startswith("catchup"))
    assert message.startswith(f"PipelineInvalid: pipelines/iris_deploy.yaml:{line + 1}:"), message
    assert "YAML syntax error" in message and "Traceback" not in message
    # Editing one pipeline changes that DAG's version alone (Airflow numbers a new version only once
    # the previous one has runs; without runs it updates the version in place).
    assert {d for d in shipped if second[d] != first[d]} == {"iris_training"}

    deploy.write_text(good_deploy)
    airflow(env, "dag-processor", "--num-runs", "1")
    active, errors, third = state(home)
    assert active == dict.fromkeys(shipped, True) and errors == {}  # fixing the file brings it back
    assert third == second
