"""Processing and tuning operators against the real local endpoint, and the paths a training retry takes
less often: a try that never started a job, a deferred wait that gave up.

As in test_one_job_per_task_instance.py, the job's script holds until the test releases it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from sagemaker_pipelines.airflow.jobs.attempts import job_to_adopt
from sagemaker_pipelines.airflow.jobs.kinds import TRAINING
from sagemaker_pipelines.airflow.jobs.operators import (
    SageMakerProcessingOperator,
    SageMakerTransformOperator,
    SageMakerTuningOperator,
)

from .conftest import (
    BUCKET,
    KNN_IMAGE,
    REGION,
    ROLE,
    SKLEARN_IMAGE,
    get,
    iris_split,
    pack_source,
    put,
    to_csv,
    training_job,
    wait_for,
    wait_training,
)
from .test_one_job_per_task_instance import (
    CONN_ID,
    HELD,
    Job,
    aws_connection,
    context,
    run_in_thread,
    time_out_once_started,
)

__all__ = ["aws_connection"]  # the module's connection to the endpoint (an autouse fixture)

HELD_REPORT = """
import json, os, time
open(os.environ["PID_FILE"], "w").write(str(os.getpid()))
while not os.path.exists(os.environ["RELEASE_FILE"]):
    time.sleep(0.1)
with open("/opt/ml/processing/output/report/report.json", "w") as fh:
    json.dump({"rows": 3}, fh)
