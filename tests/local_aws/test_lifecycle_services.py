"""The model registry, SageMaker Pipelines executions, AutoML, notebook instances and KNN's default answer
on the local endpoint, through boto3 over HTTP as the provider's operators call them."""

from __future__ import annotations

import json
import time

import pytest
from botocore.exceptions import ClientError

from .conftest import (
    BUCKET,
    KNN_IMAGE,
    ROLE,
    SKLEARN_IMAGE,
    client,
    create_endpoint,
    get,
    iris_split,
    put,
    seen_first_in,
    to_csv,
    training_job,
    transform_job,
    wait_endpoint,
    wait_for,
    wait_training,
    wait_transform,
)

KNN_HPS = {"k": "3", "feature_dim": "4", "predictor_type": "classifier", "sample_size": "200"}


@pytest.fixture(scope="module")
def knn_artifact(sm, s3):
    put(s3, "life/train/train.csv", to_csv(iris_split()[0]))
    training_job(sm, "life-knn", KNN_IMAGE, KNN_HPS, {"train": f"s3://{BUCKET}/life/train/"})
    done = wait_training(sm, "life-knn")
    assert done["TrainingJobStatus"] == "Completed", done.get("FailureReason")
    return done["ModelArtifacts"]["S3ModelArtifacts"]


def test_knn_endpoint_without_accept_answers_json_predictions(sm, local_aws, knn_artifact):
    sm.create_model(
        ModelName="life-knn",
        PrimaryContainer={"Image": KNN_IMAGE, "ModelDataUrl": knn_artifact},
        ExecutionRoleArn=ROLE,
    )
    create_endpoint(sm, "life-knn", "life-knn")
    assert wait_endpoint(sm, "life-knn")["EndpointStatus"] == "InService"
    runtime = client(local_aws, "sagemaker-runtime")
    answer = runtime.invoke_endpoint(
        EndpointName="life-knn", ContentType="text/csv", Body=b"5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n"
    )
    assert answer["ContentType"] == "application/json"  # as AWS documents for knn without Accept
    assert json.loads(answer["Body"].read()) == {
        "predictions": [{"predicted_label": 0.0}, {"predicted_label": 2.0}]
    }


# --------------------------------------------------------------------------------- model registry


def test_model_package_groups_and_versions(sm, s3, knn_artifact):
    sm.create_model_package_group(ModelPackageGroupName="iris-knn", ModelPackageGroupDescription="KNN")
    with pytest.raises(ClientError) as again:
        sm.create_model_package_group(ModelPackageGroupName="iris-knn")
    assert again.value.response["Error"]["Code"] == "ValidationException"
    assert again.value.response["Error"]["Message"].startswith("Model Package Group already exists")

    spec = {
        "Containers": [{"Image": KNN_IMAGE, "ModelDataUrl": knn_artifact}],
        "SupportedContentTypes": ["text/csv"],
        "SupportedResponseMIMETypes": ["text/csv"],
    }
    arns = [
        sm.create_model_package(
            ModelPackageGroupName="iris-knn", InferenceSpecification=spec, ModelApprovalStatus="Approved"
        )["ModelPackageArn"]
        for _ in range(2)
    ]
    assert [a.rsplit("/", 1)[1] for a in arns] == ["1", "2"]
    version = sm.describe_model_package(ModelPackageName=arns[1])
    assert (version["ModelPackageVersion"], version["ModelApprovalStatus"]) == (2, "Approved")
    listed = sm.list_model_packages(ModelPackageGroupName="iris-knn")["ModelPackageSummaryList"]
    assert sorted(p["ModelPackageArn"] for p in listed) == sorted(arns)

    missing = {**spec, "Containers": [{"Image": KNN_IMAGE, "ModelDataUrl": f"s3://{BUCKET}/nope.tar.gz"}]}
    with pytest.raises(ClientError) as bad:
        sm.create_model_package(ModelPackageGroupName="iris-knn", InferenceSpecification=missing)
    assert "Could not access model data" in bad.value.response["Error"]["Message"]

    with pytest.raises(ClientError) as busy:
        sm.delete_model_package_group(ModelPackageGroupName="iris-knn")
    assert busy.value.response["Error"]["Code"] == "ConflictException"
    for arn in arns:
        sm.delete_model_package(ModelPackageName=arn)
    sm.delete_model_package_group(ModelPackageGroupName="iris-knn")
    with pytest.raises(ClientError):
        sm.describe_model_package_group(ModelPackageGroupName="iris-knn")


