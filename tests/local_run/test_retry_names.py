"""Retried tasks do not collide with what their previous try created: a real run on the local endpoint
whose AutoML task is cut off by its execution_timeout after its job exists, and retried.

The first try creates its AutoML job, then Airflow kills the task while it waits (its first check is
due long after its timeout: 15 s leaves a loaded machine time to create the job); the retry creates a
job of its own (a name ending in the try number) instead of failing on ResourceInUse for the first's.
An experiment's name carries the try too, and what later tasks read as its name is the one created.
"""

from __future__ import annotations

import re
import shutil

import pytest
from botocore.exceptions import ClientError

from sagemaker_pipelines.paths import CHECKOUT_ROOT

PIPELINE = """\
start_date: 2024-01-01
schedule: null
tasks:
  autopilot:
    kind: automl
    name: retried
    input: s3://sagemaker-local/retry/data/iris.csv
    target: species
    max_candidates: 1
    check_interval: 10m
    execution_timeout: 15s
    retries: 1
    retry_delay: 1s
"""


def run_stamp(output: str) -> str:
    """The run's ``run_after | ts_nodash`` (a manual run's run_after is when it was made: its run id)."""
    found = re.search(r"run_id=manual__(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)", output)
    assert found, output[-4000:]
    return "{}{}{}T{}{}{}".format(*found.groups())


@pytest.fixture(scope="module")
def retried_run(run_pipeline, tmp_path_factory):
    folder = tmp_path_factory.mktemp("retry")
    shutil.copytree(CHECKOUT_ROOT / "include", folder / "include")
    (folder / "pipelines").mkdir()
    (folder / "pipelines" / "retry_names.yaml").write_text(PIPELINE)
    env = {
        "SAGEMAKER_PIPELINES_DIR": str(folder / "pipelines"),
        "SAGEMAKER_INCLUDE_DIR": str(folder / "include"),
    }
    return run_pipeline("retry_names", extra_env=env)


def test_each_try_created_its_own_automl_job(retried_run, sagemaker):
    assert retried_run.returncode != 0  # both tries were cut off: the run fails, as it should
    stamp = run_stamp(retried_run.output)
    for attempt in (1, 2):
        name = f"retried-{stamp}-{attempt}"
        assert len(name) <= 32  # SageMaker's limit for AutoML job names
        described = sagemaker.describe_auto_ml_job(AutoMLJobName=name)
        assert described["AutoMLJobName"] == name
    assert "ResourceInUse" not in retried_run.output
    assert retried_run.output.count("AirflowTaskTimeout") >= 2, retried_run.output[-4000:]


def test_a_third_name_was_never_asked_for(retried_run, sagemaker):
    with pytest.raises(ClientError):
        sagemaker.describe_auto_ml_job(AutoMLJobName=f"retried-{run_stamp(retried_run.output)}-3")
