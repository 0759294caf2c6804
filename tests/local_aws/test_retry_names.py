"""Experiment and AutoML names of a retried task: each try asks the endpoint for a name of its own, and
what a later task reads as the experiment's name is the one the last try really created.

The names are rendered by Airflow's own template environment for try 1 and try 2 of one run, and the
requests go to the local endpoint (moto's CreateExperiment, the emulator's CreateAutoMLJob, which
refuses a name that exists, as SageMaker does). tests/local_run/test_retry_names.py retries for real.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from sagemaker_pipelines.checker import check_text
from sagemaker_pipelines.format.environment import load_environment
from sagemaker_pipelines.paths import CHECKOUT_ROOT
from tests.templating import run_context

RUN_AFTER = dt.datetime(2024, 1, 5, 6, 7, 8, tzinfo=dt.UTC)
PIPELINE = """\
start_date: 2024-01-01
tasks:
  exp: {kind: experiment, name: Iris-Knn}
  train:
    kind: training
    algorithm: knn
    hyperparameters: {k: 3, sample_size: 10, feature_dim: 4, predictor_type: classifier}
    inputs: {train: "s3://sagemaker-local/iris/train.csv"}
    config: {ExperimentConfig: {ExperimentName: "${tasks.exp.name}", TrialName: "daily"}}
  autopilot:
    kind: automl
    input: s3://sagemaker-local/iris/automl.csv
    target: species
"""


@pytest.fixture(scope="module")
def compiled():
    result = check_text(
        textwrap.dedent(PIPELINE),
        CHECKOUT_ROOT / "pipelines" / "a_rather_long_pipeline_name.yaml",
        load_environment("local"),
    )
    assert result.problems == [], [p.format() for p in result.problems]
    return result.compiled


def render(jinja, template: str, try_number: int, returned: dict | None = None) -> str:
    context = run_context(RUN_AFTER, try_number, xcom=returned or {})
    return jinja.from_string(template).render(**context)


def test_each_try_of_an_experiment_creates_its_own_and_jobs_join_the_last(compiled, jinja, sm):
    template = compiled.task("exp").kwargs["name"]
    first, second = render(jinja, template, 1), render(jinja, template, 2)
    assert (first, second) == ("Iris-Knn-20240105T060708-1", "Iris-Knn-20240105T060708-2")
    # (moto, unlike SageMaker, accepts an experiment name twice: that the names differ is what counts.)
    sm.create_experiment(ExperimentName=first)  # the first try got this far, then failed
    arn = sm.create_experiment(ExperimentName=second)["ExperimentArn"]  # the retry's own
    joined = compiled.task("train").kwargs["config"]["ExperimentConfig"]["ExperimentName"]
    name = render(jinja, joined, 1, returned={"exp": arn})
    assert name == second
    assert sm.describe_experiment(ExperimentName=name)["ExperimentName"] == second


def test_the_experiment_name_survives_an_arn_in_lower_case(compiled, jinja):
    """SageMaker writes ARNs in lower case: the name read back keeps its own case."""
    joined = compiled.task("train").kwargs["config"]["ExperimentConfig"]["ExperimentName"]
    arn = "arn:aws:sagemaker:us-east-2:123456789012:experiment/iris-knn-20240105t060708-12"
    assert render(jinja, joined, 1, returned={"exp": arn}) == "Iris-Knn-20240105T060708-12"


def test_each_try_of_an_automl_task_asks_for_a_name_of_its_own(compiled, jinja, sm):
    kwargs = compiled.task("autopilot").kwargs
    names = [render(jinja, kwargs["job_name"], attempt) for attempt in (1, 2, 100)]
    assert names[0] == "a-rather-lon-20240105T060708-1"
    assert all(len(n) <= 32 for n in names)  # SageMaker's limit for AutoML job names, at try 100 too
    request = {
        "AutoMLJobName": names[0],
        "InputDataConfig": [
            {
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": kwargs["s3_input"]}},
                "TargetAttributeName": "species",
            }
        ],
        "OutputDataConfig": {"S3OutputPath": kwargs["s3_output"]},
        "RoleArn": kwargs["role_arn"],
    }
    sm.create_auto_ml_job(**request)
    with pytest.raises(ClientError):
        sm.create_auto_ml_job(**request)  # a retry under the same name fails
    sm.create_auto_ml_job(**{**request, "AutoMLJobName": names[1]})
    assert sm.describe_auto_ml_job(AutoMLJobName=names[1])["AutoMLJobName"] == names[1]


def test_an_automl_job_a_sensor_watches_is_named_per_run(jinja):
    text = PIPELINE + "  watch:\n    kind: automl_sensor\n    job: autopilot\n"
    result = check_text(text, Path("pipelines/sensed.yaml"), load_environment("local"))
    assert result.problems == []
    job, sensor = result.compiled.task("autopilot"), result.compiled.task("watch")
    assert job.kwargs["job_name"] == sensor.kwargs["job_name"]
    assert render(jinja, job.kwargs["job_name"], 2) == "sensed-autopilot-20240105T060708"