def test_a_model_of_a_registered_version_serves_its_artifacts(sm, s3, knn_artifact):
    sm.create_model_package_group(ModelPackageGroupName="served")
    arn = sm.create_model_package(
        ModelPackageGroupName="served",
        InferenceSpecification={
            "Containers": [{"Image": KNN_IMAGE, "ModelDataUrl": knn_artifact}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )["ModelPackageArn"]
    sm.create_model(
        ModelName="from-registry", PrimaryContainer={"ModelPackageName": arn}, ExecutionRoleArn=ROLE
    )
    test = iris_split()[1]
    source = put(s3, "life/score/test.csv", to_csv(test[:, 1:]))
    transform_job(sm, "from-registry", "from-registry", source, f"s3://{BUCKET}/life/scored/")
    done = wait_transform(sm, "from-registry")
    assert done["TransformJobStatus"] == "Completed", done.get("FailureReason")
    lines = get(s3, f"s3://{BUCKET}/life/scored/test.csv.out").decode().splitlines()
    assert len(lines) == len(test)


# ------------------------------------------------------------------------------ SageMaker Pipelines

PREP = """
import os, sys
rows = open(os.path.join(sys.argv[1], "train.csv")).read()
os.makedirs(sys.argv[2], exist_ok=True)
open(os.path.join(sys.argv[2], "train.csv"), "w").write(rows)
"""


def _definition(steps: list[dict]) -> str:
    return json.dumps(
        {
            "Version": "2020-12-01",
            "Parameters": [
                {"Name": "K", "Type": "String", "DefaultValue": "1"},
                {"Name": "Sleep", "Type": "String", "DefaultValue": "0"},
            ],
            "Steps": steps,
        }
    )


def _prep_step(sleep: bool = False) -> dict:
    command = ["python3", "-c", PREP if not sleep else "import time; time.sleep(30)\n" + PREP]
    return {
        "Name": "Prep",
        "Type": "Processing",
        "Arguments": {
            "ProcessingResources": {
                "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1}
            },
            "AppSpecification": {
                "ImageUri": SKLEARN_IMAGE,
                "ContainerEntrypoint": command,
                "ContainerArguments": ["/opt/ml/processing/input/raw", "/opt/ml/processing/output/train"],
            },
            "RoleArn": ROLE,
            "ProcessingInputs": [
                {
                    "InputName": "raw",
                    "S3Input": {
                        "S3Uri": f"s3://{BUCKET}/life/train/",
                        "LocalPath": "/opt/ml/processing/input/raw",
                        "S3DataType": "S3Prefix",
                        "S3InputMode": "File",
                    },
                }
            ],
            "ProcessingOutputConfig": {
                "Outputs": [
                    {
                        "OutputName": "train",
                        "S3Output": {
                            "S3Uri": {
                                "Std:Join": {
                                    "On": "/",
                                    "Values": [
                                        f"s3://{BUCKET}/life/pipe",
                                        {"Get": "Execution.PipelineExecutionId"},
                                    ],
                                }
                            },
                            "LocalPath": "/opt/ml/processing/output/train",
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                ]
            },
        },
    }


TRAIN_STEP = {
    "Name": "Train",
    "Type": "Training",
    "Arguments": {
        "AlgorithmSpecification": {"TrainingImage": KNN_IMAGE, "TrainingInputMode": "File"},
        "HyperParameters": {**KNN_HPS, "k": {"Get": "Parameters.K"}},
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "ContentType": "text/csv",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": {"Get": "Steps.Prep.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"},
                    }
                },
            }
        ],
        "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/life/pipe-models"},
        "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1},
        "RoleArn": ROLE,
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
    },
}
MODEL_STEP = {
    "Name": "Model",
    "Type": "Model",
    "Arguments": {
        "ExecutionRoleArn": ROLE,
        "PrimaryContainer": {
            "Image": KNN_IMAGE,
            "ModelDataUrl": {"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"},
        },
    },
}


def _wait_execution(sm, arn: str, timeout: float = 120) -> dict:
    return wait_for(
        lambda: sm.describe_pipeline_execution(PipelineExecutionArn=arn),
        "PipelineExecutionStatus",
        ("Succeeded", "Failed", "Stopped"),
        timeout,
    )


