"""Unified Studio notebook executions on the local endpoint, started and watched by the sagemaker_studio
SDK's own RemoteExecutionClient (what the provider's SageMakerNotebookOperator calls), over HTTP.

The SDK's SageMaker, EC2 and S3 requests go to the endpoint, which runs the notebook's cells for real.
DataZone's answers (the project's tooling environment: region, account, user role, S3 path) come from
the endpoint's own DataZone routes, as `make run` registers them; nothing of the SDK is replaced.
"""

from __future__ import annotations

import io
import json
import tarfile
import time
from types import SimpleNamespace
from typing import Any

import pytest

from sagemaker_pipelines.local.aws.jobs.datazone import project_s3_path
from sagemaker_pipelines.local.studio import (
    LOCAL_DOMAIN,
    LOCAL_PROJECT,
    PROJECT_FILES,
    prepare_projects,
    register_tooling,
    sdk_settings,
)

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


@pytest.fixture
def execution_client(local_aws, s3, monkeypatch):
    """The SDK's client as the provider's hook builds it, with the variables `make run` sets: every
    request, DataZone's lookup of the project's tooling environment included, goes to the endpoint."""
    from sagemaker_studio import ClientConfig
    from sagemaker_studio.sagemaker_studio_api import SageMakerStudioAPI

    kwargs = local_aws.client_kwargs(REGION)
    environment = SimpleNamespace(region=REGION, role_arn=ROLE, bucket=BUCKET)
    for name, value in sdk_settings(environment, local_aws).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", kwargs["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", kwargs["aws_secret_access_key"])
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("ProjectS3Path", raising=False)  # the S3 path must come from DataZone
    register_tooling(environment, local_aws)
    key = f"{project_s3_path(BUCKET, LOCAL_DOMAIN, LOCAL_PROJECT).split('/', 3)[3]}/{PROJECT_FILES}"
    put(s3, f"{key}/iris_report.ipynb", json.dumps(NOTEBOOK).encode())
    config = ClientConfig()
    config.overrides["execution"] = {"local": False}
    return SageMakerStudioAPI(config).execution_client


