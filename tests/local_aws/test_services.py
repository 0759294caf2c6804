"""Processing, tuning, endpoints, API error behaviour and the server lifecycle."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from sagemaker_pipelines.local.aws import start_local_aws
from tests.waiting import wait_until

from .conftest import (
    BUCKET,
    KNN_IMAGE,
    REGION,
    ROLE,
    SKLEARN_IMAGE,
    client,
    create_endpoint,
    failing_processing_job,
    get,
    iris_split,
    pack_source,
    put,
    seen_first_in,
    to_csv,
    training_job,
    wait_endpoint,
    wait_for,
    wait_training,
)

PREP_SCRIPT = """
import argparse, os, sys

parser = argparse.ArgumentParser()
parser.add_argument("--input", required=True)
parser.add_argument("--output", required=True)
args = parser.parse_args()
assert os.environ["STAGE"] == "test"
rows = []
for name in sorted(os.listdir(args.input)):
    with open(os.path.join(args.input, name)) as fh:
        rows += [line.strip() for line in fh if line.strip()]
os.makedirs(os.path.join(args.output, "part"), exist_ok=True)
with open(os.path.join(args.output, "part", "doubled.csv"), "w") as fh:
    fh.write("\\n".join(",".join(str(2 * float(v)) for v in row.split(",")) for row in rows) + "\\n")
with open("/opt/ml/processing/report/report.txt", "w") as fh:  # literal container path
    fh.write(f"{len(rows)} rows")
