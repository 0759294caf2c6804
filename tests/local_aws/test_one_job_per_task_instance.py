"""The job operators against the real local endpoint: one job per task instance, stopped when cancelled.

Each test runs the project's operator (``airflow/jobs/operators.py``) the way a task runner does - its
``execute`` with a task instance's try number, Airflow's own execution-timeout wrapper where that matters -
against a training script that holds until the test releases it, so what the endpoint lists afterwards
(how many jobs, which status) is decided by the operator and nothing else.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowTaskTimeout, TaskDeferred

from sagemaker_pipelines.airflow.jobs.attempts import CONSUMED_TAG
from sagemaker_pipelines.airflow.jobs.kinds import WAIT_MARGIN_SECONDS
from sagemaker_pipelines.airflow.jobs.operators import SageMakerTrainingOperator
from sagemaker_pipelines.airflow.jobs.trigger import SageMakerJobTrigger

from .conftest import BUCKET, REGION, ROLE, SKLEARN_IMAGE, pack_source, put, wait_training

CONN_ID = "aws_one_job_per_task_instance"
HELD = """
import os, time
open(os.environ["PID_FILE"], "w").write(str(os.getpid()))
while not os.path.exists(os.environ["RELEASE_FILE"]):
    time.sleep(0.1)
open(os.path.join(os.environ["SM_MODEL_DIR"], "model.txt"), "w").write("trained")
"""


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
    # As make run does (local/provision.py): the processing operator reads output files with a client
    # built without the connection's endpoint_url.
    mp.setenv("AWS_ENDPOINT_URL", local_aws.endpoint_url)
    yield
    mp.undo()


class Job:
    """One task instance's training task: its config (named for a try), its release and pid files."""

    def __init__(self, s3: Any, folder: Path, max_runtime: int = 600) -> None:
        self.base = f"eo-{uuid.uuid4().hex[:8]}-20240105T060708"
        self.release, self.pid = folder / "release", folder / "pid"
        submit = put(s3, f"eo/{self.base}/sourcedir.tar.gz", pack_source({"held.py": HELD}))
        put(s3, f"eo/{self.base}/train/x.csv", b"1,2\n")
        self.max_runtime = max_runtime
        self.submit = submit

    def name(self, try_number: int) -> str:
        return f"{self.base}-{try_number}"

    def config(self, try_number: int) -> dict[str, Any]:
        return {
            "TrainingJobName": self.name(try_number),
            "AlgorithmSpecification": {"TrainingImage": SKLEARN_IMAGE, "TrainingInputMode": "File"},
            "RoleArn": ROLE,
            "HyperParameters": {
                "sagemaker_program": '"held.py"',
                "sagemaker_submit_directory": json.dumps(self.submit),
            },
            "InputDataConfig": [
                {
                    "ChannelName": "train",
                    "DataSource": {
                        "S3DataSource": {
                            "S3DataType": "S3Prefix",
                            "S3Uri": f"s3://{BUCKET}/eo/{self.base}/train/",
                        }
                    },
                }
            ],
            "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/eo/{self.base}/output"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
            "StoppingCondition": {"MaxRuntimeInSeconds": self.max_runtime},
            "Environment": {"PID_FILE": str(self.pid), "RELEASE_FILE": str(self.release)},
        }

    def operator(self, try_number: int, **kwargs: Any) -> SageMakerTrainingOperator:
        return SageMakerTrainingOperator(
            task_id="train",
            config=self.config(try_number),
            aws_conn_id=CONN_ID,
            region_name=REGION,
            check_interval=1,
            print_log=False,
            **kwargs,
        )

    def jobs(self, sm: Any) -> list[str]:
        found = sm.list_training_jobs(NameContains=self.base, MaxResults=100)["TrainingJobSummaries"]
        return sorted(j["TrainingJobName"] for j in found)

    def wait_running(self) -> None:
        """Until the job's script runs (it writes its pid): the job is InProgress from then on."""
        deadline = time.monotonic() + 60
        while not (self.pid.is_file() and self.pid.read_text()):
            assert time.monotonic() < deadline, "the training script never started"
            time.sleep(0.1)


def context(try_number: int) -> dict[str, Any]:
    ti = SimpleNamespace(
        try_number=try_number, dag_id="eo", task_id="train", map_index=-1, run_id="manual__2024-01-05"
    )
    return {"ti": ti}


