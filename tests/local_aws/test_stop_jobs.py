"""Stop* on the local endpoint: the job's process really ends, and Describe goes Stopping -> Stopped."""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from .conftest import BUCKET, ROLE, SKLEARN_IMAGE, pack_source, put, training_job, wait_for, wait_training

SLEEPER = "import os, time\nopen(os.environ['PID_FILE'], 'w').write(str(os.getpid()))\ntime.sleep(300)\n"


def _sleeping_script(s3: Any, tag: str) -> str:
    return put(s3, f"stop/{tag}/sourcedir.tar.gz", pack_source({"sleeper.py": SLEEPER}))


def _wait_pid(pid_file: Path) -> int:
    """The job's process writes its pid once it runs: wait for that (the job cannot be stopped earlier
    and still prove its process ended)."""
    deadline = time.monotonic() + 60
    while not (pid_file.is_file() and pid_file.read_text()):
        assert time.monotonic() < deadline, "the job's process never started"
        time.sleep(0.1)
    return int(pid_file.read_text())


def _gone(pid: int, timeout: float = 15) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def _start_sleeping_training(sm: Any, s3: Any, name: str, pid_file: Path) -> None:
    submit = _sleeping_script(s3, name)
    hps = {"sagemaker_program": '"sleeper.py"', "sagemaker_submit_directory": json.dumps(submit)}
    put(s3, f"stop/{name}/train/x.csv", b"1,2\n")
    training_job(
        sm,
        name,
        SKLEARN_IMAGE,
        hps,
        {"train": f"s3://{BUCKET}/stop/{name}/train/"},
        Environment={"PID_FILE": str(pid_file)},
    )


def test_stop_training_job_ends_its_process(sm, s3, tmp_path):
    name = f"stop-train-{uuid.uuid4().hex[:6]}"
    pid = tmp_path / "pid"
    _start_sleeping_training(sm, s3, name, pid)
    process = _wait_pid(pid)
    assert sm.describe_training_job(TrainingJobName=name)["TrainingJobStatus"] == "InProgress"
    sm.stop_training_job(TrainingJobName=name)
    after = sm.describe_training_job(TrainingJobName=name)
    assert after["TrainingJobStatus"] in ("Stopping", "Stopped")
    done = wait_training(sm, name)
    assert done["TrainingJobStatus"] == "Stopped", done.get("FailureReason")
    assert done["SecondaryStatus"] == "Stopped"
    statuses = [t["Status"] for t in done["SecondaryStatusTransitions"]]
    assert statuses[-2:] == ["Stopping", "Stopped"], statuses
    assert "FailureReason" not in done
    assert _gone(process), "the training script still runs after StopTrainingJob"
    with pytest.raises(ClientError) as again:  # a Stopped job cannot be stopped again
        sm.stop_training_job(TrainingJobName=name)
    assert again.value.response["Error"]["Code"] == "ValidationException"


def test_stop_processing_job_ends_its_process(sm, s3, tmp_path):
    name = f"stop-proc-{uuid.uuid4().hex[:6]}"
    pid = tmp_path / "pid"
    put(s3, f"stop/{name}/code/sleeper.py", SLEEPER.encode())
    sm.create_processing_job(
        ProcessingJobName=name,
        RoleArn=ROLE,
        AppSpecification={
            "ImageUri": "img",
            "ContainerEntrypoint": ["python3", "/opt/ml/processing/code/sleeper.py"],
        },
        Environment={"PID_FILE": str(pid)},
        ProcessingInputs=[
            {
                "InputName": "code",
                "S3Input": {
                    "S3Uri": f"s3://{BUCKET}/stop/{name}/code/",
                    "LocalPath": "/opt/ml/processing/code",
                    "S3DataType": "S3Prefix",
                    "S3InputMode": "File",
                },
            }
        ],
        ProcessingResources={
            "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 5}
        },
    )
    process = _wait_pid(pid)
    sm.stop_processing_job(ProcessingJobName=name)
    after = sm.describe_processing_job(ProcessingJobName=name)["ProcessingJobStatus"]
    assert after in ("Stopping", "Stopped")
    done = wait_for(
        lambda: sm.describe_processing_job(ProcessingJobName=name),
        "ProcessingJobStatus",
        ("Completed", "Failed", "Stopped"),
    )
    assert done["ProcessingJobStatus"] == "Stopped", done.get("FailureReason")
    assert _gone(process), "the processing script still runs after StopProcessingJob"


def test_stop_tuning_job_stops_its_training_jobs(sm, s3, tmp_path):
    name = f"stop-tune-{uuid.uuid4().hex[:6]}"
    pid = tmp_path / "pid"
    submit = _sleeping_script(s3, name)
    put(s3, f"stop/{name}/train/x.csv", b"1,2\n")
    sm.create_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name,
        HyperParameterTuningJobConfig={
            "Strategy": "Random",
            "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "accuracy"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 3, "MaxParallelTrainingJobs": 1},
            "ParameterRanges": {"IntegerParameterRanges": [{"Name": "k", "MinValue": "1", "MaxValue": "9"}]},
        },
        TrainingJobDefinition={
            "StaticHyperParameters": {
                "sagemaker_program": '"sleeper.py"',
                "sagemaker_submit_directory": json.dumps(submit),
            },
            "AlgorithmSpecification": {"TrainingImage": SKLEARN_IMAGE, "TrainingInputMode": "File"},
            "RoleArn": ROLE,
            "InputDataConfig": [
                {
                    "ChannelName": "train",
                    "DataSource": {
                        "S3DataSource": {
                            "S3DataType": "S3Prefix",
                            "S3Uri": f"s3://{BUCKET}/stop/{name}/train/",
                        }
                    },
                }
            ],
            "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/stop/{name}/output"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
            "StoppingCondition": {"MaxRuntimeInSeconds": 600},
            "Environment": {"PID_FILE": str(pid)},
        },
    )
    process = _wait_pid(pid)
    sm.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    done = wait_for(
        lambda: sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name),
        "HyperParameterTuningJobStatus",
        ("Completed", "Failed", "Stopped"),
    )
    assert done["HyperParameterTuningJobStatus"] == "Stopped", done.get("FailureReason")
    children = sm.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    statuses = [s["TrainingJobStatus"] for s in children["TrainingJobSummaries"]]
    assert statuses == ["Stopped"], statuses  # one ran and was stopped; no other was started
    assert _gone(process), "the tuning job's training script still runs after the stop"


def test_stopping_an_unknown_job_is_a_validation_error(sm):
    with pytest.raises(ClientError) as missing:
        sm.stop_transform_job(TransformJobName="no-such-transform")
    assert missing.value.response["Error"]["Code"] == "ValidationException"
