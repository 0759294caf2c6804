"""Hostile names against Airflow's real dag-processor: no code runs from a pipeline's file name, and an
environment name from an Airflow Variable never leads the loader to another YAML file.

Before names were checked, ``sync`` wrote a file name into the generated DAG file unescaped, and the
dag-processor ran whatever expression the name held while parsing the folder.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.projects import clean_env, make_project

from .test_dag_processor import AIRFLOW, airflow, airflow_env, state

HOSTILE_FILE = 'x",pipeline=open("pwned","w").write("ran")and"x.yaml'


@pytest.mark.timeout(600)
def test_hostile_names_run_no_code_and_read_no_other_file_under_the_dag_processor(tmp_path):
    project = make_project(tmp_path / "project")
    shipped = {p.stem for p in (project / "pipelines").glob("*.yaml")}
    shutil.copy(project / "pipelines" / "iris_training.yaml", project / "pipelines" / HOSTILE_FILE)
    synced = subprocess.run(
        [str(AIRFLOW.with_name("python")), "-m", "sagemaker_pipelines.toolkit", "sync"],
        env=clean_env(SAGEMAKER_PIPELINES_ROOT=str(project)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert synced.returncode == 1 and "no DAG file is written" in synced.stdout + synced.stderr
    assert {p.stem for p in (project / "dags").glob("*.py")} == shipped

    home = tmp_path / "airflow"
    env = airflow_env(home, project)
    airflow(env, "db", "migrate")
    workdir = tmp_path / "cwd"  # where the name's expression would have written its file
    workdir.mkdir()
    airflow(env, "dag-processor", "--num-runs", "1", cwd=workdir)
    active, errors, _ = state(home)
    assert active == dict.fromkeys(shipped, True) and errors == {}
    assert not list(tmp_path.rglob("pwned")) and not list(Path.cwd().glob("pwned"))

    # An environment named by a path, through the Variable a deployment uses to choose one: a valid
    # environment file waits there, and must not be read.
    shutil.copy(project / "environments" / "local.yaml", project / "include" / "x.yaml")
    env.pop("SAGEMAKER_PIPELINES_ENV")
    airflow(env, "variables", "set", "sagemaker_pipelines_env", "../include/x")
    airflow(env, "dag-processor", "--num-runs", "1", cwd=workdir)
    active, errors, _ = state(home)
    assert active == dict.fromkeys(shipped, False)  # every DAG refused, none built from include/x.yaml
    assert sorted(errors) == sorted(f"{dag_id}.py" for dag_id in shipped)
    assert all("'../include/x' is not an environment name" in message for message in errors.values())
