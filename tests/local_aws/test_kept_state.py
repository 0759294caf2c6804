"""An endpoint started with ``keep_state`` and killed (``kill -9``, as the OOM killer does) comes back with
everything Airflow's runs point to: S3 objects, training job records, models and serving endpoints -
also what was created an instant before the kill, since a change is saved before it is answered. The
job that ran inside the killed process is reported Failed with the reason, not shown running forever.

The new server is started as ``make airflow``'s supervisor starts it (``again=``): on the same port with
the same credentials, so the clients made before the kill work unchanged - the test uses the same ones.
"""

from __future__ import annotations

import json
import os
import signal
import uuid
from pathlib import Path

import boto3
import pytest

from sagemaker_pipelines.local.aws import start_local_aws
from sagemaker_pipelines.local.aws.persistence import RESTART_REASON, STATE_FILE

from .conftest import (
    BUCKET,
    KNN_IMAGE,
    REGION,
    SKLEARN_IMAGE,
    create_endpoint,
    iris_split,
    pack_source,
    put,
    to_csv,
    training_job,
    wait_endpoint,
    wait_for,
    wait_training,
)

KNN_HPS = {"k": "5", "feature_dim": "4", "predictor_type": "classifier", "sample_size": "200"}
SLEEPER = "import os, time\nopen(os.environ['PID_FILE'], 'w').write(str(os.getpid()))\ntime.sleep(300)\n"


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "aws"


def test_a_killed_endpoint_restarts_with_its_objects_jobs_models_and_endpoints(state_dir, tmp_path):
    aws = start_local_aws(state_dir, keep_state=True)
    restarted = None
    try:
        sm = boto3.client("sagemaker", **aws.client_kwargs(REGION))
        s3 = boto3.client("s3", **aws.client_kwargs(REGION))
        runtime = boto3.client("sagemaker-runtime", **aws.client_kwargs(REGION))
        s3.create_bucket(Bucket=BUCKET)
        train, test = iris_split()
        put(s3, "iris/train/train.csv", to_csv(train))
        training_job(sm, "kept-knn", KNN_IMAGE, KNN_HPS, {"train": f"s3://{BUCKET}/iris/train/"})
        artifact = wait_training(sm, "kept-knn")["ModelArtifacts"]["S3ModelArtifacts"]
        sm.create_model(
            ModelName="kept-model",
            PrimaryContainer={"Image": KNN_IMAGE, "ModelDataUrl": artifact},
            ExecutionRoleArn="arn:aws:iam::123456789012:role/sagemaker",
        )
        create_endpoint(sm, "kept-endpoint", "kept-model")
        assert wait_endpoint(sm, "kept-endpoint")["EndpointStatus"] == "InService"
        row = ",".join(str(v) for v in test[0][1:])
        before = runtime.invoke_endpoint(EndpointName="kept-endpoint", ContentType="text/csv", Body=row)
        answer = before["Body"].read()
        # A job that runs when the endpoint dies.
        pid_file = tmp_path / "sleeper.pid"
        name = f"kept-sleeper-{uuid.uuid4().hex[:6]}"
        submit = put(s3, f"kept/{name}/sourcedir.tar.gz", pack_source({"sleeper.py": SLEEPER}))
        put(s3, f"kept/{name}/train/x.csv", b"1,2\n")
        hps = {"sagemaker_program": '"sleeper.py"', "sagemaker_submit_directory": json.dumps(submit)}
        training_job(
            sm,
            name,
            SKLEARN_IMAGE,
            hps,
            {"train": f"s3://{BUCKET}/kept/{name}/train/"},
            Environment={"PID_FILE": str(pid_file)},
        )
        wait_for(lambda: {"ran": pid_file.is_file()}, "ran", (True,))
        assert sm.describe_training_job(TrainingJobName=name)["TrainingJobStatus"] == "InProgress"
        # Killed at once: what a request created was saved before it was answered.

        os.kill(aws.pid, signal.SIGKILL)
        aws._process.wait(timeout=30)
        restarted = start_local_aws(state_dir, keep_state=True, again=aws)
        assert (restarted.port, restarted.access_key_id) == (aws.port, aws.access_key_id)

        # The same clients: same port, same credentials.
        assert s3.get_object(Bucket=BUCKET, Key="iris/train/train.csv")["Body"].read() == to_csv(train)
        bucket, _, key = artifact[len("s3://") :].partition("/")
        assert s3.head_object(Bucket=bucket, Key=key)["ContentLength"] > 0
        kept = sm.describe_training_job(TrainingJobName="kept-knn")
        assert (
            kept["TrainingJobStatus"] == "Completed"
            and kept["ModelArtifacts"]["S3ModelArtifacts"] == artifact
        )
        assert sm.describe_model(ModelName="kept-model")["PrimaryContainer"]["ModelDataUrl"] == artifact
        assert wait_endpoint(sm, "kept-endpoint")["EndpointStatus"] == "InService"
        again = runtime.invoke_endpoint(EndpointName="kept-endpoint", ContentType="text/csv", Body=row)
        assert again["Body"].read() == answer
        lost = sm.describe_training_job(TrainingJobName=name)
        assert (lost["TrainingJobStatus"], lost["FailureReason"]) == ("Failed", RESTART_REASON), lost
        names = {j["TrainingJobName"] for j in sm.list_training_jobs()["TrainingJobSummaries"]}
        assert {"kept-knn", name} <= names
    finally:
        aws.stop()
        if restarted is not None:
            restarted.stop()