def run_in_thread(operator: Any, try_number: int) -> tuple[threading.Thread, dict[str, Any]]:
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["result"] = operator.execute(context(try_number))
        except BaseException as error:
            outcome["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, outcome


def time_out_once_started(operator: Any, started: Path) -> None:
    """Run try 1 under Airflow's own timeout wrapper, as a task runner applies it, and let the wrapper's
    timer run out once the job's script has written ``started``: the timeout falls while the job runs,
    however long the endpoint took to start it (a fixed 4 s did not always cover that on a loaded CI)."""
    from airflow.sdk.execution_time.task_runner import _run_execute_callable

    assert operator.execution_timeout is not None  # the wrapper arms its timer only for one
    handler = signal.getsignal(signal.SIGALRM)
    lock, finished = threading.Lock(), threading.Event()

    def strike() -> None:
        deadline = time.monotonic() + 120
        while not (started.is_file() and started.read_text()) and time.monotonic() < deadline:
            if finished.wait(0.05):
                return
        with lock:  # never once the wrapper has returned: a later alarm would hit another test
            if not finished.is_set():
                signal.setitimer(signal.ITIMER_REAL, 0.001)  # the timer the wrapper armed runs out now

    thread = threading.Thread(target=strike, daemon=True)
    thread.start()
    try:
        with pytest.raises(AirflowTaskTimeout):
            _run_execute_callable(context(1), operator.execute, operator)
    finally:
        with lock:
            finished.set()
        thread.join()
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, handler)


def test_a_retry_adopts_the_job_an_earlier_try_left_running(sm, s3, tmp_path):
    job = Job(s3, tmp_path)
    sm.create_training_job(**job.config(1))  # try 1 started its job, then its worker died
    job.wait_running()
    thread, outcome = run_in_thread(job.operator(2), 2)
    job.release.touch()
    thread.join(timeout=90)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["result"]["Training"]["TrainingJobName"] == job.name(1)
    assert outcome["result"]["Training"]["TrainingJobStatus"] == "Completed"
    assert job.jobs(sm) == [job.name(1)]
    arn = outcome["result"]["Training"]["TrainingJobArn"]
    assert CONSUMED_TAG in {t["Key"] for t in sm.list_tags(ResourceArn=arn)["Tags"]}


def test_a_completed_job_nobody_took_is_adopted_and_a_consumed_one_is_not(sm, s3, tmp_path):
    job = Job(s3, tmp_path)
    job.release.touch()
    sm.create_training_job(**job.config(1))  # try 1 started it and died; the job finished without it
    assert wait_training(sm, job.name(1))["TrainingJobStatus"] == "Completed"
    adopted = job.operator(2).execute(context(2))
    assert adopted["Training"]["TrainingJobName"] == job.name(1)
    assert adopted["Training"]["ModelArtifacts"]["S3ModelArtifacts"].endswith(
        f"{job.name(1)}/output/model.tar.gz"
    )
    assert job.jobs(sm) == [job.name(1)]
    # The task succeeded with that job; a user clears it to run it again: try 3 starts a job of its own.
    again = job.operator(3).execute(context(3))
    assert again["Training"]["TrainingJobName"] == job.name(3)
    assert again["Training"]["TrainingJobStatus"] == "Completed"
    assert job.jobs(sm) == [job.name(1), job.name(3)]


def test_a_retry_after_a_failed_job_starts_its_own(sm, s3, tmp_path):
    job = Job(s3, tmp_path)
    sm.create_training_job(**job.config(1))
    job.wait_running()
    sm.stop_training_job(TrainingJobName=job.name(1))  # an earlier try's job that ended without a result
    assert wait_training(sm, job.name(1))["TrainingJobStatus"] == "Stopped"
    job.release.touch()
    result = job.operator(2).execute(context(2))
    assert result["Training"]["TrainingJobName"] == job.name(2)
    assert job.jobs(sm) == [job.name(1), job.name(2)]


