"""Faults under a real ``make airflow`` stack, each ending with one job per task instance that ran, or with
the job Stopped when the task was cancelled; the run's verdict is what the user asked for.

The training tasks' script holds until the test releases it, so a test acts while the job surely runs:

* it SIGKILLs the task's process (what an OOM kill or a lost machine does: no ``on_kill``, no cleanup),
  so Airflow retries the task: the retry finds the job the first try started and waits for it - one
  training job for the task instance, not a second paid job beside the first;
* a user marks the running task failed, or the whole DAG run failed: Airflow terminates the try and its
  job ends Stopped, as the log says;
* a user clears the running task: the old try's job is stopped before the new try starts its own, so two
  jobs never run at once;
* ``execution_timeout`` is shorter than the job, with a retry: each try's job is stopped when the try
  times out, and the failed run leaves no job running or completed.

Every test reads the jobs on the stack's local endpoint, and what happened through Airflow's REST API.
"""

from __future__ import annotations

import json
import os
import signal
import threading

import pytest

from .conftest import stop_stack, wait_until
from .held_job import ONE_RETRY, REGION, Jobs, files, held_stack, task_process, ti_path

DAG_ID = "held_job"
TIMED_DAG_ID = "timed_job"
ENDPOINT_DAG_ID = "endpoint_job"
DEFERRED_DAG_ID = "deferred_job"
EXECUTION_TIMEOUT = 60  # seconds: a try is given this long, its job holds longer


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("job-faults")
    pipelines = {
        DAG_ID: ONE_RETRY,
        TIMED_DAG_ID: f"{ONE_RETRY}execution_timeout: {EXECUTION_TIMEOUT}s\n",
        # Its tries outlast an endpoint restart (seconds), as a deployment's retries outlast an outage.
        ENDPOINT_DAG_ID: "retries: 3\nretry_delay: 20s\n",
        # Deferred to the triggerer; 20 s checks (docs/retries-and-cancelling.md: an Airflow race).
        DEFERRED_DAG_ID: f"{ONE_RETRY}deferrable: true\ncheck_interval: 20s\n",
    }
    with held_stack(tmp, pipelines) as running:
        yield running, tmp


def test_a_retry_after_a_killed_worker_adopts_the_running_job(stack):
    running, tmp = stack
    api, folder, jobs = running.api, files(tmp, DAG_ID), Jobs(running, DAG_ID)
    run_id = api.trigger(DAG_ID)
    wait_until(lambda: (folder / "pid").is_file(), 180, "the training script started")
    path = ti_path(DAG_ID, run_id)
    first = api.get(path)
    assert first["try_number"] == 1 and first["state"] == "running", first
    victim = wait_until(lambda: task_process(running, first["id"]), 30, "the task's process")
    os.kill(victim.pid, signal.SIGKILL)

    def adopted() -> bool:
        if api.get(path)["try_number"] < 2:
            return False
        return "Adopting SageMaker training job" in api.task_log(DAG_ID, run_id, "train", 2)

    wait_until(adopted, 180, "the retry adopted the first try's job")
    (folder / "release").touch()
    assert api.wait_for_run(DAG_ID, run_id, timeout=240) == "success"
    statuses = jobs.statuses()
    assert [name.rsplit("-", 1)[1] for name in statuses] == ["1"], statuses  # one job: try 1's
    assert list(statuses.values()) == ["Completed"]


def _cancelled(running, tmp, cancel) -> tuple[str, dict[str, str]]:
    """Trigger held_job, cancel its running task with ``cancel(run_id)``; the run id and its job, ended."""
    api, folder, jobs = running.api, files(tmp, DAG_ID), Jobs(running, DAG_ID)
    run_id = api.trigger(DAG_ID)
    wait_until(lambda: (folder / "pid").is_file(), 180, "the training script started")
    cancel(run_id)
    ended = ("Stopped", "Completed", "Failed")
    statuses = wait_until(
        lambda: (s := jobs.statuses()) and all(v in ended for v in s.values()) and s, 120, "the job ended"
    )
    return run_id, statuses


def test_a_task_marked_failed_stops_its_job(stack):
    running, tmp = stack
    api = running.api
    run_id, statuses = _cancelled(
        running, tmp, lambda run_id: api.call("PATCH", ti_path(DAG_ID, run_id), {"new_state": "failed"})
    )
    assert list(statuses.values()) == ["Stopped"], statuses
    assert api.wait_for_run(DAG_ID, run_id, timeout=120) == "failed"
    log = api.task_log(DAG_ID, run_id, "train", 1)
    assert f"Stopping SageMaker training job {next(iter(statuses))}" in log, log[-3000:]


