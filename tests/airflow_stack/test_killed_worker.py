"""Faults under a real ``make airflow`` stack: a killed worker's retry re-attaches to the running job, and a
task marked failed stops its job.

The training task's script holds until the test releases it. Once it runs, the test SIGKILLs the task's
process (what an OOM kill or a lost machine does: no ``on_kill``, no cleanup), so Airflow retries the
task. The retry must find the job the first try started and wait for it - the run ends with success and
exactly one training job for the task instance on the endpoint, not a second paid job beside the first.
A user marking a running task failed makes Airflow terminate it: its job ends Stopped, as the log says.
"""

from __future__ import annotations

import os
import shutil
import signal
import textwrap
from pathlib import Path

import psutil
import pytest

from sagemaker_pipelines.paths import CHECKOUT_ROOT

from .conftest import command_line, start_stack, stop_stack, wait_until

DAG_ID = "held_job"
HELD = """\
import os, time

open(os.environ["PID_FILE"], "w").write(str(os.getpid()))
while not os.path.exists(os.environ["RELEASE_FILE"]):
    time.sleep(0.2)
open(os.path.join(os.environ["SM_MODEL_DIR"], "model.txt"), "w").write("trained")
"""


def pipeline(folder: Path) -> str:
    return textwrap.dedent(
        f"""\
        description: A training job that holds until the test releases it.
        schedule: null
        start_date: 2024-01-01
        tasks:
          train:
            kind: training
            entry_point: include/held/train.py
            framework: sklearn
            environment:
              PID_FILE: {folder / "pid"}
              RELEASE_FILE: {folder / "release"}
            retries: 1
            retry_delay: 1s
            check_interval: 2s
            max_runtime: 10m
        """
    )


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("killed-worker")
    include = tmp / "include"
    shutil.copytree(CHECKOUT_ROOT / "include", include)
    (include / "held").mkdir()
    (include / "held" / "train.py").write_text(HELD)
    (tmp / "files").mkdir()
    source = tmp / f"{DAG_ID}.yaml"
    source.write_text(pipeline(tmp / "files"))
    mp = pytest.MonkeyPatch()
    mp.setenv("SAGEMAKER_INCLUDE_DIR", str(include))
    running = start_stack(tmp / "stack", pipelines=(), extra=(source,))
    try:
        wait_until(lambda: DAG_ID in running.api.dag_ids(), 240, f"{DAG_ID} listed")
        yield running, tmp / "files"
    finally:
        stop_stack(running)
        mp.undo()


def task_process(stack, ti_id: str) -> psutil.Process | None:
    """The task's own process: the task runner titles it ``airflow worker -- <task instance id>``."""
    for process in stack.descendants():
        if " ".join(command_line(process)).strip() == f"airflow worker -- {ti_id}":
            return process
    return None


def test_a_retry_after_a_killed_worker_adopts_the_running_job(stack):
    running, files = stack
    api = running.api
    run_id = api.trigger(DAG_ID)
    wait_until(lambda: (files / "pid").is_file(), 180, "the training script started")
    path = f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/train"
    first = api.get(path)
    assert first["try_number"] == 1 and first["state"] == "running", first
    victim = wait_until(lambda: task_process(running, first["id"]), 30, "the task's process")
    os.kill(victim.pid, signal.SIGKILL)

    def adopted() -> bool:
        if api.get(path)["try_number"] < 2:
            return False
        return "Adopting SageMaker training job" in api.task_log(DAG_ID, run_id, "train", 2)

    wait_until(adopted, 180, "the retry adopted the first try's job")
    (files / "release").touch()
    assert api.wait_for_run(DAG_ID, run_id, timeout=240) == "success"
    sagemaker = running.aws_client("sagemaker", "us-east-2")
    jobs = sagemaker.list_training_jobs(NameContains="held-job-train")["TrainingJobSummaries"]
    assert [j["TrainingJobName"].rsplit("-", 1)[1] for j in jobs] == ["1"], jobs  # one job: try 1's
    assert jobs[0]["TrainingJobStatus"] == "Completed"


def test_a_task_marked_failed_stops_its_job(stack):
    running, files = stack
    api = running.api
    for name in ("pid", "release"):
        (files / name).unlink(missing_ok=True)
    sagemaker = running.aws_client("sagemaker", "us-east-2")
    before = {j["TrainingJobName"] for j in sagemaker.list_training_jobs()["TrainingJobSummaries"]}
    run_id = api.trigger(DAG_ID)
    wait_until(lambda: (files / "pid").is_file(), 180, "the training script started")
    path = f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/train"
    api.call("PATCH", path, {"new_state": "failed"})  # a user marks the running task failed

    def this_runs_job() -> dict | None:
        jobs = sagemaker.list_training_jobs(NameContains="held-job-train")["TrainingJobSummaries"]
        (job,) = [j for j in jobs if j["TrainingJobName"] not in before]
        return job if job["TrainingJobStatus"] in ("Stopped", "Completed", "Failed") else None

    job = wait_until(this_runs_job, 120, "the job of the task marked failed ended")
    assert job["TrainingJobStatus"] == "Stopped", job
    assert api.wait_for_run(DAG_ID, run_id, timeout=120) == "failed"
    log = api.task_log(DAG_ID, run_id, "train", 1)
    assert f"Stopping SageMaker training job {job['TrainingJobName']}" in log, log[-3000:]
