"""A deferred job task whose trigger moves to another triggerer: its job runs on and the task succeeds.

Two real triggerers serve one ``make airflow`` stack. The test freezes the one running the trigger (SIGSTOP,
as a long GC pause, a stopped container or a network partition does) until the other takes the trigger over,
then lets it go on. Airflow 3.3's triggerer then calls the trigger's ``on_kill`` as if a user had cancelled
the task (apache/airflow pull request 73454), which would stop the job the other triggerer now waits for;
the project's trigger asks for the task's state first and leaves the job running. The test counts the
task's jobs on the endpoint: one, Completed.
"""

from __future__ import annotations

import os
import signal
import subprocess

import psutil
import pytest

from .conftest import command_line, wait_until
from .held_job import Jobs, files, held_stack, ti_path

DAG_ID = "handed_over"
HEALTH_CHECK_SECONDS = 10  # [triggerer] triggerer_health_check_threshold: a frozen triggerer's triggers move


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("handover")
    mp = pytest.MonkeyPatch()
    mp.setenv("AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD", str(HEALTH_CHECK_SECONDS))
    try:
        with held_stack(tmp, {DAG_ID: "retries: 0\ndeferrable: true\n"}) as running:
            yield running, tmp
    finally:
        mp.undo()


def _triggerer(running) -> psutil.Process:
    """The stack's triggerer: the supervisor process (its trigger runner is its child)."""
    found = [p for p in running.descendants() if "triggerer" in command_line(p)[:3]]
    parents = [p for p in found if p.ppid() not in {q.pid for q in found}]
    assert len(parents) == 1, [command_line(p) for p in found]
    return parents[0]


def _alive_triggerers(api) -> list[int]:
    jobs = api.get("/api/v2/jobs?job_type=TriggererJob&is_alive=true")["jobs"]
    return sorted(job["id"] for job in jobs)


def _signal_tree(process: psutil.Process, sig: int) -> None:
    for member in [process, *process.children(recursive=True)]:
        member.send_signal(sig)


def test_a_trigger_handed_to_another_triggerer_keeps_its_job(stack):
    running, tmp = stack
    api, folder, jobs = running.api, files(tmp, DAG_ID), Jobs(running, DAG_ID)
    run_id = api.trigger(DAG_ID)
    path = ti_path(DAG_ID, run_id)
    wait_until(lambda: (folder / "pid").is_file(), 180, "the training script started")
    first_id = wait_until(lambda: (api.get(path).get("trigger") or {}).get("triggerer_id"), 120, "triggered")
    first = _triggerer(running)
    second_log = open(tmp / "second-triggerer.log", "w")  # noqa: SIM115 - closed below
    second = subprocess.Popen(
        command_line(first),
        env=first.environ(),
        cwd=first.cwd(),
        stdout=second_log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_until(lambda: len(_alive_triggerers(api)) == 2, 120, "a second triggerer alive")
        _signal_tree(first, signal.SIGSTOP)
        try:
            moved = wait_until(
                lambda: (
                    (t := (api.get(path).get("trigger") or {}).get("triggerer_id")) not in (None, first_id)
                    and t
                ),
                120,
                "the trigger taken over by the second triggerer",
            )
        finally:
            _signal_tree(first, signal.SIGCONT)
        assert moved != first_id
        # The first triggerer, running again, finds the trigger gone from its assignment and calls on_kill.
        triggerer_log = running.state_dir / "logs" / "triggerer.log"
        wait_until(
            lambda: "still deferred: its trigger went to another triggerer" in _trigger_logs(running, run_id),
            120,
            f"on_kill of the first triggerer's trigger (see {triggerer_log})",
        )
        assert list(jobs.statuses().values()) == ["InProgress"]
        (folder / "release").touch()
        assert api.wait_for_run(DAG_ID, run_id, timeout=240) == "success"
        assert list(jobs.statuses().values()) == ["Completed"]
    finally:
        os.killpg(second.pid, signal.SIGTERM)
        second.wait(timeout=60)
        second_log.close()


def _trigger_logs(running, run_id: str) -> str:
    logs = running.state_dir / "airflow" / "logs" / f"dag_id={DAG_ID}" / f"run_id={run_id}" / "task_id=train"
    return "".join(p.read_text() for p in logs.glob("attempt=1.log.trigger.*.log"))
