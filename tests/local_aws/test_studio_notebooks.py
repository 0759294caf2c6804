"""Unified Studio notebook executions on the local endpoint, started and watched by the sagemaker_studio
SDK's own RemoteExecutionClient (what the provider's SageMakerNotebookOperator calls), over HTTP.

The SDK's SageMaker, EC2 and S3 requests go to the endpoint, which runs the notebook's cells for real.
Only DataZone is not emulated (docs/lifecycle.md): where the SDK asks DataZone for the project's tooling
environment, ``ProjectEnvironment`` answers with the environment summary DataZone would give (its
region, account, user role and S3 path), and nothing else of the SDK is replaced.
"""

from __future__ import annotations

import io
import json
import tarfile
import time
from typing import Any

import pytest

from .conftest import BUCKET, REGION, ROLE, put

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/sagemaker-distribution-prod:3-cpu"
NOTEBOOK = {
    "nbformat": 4,
    "nbformat_minor": 5,
    "metadata": {"kernelspec": {"name": "python3"}},
    "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Iris report\n"]},
        {
            "cell_type": "code",
            "metadata": {"tags": ["parameters"]},
            "source": ["min_accuracy = 0.5\n", "k = 1\n"],
        },
        {
            "cell_type": "code",
            "metadata": {},
            "source": [
                "%matplotlib inline\n",
                "from sklearn.datasets import load_iris\n",
                "from sklearn.model_selection import cross_val_score\n",
                "from sklearn.neighbors import KNeighborsClassifier\n",
                "X, y = load_iris(return_X_y=True)\n",
                "accuracy = cross_val_score(KNeighborsClassifier(n_neighbors=k), X, y, cv=5).mean()\n",
                "print(f'k={k} accuracy={accuracy:.3f}')\n",
            ],
        },
        {
            "cell_type": "code",
            "metadata": {},
            "source": ["assert accuracy >= min_accuracy, 'below the bar'\n"],
        },
    ],
}


class ProjectEnvironment:
    """The project's tooling environment, as DataZone's ListEnvironments describes it (not emulated)."""

    def __init__(self, project_s3_path: str) -> None:
        self.summary = {
            "id": "env-local",
            "awsAccountId": "123456789012",
            "awsAccountRegion": REGION,
            "deploymentOrder": 0,
            "provisionedResources": [
                {"name": "userRoleArn", "value": ROLE},
                {"name": "s3BucketPath", "value": project_s3_path},
            ],
        }

    def get_project_default_environment(self, domain_identifier: str, project_identifier: str) -> dict:
        return self.summary

    def get_project_sagemaker_environment(self, domain_identifier: str, project_identifier: str) -> dict:
        return self.summary


@pytest.fixture
def execution_client(local_aws, s3, monkeypatch):
    """The SDK's client, its default boto3 session pointed at the endpoint (as `make run` points it)."""
    from sagemaker_studio.execution.remote_execution_client import RemoteExecutionClient
    from sagemaker_studio.models.execution import ExecutionConfig

    kwargs = local_aws.client_kwargs(REGION)
    monkeypatch.setenv("AWS_ENDPOINT_URL", kwargs["endpoint_url"])
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", kwargs["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", kwargs["aws_secret_access_key"])
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    project = f"s3://{BUCKET}/project/dev"  # an S3 project: its shared files are under .../shared
    monkeypatch.setenv("ProjectS3Path", project)
    put(s3, "project/shared/iris_report.ipynb", json.dumps(NOTEBOOK).encode())
    config = ExecutionConfig(domain_identifier="dzd_local", project_identifier="project1")
    config.project_s3_path = project
    config.datazone_endpoint = kwargs["endpoint_url"]  # what SageMakerStudioAPI reads from DataZoneEndpoint
    config.datazone_domain_region = REGION
    return RemoteExecutionClient(None, ProjectEnvironment(project), config)


def _start_and_wait(client: Any, name: str, parameters: dict[str, str]) -> tuple[dict, dict]:
    started = client.start_execution(
        execution_name=name,
        execution_type="NOTEBOOK",
        input_config={
            "notebook_config": {"input_path": "shared/iris_report.ipynb", "input_parameters": parameters}
        },
        output_config={"notebook_config": {"output_formats": ["NOTEBOOK"]}},
        compute={"instance_type": "ml.m5.xlarge", "image_details": {"ecr_uri": IMAGE}},
        termination_condition={"max_runtime_in_seconds": 600},
        tags={"team": "ml"},
    )
    for _ in range(240):
        execution = client.get_execution(started["execution_id"])
        if execution["status"] in ("COMPLETED", "FAILED", "STOPPED"):
            return started, execution
        time.sleep(0.5)
    raise AssertionError(f"the execution did not end: {execution}")


def _executed_notebook(s3: Any, uri: str) -> dict:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as archive:
        member = next(m for m in archive.getmembers() if m.name.endswith(".ipynb"))
        return json.load(archive.extractfile(member))


def test_the_notebook_really_runs_with_its_parameters(execution_client, s3, sm):
    started, execution = _start_and_wait(execution_client, "iris_report", {"min_accuracy": "0.9", "k": "3"})
    assert execution["status"] == "COMPLETED", execution.get("error_details")
    assert started["execution_id"].startswith("iris-report-")  # the SDK's name: task id + a uuid
    assert {"Key": "team", "Value": "ml"} in execution["tags"]
    notebook = _executed_notebook(s3, execution["s3_path"])
    injected = [c for c in notebook["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    assert injected and "".join(injected[0]["source"]) == "min_accuracy = 0.9\nk = 3\n"  # typed as papermill
    printed = [
        o["text"] for c in notebook["cells"] for o in c.get("outputs", []) if o.get("name") == "stdout"
    ]
    accuracy = float(next(t for t in printed if "accuracy=" in t).split("accuracy=")[1])
    assert accuracy >= 0.9
    assert execution["s3_path"].startswith(f"s3://{BUCKET}/project/dev/workflows/output/")
    job = sm.describe_training_job(TrainingJobName=started["execution_id"])
    assert job["AlgorithmSpecification"]["ContainerEntrypoint"] == ["amazon_sagemaker_scheduler"]


def test_a_failing_cell_fails_the_execution_with_its_error(execution_client, s3):
    _, execution = _start_and_wait(execution_client, "iris_strict", {"min_accuracy": "1.01"})
    assert execution["status"] == "FAILED"
    message = execution["error_details"]["error_message"]
    assert "AssertionError: below the bar" in message
