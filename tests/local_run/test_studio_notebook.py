"""A studio_notebook task under `make run`: the provider's SageMakerNotebookOperator and its sagemaker_studio
SDK, unchanged, against the local endpoint - DataZone's project lookup, the SSM public parameter of the
SageMaker Distribution image, the training job that really executes the notebook's cells.

The project is a temporary one: its pipeline and its notebook (``include/iris_report.ipynb``, which the
task names as ``src/iris_report.ipynb`` of the Git project) are written here.

A studio_notebook_sensor task takes a literal execution id, so its tests first start an execution on the
endpoint as the provider's hook does (the SDK's RemoteExecutionClient, with the variables `make run`
sets), then run a pipeline whose sensor names that id.
"""

from __future__ import annotations

import io
import json
import tarfile
import textwrap
from pathlib import Path
from types import SimpleNamespace

import boto3
import pytest

from sagemaker_pipelines.local.aws.jobs.datazone import project_s3_path
from sagemaker_pipelines.local.provision import ensure_bucket
from sagemaker_pipelines.local.studio import (
    LOCAL_DOMAIN,
    LOCAL_PROJECT,
    PROJECT_FILES,
    register_tooling,
    sdk_settings,
)
from tests.projects import run_folders

from .conftest import REGION

BUCKET = "sagemaker-local"  # environments/local.yaml
ROLE = "arn:aws:iam::123456789012:role/sagemaker-local"  # environments/local.yaml