def test_a_dag_run_marked_failed_stops_its_running_job(stack):
    running, tmp = stack
    api = running.api
    run_id, statuses = _cancelled(
        running,
        tmp,
        lambda run_id: api.call("PATCH", f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}", {"state": "failed"}),
    )
    assert list(statuses.values()) == ["Stopped"], statuses
    assert api.wait_for_run(DAG_ID, run_id, timeout=60) == "failed"
    assert api.get(ti_path(DAG_ID, run_id))["state"] == "failed"
    log = api.task_log(DAG_ID, run_id, "train", 1)
    assert f"Stopping SageMaker training job {next(iter(statuses))}" in log, log[-3000:]


def test_clearing_a_running_task_never_runs_two_jobs(stack):
    running, tmp = stack
    api, folder, jobs = running.api, files(tmp, DAG_ID), Jobs(running, DAG_ID)
    run_id = api.trigger(DAG_ID)
    wait_until(lambda: (folder / "pid").is_file(), 180, "the training script started")
    at_once: list[dict[str, str]] = []  # every sample in which more than one job was InProgress
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            statuses = jobs.statuses()
            if sum(status == "InProgress" for status in statuses.values()) > 1:
                at_once.append(statuses)
            done.wait(0.5)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        (folder / "pid").unlink()
        body = {"dry_run": False, "dag_run_id": run_id, "task_ids": ["train"], "only_failed": False}
        api.call("POST", f"/api/v2/dags/{DAG_ID}/clearTaskInstances", body)
        # The new try's job runs its script: the first one's job has been stopped before it started.
        wait_until(lambda: (folder / "pid").is_file(), 300, "the new try's training script started")
        (folder / "release").touch()
        assert api.wait_for_run(DAG_ID, run_id, timeout=240) == "success"
    finally:
        done.set()
        watcher.join()
    statuses = jobs.statuses()
    assert list(statuses.values()) == ["Stopped", "Completed"], statuses
    assert at_once == [], at_once
    first, second = statuses
    log = api.task_log(DAG_ID, run_id, "train", 1)
    assert f"Stopping SageMaker training job {first}" in log, log[-3000:]
    assert second.endswith("-2") and api.get(ti_path(DAG_ID, run_id))["try_number"] == 2


def test_an_execution_timeout_with_a_retry_stops_each_tries_job(stack):
    running, tmp = stack
    api, jobs = running.api, Jobs(running, TIMED_DAG_ID)
    files(tmp, TIMED_DAG_ID)  # never released: every try outlives its execution_timeout
    run_id = api.trigger(TIMED_DAG_ID)
    assert api.wait_for_run(TIMED_DAG_ID, run_id, timeout=6 * EXECUTION_TIMEOUT + 300) == "failed"
    statuses = jobs.statuses()
    assert [name.rsplit("-", 1)[1] for name in statuses] == ["1", "2"], statuses
    assert set(statuses.values()) == {"Stopped"}, statuses  # none runs on, none completes after the failure
    for try_number, name in enumerate(statuses, start=1):
        log = api.task_log(TIMED_DAG_ID, run_id, "train", try_number)
        assert "AirflowTaskTimeout" in log or "Timeout" in log, log[-3000:]
        assert f"Stopping SageMaker training job {name}" in log, log[-3000:]


def test_a_deferred_task_marked_failed_stops_its_job(stack):
    """A deferred task has no process for on_kill: marking it failed cancels its trigger in the
    triggerer, whose on_kill stops the job - the trigger's log says so, and the job ends Stopped."""
    running, tmp = stack
    api, folder, jobs = running.api, files(tmp, DEFERRED_DAG_ID), Jobs(running, DEFERRED_DAG_ID)
    run_id = api.trigger(DEFERRED_DAG_ID)
    wait_until(lambda: (folder / "pid").is_file(), 180, "the training script started")
    path = ti_path(DEFERRED_DAG_ID, run_id)
    wait_until(lambda: api.get(path)["state"] == "deferred", 120, "the task deferred")
    # Its trigger must run in a triggerer for on_kill to be called: cancelled before a triggerer took it
    # up, a trigger never runs (docs/retries-and-cancelling.md says so).
    wait_until(lambda: (api.get(path).get("trigger") or {}).get("triggerer_id"), 120, "a triggerer ran it")
    api.call("PATCH", path, {"new_state": "failed"})
    ended = ("Stopped", "Completed", "Failed")
    statuses = wait_until(
        lambda: (s := jobs.statuses()) and all(v in ended for v in s.values()) and s, 120, "the job ended"
    )
    assert list(statuses.values()) == ["Stopped"], statuses
    assert api.wait_for_run(DEFERRED_DAG_ID, run_id, timeout=60) == "failed"
    logs = running.state_dir / "airflow" / "logs" / f"dag_id={DEFERRED_DAG_ID}" / f"run_id={run_id}"
    trigger_logs = "".join(
        p.read_text() for p in (logs / "task_id=train").glob("attempt=1.log.trigger.*.log")
    )
    assert f"Stopping SageMaker training job {next(iter(statuses))}" in trigger_logs, trigger_logs[-3000:]