def test_without_keep_state_a_new_endpoint_starts_empty(state_dir):
    """make run and the tests keep their throw-away endpoints as they were: nothing is written or read."""
    with start_local_aws(state_dir) as aws:
        boto3.client("s3", **aws.client_kwargs(REGION)).create_bucket(Bucket=BUCKET)
    assert not (state_dir / STATE_FILE).exists()
    with start_local_aws(state_dir) as aws:
        buckets = boto3.client("s3", **aws.client_kwargs(REGION)).list_buckets()["Buckets"]
        assert buckets == []


def test_a_state_file_it_cannot_read_is_kept_aside_and_it_starts_empty(state_dir):
    """A snapshot another moto version wrote must not keep make airflow from starting, nor vanish."""
    state_dir.mkdir(mode=0o700)
    (state_dir / STATE_FILE).write_bytes(b"not a pickle")
    with start_local_aws(state_dir, keep_state=True) as aws:
        assert boto3.client("s3", **aws.client_kwargs(REGION)).list_buckets()["Buckets"] == []
        assert (state_dir / "state.unreadable").read_bytes() == b"not a pickle"
        assert "cannot read the saved state" in aws.log_path.read_text()


def test_an_automl_job_the_killed_endpoint_ran_comes_back_failed_with_its_tags(state_dir, tmp_path):
    """Else a retry would adopt it (airflow/jobs/attempts.py) and wait for a job nothing runs any more."""
    aws = start_local_aws(state_dir, keep_state=True)
    restarted = None
    try:
        sm = boto3.client("sagemaker", **aws.client_kwargs(REGION))
        s3 = boto3.client("s3", **aws.client_kwargs(REGION))
        s3.create_bucket(Bucket=BUCKET)
        submit = put(s3, "kept/sleepers/sourcedir.tar.gz", pack_source({"sleeper.py": SLEEPER}))
        put(s3, "kept/sleepers/train/x.csv", b"1,2\n")
        hps = {"sagemaker_program": '"sleeper.py"', "sagemaker_submit_directory": json.dumps(submit)}
        for slot in ("a", "b"):  # both of the endpoint's slots: the AutoML job waits, InProgress
            pid_file = tmp_path / f"{slot}.pid"
            channels = {"train": f"s3://{BUCKET}/kept/sleepers/train/"}
            env = {"PID_FILE": str(pid_file)}
            training_job(sm, f"kept-slot-{slot}", SKLEARN_IMAGE, hps, channels, Environment=env)
            wait_for(lambda pid_file=pid_file: {"ran": pid_file.is_file()}, "ran", (True,))
        rows = "y,a\n" + "".join(f"{i % 2},{i}\n" for i in range(20))
        source = put(s3, "kept/automl/data.csv", rows.encode())
        arn = sm.create_auto_ml_job(
            AutoMLJobName="kept-automl",
            InputDataConfig=[
                {
                    "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": source}},
                    "TargetAttributeName": "y",
                }
            ],
            OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/kept/automl/out"},
            RoleArn="arn:aws:iam::123456789012:role/sagemaker",
            Tags=[{"Key": "team", "Value": "ml"}],
        )["AutoMLJobArn"]
        assert sm.describe_auto_ml_job(AutoMLJobName="kept-automl")["AutoMLJobStatus"] == "InProgress"

        os.kill(aws.pid, signal.SIGKILL)
        aws._process.wait(timeout=30)
        restarted = start_local_aws(state_dir, keep_state=True, again=aws)

        lost = sm.describe_auto_ml_job(AutoMLJobName="kept-automl")
        assert (lost["AutoMLJobStatus"], lost["FailureReason"]) == ("Failed", RESTART_REASON), lost
        assert lost["AutoMLJobSecondaryStatus"] == "Failed"
        assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "ml"}]
    finally:
        aws.stop()
        if restarted is not None:
            restarted.stop()


def test_a_service_whose_backend_keeps_a_lambda_is_kept_too(state_dir):
    """moto's SSM backend keeps its tags in a defaultdict of a lambda, which pickle refuses: one GetParameter
    (the Unified Studio SDK's) made every later snapshot fail, and a restart lost everything else with it."""
    aws = start_local_aws(state_dir, keep_state=True)
    restarted = None
    try:
        ssm = boto3.client("ssm", **aws.client_kwargs(REGION))
        s3 = boto3.client("s3", **aws.client_kwargs(REGION))
        ssm.put_parameter(
            Name="/team/threshold", Value="0.9", Type="String", Tags=[{"Key": "t", "Value": "1"}]
        )
        s3.create_bucket(Bucket=BUCKET)
        put(s3, "kept/after-ssm.txt", b"kept")  # saved before it is answered: after the SSM backend existed

        os.kill(aws.pid, signal.SIGKILL)
        aws._process.wait(timeout=30)
        restarted = start_local_aws(state_dir, keep_state=True, again=aws)

        assert s3.get_object(Bucket=BUCKET, Key="kept/after-ssm.txt")["Body"].read() == b"kept"
        assert ssm.get_parameter(Name="/team/threshold")["Parameter"]["Value"] == "0.9"
        tags = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId="/team/threshold")["TagList"]
        assert tags == [{"Key": "t", "Value": "1"}]
        assert "could not save" not in aws.log_path.read_text()
    finally:
        aws.stop()
        if restarted is not None:
            restarted.stop()
