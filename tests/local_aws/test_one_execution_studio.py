"""The project's SageMakerNotebookOperator against the real local endpoint: one notebook execution per task
instance, stopped when cancelled, and a deferred wait that resumes.

As in test_one_job_per_task_instance.py, each test runs the operator the way a task runner does (``execute``
with a task instance's try number; the trigger rebuilt from what it serializes, as the triggerer does) on a
notebook whose one cell holds until the test releases it, so what the endpoint lists afterwards (how many
executions, which status) is decided by the operator and nothing else.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.sdk.exceptions import TaskDeferred

from sagemaker_pipelines.airflow.jobs.attempts import CONSUMED_TAG
from sagemaker_pipelines.airflow.jobs.kinds import WAIT_MARGIN_SECONDS
from sagemaker_pipelines.airflow.jobs.studio import (
    SageMakerNotebookOperator,
    SageMakerNotebookStopTrigger,
    execution_name,
)
from sagemaker_pipelines.local.aws.jobs.datazone import project_s3_path
from sagemaker_pipelines.local.studio import LOCAL_DOMAIN, LOCAL_PROJECT, PROJECT_FILES

from .conftest import BUCKET, REGION, put, wait_training
from .test_studio_notebooks import IMAGE, NOTEBOOK, execution_client

__all__ = ["execution_client"]  # the SDK's client with the endpoint's variables (a fixture)


class Notebook:
    """One task instance's studio_notebook task: a held notebook of its own, its release and pid files."""

    def __init__(self, s3: Any, folder: Path, task_id: str) -> None:
        self.task_id, self.release, self.pid = task_id, folder / "release", folder / "pid"
        self.run_id = f"manual__{uuid.uuid4().hex[:8]}"
        self.xcoms: dict[str, Any] = {}
        source = (
            "import os, time\n"
            f"open({str(self.pid)!r}, 'w').write(str(os.getpid()))\n"
            f"while not os.path.exists({str(self.release)!r}):\n"
            "    time.sleep(0.1)\n"
        )
        cell = {
            "cell_type": "code",
            "metadata": {},
            "source": [source],
            "outputs": [],
            "execution_count": None,
        }
        key = f"{project_s3_path(BUCKET, LOCAL_DOMAIN, LOCAL_PROJECT).split('/', 3)[3]}/{PROJECT_FILES}"
        put(s3, f"{key}/{task_id}.ipynb", json.dumps({**NOTEBOOK, "cells": [cell]}).encode())

    def operator(self, **kwargs: Any) -> SageMakerNotebookOperator:
        return SageMakerNotebookOperator(
            task_id=self.task_id,
            input_config={"input_path": f"src/{self.task_id}.ipynb", "input_params": {}},
            domain_id=LOCAL_DOMAIN,
            project_id=LOCAL_PROJECT,
            domain_region=REGION,
            compute={"instance_type": "ml.m5.xlarge", "image_details": {"ecr_uri": IMAGE}},
            waiter_delay=1,
            **kwargs,
        )

    def context(self, try_number: int, map_index: int = -1) -> dict[str, Any]:
        def xcom_push(key: str, value: Any) -> None:
            self.xcoms[key] = value

        ti = SimpleNamespace(
            try_number=try_number,
            dag_id="studio_eo",
            task_id=self.task_id,
            map_index=map_index,
            run_id=self.run_id,
            xcom_push=xcom_push,
        )
        return {"ti": ti}

    def start_and_die(self, try_number: int, map_index: int = -1) -> str:
        """A try that started its execution and deferred, whose trigger never ran (its worker died)."""
        operator = self.operator(deferrable=True)
        with pytest.raises(TaskDeferred):
            operator.execute(self.context(try_number, map_index))
        assert operator._execution_id
        return operator._execution_id

    def executions(self, sm: Any) -> list[str]:
        found = sm.list_training_jobs(NameContains=execution_name(self.task_id), MaxResults=100)
        return sorted(j["TrainingJobName"] for j in found["TrainingJobSummaries"])

    def wait_running(self) -> None:
        """Until the notebook's cell runs (it writes its pid): the execution is InProgress from then on."""
        deadline = time.monotonic() + 60
        while not (self.pid.is_file() and self.pid.read_text()):
            assert time.monotonic() < deadline, "the notebook's cell never ran"
            time.sleep(0.1)


