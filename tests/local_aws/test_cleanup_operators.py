"""The clean-up and set-up operators against the local endpoint: each removes (or makes) what it names,
and running it again - the thing gone, or existing - succeeds, as a teardown after a retry must."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sagemaker_pipelines.airflow import cleanup

from .conftest import BUCKET, KNN_IMAGE, REGION, iris_split, put, wait_for

CONN_ID = "aws_cleanup_operators"
ROLE = "arn:aws:iam::123456789012:role/sagemaker-local"
IMAGE = KNN_IMAGE


@pytest.fixture(scope="module", autouse=True)
def aws_connection(local_aws: Any) -> Iterator[None]:
    mp = pytest.MonkeyPatch()
    connection = {
        "conn_type": "aws",
        "login": local_aws.access_key_id,
        "password": local_aws.secret_access_key,
        "extra": {"endpoint_url": local_aws.endpoint_url, "region_name": REGION},
    }
    mp.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(connection))
    yield
    mp.undo()


def run(operator_class: type, **kwargs: Any) -> Any:
    operator = operator_class(task_id="clean", aws_conn_id=CONN_ID, region_name=REGION, **kwargs)
    return operator.execute({})


def twice(operator_class: type, **kwargs: Any) -> None:
    """Run a clean-up, then again once its resource is gone: both succeed."""
    run(operator_class, **kwargs)
    run(operator_class, **kwargs)


def test_an_endpoint_and_its_config_are_deleted_and_deleting_them_again_succeeds(sm):
    sm.create_model(ModelName="cleanup-model", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE})
    variant = {"VariantName": "v", "ModelName": "cleanup-model", "InstanceType": "ml.m5.large"}
    sm.create_endpoint_config(
        EndpointConfigName="cleanup-config", ProductionVariants=[{**variant, "InitialInstanceCount": 1}]
    )
    sm.create_endpoint(EndpointName="cleanup-endpoint", EndpointConfigName="cleanup-config")
    twice(cleanup.SageMakerDeleteEndpointOperator, endpoint_name="cleanup-endpoint")
    twice(cleanup.SageMakerDeleteEndpointConfigOperator, endpoint_config_name="cleanup-config")
    assert "cleanup-endpoint" not in [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]]
    configs = sm.list_endpoint_configs()["EndpointConfigs"]
    assert "cleanup-config" not in [c["EndpointConfigName"] for c in configs]


def test_a_model_package_group_goes_with_its_versions(sm):
    sm.create_model_package_group(ModelPackageGroupName="cleanup-group")
    inference = {"Containers": [{"Image": IMAGE}], "SupportedContentTypes": ["text/csv"]}
    inference["SupportedResponseMIMETypes"] = ["text/csv"]
    arns = [
        sm.create_model_package(ModelPackageGroupName="cleanup-group", InferenceSpecification=inference)[
            "ModelPackageArn"
        ]
        for _ in range(2)
    ]
    run(cleanup.SageMakerDeleteModelPackageOperator, model_package_name=arns[0])
    twice(cleanup.SageMakerDeleteModelPackageOperator, model_package_name=arns[0])
    with pytest.raises(ClientError):  # a version is left: not "gone", so the task fails
        run(
            cleanup.SageMakerDeleteModelPackageGroupOperator,
            group_name="cleanup-group",
            delete_versions=False,
        )
    twice(cleanup.SageMakerDeleteModelPackageGroupOperator, group_name="cleanup-group")
    groups = sm.list_model_package_groups()["ModelPackageGroupSummaryList"]
    assert "cleanup-group" not in [g["ModelPackageGroupName"] for g in groups]


def test_an_experiment_goes_with_its_trials_and_their_components(sm):
    sm.create_experiment(ExperimentName="cleanup-experiment")
    sm.create_trial(TrialName="cleanup-trial", ExperimentName="cleanup-experiment")
    sm.create_trial_component(TrialComponentName="cleanup-component")
    sm.associate_trial_component(TrialComponentName="cleanup-component", TrialName="cleanup-trial")
    twice(cleanup.SageMakerDeleteExperimentOperator, experiment_name="cleanup-experiment")
    names = [e["ExperimentName"] for e in sm.list_experiments()["ExperimentSummaries"]]
    assert "cleanup-experiment" not in names
    assert "cleanup-trial" not in [t["TrialName"] for t in sm.list_trials()["TrialSummaries"]]
    components = sm.list_trial_components()["TrialComponentSummaries"]
    assert "cleanup-component" not in [c["TrialComponentName"] for c in components]


def test_stopping_an_automl_job_that_is_gone_succeeds(sm):
    run(cleanup.SageMakerStopAutoMLJobOperator, job_name="cleanup-no-such-automl-job")


def _definition(seconds: int) -> dict[str, Any]:
    return {
        "Version": "2020-12-01",
        "Parameters": [{"Name": "S", "Type": "String", "DefaultValue": str(seconds)}],
    }


def test_creating_a_pipeline_that_exists_updates_it_and_deleting_it_twice_succeeds(sm):
    arn = run(
        cleanup.SageMakerUpsertPipelineOperator,
        pipeline_name="cleanup-pipeline",
        definition=_definition(1),
        role_arn=ROLE,
    )
    again = run(
        cleanup.SageMakerUpsertPipelineOperator,
        pipeline_name="cleanup-pipeline",
        definition=json.dumps(_definition(2)),
        role_arn=ROLE,
        description="second",
        config={"PipelineDisplayName": "second", "Tags": [{"Key": "team", "Value": "ml"}]},
    )  # UpdatePipeline takes no tags: the update sends the rest
    assert again == arn
    described = sm.describe_pipeline(PipelineName="cleanup-pipeline")
    assert json.loads(described["PipelineDefinition"]) == _definition(2)
    assert described["PipelineDisplayName"] == "second"
    twice(cleanup.SageMakerDeletePipelineOperator, pipeline_name="cleanup-pipeline")
    with pytest.raises(ClientError):
        sm.describe_pipeline(PipelineName="cleanup-pipeline")


@pytest.mark.parametrize(
    ("call", "code", "words"),
    [
        (lambda sm: sm.delete_endpoint(EndpointName="cleanup-gone"), "ValidationException", "Could not find"),
        (
            lambda sm: sm.delete_endpoint_config(EndpointConfigName="cleanup-gone"),
            "ValidationException",
            "Could not find",
        ),
        (lambda sm: sm.delete_experiment(ExperimentName="cleanup-gone"), "ResourceNotFound", "experiment/"),
        (lambda sm: sm.list_trials(ExperimentName="cleanup-gone"), "ResourceNotFound", "experiment/"),
        (lambda sm: sm.delete_trial(TrialName="cleanup-gone"), "ResourceNotFound", "experiment-trial/"),
        (lambda sm: sm.delete_pipeline(PipelineName="cleanup-gone"), "ResourceNotFound", "pipeline/"),
        (lambda sm: sm.stop_auto_ml_job(AutoMLJobName="cleanup-gone"), "ResourceNotFound", "Could not find"),
    ],
)
def test_a_thing_that_is_gone_is_refused_as_aws_refuses_it(sm, call, code, words):
    """The codes (and ARNs) AWS answers a missing name with: what the clean-ups take for "already gone"."""
    with pytest.raises(ClientError) as refused:
        call(sm)
    error = refused.value.response["Error"]
    assert error["Code"] == code and words in error["Message"], error
    assert cleanup.is_gone(refused.value)


def test_stopping_a_running_automl_job_stops_it_and_stopping_the_ended_job_succeeds_and_its_experiment_goes(
    sm, s3
):
    train, test = iris_split()
    rows = ["species,sepal_length,sepal_width,petal_length,petal_width"]
    rows += [",".join([str(int(r[0])), *(str(v) for v in r[1:])]) for r in [*train, *test]]
    source = put(s3, "cleanup/automl/iris.csv", ("\n".join(rows) + "\n").encode())
    sm.create_auto_ml_job(
        AutoMLJobName="cleanup-automl",
        InputDataConfig=[
            {
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": source}},
                "TargetAttributeName": "species",
            }
        ],
        OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/cleanup/automl-out"},
        RoleArn=ROLE,
    )
    run(cleanup.SageMakerStopAutoMLJobOperator, job_name="cleanup-automl")  # in progress until described
    status = sm.describe_auto_ml_job(AutoMLJobName="cleanup-automl")["AutoMLJobStatus"]
    assert status in ("Stopping", "Stopped")
    done = wait_for(
        lambda: sm.describe_auto_ml_job(AutoMLJobName="cleanup-automl"),
        "AutoMLJobStatus",
        ("Stopped", "Completed", "Failed"),
        120,
    )
    assert done["AutoMLJobStatus"] == "Stopped" and "BestCandidate" not in done
    with pytest.raises(ClientError) as refused:  # AWS refuses to stop an ended job ...
        sm.stop_auto_ml_job(AutoMLJobName="cleanup-automl")
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    run(cleanup.SageMakerStopAutoMLJobOperator, job_name="cleanup-automl")  # ... which the operator accepts
    # SageMaker made an experiment for the job, named after it, which outlives it until deleted
    experiments = [e["ExperimentName"] for e in sm.list_experiments()["ExperimentSummaries"]]
    assert "cleanup-automl-aws-auto-ml-job" in experiments
    twice(cleanup.SageMakerDeleteExperimentOperator, experiment_name="cleanup-automl-aws-auto-ml-job")
    experiments = [e["ExperimentName"] for e in sm.list_experiments()["ExperimentSummaries"]]
    assert "cleanup-automl-aws-auto-ml-job" not in experiments
