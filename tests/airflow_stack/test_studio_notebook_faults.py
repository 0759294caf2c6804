"""A studio_notebook task under a real ``make airflow`` stack: one Unified Studio notebook execution per task
instance, stopped when the task is cancelled, and a deferred wait that resumes through the triggerer.

The notebook's one cell holds until the test releases it, so the execution surely runs while the test acts:

* it SIGKILLs the task's process: Airflow retries the task, and the retry finds the execution the first try
  started (by the tag each try puts on its own) and waits for it - one execution, not a second beside it;
* a user marks the running task failed, polling or deferred: its execution ends Stopped, as the log says;
* a deferred task resumes with the execution's result (the provider's operator has no ``execute_complete``).

Each test counts the task's executions (training jobs named after the task) on the stack's endpoint.
"""

from __future__ import annotations

import json
import os
import signal
import textwrap

import pytest

from sagemaker_pipelines.airflow.jobs.studio import execution_name

from .conftest import start_stack, stop_stack, wait_until
from .held_job import REGION, task_process

POLLING, DEFERRED = "held_notebook", "held_notebook_deferred"
TASK = "held_report"


def _dag(deferrable: bool) -> str:
    """Deferred: 20 s checks, so a trigger never fires within seconds of the deferral, which Airflow 3.3's
    scheduler may fail as "changed externally" (docs/retries-and-cancelling.md; test_job_faults.py too)."""
    return textwrap.dedent(
        f"""\
        description: A notebook whose cell holds until the test releases it.
        schedule: null
        start_date: 2024-01-01
        tasks:
          {TASK}:
            kind: studio_notebook
            notebook: src/held_report.ipynb
            max_runtime: 10m
            check_interval: {"20s" if deferrable else "2s"}
            deferrable: {str(deferrable).lower()}
            retries: {0 if deferrable else 1}
            retry_delay: 1s
        """
    )


def _notebook(folder) -> str:
    source = (
        "import os, time\n"
        f"open({str(folder / 'pid')!r}, 'w').write(str(os.getpid()))\n"
        f"while not os.path.exists({str(folder / 'release')!r}):\n"
        "    time.sleep(0.2)\n"
    )
    cell = {"cell_type": "code", "metadata": {}, "source": [source], "outputs": [], "execution_count": None}
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [cell]})


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("studio-faults")
    folder, include = tmp / "held", tmp / "include"
    folder.mkdir()
    include.mkdir()
    (include / "held_report.ipynb").write_text(_notebook(folder))  # uploaded to the project by the stack
    sources = []
    for dag_id, deferrable in ((POLLING, False), (DEFERRED, True)):
        sources.append(tmp / f"{dag_id}.yaml")
        sources[-1].write_text(_dag(deferrable))
    mp = pytest.MonkeyPatch()
    mp.setenv("SAGEMAKER_INCLUDE_DIR", str(include))
    running = start_stack(tmp / "stack", pipelines=(), extra=tuple(sources))
    try:
        wait_until(lambda: {POLLING, DEFERRED} <= running.api.dag_ids(), 240, "the DAGs listed")
        yield running, folder, running.aws_client("sagemaker", REGION)
    finally:
        stop_stack(running)
        mp.undo()


def _held(folder):
    for name in ("pid", "release"):
        (folder / name).unlink(missing_ok=True)
    return folder


def _executions(sagemaker) -> dict[str, str]:
    pages = sagemaker.get_paginator("list_training_jobs").paginate(NameContains=execution_name(TASK))
    return {j["TrainingJobName"]: j["TrainingJobStatus"] for p in pages for j in p["TrainingJobSummaries"]}


def _path(dag_id: str, run_id: str) -> str:
    return f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{TASK}"


def _ended(sagemaker, before: set[str]):
    def made() -> dict[str, str]:
        found = {n: s for n, s in _executions(sagemaker).items() if n not in before}
        return found if found and all(s in ("Stopped", "Completed", "Failed") for s in found.values()) else {}

    return made


def test_a_retry_after_a_killed_worker_adopts_the_running_execution(stack):
    running, folder, sagemaker = stack
    api, before = running.api, set(_executions(sagemaker))
    _held(folder)
    run_id = api.trigger(POLLING)
    wait_until(lambda: (folder / "pid").is_file(), 180, "the notebook's cell started")
    first = api.get(_path(POLLING, run_id))
    assert first["try_number"] == 1 and first["state"] == "running", first
    victim = wait_until(lambda: task_process(running, first["id"]), 30, "the task's process")
    os.kill(victim.pid, signal.SIGKILL)

    def adopted() -> bool:
        if api.get(_path(POLLING, run_id))["try_number"] < 2:
            return False
        return "Adopting SageMaker Unified Studio notebook execution" in api.task_log(
            POLLING, run_id, TASK, 2
        )

    wait_until(adopted, 180, "the retry adopted the first try's execution")
    (folder / "release").touch()
    assert api.wait_for_run(POLLING, run_id, timeout=240) == "success"
    assert list(wait_until(_ended(sagemaker, before), 60, "the execution ended").values()) == ["Completed"]


@pytest.mark.parametrize("dag_id", [POLLING, DEFERRED])
def test_a_task_marked_failed_stops_its_execution(stack, dag_id):
    running, folder, sagemaker = stack
    api, before = running.api, set(_executions(sagemaker))
    _held(folder)
    run_id = api.trigger(dag_id)
    wait_until(lambda: (folder / "pid").is_file(), 180, "the notebook's cell started")
    path = _path(dag_id, run_id)
    if (
        dag_id == DEFERRED
    ):  # on_kill runs only for a trigger a triggerer took up (docs/retries-and-cancelling.md)
        wait_until(lambda: api.get(path)["state"] == "deferred", 120, "the task deferred")
        wait_until(
            lambda: (api.get(path).get("trigger") or {}).get("triggerer_id"), 120, "a triggerer ran it"
        )
    api.call("PATCH", path, {"new_state": "failed"})
    statuses = wait_until(_ended(sagemaker, before), 120, "the execution ended")
    assert list(statuses.values()) == ["Stopped"], statuses
    assert api.wait_for_run(dag_id, run_id, timeout=120) == "failed"
    logs = (
        running.state_dir / "airflow" / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={TASK}"
    )
    log = "".join(p.read_text() for p in logs.glob("attempt=1.log*"))  # the trigger's log, when deferred
    assert f"Stopping SageMaker Unified Studio notebook execution {next(iter(statuses))}" in log, log[-3000:]


def test_a_deferred_notebook_resumes_with_its_result(stack):
    running, folder, sagemaker = stack
    api, before = running.api, set(_executions(sagemaker))
    _held(folder)
    run_id = api.trigger(DEFERRED)
    wait_until(lambda: api.get(_path(DEFERRED, run_id))["state"] == "deferred", 180, "the task deferred")
    (folder / "release").touch()
    assert api.wait_for_run(DEFERRED, run_id, timeout=240) == "success", api.task_log(DEFERRED, run_id, TASK)
    assert list(wait_until(_ended(sagemaker, before), 60, "the execution ended").values()) == ["Completed"]
    path = f"/api/v2/dags/{DEFERRED}/dagRuns/{run_id}/taskInstances/{TASK}/xcomEntries/s3_path"
    assert api.get(path)["value"]