def _run_in_thread(operator: Any, context: dict[str, Any]) -> tuple[threading.Thread, dict[str, Any]]:
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["result"] = operator.execute(context)
        except BaseException as error:
            outcome["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, outcome


def _used(sm: Any, name: str) -> bool:
    arn = sm.describe_training_job(TrainingJobName=name)["TrainingJobArn"]
    return CONSUMED_TAG in {t["Key"] for t in sm.list_tags(ResourceArn=arn)["Tags"]}


def test_a_retry_adopts_the_execution_an_earlier_try_left_running(execution_client, s3, sm, tmp_path):
    notebook = Notebook(s3, tmp_path, "nb_adopt_running")
    first = notebook.start_and_die(1)
    notebook.wait_running()
    thread, outcome = _run_in_thread(notebook.operator(), notebook.context(2))
    notebook.release.touch()
    thread.join(timeout=120)
    assert not thread.is_alive() and "error" not in outcome, outcome
    assert notebook.executions(sm) == [first]
    assert sm.describe_training_job(TrainingJobName=first)["TrainingJobStatus"] == "Completed"
    assert _used(sm, first)
    assert notebook.xcoms["s3_path"].endswith(".tar.gz")  # the adopted execution's output, as if its own


def test_a_completed_execution_nobody_took_is_adopted_and_a_used_one_is_not(
    execution_client, s3, sm, tmp_path
):
    notebook = Notebook(s3, tmp_path, "nb_adopt_done")
    notebook.release.touch()
    first = notebook.start_and_die(1)
    assert wait_training(sm, first)["TrainingJobStatus"] == "Completed"
    notebook.operator().execute(notebook.context(2))
    assert notebook.executions(sm) == [first] and _used(sm, first)
    # The task succeeded with that execution; a user clears it to run it again: try 3 runs the notebook anew.
    notebook.operator().execute(notebook.context(3))
    executions = notebook.executions(sm)
    assert len(executions) == 2 and first in executions
    (again,) = set(executions) - {first}
    assert sm.describe_training_job(TrainingJobName=again)["TrainingJobStatus"] == "Completed"


def test_a_stopped_execution_or_another_map_index_is_not_adopted(execution_client, s3, sm, tmp_path):
    notebook = Notebook(s3, tmp_path, "nb_no_adopt")
    stopped = notebook.start_and_die(1, map_index=0)
    other = notebook.start_and_die(1, map_index=1)
    notebook.wait_running()
    sm.stop_training_job(TrainingJobName=stopped)  # an earlier try's execution that ended without a result
    assert wait_training(sm, stopped)["TrainingJobStatus"] == "Stopped"
    notebook.release.touch()
    notebook.operator().execute(notebook.context(2, map_index=0))
    executions = notebook.executions(sm)
    assert len(executions) == 3 and {stopped, other} < set(executions)
    (own,) = set(executions) - {stopped, other}
    assert _used(sm, own) and not _used(sm, other)  # map index 1's running execution stays its own


def test_cancelling_a_studio_notebook_task_stops_its_execution(execution_client, s3, sm, tmp_path):
    """on_kill, what SIGTERM to the task calls, stops the running execution's training job; the try fails."""
    notebook = Notebook(s3, tmp_path, "nb_cancelled")
    operator = notebook.operator()
    thread, outcome = _run_in_thread(operator, notebook.context(1))
    notebook.wait_running()
    operator.on_kill()
    assert sm.describe_training_job(TrainingJobName=operator._execution_id)["TrainingJobStatus"] == "Stopped"
    thread.join(timeout=60)
    assert "error" in outcome, outcome  # the wait sees the execution stopped: the try fails
    assert not _used(sm, operator._execution_id)
    notebook.release.touch()


def _deferred(
    notebook: Notebook, **kwargs: Any
) -> tuple[SageMakerNotebookOperator, SageMakerNotebookStopTrigger]:
    operator = notebook.operator(deferrable=True, **kwargs)
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(notebook.context(1))
    classpath, trigger_kwargs = deferred.value.trigger.serialize()  # what the triggerer rebuilds it from
    assert classpath == "sagemaker_pipelines.airflow.jobs.studio.SageMakerNotebookStopTrigger"
    assert deferred.value.method_name == "execute_complete"
    return SageMakerNotebookStopTrigger(**trigger_kwargs)


def test_a_deferred_notebook_cancelled_by_a_user_stops_its_execution(execution_client, s3, sm, tmp_path):
    notebook = Notebook(s3, tmp_path, "nb_deferred_cancel")
    trigger = _deferred(notebook, termination_condition={"max_runtime_in_seconds": 7200})
    assert trigger.waiter_max_attempts * trigger.waiter_delay >= 7200 + WAIT_MARGIN_SECONDS
    notebook.wait_running()
    asyncio.run(trigger.on_kill())  # what the triggerer awaits when a user marks or clears the task
    assert sm.describe_training_job(TrainingJobName=trigger.execution_id)["TrainingJobStatus"] == "Stopped"
    notebook.release.touch()


def test_a_deferred_notebook_resumes_with_its_result(execution_client, s3, sm, tmp_path):
    """The provider's operator defers to an ``execute_complete`` it does not have; the project's resumes."""
    notebook = Notebook(s3, tmp_path, "nb_deferred_done")
    trigger = _deferred(notebook)
    notebook.release.touch()

    async def first_event() -> Any:
        async for event in trigger.run():
            return event.payload

    event = asyncio.run(first_event())
    assert event["status"] == "success", event
    result = notebook.operator(deferrable=True).execute_complete(notebook.context(1), event)
    assert result == {"Status": "COMPLETED", "ExecutionId": trigger.execution_id}
    assert notebook.xcoms["s3_path"] == event["s3_path"]
    assert _used(sm, trigger.execution_id)
    assert notebook.executions(sm) == [trigger.execution_id]