def test_a_pipeline_execution_runs_its_steps_in_order(sm, s3, knn_artifact):
    sm.create_pipeline(
        PipelineName="iris-steps",
        RoleArn=ROLE,
        PipelineDefinition=_definition([MODEL_STEP, TRAIN_STEP, _prep_step()]),
    )
    arn = sm.start_pipeline_execution(
        PipelineName="iris-steps", PipelineParameters=[{"Name": "K", "Value": "5"}]
    )["PipelineExecutionArn"]
    assert sm.describe_pipeline_execution(PipelineExecutionArn=arn)["PipelineExecutionStatus"] == "Executing"
    done = _wait_execution(sm, arn)
    assert done["PipelineExecutionStatus"] == "Succeeded", done.get("FailureReason")
    steps = sm.list_pipeline_execution_steps(PipelineExecutionArn=arn)["PipelineExecutionSteps"]
    assert [(s["StepName"], s["StepStatus"]) for s in steps] == [
        ("Model", "Succeeded"),
        ("Train", "Succeeded"),
        ("Prep", "Succeeded"),
    ]  # newest first, as AWS lists them
    job_arn = steps[1]["Metadata"]["TrainingJob"]["Arn"]
    job = sm.describe_training_job(TrainingJobName=job_arn.rsplit("/", 1)[1])
    execution_id = arn.rsplit("/", 1)[1]
    assert job["TrainingJobName"] == f"pipelines-{execution_id}-Train"
    assert job["HyperParameters"]["k"] == "5"  # the execution's parameter, not the default
    channel = job["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"]
    assert channel == f"s3://{BUCKET}/life/pipe/{execution_id}"  # the Prep step's output
    model = sm.describe_model(ModelName=f"pipelines-{execution_id}-Model")
    assert model["PrimaryContainer"]["ModelDataUrl"] == job["ModelArtifacts"]["S3ModelArtifacts"]


def test_a_failing_step_fails_the_execution_with_its_reason(sm, knn_artifact):
    fail = {"Name": "Stop", "Type": "Fail", "Arguments": {"ErrorMessage": "accuracy below the bar"}}
    after = {
        "Name": "Model",
        "Type": "Model",
        "DependsOn": ["Stop"],
        "Arguments": {
            "ExecutionRoleArn": ROLE,
            "PrimaryContainer": {"Image": KNN_IMAGE, "ModelDataUrl": knn_artifact},
        },
    }
    sm.create_pipeline(PipelineName="iris-fail", RoleArn=ROLE, PipelineDefinition=_definition([after, fail]))
    arn = sm.start_pipeline_execution(PipelineName="iris-fail")["PipelineExecutionArn"]
    done = _wait_execution(sm, arn)
    assert done["PipelineExecutionStatus"] == "Failed"
    assert "accuracy below the bar" in done["FailureReason"]
    steps = sm.list_pipeline_execution_steps(PipelineExecutionArn=arn)["PipelineExecutionSteps"]
    assert [(s["StepName"], s["StepStatus"]) for s in steps] == [("Stop", "Failed")]  # Model never ran


def test_stopping_an_execution_stops_its_running_step_and_runs_no_next_one(sm, knn_artifact):
    sm.create_pipeline(
        PipelineName="iris-stop",
        RoleArn=ROLE,
        PipelineDefinition=_definition([_prep_step(sleep=True), TRAIN_STEP]),
    )
    arn = sm.start_pipeline_execution(PipelineName="iris-stop")["PipelineExecutionArn"]
    prep = f"pipelines-{arn.rsplit('/', 1)[-1]}-Prep"
    deadline = time.monotonic() + 120  # stopped once its step's job is running, however long that took
    while not sm.list_processing_jobs(NameContains=prep)["ProcessingJobSummaries"]:
        assert time.monotonic() < deadline, "the Prep step never started its job"
        time.sleep(0.1)
    sm.stop_pipeline_execution(PipelineExecutionArn=arn)
    assert sm.describe_pipeline_execution(PipelineExecutionArn=arn)["PipelineExecutionStatus"] == "Stopping"
    done = _wait_execution(sm, arn)
    assert done["PipelineExecutionStatus"] == "Stopped"
    steps = sm.list_pipeline_execution_steps(PipelineExecutionArn=arn)["PipelineExecutionSteps"]
    assert [(s["StepName"], s["StepStatus"]) for s in steps] == [("Prep", "Stopped")]
    # the running step's job is stopped, not run out (its script holds 30 s)
    assert sm.describe_processing_job(ProcessingJobName=prep)["ProcessingJobStatus"] == "Stopped"
    with pytest.raises(ClientError) as again:
        sm.stop_pipeline_execution(PipelineExecutionArn=arn)
    assert "Only pipelines with 'Executing' status can be stopped" in again.value.response["Error"]["Message"]


# --------------------------------------------------------------------------------------- AutoML


def _iris_with_header(s3, key: str) -> str:
    train, test = iris_split()
    rows = ["species,sepal_length,sepal_width,petal_length,petal_width"]
    rows += [",".join([str(int(r[0])), *(str(v) for v in r[1:])]) for r in [*train, *test]]
    return put(s3, key, ("\n".join(rows) + "\n").encode())


