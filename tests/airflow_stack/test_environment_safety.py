"""A deployment never runs the local environment by accident, and never an environment it lacks.

The guard is what Airflow runs before each task (``pre_execute``), so it is tested the same way: the
guard object the DAG builder attached, called with real Airflow connections (environment-variable
connections, as deployments define them), and a real ``dag.test()`` run whose AWS connection points
at AWS itself. The unknown environment is a real DagBag parse of the DAG folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from sagemaker_pipelines.paths import CHECKOUT_ROOT, SOURCE_DIR, dags_dir

AWS_ITSELF = "https://sagemaker.us-east-2.amazonaws.com"


def _connection(endpoint_url: str | None) -> str:
    extra = {"region_name": "us-east-2", **({"endpoint_url": endpoint_url} if endpoint_url else {})}
    return json.dumps({"conn_type": "aws", "login": "testing", "password": "testing", "extra": extra})


@pytest.fixture
def guard():
    """The guard of a task of the local environment, as the loader builds it."""
    from sagemaker_pipelines.airflow.dag_builder import build_dag
    from sagemaker_pipelines.checker import check_file
    from sagemaker_pipelines.format.environment import load_environment

    result = check_file(CHECKOUT_ROOT / "pipelines" / "iris_training.yaml", load_environment("local"))
    dag = build_dag(result.compiled)
    hooks = {task.task_id: task._pre_execute_hook for task in dag.tasks}
    loopback = hooks["data_prep"]  # a Python task: the loopback guard alone
    # SageMaker tasks check their request against the guardrails after it (airflow.tasks.Guardrail)
    assert all(h == loopback or getattr(h, "then", None) == loopback for h in hooks.values()), hooks
    return hooks["train_model"]


@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:4566", "http://localhost:5000", "http://[::1]:9000"])
def test_a_loopback_endpoint_passes(guard, monkeypatch, endpoint):
    monkeypatch.setenv("AIRFLOW_CONN_AWS_LOCAL", _connection(endpoint))
    guard({})


@pytest.mark.parametrize(
    ("endpoint", "said"),
    [
        (AWS_ITSELF, f"points at {AWS_ITSELF}"),
        ("http://10.0.0.5:4566", "points at http://10.0.0.5:4566"),
        ("http://127.0.0.1.example.com", "points at http://127.0.0.1.example.com"),
        (None, "has no endpoint_url"),
    ],
)
def test_anything_else_is_refused_with_how_to_choose_the_environment(guard, monkeypatch, endpoint, said):
    from airflow.sdk.exceptions import AirflowFailException

    monkeypatch.setenv("AIRFLOW_CONN_AWS_LOCAL", _connection(endpoint))
    with pytest.raises(AirflowFailException) as caught:
        guard({})
    message = str(caught.value)
    assert said in message and "connection 'aws_local'" in message
    assert "SAGEMAKER_PIPELINES_ENV" in message and "sagemaker_pipelines_env" in message


def test_a_missing_connection_is_refused(guard, monkeypatch):
    from airflow.sdk.exceptions import AirflowFailException

    monkeypatch.delenv("AIRFLOW_CONN_AWS_LOCAL", raising=False)
    with pytest.raises(AirflowFailException, match="there is no connection 'aws_local'"):
        guard({})


PROBE = textwrap.dedent(
    """
    import json, sys
    from airflow.utils.db import initdb
    from airflow.dag_processing.dagbag import DagBag

    initdb()
    bag = DagBag(dag_folder=sys.argv[1])
    if sys.argv[2] == "run":
        run = bag.dags["iris_training"].test()
        states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
        print(json.dumps({"state": str(run.state), "tasks": states}))
    else:
        print(json.dumps({"errors": list(bag.import_errors.values()), "dags": sorted(bag.dags)}))
    """
)


def _probe(tmp_path, mode: str, **env: str) -> tuple[dict, str]:
    home = tmp_path / "airflow"
    variables = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "SAGEMAKER_"))},
        "PYTHONPATH": os.pathsep.join([str(SOURCE_DIR), str(CHECKOUT_ROOT)]),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "false",
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_dir()),
        "SAGEMAKER_PIPELINES_CACHE_DIR": str(tmp_path / "cache"),
        **env,
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(dags_dir()), mode],
        env=variables,
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert done.returncode == 0 and lines, done.stderr[-3000:]
    return json.loads(lines[-1]), done.stdout + done.stderr


def test_a_local_dag_run_against_aws_itself_fails_before_any_request(tmp_path):
    """What a production Airflow that forgot to choose its environment would do: every task refuses."""
    result, output = _probe(
        tmp_path,
        "run",
        SAGEMAKER_PIPELINES_ENV="local",
        AIRFLOW_CONN_AWS_LOCAL=_connection(AWS_ITSELF),
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    assert result["state"] == "failed"
    assert result["tasks"]["data_prep"] == "failed", result
    assert {result["tasks"][t] for t in ("train_model", "create_model", "test_model")} == {"upstream_failed"}
    assert f"connection 'aws_local' points at {AWS_ITSELF}" in output
    assert "choose this deployment's environment with the SAGEMAKER_PIPELINES_ENV" in output
    # Refused before the task's code ran: nothing tried to reach the endpoint.
    assert "EndpointConnectionError" not in output and "Could not connect" not in output


def test_an_unknown_environment_is_an_import_error_that_names_it(tmp_path):
    result, _ = _probe(tmp_path, "parse", SAGEMAKER_PIPELINES_ENV="production")
    assert result["errors"], result
    text = "\n".join(result["errors"])
    assert "no environment 'production' (known: aws, local)" in text
    assert "SAGEMAKER_PIPELINES_ENV" in text
