"""A start_pipeline task under a real ``make airflow`` stack: one SageMaker Pipelines execution per task
instance, stopped when the task is cancelled.

The SageMaker pipeline on the stack's local endpoint has one training step whose script holds until the
test releases it, so the execution surely runs while the test acts:

* it SIGKILLs the task's process: Airflow retries the task, and the retry finds the execution the first
  try started (by the description each try writes into its execution) and waits for it - one execution
  for the task instance, not a second beside the first;
* a user marks the running task failed: Airflow terminates the try and its execution ends Stopped, as
  the task log says.

Each test counts the pipeline's executions on the endpoint and reads what happened through the REST API.
"""

from __future__ import annotations

import io
import json
import os
import signal
import tarfile
import textwrap

import pytest

from sagemaker_pipelines.compile.images import framework_image_uri

from .conftest import start_stack, stop_stack, wait_until
from .held_job import HELD, REGION, task_process

DAG_ID = "held_pipeline"
PIPELINE = "held-pipeline"
BUCKET = "sagemaker-local"  # environments/local.yaml's, which the stack provisions
TASK = "start"


def _dag() -> str:
    return textwrap.dedent(
        f"""\
        description: Starts a SageMaker pipeline whose training step holds until the test releases it.
        schedule: null
        start_date: 2024-01-01
        tasks:
          {TASK}:
            kind: start_pipeline
            pipeline_name: {PIPELINE}
            wait_for_completion: true
            check_interval: 2s
            retries: 1
            retry_delay: 1s
        """
    )


def _definition(folder) -> str:
    step = {
        "AlgorithmSpecification": {
            "TrainingImage": framework_image_uri("sklearn", REGION, serving=False),
            "TrainingInputMode": "File",
        },
        "HyperParameters": {
            "sagemaker_program": '"train.py"',
            "sagemaker_submit_directory": json.dumps(f"s3://{BUCKET}/{PIPELINE}/sourcedir.tar.gz"),
        },
        "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/{PIPELINE}/output"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
        "RoleArn": "arn:aws:iam::123456789012:role/sagemaker",
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        "Environment": {"PID_FILE": str(folder / "pid"), "RELEASE_FILE": str(folder / "release")},
    }
    return json.dumps(
        {"Version": "2020-12-01", "Steps": [{"Name": "Train", "Type": "Training", "Arguments": step}]}
    )


def _sourcedir() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("train.py")
        info.size = len(HELD.encode())
        tar.addfile(info, io.BytesIO(HELD.encode()))
    return buffer.getvalue()


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pipeline-faults")
    folder = tmp / "held"
    folder.mkdir()
    source = tmp / f"{DAG_ID}.yaml"
    source.write_text(_dag())
    running = start_stack(tmp / "stack", pipelines=(), extra=(source,))
    try:
        wait_until(lambda: DAG_ID in running.api.dag_ids(), 240, "the DAG listed")
        s3 = running.aws_client("s3", REGION)
        wait_until(lambda: BUCKET in {b["Name"] for b in s3.list_buckets()["Buckets"]}, 120, "the bucket")
        s3.put_object(Bucket=BUCKET, Key=f"{PIPELINE}/sourcedir.tar.gz", Body=_sourcedir())
        sagemaker = running.aws_client("sagemaker", REGION)
        role = "arn:aws:iam::123456789012:role/sagemaker"
        sagemaker.create_pipeline(PipelineName=PIPELINE, RoleArn=role, PipelineDefinition=_definition(folder))
        yield running, folder, sagemaker
    finally:
        stop_stack(running)


def _held(folder):
    for name in ("pid", "release"):
        (folder / name).unlink(missing_ok=True)
    return folder


def _executions(sagemaker) -> dict[str, dict]:
    found = sagemaker.list_pipeline_executions(PipelineName=PIPELINE)["PipelineExecutionSummaries"]
    return {e["PipelineExecutionArn"]: e for e in found}


def _path(run_id: str) -> str:
    return f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{TASK}"


def test_a_retry_after_a_killed_worker_adopts_the_running_execution(stack):
    running, folder, sagemaker = stack
    api, before = running.api, set(_executions(sagemaker))
    _held(folder)
    run_id = api.trigger(DAG_ID)
    wait_until(lambda: (folder / "pid").is_file(), 180, "the step's script started")
    first = api.get(_path(run_id))
    assert first["try_number"] == 1 and first["state"] == "running", first
    victim = wait_until(lambda: task_process(running, first["id"]), 30, "the task's process")
    os.kill(victim.pid, signal.SIGKILL)

    def adopted() -> bool:
        if api.get(_path(run_id))["try_number"] < 2:
            return False
        return "Adopting SageMaker pipeline execution" in api.task_log(DAG_ID, run_id, TASK, 2)

    wait_until(adopted, 180, "the retry adopted the first try's execution")
    (folder / "release").touch()
    assert api.wait_for_run(DAG_ID, run_id, timeout=240) == "success"
    made = {arn: e for arn, e in _executions(sagemaker).items() if arn not in before}
    assert [e["PipelineExecutionStatus"] for e in made.values()] == ["Succeeded"], made
    (execution,) = made.values()
    assert execution["PipelineExecutionDescription"].endswith("try 1"), execution


def test_a_task_marked_failed_stops_its_execution(stack):
    running, folder, sagemaker = stack
    api, before = running.api, set(_executions(sagemaker))
    _held(folder)
    run_id = api.trigger(DAG_ID)
    wait_until(lambda: (folder / "pid").is_file(), 180, "the step's script started")
    api.call("PATCH", _path(run_id), {"new_state": "failed"})

    def ended() -> dict[str, str]:
        made = {a: e["PipelineExecutionStatus"] for a, e in _executions(sagemaker).items() if a not in before}
        return made if made and all(s in ("Stopped", "Succeeded", "Failed") for s in made.values()) else {}

    statuses = wait_until(ended, 120, "the execution ended")
    assert list(statuses.values()) == ["Stopped"], statuses
    assert api.wait_for_run(DAG_ID, run_id, timeout=120) == "failed"
    log = api.task_log(DAG_ID, run_id, TASK, 1)
    assert f"Stopping SageMaker pipeline execution {next(iter(statuses))}" in log, log[-3000:]