"""


def test_processing_job_maps_inputs_and_outputs(sm, s3):
    created = time.monotonic()
    put(s3, "proc/code/prep.py", PREP_SCRIPT.encode())
    put(s3, "proc/raw/a.csv", b"1,2\n3,4\n")
    put(s3, "proc/raw/b.csv", b"5,6\n")
    sm.create_processing_job(
        ProcessingJobName="prep",
        RoleArn=ROLE,
        AppSpecification={
            "ImageUri": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
            "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/prep.py"],
            "ContainerArguments": [
                "--input",
                "/opt/ml/processing/input/data",
                "--output",
                "/opt/ml/processing/out",
            ],
        },
        ProcessingInputs=[
            {
                "InputName": "code",
                "S3Input": {
                    "S3Uri": f"s3://{BUCKET}/proc/code/prep.py",
                    "LocalPath": "/opt/ml/processing/input/code",
                    "S3DataType": "S3Prefix",
                    "S3InputMode": "File",
                },
            },
            {
                "InputName": "data",
                "S3Input": {
                    "S3Uri": f"s3://{BUCKET}/proc/raw/",
                    "LocalPath": "/opt/ml/processing/input/data",
                    "S3DataType": "S3Prefix",
                    "S3InputMode": "File",
                },
            },
        ],
        ProcessingOutputConfig={
            "Outputs": [
                {
                    "OutputName": "doubled",
                    "S3Output": {
                        "S3Uri": f"s3://{BUCKET}/proc/doubled",
                        "LocalPath": "/opt/ml/processing/out",
                        "S3UploadMode": "EndOfJob",
                    },
                },
                {
                    "OutputName": "report",
                    "S3Output": {
                        "S3Uri": f"s3://{BUCKET}/proc/report/",
                        "LocalPath": "/opt/ml/processing/report",
                        "S3UploadMode": "EndOfJob",
                    },
                },
            ]
        },
        ProcessingResources={
            "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 5}
        },
        Environment={"STAGE": "test"},
    )
    describe = lambda: sm.describe_processing_job(ProcessingJobName="prep")  # noqa: E731
    seen_first_in("InProgress", describe, "ProcessingJobStatus", created)
    done = wait_for(
        lambda: sm.describe_processing_job(ProcessingJobName="prep"),
        "ProcessingJobStatus",
        ("Completed", "Failed"),
    )
    assert done["ProcessingJobStatus"] == "Completed", done.get("FailureReason")
    assert done["Environment"] == {"STAGE": "test"}
    assert get(s3, f"s3://{BUCKET}/proc/doubled/part/doubled.csv").decode().split() == [
        "2.0,4.0",
        "6.0,8.0",
        "10.0,12.0",
    ]
    assert get(s3, f"s3://{BUCKET}/proc/report/report.txt") == b"3 rows"


def test_processing_job_failure_reports_stderr(sm, s3):
    done = failing_processing_job(sm, s3, "prep-broken", "cannot find the input table")
    assert done["ProcessingJobStatus"] == "Failed"
    assert "cannot find the input table" in done["FailureReason"]


def test_tuning_job_runs_training_jobs_and_reports_the_best(sm, s3):
    train, test = iris_split()
    put(s3, "tune/train/train.csv", to_csv(train))
    put(s3, "tune/validation/validation.csv", to_csv(test))
    sm.create_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="knn-tune",
        HyperParameterTuningJobConfig={
            "Strategy": "Random",
            "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "test:accuracy"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 3, "MaxParallelTrainingJobs": 2},
            "ParameterRanges": {"IntegerParameterRanges": [{"Name": "k", "MinValue": "1", "MaxValue": "15"}]},
        },
        TrainingJobDefinition={
            "StaticHyperParameters": {
                "feature_dim": "4",
                "predictor_type": "classifier",
                "sample_size": "200",
            },
            "AlgorithmSpecification": {"TrainingImage": KNN_IMAGE, "TrainingInputMode": "File"},
            "RoleArn": ROLE,
            "InputDataConfig": [
                {
                    "ChannelName": ch,
                    "ContentType": "text/csv",
                    "DataSource": {
                        "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/tune/{ch}/"}
                    },
                }
                for ch in ("train", "validation")
            ],
            "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/tune/output"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
            "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        },
    )
    first = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="knn-tune")
    assert first["HyperParameterTuningJobStatus"] == "InProgress"
    done = wait_for(
        lambda: sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="knn-tune"),
        "HyperParameterTuningJobStatus",
        ("Completed", "Failed"),
        timeout=120,
    )
    assert done["HyperParameterTuningJobStatus"] == "Completed", done.get("FailureReason")
    assert done["TrainingJobStatusCounters"]["Completed"] == 3
    best = done["BestTrainingJob"]
    assert best["TrainingJobStatus"] == "Completed"
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["MetricName"] == "test:accuracy"
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] >= 0.9
    assert set(best["TunedHyperParameters"]) == {"k"}
    children = sm.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName="knn-tune")
    summaries = children["TrainingJobSummaries"]
    assert len(summaries) == 3
    values = [s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for s in summaries]
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == max(values)
    child = sm.describe_training_job(TrainingJobName=best["TrainingJobName"])
    assert child["TuningJobArn"] == done["HyperParameterTuningJobArn"]
    assert child["ModelArtifacts"]["S3ModelArtifacts"].endswith("/output/model.tar.gz")


def test_endpoint_goes_in_service_and_answers(sm, s3, local_aws):
    put(s3, "ep/train/train.csv", to_csv(iris_split()[0]))
    hps = {"k": "3", "feature_dim": "4", "predictor_type": "classifier", "sample_size": "200"}
    training_job(sm, "ep-knn", KNN_IMAGE, hps, {"train": f"s3://{BUCKET}/ep/train/"})
    artifact = wait_training(sm, "ep-knn")["ModelArtifacts"]["S3ModelArtifacts"]
    sm.create_model(
        ModelName="ep-knn",
        PrimaryContainer={"Image": KNN_IMAGE, "ModelDataUrl": artifact},
        ExecutionRoleArn=ROLE,
    )
    created = time.monotonic()
    create_endpoint(sm, "ep-knn", "ep-knn")
    seen_first_in("Creating", lambda: sm.describe_endpoint(EndpointName="ep-knn"), "EndpointStatus", created)
    done = wait_endpoint(sm, "ep-knn")
    assert done["EndpointStatus"] == "InService", done.get("FailureReason")

    runtime = client(local_aws, "sagemaker-runtime")
    answer = runtime.invoke_endpoint(
        EndpointName="ep-knn",
        ContentType="text/csv",
        Accept="application/json",
        Body=b"5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n",
    )
    body = json.loads(answer["Body"].read())
    assert body == {"predictions": [{"predicted_label": 0.0}, {"predicted_label": 2.0}]}
    assert answer["InvokedProductionVariant"] == "main"
    csv_answer = runtime.invoke_endpoint(
        EndpointName="ep-knn", ContentType="text/csv", Accept="text/csv", Body="5.1,3.5,1.4,0.2"
    )
    assert csv_answer["Body"].read().decode().strip() == "0.0"
    with pytest.raises(ClientError) as bad:
        runtime.invoke_endpoint(EndpointName="ep-knn", ContentType="text/csv", Body=b"1,2\n")
    assert bad.value.response["Error"]["Code"] == "ModelError"

    sm.delete_endpoint(EndpointName="ep-knn")
    with pytest.raises(ClientError) as gone:
        runtime.invoke_endpoint(EndpointName="ep-knn", ContentType="text/csv", Body=b"5.1,3.5,1.4,0.2")
    assert gone.value.response["Error"]["Code"] == "ValidationError"


def test_endpoint_with_broken_model_fails(sm):
    sm.create_model(
        ModelName="ep-missing",
        PrimaryContainer={"Image": KNN_IMAGE, "ModelDataUrl": f"s3://{BUCKET}/nowhere/model.tar.gz"},
        ExecutionRoleArn=ROLE,
    )
    create_endpoint(sm, "ep-missing", "ep-missing")
    done = wait_endpoint(sm, "ep-missing")
    assert done["EndpointStatus"] == "Failed"
    assert "nowhere/model.tar.gz" in done["FailureReason"]


@pytest.mark.parametrize(
    ("call", "kwargs"),
    [
        ("describe_training_job", {"TrainingJobName": "nope"}),
        ("describe_transform_job", {"TransformJobName": "nope"}),
        ("describe_processing_job", {"ProcessingJobName": "nope"}),
    ],
)
def test_describe_unknown_job_raises_validation_exception(sm, call, kwargs):
    with pytest.raises(ClientError) as error:
        getattr(sm, call)(**kwargs)
    assert error.value.response["Error"]["Code"] == "ValidationException"


def test_reused_training_job_name_is_rejected(sm, s3):
    put(s3, "dup/train/train.csv", to_csv(iris_split()[0]))
    hps = {"k": "3", "feature_dim": "4", "predictor_type": "classifier", "sample_size": "200"}
    training_job(sm, "dup-job", KNN_IMAGE, hps, {"train": f"s3://{BUCKET}/dup/train/"})
    with pytest.raises(ClientError) as error:
        training_job(sm, "dup-job", KNN_IMAGE, hps, {"train": f"s3://{BUCKET}/dup/train/"})
    assert error.value.response["Error"]["Code"] == "ResourceInUse"
    wait_training(sm, "dup-job")


def test_any_region_is_accepted_but_only_the_servers_credentials(local_aws):
    s3 = client(local_aws, "s3")
    other_region = boto3.client("s3", **local_aws.client_kwargs("eu-west-1"))
    other_region.create_bucket(
        Bucket="other-region", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    assert "other-region" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    stranger = boto3.client(
        "s3",
        endpoint_url=local_aws.endpoint_url,
        region_name="eu-west-1",
        aws_access_key_id="x",
        aws_secret_access_key="y",
    )
    with pytest.raises(ClientError) as error:
        stranger.list_buckets()
    assert error.value.response["Error"]["Code"] == "AccessDenied"  # more in tests/trust/test_endpoint.py
    assert REGION == "us-east-1"


def test_server_stops_cleanly(tmp_path):
    aws = start_local_aws(tmp_path / "state")
    assert aws.endpoint_url == f"http://127.0.0.1:{aws.port}"
    assert aws.log_path.is_file()
    os.kill(aws.pid, 0)  # running
    aws.stop()
    time.sleep(0.1)
    with pytest.raises(ProcessLookupError):
        os.kill(aws.pid, 0)
    aws.stop()  # idempotent


def _processes_running(fragment: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if fragment in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def test_stopping_the_server_stops_running_job_processes(tmp_path):
    with start_local_aws(tmp_path / "state") as aws:
        s3 = client(aws, "s3")
        s3.create_bucket(Bucket=BUCKET)
        submit = put(
            s3, "slow/sourcedir.tar.gz", pack_source({"sleepy_job.py": "import time\ntime.sleep(120)\n"})
        )
        hps = {"sagemaker_program": '"sleepy_job.py"', "sagemaker_submit_directory": json.dumps(submit)}
        put(s3, "slow/train/x.csv", b"1,2\n")
        training_job(
            client(aws, "sagemaker"), "sleepy", SKLEARN_IMAGE, hps, {"train": f"s3://{BUCKET}/slow/train/"}
        )
        wait_until(lambda: _processes_running("sleepy_job.py"), 60, "the job process started", interval=0.2)
    # The stop has killed them; on a loaded machine the kernel may take a moment to finish them off.
    wait_until(lambda: not _processes_running("sleepy_job.py"), 30, "the job processes ended", interval=0.2)
    with pytest.raises(ProcessLookupError):
        os.kill(aws.pid, 0)
