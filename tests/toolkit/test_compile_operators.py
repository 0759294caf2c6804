"""``make compile`` of ``kind: operator`` tasks: the plain Python file imports the allowed class and
builds the same DAG as the loader."""

from __future__ import annotations

import pytest

from sagemaker_pipelines.checker import check_file
from sagemaker_pipelines.format.environment import load_environment
from sagemaker_pipelines.paths import CHECKOUT_ROOT

from .test_compile import assert_same_dag, dag_bag

FEATURE = CHECKOUT_ROOT / "tests" / "airflow_stack" / "pipelines" / "features" / "operator_s3.yaml"


@pytest.mark.parametrize("environment", ["local", "aws"])
def test_operator_tasks_compile_to_the_same_dag(environment, tmp_path, run_cli):
    from sagemaker_pipelines.airflow.dag_builder import build_dag

    out = tmp_path / "out"
    status, _, err = run_cli("compile", FEATURE, "--out", out, "--env", environment, "--allow-local")
    assert status == 0, err
    env = load_environment(environment)
    result = check_file(FEATURE, env)
    assert_same_dag(build_dag(result.compiled, environment=env), dag_bag(out)["operator_s3"])
    source = (out / "operator_s3.py").read_text()
    assert "from airflow.providers.amazon.aws.operators.s3 import (" in source
    assert "write_note = S3CreateObjectOperator(" in source