def test_a_killed_local_endpoint_is_restarted_with_what_the_runs_made(stack):
    """The endpoint dies while a job runs in it: make airflow starts it again on the same port, with the
    S3 objects and job records the earlier runs made; the job that died with it is Failed, and the task's
    retry starts one job of its own that completes - the run succeeds."""
    running, tmp = stack
    api, folder, jobs = running.api, files(tmp, ENDPOINT_DAG_ID), Jobs(running, ENDPOINT_DAG_ID)
    held = Jobs(running, DAG_ID)
    made = {j["TrainingJobName"]: j["TrainingJobStatus"] for j in held._all()}
    assert made, "the earlier tests' jobs are on the endpoint"
    run_id = api.trigger(ENDPOINT_DAG_ID)
    wait_until(lambda: (folder / "pid").is_file(), 180, "the training script started")
    (folder / "pid").unlink()
    endpoint = json.loads((running.state_dir / "aws" / "server.json").read_text())
    os.kill(endpoint["pid"], signal.SIGKILL)
    wait_until(lambda: "local AWS endpoint exited with code -9: restarted" in running.output, 60, "restart")
    # What earlier runs made is still there, through the same port and credentials.
    assert {j["TrainingJobName"]: j["TrainingJobStatus"] for j in held._all()} == made
    # The job that ran in the dead endpoint is Failed; a retry's job runs the script again.
    wait_until(lambda: (folder / "pid").is_file(), 300, "a retry's training script started")
    (folder / "release").touch()
    assert api.wait_for_run(ENDPOINT_DAG_ID, run_id, timeout=300) == "success"
    statuses = list(jobs.statuses().items())
    assert statuses[0][1] == "Failed" and statuses[-1][1] == "Completed", statuses
    assert [status for _, status in statuses].count("Completed") == 1, statuses
    lost = jobs.sagemaker.describe_training_job(TrainingJobName=statuses[0][0])
    assert "the local endpoint restarted" in lost["FailureReason"], lost


def test_make_airflow_started_again_has_what_its_runs_made(stack):
    """Ctrl-C, then make airflow again on the same state folder: the runs Airflow lists still point to
    jobs and model artifacts the endpoint has (it kept them on disk), whatever port it now has."""
    running, _ = stack
    held = Jobs(running, DAG_ID)
    runs = {
        r["dag_run_id"]: r["state"] for r in running.api.get(f"/api/v2/dags/{DAG_ID}/dagRuns")["dag_runs"]
    }
    made = {j["TrainingJobName"]: j["TrainingJobStatus"] for j in held._all()}
    assert runs and "Completed" in made.values(), (runs, made)
    assert running.interrupt() == 0, running.output[-3000:]
    again = running.restart()
    try:
        listed = again.api.get(f"/api/v2/dags/{DAG_ID}/dagRuns")["dag_runs"]
        assert {r["dag_run_id"]: r["state"] for r in listed} == runs
        jobs = Jobs(again, DAG_ID)
        assert {j["TrainingJobName"]: j["TrainingJobStatus"] for j in jobs._all()} == made
        s3 = again.aws_client("s3", REGION)
        for name, status in made.items():
            if status == "Completed":
                described = jobs.sagemaker.describe_training_job(TrainingJobName=name)
                bucket, _, key = described["ModelArtifacts"]["S3ModelArtifacts"][len("s3://") :].partition(
                    "/"
                )
                assert s3.head_object(Bucket=bucket, Key=key)["ContentLength"] > 0, name
    finally:
        stop_stack(again)