def _start_and_wait(
    client: Any, name: str, parameters: dict[str, str], image: dict | None = None
) -> tuple[dict, dict]:
    started = client.start_execution(
        execution_name=name,
        execution_type="NOTEBOOK",
        input_config={
            "notebook_config": {"input_path": "src/iris_report.ipynb", "input_parameters": parameters}
        },
        output_config={"notebook_config": {"output_formats": ["NOTEBOOK"]}},
        compute={"instance_type": "ml.m5.xlarge", "image_details": image or {"ecr_uri": IMAGE}},
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
    project = project_s3_path(BUCKET, LOCAL_DOMAIN, LOCAL_PROJECT)
    assert execution["s3_path"].startswith(f"{project}/workflows/output/")
    job = sm.describe_training_job(TrainingJobName=started["execution_id"])
    assert job["AlgorithmSpecification"]["ContainerEntrypoint"] == ["amazon_sagemaker_scheduler"]


def test_a_failing_cell_fails_the_execution_with_its_error(execution_client, s3):
    _, execution = _start_and_wait(execution_client, "iris_strict", {"min_accuracy": "1.01"})
    assert execution["status"] == "FAILED"
    message = execution["error_details"]["error_message"]
    assert "AssertionError: below the bar" in message


def test_the_distribution_image_by_version_comes_from_the_public_ssm_parameter(execution_client, sm):
    started, execution = _start_and_wait(execution_client, "iris_smd", {"k": "3"}, {"image_version": "3"})
    assert execution["status"] == "COMPLETED", execution.get("error_details")
    job = sm.describe_training_job(TrainingJobName=started["execution_id"])
    account = ROLE.split(":")[4]  # the seeded /aws/service/sagemaker-distribution/ecr-account-id
    expected = f"{account}.dkr.ecr.{REGION}.amazonaws.com/sagemaker-distribution-prod:3-cpu"
    assert job["AlgorithmSpecification"]["TrainingImage"] == expected


def test_datazone_answers_only_signed_requests_and_registered_regions(local_aws, execution_client):
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config
    from botocore.exceptions import ClientError

    kwargs = local_aws.client_kwargs("eu-west-1")  # no local project registered there
    datazone = boto3.client("datazone", **kwargs)
    with pytest.raises(ClientError) as missing:
        datazone.get_environment(domainIdentifier=LOCAL_DOMAIN, identifier=f"tooling-{LOCAL_PROJECT}")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert "no local Unified Studio project in eu-west-1" in str(missing.value)
    unsigned = boto3.client(
        "datazone",
        endpoint_url=kwargs["endpoint_url"],
        region_name=REGION,
        config=Config(signature_version=UNSIGNED),
    )
    with pytest.raises(ClientError) as refused:
        unsigned.get_environment(domainIdentifier=LOCAL_DOMAIN, identifier=f"tooling-{LOCAL_PROJECT}")
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    signed = boto3.client("datazone", **local_aws.client_kwargs(REGION))
    environment = signed.get_environment(domainIdentifier=LOCAL_DOMAIN, identifier=f"tooling-{LOCAL_PROJECT}")
    assert environment["awsAccountRegion"] == REGION and environment["projectId"] == LOCAL_PROJECT
    resources = {r["name"]: r["value"] for r in environment["provisionedResources"]}
    assert resources["userRoleArn"] == ROLE
    assert resources["s3BucketPath"] == project_s3_path(BUCKET, LOCAL_DOMAIN, LOCAL_PROJECT)


def _notebook_task(task_id: str, path: str, **ids: str) -> SimpleNamespace:
    kwargs = {"input_config": {"input_path": path, "input_params": {}}, **ids}
    return SimpleNamespace(task_id=task_id, kind="studio_notebook", kwargs=kwargs)


def test_the_local_set_up_uploads_each_notebook_from_include_to_where_the_sdk_reads_it(
    local_aws, s3, tmp_path, monkeypatch, capsys
):
    include = tmp_path / "include"
    (include / "reports").mkdir(parents=True)
    (include / "reports" / "weekly.ipynb").write_text(json.dumps(NOTEBOOK))
    (include / "escape.ipynb").symlink_to(tmp_path / "outside.ipynb")
    (tmp_path / "outside.ipynb").write_text("{}")
    monkeypatch.setenv("SAGEMAKER_INCLUDE_DIR", str(include))
    environment = SimpleNamespace(region=REGION, role_arn=ROLE, bucket=BUCKET)
    tasks = [
        _notebook_task("weekly", "src/reports/weekly.ipynb", domain_id="dzd_team", project_id="p1"),
        _notebook_task("missing", "src/none.ipynb"),
    ]
    uploaded = prepare_projects(environment, local_aws, s3, tasks)
    expected = f"{project_s3_path(BUCKET, 'dzd_team', 'p1')}/{PROJECT_FILES}/reports/weekly.ipynb"
    assert uploaded == [expected]
    key = expected.removeprefix(f"s3://{BUCKET}/")
    assert json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()) == NOTEBOOK
    assert "missing: notebook" in capsys.readouterr().err  # reported; its task fails when it runs
    with pytest.raises(ValueError, match="outside"):  # a link out of include/ is never uploaded
        prepare_projects(environment, local_aws, s3, [_notebook_task("escape", "src/escape.ipynb")])


def test_a_pipeline_with_only_a_sensor_registers_its_project_before_the_run(local_aws, s3):
    """A sensor's SDK client looks the project up in DataZone as the operator's does, so a pipeline whose
    only Unified Studio task is a sensor gets the tooling environment too (here in a region no one
    registered yet: before, DataZone knows no project there)."""
    import boto3
    from botocore.exceptions import ClientError

    region = "eu-west-3"
    datazone = boto3.client("datazone", **local_aws.client_kwargs(region))
    environment = SimpleNamespace(region=region, role_arn=ROLE, bucket=BUCKET)
    with pytest.raises(ClientError, match="no local Unified Studio project in eu-west-3"):
        datazone.list_environment_blueprints(domainIdentifier=LOCAL_DOMAIN)
    assert prepare_projects(environment, local_aws, s3, [SimpleNamespace(kind="python")]) == []
    with pytest.raises(ClientError):  # no Unified Studio task: nothing registered
        datazone.list_environment_blueprints(domainIdentifier=LOCAL_DOMAIN)
    sensor = SimpleNamespace(kind="studio_notebook_sensor", task_id="watch", kwargs={"execution_id": "x-1"})
    assert prepare_projects(environment, local_aws, s3, [sensor]) == []  # no notebook to upload
    found = datazone.list_environments(domainIdentifier=LOCAL_DOMAIN, projectIdentifier=LOCAL_PROJECT)
    assert found["items"][0]["id"] == f"tooling-{LOCAL_PROJECT}"