NOTEBOOK = {
    "nbformat": 4,
    "nbformat_minor": 5,
    "metadata": {"kernelspec": {"name": "python3"}},
    "cells": [
        {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": ["min_accuracy = 0.5\n"]},
        {
            "cell_type": "code",
            "metadata": {},
            "source": [
                "from sklearn.datasets import load_iris\n",
                "from sklearn.model_selection import cross_val_score\n",
                "from sklearn.neighbors import KNeighborsClassifier\n",
                "X, y = load_iris(return_X_y=True)\n",
                "accuracy = cross_val_score(KNeighborsClassifier(n_neighbors=3), X, y, cv=5).mean()\n",
                "print(f'accuracy={accuracy:.3f} min={min_accuracy}')\n",
            ],
        },
        {
            "cell_type": "code",
            "metadata": {},
            "source": ["assert accuracy >= min_accuracy, 'below the bar'\n"],
        },
    ],
}

STEPS = textwrap.dedent(
    """
    from pathlib import Path


    def record(s3_path, marker):
        Path(marker).write_text(s3_path)
    """
)

PIPELINE = """\
start_date: 2024-01-01
schedule: null
default_args: {{retries: 0}}
params:
  min_accuracy: {{type: number, default: 0.5}}
tasks:
  iris_report:
    kind: studio_notebook
    notebook: src/iris_report.ipynb
    parameters: {{min_accuracy: "${{params.min_accuracy}}"}}
    max_runtime: 10m
  record:
    kind: python
    callable: include/steps.py:record
    arguments: {{s3_path: "${{tasks.iris_report.s3_path}}", marker: "{marker}"}}
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("studio-project")
    marker = root / "s3_path.txt"
    included = {"iris_report.ipynb": json.dumps(NOTEBOOK), "steps.py": STEPS}
    return run_folders(root, {"studio_case.yaml": PIPELINE.format(marker=marker)}, included), marker


def _executed_notebook(s3, uri: str) -> dict:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    with tarfile.open(fileobj=io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read())) as archive:
        member = next(m for m in archive.getmembers() if m.name.endswith(".ipynb"))
        return json.load(archive.extractfile(member))


def test_the_notebook_runs_and_its_output_lands_in_s3(run_pipeline, project, s3):
    env, marker = project
    result = run_pipeline("studio_case", extra_env=env, conf={"min_accuracy": 0.9})
    assert result.report["state"] == "success", result.output[-4000:]
    assert result.task("iris_report")["state"] == "success"
    s3_path = marker.read_text()  # what the hook pushed, read by the next task through its reference
    assert s3_path.startswith(f"{project_s3_path(BUCKET, LOCAL_DOMAIN, LOCAL_PROJECT)}/workflows/output/")
    notebook = _executed_notebook(s3, s3_path)
    printed = "".join(o.get("text", "") for c in notebook["cells"] for o in c.get("outputs", []))
    assert "min=0.9" in printed  # the run's parameter reached the notebook
    assert float(printed.split("accuracy=")[1].split()[0]) >= 0.9


def test_a_failing_cell_fails_the_task(run_pipeline, project):
    env, _ = project
    result = run_pipeline("studio_case", extra_env=env, conf={"min_accuracy": 1.01})
    assert result.report["state"] == "failed" and result.returncode == 1
    assert result.task("iris_report")["state"] == "failed"
    assert result.task("record")["state"] == "upstream_failed"
    assert "AssertionError: below the bar" in result.output


# The notebook a sensor watches: the iris report, which first waits until the file ``release`` names
# exists (when one is named), so the execution is still running when the sensor's first poke comes,
# however long the run takes to get there: the test creates the file once the sensor said so.
WATCHED = {
    **NOTEBOOK,
    "cells": [
        {
            "cell_type": "code",
            "metadata": {"tags": ["parameters"]},
            "source": ["min_accuracy = 0.5\n", 'release = ""\n'],
        },
        {
            "cell_type": "code",
            "metadata": {},
            "source": [
                "import os, time\n",
                "deadline = time.monotonic() + 600\n",
                "while release and not os.path.exists(release) and time.monotonic() < deadline:\n",
                "    time.sleep(0.2)\n",
            ],
        },
        *NOTEBOOK["cells"][1:],
    ],
}

SENSOR_PIPELINE = """\
start_date: 2024-01-01
schedule: null
default_args: {{retries: 0}}
tasks:
  watch_report:
    kind: studio_notebook_sensor
    execution_id: {execution_id}
    poke_interval: 1
    timeout: 10m
  after:
    kind: python
    callable: include/steps.py:record
    arguments: {{s3_path: watched, marker: "{marker}"}}
    depends_on: [watch_report]
"""


@pytest.fixture
def start_execution(local_aws, s3, monkeypatch):
    """Start an execution of the watched notebook on the endpoint, as the provider's hook does (the SDK's
    own client, DataZone's project lookup included); returns its id without waiting for it."""
    from sagemaker_studio import ClientConfig
    from sagemaker_studio.sagemaker_studio_api import SageMakerStudioAPI

    environment = SimpleNamespace(region=REGION, role_arn=ROLE, bucket=BUCKET)
    kwargs = local_aws.client_kwargs(REGION)
    for name, value in sdk_settings(environment, local_aws).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", kwargs["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", kwargs["aws_secret_access_key"])
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("ProjectS3Path", raising=False)
    ensure_bucket(s3, BUCKET, REGION)
    register_tooling(environment, local_aws)
    root = project_s3_path(BUCKET, LOCAL_DOMAIN, LOCAL_PROJECT).removeprefix(f"s3://{BUCKET}/")
    s3.put_object(Bucket=BUCKET, Key=f"{root}/{PROJECT_FILES}/watched.ipynb", Body=json.dumps(WATCHED))
    config = ClientConfig()
    config.overrides["execution"] = {"local": False}
    client = SageMakerStudioAPI(config).execution_client

    def start(name: str, parameters: dict[str, str]) -> str:
        started = client.start_execution(
            execution_name=name,
            execution_type="NOTEBOOK",
            input_config={
                "notebook_config": {"input_path": "src/watched.ipynb", "input_parameters": parameters}
            },
            output_config={"notebook_config": {"output_formats": ["NOTEBOOK"]}},
            termination_condition={"max_runtime_in_seconds": 600},
        )
        return started["execution_id"]

    return start


def marker_dir(project) -> Path:
    """A folder of the test's own that the run and the emulator's notebook process both see."""
    return project[1].parent


def _sensor_pipeline(project, name: str, execution_id: str) -> tuple[dict, Path]:
    env, marker = project
    marker = marker.with_name(f"{name}.txt")
    (Path(env["SAGEMAKER_PIPELINES_DIR"]) / f"{name}.yaml").write_text(
        SENSOR_PIPELINE.format(execution_id=execution_id, marker=marker)
    )
    return env, marker


def test_the_sensor_waits_for_a_running_execution_and_succeeds_when_it_completes(
    run_pipeline, project, start_execution, local_aws
):
    release = marker_dir(project) / "release_watched_ok"
    execution_id = start_execution("watched_ok", {"min_accuracy": "0.9", "release": str(release)})
    env, marker = _sensor_pipeline(project, "studio_sensor_ok", execution_id)
    waiting = f"Execution {execution_id} is IN_PROGRESS: poking again"

    def release_once_the_sensor_waited(line: str) -> None:
        if waiting in line:
            release.touch()

    result = run_pipeline("studio_sensor_ok", extra_env=env, on_line=release_once_the_sensor_waited)
    assert result.report["state"] == "success", result.output[-4000:]
    assert result.task("watch_report")["state"] == "success"
    assert marker.read_text() == "watched"  # the downstream task ran after the sensor
    sagemaker = boto3.client("sagemaker", **local_aws.client_kwargs(REGION))
    job = sagemaker.describe_training_job(TrainingJobName=execution_id)  # the execution is this job
    assert job["TrainingJobStatus"] == "Completed"
    assert waiting in result.output and release.exists()  # it really waited


def test_the_sensor_fails_on_an_execution_whose_notebook_fails(run_pipeline, project, start_execution):
    execution_id = start_execution("watched_bad", {"min_accuracy": "1.01"})
    env, marker = _sensor_pipeline(project, "studio_sensor_bad", execution_id)
    result = run_pipeline("studio_sensor_bad", extra_env=env)
    assert result.report["state"] == "failed" and result.returncode == 1
    assert result.task("watch_report")["state"] == "failed"
    assert result.task("after")["state"] == "upstream_failed" and not marker.exists()
    assert f"Exiting Execution {execution_id} State: FAILED" in result.output
    assert "AssertionError: below the bar" in result.output  # the failing cell's error, in the task's log