"""


def wait_file(path: Path) -> None:
    deadline = time.monotonic() + 60
    while not (path.is_file() and path.read_text()):
        assert time.monotonic() < deadline, f"{path.name} never written: the job's script did not start"
        time.sleep(0.1)


class Processing:
    def __init__(self, s3: Any, folder: Path) -> None:
        self.base = f"eo-proc-{uuid.uuid4().hex[:8]}-20240105T060708"
        self.release, self.pid = folder / "release", folder / "pid"
        self.code = put(s3, f"eo/{self.base}/code/held.py", HELD_REPORT.encode())
        self.output = f"s3://{BUCKET}/eo/{self.base}/report"

    def name(self, try_number: int) -> str:
        return f"{self.base}-{try_number}"

    def config(self, try_number: int) -> dict[str, Any]:
        return {
            "ProcessingJobName": self.name(try_number),
            "RoleArn": ROLE,
            "AppSpecification": {
                "ImageUri": "img",
                "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/held.py"],
            },
            "ProcessingInputs": [
                {
                    "InputName": "code",
                    "S3Input": {
                        "S3Uri": self.code,
                        "LocalPath": "/opt/ml/processing/input/code",
                        "S3DataType": "S3Prefix",
                        "S3InputMode": "File",
                    },
                }
            ],
            "ProcessingOutputConfig": {
                "Outputs": [
                    {
                        "OutputName": "report",
                        "S3Output": {
                            "S3Uri": self.output,
                            "LocalPath": "/opt/ml/processing/output/report",
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                ]
            },
            "ProcessingResources": {
                "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 5}
            },
            "StoppingCondition": {"MaxRuntimeInSeconds": 600},
            "Environment": {"PID_FILE": str(self.pid), "RELEASE_FILE": str(self.release)},
        }

    def operator(self, try_number: int, **kwargs: Any) -> SageMakerProcessingOperator:
        return SageMakerProcessingOperator(
            task_id="prep",
            config=self.config(try_number),
            aws_conn_id=CONN_ID,
            region_name=REGION,
            check_interval=1,
            output_files_to_xcom=[
                {"output_name": "report", "file_name": "report.json", "result_name": "report"}
            ],
            **kwargs,
        )

    def jobs(self, sm: Any) -> list[str]:
        found = sm.list_processing_jobs(NameContains=self.base, MaxResults=100)["ProcessingJobSummaries"]
        return sorted(j["ProcessingJobName"] for j in found)

    def status(self, sm: Any, try_number: int) -> str:
        return sm.describe_processing_job(ProcessingJobName=self.name(try_number))["ProcessingJobStatus"]


def test_a_processing_retry_adopts_the_running_job_and_returns_its_output_files(sm, s3, tmp_path):
    job = Processing(s3, tmp_path)
    sm.create_processing_job(**job.config(1))  # try 1 started it, then its worker died
    wait_file(job.pid)
    thread, outcome = run_in_thread(job.operator(2), 2)
    job.release.touch()
    thread.join(timeout=90)
    assert "error" not in outcome, outcome.get("error")
    result = outcome["result"]
    assert result["Processing"]["ProcessingJobName"] == job.name(1)
    assert result["OutputFiles"] == {"report": {"rows": 3}}  # read from the adopted job's output
    assert json.loads(get(s3, f"{job.output}/report.json")) == {"rows": 3}
    assert job.jobs(sm) == [job.name(1)]


def test_a_processing_job_is_stopped_by_on_kill_and_the_try_fails(sm, s3, tmp_path):
    job = Processing(s3, tmp_path)
    operator = job.operator(1)
    thread, outcome = run_in_thread(operator, 1)
    wait_file(job.pid)
    operator.on_kill()
    assert job.status(sm, 1) == "Stopped"
    thread.join(timeout=60)
    # The provider's processing wait counts only Failed as failed: a stopped job must fail the try.
    assert "Stopped" in str(outcome.get("error")), outcome


def test_a_processing_execution_timeout_stops_the_job(sm, s3, tmp_path):
    job = Processing(s3, tmp_path)
    time_out_once_started(job.operator(1, execution_timeout=dt.timedelta(minutes=10)), job.pid)
    assert job.pid.is_file()
    assert job.status(sm, 1) == "Stopped"


def test_on_kill_stops_a_tuning_job_and_its_training_jobs(sm, s3, tmp_path):
    base = f"eo-tune-{uuid.uuid4().hex[:4]}"  # tuning job names: at most 32 characters
    pid, release = tmp_path / "pid", tmp_path / "release"
    submit = put(s3, f"eo/{base}/sourcedir.tar.gz", pack_source({"held.py": HELD}))
    train = put(s3, f"eo/{base}/train/x.csv", b"1,2\n")
    config = {
        "HyperParameterTuningJobName": f"{base}-20240105T060708-1",
        "HyperParameterTuningJobConfig": {
            "Strategy": "Random",
            "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "accuracy"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 2, "MaxParallelTrainingJobs": 1},
            "ParameterRanges": {"IntegerParameterRanges": [{"Name": "k", "MinValue": "1", "MaxValue": "9"}]},
        },
        "TrainingJobDefinition": {
            "StaticHyperParameters": {
                "sagemaker_program": '"held.py"',
                "sagemaker_submit_directory": json.dumps(submit),
            },
            "AlgorithmSpecification": {"TrainingImage": SKLEARN_IMAGE, "TrainingInputMode": "File"},
            "RoleArn": ROLE,
            "InputDataConfig": [  # the provider's hook requires the key for a tuning job
                {
                    "ChannelName": "train",
                    "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": train}},
                }
            ],
            "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/eo/{base}/output"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
            "StoppingCondition": {"MaxRuntimeInSeconds": 600},
            "Environment": {"PID_FILE": str(pid), "RELEASE_FILE": str(release)},
        },
    }
    operator = SageMakerTuningOperator(
        task_id="tune", config=config, aws_conn_id=CONN_ID, region_name=REGION, check_interval=1
    )
    thread, outcome = run_in_thread(operator, 1)
    wait_file(pid)
    operator.on_kill()
    name = config["HyperParameterTuningJobName"]
    done = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    assert done["HyperParameterTuningJobStatus"] == "Stopped"
    children = sm.list_training_jobs_for_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    assert [c["TrainingJobStatus"] for c in children["TrainingJobSummaries"]] == ["Stopped"]
    thread.join(timeout=60)
    assert "Stopped" in str(outcome.get("error")), outcome


def test_a_try_that_never_started_a_job_is_skipped(sm, s3, tmp_path):
    job = Job(s3, tmp_path)
    sm.create_training_job(**job.config(1))  # try 1's job runs on; try 2 died before it created one
    job.release.touch()
    result = job.operator(3).execute(context(3))
    assert result["Training"]["TrainingJobName"] == job.name(1)
    assert job.jobs(sm) == [job.name(1)]


def test_a_deferred_wait_that_gives_up_stops_the_job(sm, s3, tmp_path):
    job = Job(s3, tmp_path)
    sm.create_training_job(**job.config(1))
    wait_file(job.pid)
    operator = job.operator(1, deferrable=True)
    event = {"status": "timeout", "job_name": job.name(1), "message": "Waiter error: max attempts reached"}
    with pytest.raises(Exception, match="max attempts"):
        operator.execute_complete(context(1), event)  # how a resumed task learns its trigger gave up
    done = wait_for(
        lambda: sm.describe_training_job(TrainingJobName=job.name(1)),
        "TrainingJobStatus",
        ("Completed", "Failed", "Stopped"),
    )
    assert done["TrainingJobStatus"] == "Stopped"


def test_a_transform_retry_takes_the_result_of_the_job_an_earlier_try_left(sm, s3):
    base = f"eo-tr-{uuid.uuid4().hex[:8]}"
    train, test = iris_split()
    put(s3, f"eo/{base}/train/train.csv", to_csv(train))
    put(s3, f"eo/{base}/input/test.csv", to_csv(test[:, 1:]))
    hps = {"k": "3", "feature_dim": "4", "predictor_type": "classifier", "sample_size": "100"}
    training_job(sm, f"{base}-knn", KNN_IMAGE, hps, {"train": f"s3://{BUCKET}/eo/{base}/train/"})
    artifact = wait_training(sm, f"{base}-knn")["ModelArtifacts"]["S3ModelArtifacts"]
    sm.create_model(
        ModelName=f"{base}-model",
        PrimaryContainer={"Image": KNN_IMAGE, "ModelDataUrl": artifact},
        ExecutionRoleArn=ROLE,
    )

    def config(try_number: int) -> dict[str, Any]:
        return {
            "TransformJobName": f"{base}-20240105T060708-{try_number}",
            "ModelName": f"{base}-model",
            "TransformInput": {
                "DataSource": {
                    "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/eo/{base}/input/"}
                },
                "ContentType": "text/csv",
                "SplitType": "Line",
            },
            "TransformOutput": {"S3OutputPath": f"s3://{BUCKET}/eo/{base}/output"},
            "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
        }

    sm.create_transform_job(**config(1))  # try 1 started it and died; the job finished without it
    first = config(1)["TransformJobName"]
    wait_for(lambda: sm.describe_transform_job(TransformJobName=first), "TransformJobStatus", ("Completed",))
    operator = SageMakerTransformOperator(
        task_id="score", config=config(2), aws_conn_id=CONN_ID, region_name=REGION, check_interval=1
    )
    ti = context(2)["ti"]
    ti.xcom_push = lambda **_: None  # the provider persists a console link through XCom
    result = operator.execute({"ti": ti})
    assert result["Transform"]["TransformJobName"] == first
    assert result["Model"]["ModelName"] == f"{base}-model"
    jobs = sm.list_transform_jobs(NameContains=base)["TransformJobSummaries"]
    assert [j["TransformJobName"] for j in jobs] == [first]


class Recorded(logging.Handler):
    """Log records as they come, with an event per awaited message."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []
        self.changed = threading.Condition()

    def emit(self, record: logging.LogRecord) -> None:
        with self.changed:
            self.messages.append(record.getMessage())
            self.changed.notify_all()

    def wait_for(self, fragment: str, timeout: float = 60) -> None:
        with self.changed:
            found = self.changed.wait_for(lambda: any(fragment in m for m in self.messages), timeout)
        assert found, f"never logged {fragment!r}: {self.messages}"


