"""``make airflow EXECUTOR=celery``: the same pipeline through a Redis broker and a Celery worker, and a
Celery worker's death costs no second job.

Redis is Debian's ``redis-server`` (``make install`` installs it), started by the stack on a free port
of 127.0.0.1; the worker is ``airflow celery worker``, the process that runs every task here.

A worker dies in two ways: its task process alone is killed (an OOM kill of the biggest process), which
its supervisor reports at once, or the whole worker with its supervisors (a lost machine), which only the
scheduler's heartbeat timeout notices - set to a minute here so a test need not wait Airflow's default
five. Either way the retry adopts the job the first try started: one job, and the run succeeds.
"""

from __future__ import annotations

import os
import signal

import psutil
import pytest

from .conftest import command_line, wait_until
from .held_job import ONE_RETRY, Jobs, files, held_stack, task_process, ti_path

DAG_ID = "held_job"
HEARTBEAT_TIMEOUT = 60


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("celery")
    mp = pytest.MonkeyPatch()
    mp.setenv("AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT", str(HEARTBEAT_TIMEOUT))
    try:
        with held_stack(tmp, {DAG_ID: ONE_RETRY}, executor="celery", examples=("iris_training",)) as running:
            yield running, tmp
    finally:
        mp.undo()


def test_iris_training_succeeds_through_a_celery_worker(stack):
    stack, _ = stack
    assert "CeleryExecutor" in stack.output and "Redis on 127.0.0.1:" in stack.output
    run_id = stack.api.trigger("iris_training")
    state = stack.api.wait_for_run("iris_training", run_id)
    assert state == "success", stack.api.task_states("iris_training", run_id)
    # Every task went through the broker to the worker, not through a LocalExecutor.
    worker_log = (stack.state_dir / "logs" / "celery-worker.log").read_text()
    for task_id in ("data_prep", "train_model", "create_model", "test_model"):
        assert f"'task_id': '{task_id}'" in worker_log or f"task_id='{task_id}'" in worker_log, task_id


def _one_job_after(running, tmp, kill) -> None:
    """Trigger the held job, ``kill(task instance)`` once its job runs; the retry must adopt that job."""
    api, folder, jobs = running.api, files(tmp, DAG_ID), Jobs(running, DAG_ID)
    run_id = api.trigger(DAG_ID)
    wait_until(lambda: (folder / "pid").is_file(), 180, "the training script started")
    path = ti_path(DAG_ID, run_id)
    first = api.get(path)
    assert first["try_number"] == 1 and first["state"] == "running", first
    kill(first)

    def adopted() -> bool:
        if api.get(path)["try_number"] < 2:
            return False
        return "Adopting SageMaker training job" in api.task_log(DAG_ID, run_id, "train", 2)

    wait_until(adopted, HEARTBEAT_TIMEOUT + 240, "the retry adopted the first try's job")
    (folder / "release").touch()
    assert api.wait_for_run(DAG_ID, run_id, timeout=240) == "success"
    statuses = jobs.statuses()
    assert [name.rsplit("-", 1)[1] for name in statuses] == ["1"], statuses  # one job: try 1's
    assert list(statuses.values()) == ["Completed"]


def test_a_killed_task_process_under_celery_costs_no_second_job(stack):
    running, tmp = stack

    def kill(ti: dict) -> None:
        victim = wait_until(lambda: task_process(running, ti["id"]), 30, "the task's process")
        os.kill(victim.pid, signal.SIGKILL)

    _one_job_after(running, tmp, kill)


def test_a_killed_celery_worker_costs_no_second_job(stack):
    """The worker, its supervisors and the task process all die: the stack starts a new worker, and the
    scheduler fails the silent try after the heartbeat timeout; its retry adopts the job."""
    running, tmp = stack

    def kill(ti: dict) -> None:
        task = wait_until(lambda: task_process(running, ti["id"]), 30, "the task's process")
        # The worker is the task's ancestor that make airflow started itself.
        (worker,) = [p for p in task.parents() if p.ppid() == running.process.pid]
        os.killpg(worker.pid, signal.SIGKILL)  # the worker, its pool, the supervisors, the task process
        wait_until(lambda: "celery-worker exited with code -9: restarted" in running.output, 60, "restart")

    _one_job_after(running, tmp, kill)


def test_ctrl_c_stops_redis_and_the_worker_too(stack):
    stack, _ = stack
    processes = stack.descendants()
    names = " ".join(" ".join(command_line(p)) for p in processes)
    assert "redis-server" in names and "celery" in names
    assert stack.interrupt() == 0, stack.output[-3000:]
    alive = [p for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert alive == [], [command_line(p) for p in alive]