def test_on_kill_stops_the_job(sm, s3, tmp_path):
    job = Job(s3, tmp_path)
    operator = job.operator(1)
    thread, outcome = run_in_thread(operator, 1)
    job.wait_running()
    operator.on_kill()  # what the task runner calls on SIGTERM (marked failed, cleared, terminated)
    assert sm.describe_training_job(TrainingJobName=job.name(1))["TrainingJobStatus"] == "Stopped"
    thread.join(timeout=60)
    assert "error" in outcome, outcome  # the wait sees the job stopped: the try fails
    assert "Stopped" in str(outcome["error"])
    arn = sm.describe_training_job(TrainingJobName=job.name(1))["TrainingJobArn"]
    assert CONSUMED_TAG not in {t["Key"] for t in sm.list_tags(ResourceArn=arn)["Tags"]}
    assert job.jobs(sm) == [job.name(1)]


def test_an_execution_timeout_stops_the_job(sm, s3, tmp_path):
    job = Job(s3, tmp_path)
    time_out_once_started(job.operator(1, execution_timeout=dt.timedelta(minutes=10)), job.pid)
    assert job.pid.is_file()  # the job ran when the timeout struck
    done = sm.describe_training_job(TrainingJobName=job.name(1))
    assert done["TrainingJobStatus"] == "Stopped"


def test_a_deferred_wait_lasts_as_long_as_the_job_may_run(sm, s3, tmp_path):
    job = Job(s3, tmp_path, max_runtime=7200)
    operator = job.operator(1, deferrable=True)
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(context(1))
    trigger = deferred.value.trigger
    assert trigger.attempts * operator.check_interval >= 7200 + WAIT_MARGIN_SECONDS
    classpath, kwargs = trigger.serialize()  # what the triggerer rebuilds it from
    assert classpath == "sagemaker_pipelines.airflow.jobs.trigger.SageMakerJobTrigger"
    assert kwargs["waiter_max_attempts"] == trigger.attempts and kwargs["job_name"] == job.name(1)
    # A deferral is not a cancellation: the job runs on for the trigger to wait for.
    assert sm.describe_training_job(TrainingJobName=job.name(1))["TrainingJobStatus"] == "InProgress"


def test_a_deferred_task_cancelled_by_a_user_stops_its_job(sm, s3, tmp_path):
    job = Job(s3, tmp_path)
    with pytest.raises(TaskDeferred) as deferred:
        job.operator(1, deferrable=True).execute(context(1))
    job.wait_running()
    _, kwargs = deferred.value.trigger.serialize()
    trigger = SageMakerJobTrigger(**kwargs)  # as the triggerer rebuilds it
    asyncio.run(trigger.on_kill())  # what the triggerer awaits when a user marks or clears the task
    assert sm.describe_training_job(TrainingJobName=job.name(1))["TrainingJobStatus"] == "Stopped"


def test_a_cancelled_trigger_finishes_only_once_its_job_is_stopped(sm, s3, tmp_path):
    """The triggerer cancels a cancelled trigger again at each sync until it has finished, and closes its log
    file once it has: the trigger, run by the triggerer's own ``run_trigger``, must not finish (and lose
    the line naming the stopped job) before the stop it started in on_kill has ended."""
    from airflow.jobs.triggerer_job_runner import _USER_ACTION_CANCEL_MSG, TriggerRunner

    job = Job(s3, tmp_path)
    with pytest.raises(TaskDeferred) as deferred:
        job.operator(1, deferrable=True).execute(context(1))
    job.wait_running()
    _, kwargs = deferred.value.trigger.serialize()
    trigger = SageMakerJobTrigger(**kwargs)
    lines: list[str] = []
    record = SimpleNamespace(
        **{
            level: lambda message, *args, **_: lines.append(message % args)
            for level in ("debug", "info", "warning", "error", "exception")
        }
    )
    trigger._log = record  # what LoggingMixin.log returns: the trigger's own lines, in order

    async def as_the_triggerer_does() -> str:
        runner = TriggerRunner()
        task = asyncio.ensure_future(runner.run_trigger(1, trigger))
        runner.triggers[1] = {"task": task, "name": "cancelled", "events": 0}
        await asyncio.sleep(0.2)  # the trigger waits in its first check interval
        while not task.done():  # each state sync cancels it again, until it has finished
            task.cancel(_USER_ACTION_CANCEL_MSG)
            await asyncio.wait([task], timeout=0.05)
        return sm.describe_training_job(TrainingJobName=job.name(1))["TrainingJobStatus"]

    assert asyncio.run(as_the_triggerer_does()) == "Stopped"
    assert any(line.startswith(f"Stopping SageMaker training job {job.name(1)}") for line in lines), lines
