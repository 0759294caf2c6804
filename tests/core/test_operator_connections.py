"""``kind: operator`` tasks name only the connections their environment allows, and in the local
environment every connection a task uses must be on this machine when it runs.

The checks run on real pipelines through ``check_text``; the guard is the object the DAG builder
attaches as ``pre_execute``, called with real Airflow connections (environment-variable connections).
"""

from __future__ import annotations

import dataclasses
import json
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from sagemaker_pipelines.airflow.dag_builder import build_dag
from sagemaker_pipelines.checker import check_text
from sagemaker_pipelines.compile.allowed_operators import OperatorNotAllowed
from sagemaker_pipelines.compile.connections import allowed_connections

CREATE = "airflow.providers.amazon.aws.operators.s3.S3CreateObjectOperator"


def _pipeline(operator: str, arguments: str) -> str:
    return textwrap.dedent(
        f"""\
        start_date: 2024-01-01
        tasks:
          op:
            kind: operator
            operator: {operator}
            arguments: {arguments}
        """
    )


def _check(text: str, environment):
    return check_text(text, Path("pipelines/ops.yaml"), environment)


def test_the_environment_s_own_connections_are_allowed_without_a_list(local_env, aws_env):
    assert allowed_connections(local_env) == ("aws_local", "warehouse_local")
    assert allowed_connections(aws_env) == ("aws-sagemaker", "redshift_default")
    listed = dataclasses.replace(aws_env, allowed_connections=("aws_reports",))
    assert allowed_connections(listed) == ("aws-sagemaker", "aws_reports", "redshift_default")


def test_an_unlisted_connection_is_refused_at_its_value_with_what_is_allowed(local_env):
    result = _check(_pipeline(CREATE, "{s3_key: a, data: b, aws_conn_id: aws_prod}"), local_env)
    [problem] = result.problems
    assert (problem.line, problem.column, problem.field) == (6, 50, "tasks.op.arguments.aws_conn_id")
    assert "connection 'aws_prod' is not allowed in environment 'local'" in problem.message
    assert "environments/local.yaml (allowed_connections)" in problem.message
    assert problem.hint == "allowed: aws_local, warehouse_local"
    assert problem.code == "operator"


def test_a_listed_connection_is_accepted_and_reaches_the_task(local_env):
    listed = dataclasses.replace(local_env, allowed_connections=("aws_reports",))
    result = _check(_pipeline(CREATE, "{s3_key: a, data: b, aws_conn_id: aws_reports}"), listed)
    assert result.problems == []
    assert result.compiled.task("op").kwargs["aws_conn_id"] == "aws_reports"


def test_a_run_time_connection_id_is_refused(local_env):
    arguments = '{s3_key: a, data: b, aws_conn_id: "{{ params.conn }}"}'
    [problem] = _check(_pipeline(CREATE, arguments), local_env).problems
    assert problem.field == "tasks.op.arguments.aws_conn_id"
    assert "must name a connection literally" in problem.message


@pytest.fixture
def http_operator(tmp_path, monkeypatch):
    """An operator class whose default connection (``http_default``) no environment lists."""
    name = f"conn_probe_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(
        "from airflow.sdk import BaseOperator\n\n"
        "class Probe(BaseOperator):\n"
        "    def __init__(self, *, http_conn_id='http_default', **kwargs):\n"
        "        super().__init__(**kwargs)\n"
        "        self.http_conn_id = http_conn_id\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield f"{name}.Probe"
    sys.modules.pop(name, None)


def test_a_class_s_default_connection_counts_as_a_use(local_env, http_operator):
    environment = dataclasses.replace(local_env, allowed_operators=(http_operator,))
    [problem] = _check(_pipeline(http_operator, "{}"), environment).problems
    assert (problem.line, problem.field) == (3, "tasks.op")
    assert "would use its default connection 'http_default' (http_conn_id)" in problem.message
    assert problem.hint == "set http_conn_id to one of: aws_local, warehouse_local"
    allowed = dataclasses.replace(environment, allowed_connections=("http_default",))
    assert _check(_pipeline(http_operator, "{}"), allowed).problems == []


def test_the_builder_checks_the_connections_again_for_cached_compiled_data(local_env):
    listed = dataclasses.replace(local_env, allowed_connections=("aws_reports",))
    result = _check(_pipeline(CREATE, "{s3_key: a, data: b, aws_conn_id: aws_reports}"), listed)
    build_dag(result.compiled, environment=listed)
    with pytest.raises(
        OperatorNotAllowed, match=r"connection 'aws_reports' \(aws_conn_id\) is not in the allowed"
    ):
        build_dag(result.compiled, environment=local_env)


def _aws(endpoint: str | None) -> str:
    extra = {"region_name": "us-east-2", **({"endpoint_url": endpoint} if endpoint else {})}
    return json.dumps({"conn_type": "aws", "login": "testing", "password": "testing", "extra": extra})


def _guard(environment, arguments: str):
    result = _check(_pipeline(CREATE, arguments), environment)
    assert result.problems == []
    return build_dag(result.compiled, environment=environment).get_task("op")._pre_execute_hook


def test_the_local_guard_checks_an_operator_s_own_connection(local_env, monkeypatch):
    """The guard used to check only the environment's AWS connection, so an operator's other
    connection sent its requests wherever that connection pointed."""
    from airflow.sdk.exceptions import AirflowFailException

    listed = dataclasses.replace(local_env, allowed_connections=("aws_reports",))
    guard = _guard(listed, "{s3_key: a, data: b, aws_conn_id: aws_reports}")
    monkeypatch.setenv("AIRFLOW_CONN_AWS_LOCAL", _aws("http://127.0.0.1:4566"))
    monkeypatch.setenv("AIRFLOW_CONN_AWS_REPORTS", _aws(None))
    with pytest.raises(AirflowFailException, match="connection 'aws_reports' has no endpoint_url"):
        guard({})
    monkeypatch.setenv("AIRFLOW_CONN_AWS_REPORTS", _aws("http://127.0.0.1:4566"))
    guard({})


def test_the_local_guard_checks_a_warehouse_connection_s_host(check, monkeypatch):
    from airflow.sdk.exceptions import AirflowFailException

    text = textwrap.dedent(
        """\
        start_date: 2024-01-01
        tasks:
          load:
            kind: warehouse_load
            from: s3://sagemaker-local/results/part.csv
            table: results
            columns: [prediction]
        """
    )
    result = check(text)
    assert result.problems == [], result.problems
    guard = build_dag(result.compiled).get_task("load")._pre_execute_hook
    monkeypatch.setenv("AIRFLOW_CONN_AWS_LOCAL", _aws("http://127.0.0.1:4566"))
    monkeypatch.setenv(
        "AIRFLOW_CONN_WAREHOUSE_LOCAL", json.dumps({"conn_type": "sqlite", "host": "/tmp/w.db"})
    )
    guard({})
    monkeypatch.setenv(
        "AIRFLOW_CONN_WAREHOUSE_LOCAL", json.dumps({"conn_type": "postgres", "host": "db.example.com"})
    )
    with pytest.raises(
        AirflowFailException, match=r"connection 'warehouse_local' \(postgres\) has host db\.example"
    ):
        guard({})
    monkeypatch.setenv(
        "AIRFLOW_CONN_WAREHOUSE_LOCAL", json.dumps({"conn_type": "postgres", "host": "127.0.0.1"})
    )
    guard({})