def test_a_retry_waits_for_a_stopping_job_before_starting_its_own(sm, s3, tmp_path):
    # Two held jobs take both of the endpoint's slots, so the stopped job stays Stopping until they end.
    holders = [Job(s3, tmp_path / name) for name in ("a", "b")]
    for holder in holders:
        holder.pid.parent.mkdir()
        sm.create_training_job(**holder.config(1))
        holder.wait_running()
    job = Job(s3, tmp_path)
    sm.create_training_job(**job.config(1))
    sm.stop_training_job(TrainingJobName=job.name(1))  # a cancelled try's job, waiting for its slot
    assert sm.describe_training_job(TrainingJobName=job.name(1))["TrainingJobStatus"] == "Stopping"
    log = logging.getLogger(f"eo-{uuid.uuid4().hex}")
    log.setLevel(logging.INFO)
    recorded = Recorded()
    log.addHandler(recorded)
    outcome: dict[str, Any] = {}
    thread = threading.Thread(
        target=lambda: outcome.setdefault("adopt", job_to_adopt(sm, TRAINING, job.name(2), 2, log)),
        daemon=True,
    )
    thread.start()
    recorded.wait_for("is stopping: waiting until it has stopped")
    assert thread.is_alive() and job.jobs(sm) == [job.name(1)]  # try 2 waits, starting nothing yet
    for holder in holders:
        holder.release.touch()
    thread.join(timeout=60)
    assert outcome == {"adopt": None}  # then starts its own job
    recorded.wait_for("is Stopped: starting this try's own job")
    assert sm.describe_training_job(TrainingJobName=job.name(1))["TrainingJobStatus"] == "Stopped"