def test_automl_trains_candidates_and_reports_the_best(sm, s3, local_aws):
    source = _iris_with_header(s3, "life/automl/iris.csv")
    created = time.monotonic()
    sm.create_auto_ml_job(
        AutoMLJobName="iris-auto",
        InputDataConfig=[
            {
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": source}},
                "TargetAttributeName": "species",
            }
        ],
        OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/life/automl-out"},
        RoleArn=ROLE,
        AutoMLJobConfig={"CompletionCriteria": {"MaxCandidates": 3}},
        ModelDeployConfig={"EndpointName": "iris-auto"},
    )
    seen_first_in(
        "InProgress", lambda: sm.describe_auto_ml_job(AutoMLJobName="iris-auto"), "AutoMLJobStatus", created
    )
    done = wait_for(
        lambda: sm.describe_auto_ml_job(AutoMLJobName="iris-auto"),
        "AutoMLJobStatus",
        ("Completed", "Failed"),
        120,
    )
    assert done["AutoMLJobStatus"] == "Completed", done.get("FailureReason")
    assert done["ResolvedAttributes"]["ProblemType"] == "MulticlassClassification"
    best = done["BestCandidate"]
    assert best["FinalAutoMLJobObjectiveMetric"]["MetricName"] == "Accuracy"
    assert best["FinalAutoMLJobObjectiveMetric"]["Value"] >= 0.9
    container = best["InferenceContainers"][0]
    assert container["ModelDataUrl"].startswith(f"s3://{BUCKET}/life/automl-out/iris-auto/candidates/")
    assert get(s3, container["ModelDataUrl"])  # the archive exists
    assert done["ModelDeployResult"]["EndpointName"] == "iris-auto"
    assert wait_endpoint(sm, "iris-auto")["EndpointStatus"] == "InService"
    runtime = client(local_aws, "sagemaker-runtime")
    answer = runtime.invoke_endpoint(
        EndpointName="iris-auto", ContentType="text/csv", Body=b"5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n"
    )
    assert answer["Body"].read().decode().split() == ["0", "2"]


def test_automl_with_an_unknown_target_fails_with_the_columns(sm, s3):
    source = _iris_with_header(s3, "life/automl/iris2.csv")
    sm.create_auto_ml_job(
        AutoMLJobName="iris-bad-target",
        InputDataConfig=[
            {
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": source}},
                "TargetAttributeName": "label",
            }
        ],
        OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/life/automl-out"},
        RoleArn=ROLE,
    )
    done = wait_for(
        lambda: sm.describe_auto_ml_job(AutoMLJobName="iris-bad-target"),
        "AutoMLJobStatus",
        ("Completed", "Failed"),
        60,
    )
    assert done["AutoMLJobStatus"] == "Failed"
    assert "target attribute 'label' is not a column (species, sepal_length" in done["FailureReason"]


# ------------------------------------------------------------------------------ notebook instances


def _status(sm, name: str) -> str:
    return sm.describe_notebook_instance(NotebookInstanceName=name)["NotebookInstanceStatus"]


def test_notebook_instances_go_through_sagemakers_states(sm):
    sm.create_notebook_instance(NotebookInstanceName="explore", InstanceType="ml.t3.medium", RoleArn=ROLE)
    assert _status(sm, "explore") == "Pending"
    sm.get_waiter("notebook_instance_in_service").wait(
        NotebookInstanceName="explore", WaiterConfig={"Delay": 1}
    )
    with pytest.raises(ClientError):
        sm.start_notebook_instance(NotebookInstanceName="explore")  # InService already
    with pytest.raises(ClientError):
        sm.delete_notebook_instance(NotebookInstanceName="explore")  # must be stopped first
    sm.stop_notebook_instance(NotebookInstanceName="explore")
    assert _status(sm, "explore") == "Stopping"
    sm.get_waiter("notebook_instance_stopped").wait(NotebookInstanceName="explore", WaiterConfig={"Delay": 1})
    sm.start_notebook_instance(NotebookInstanceName="explore")
    assert _status(sm, "explore") == "Pending"
    sm.get_waiter("notebook_instance_in_service").wait(
        NotebookInstanceName="explore", WaiterConfig={"Delay": 1}
    )
    sm.stop_notebook_instance(NotebookInstanceName="explore")
    sm.get_waiter("notebook_instance_stopped").wait(NotebookInstanceName="explore", WaiterConfig={"Delay": 1})
    sm.delete_notebook_instance(NotebookInstanceName="explore")
    assert _status(sm, "explore") == "Deleting"
    sm.get_waiter("notebook_instance_deleted").wait(NotebookInstanceName="explore", WaiterConfig={"Delay": 1})
    with pytest.raises(ClientError):
        sm.describe_notebook_instance(NotebookInstanceName="explore")


def test_a_step_reading_an_unknown_step_fails_the_execution(sm):
    sm.create_pipeline(
        PipelineName="iris-unknown", RoleArn=ROLE, PipelineDefinition=_definition([MODEL_STEP])
    )
    done = _wait_execution(
        sm, sm.start_pipeline_execution(PipelineName="iris-unknown")["PipelineExecutionArn"]
    )
    assert done["PipelineExecutionStatus"] == "Failed"
    assert "step 'Model' depends on unknown step(s) Train" in done["FailureReason"]
