"""The provider's SageMaker Unified Studio notebook operator and trigger, with one execution per task
instance, stopped when the task is cancelled.

A notebook execution is a SageMaker training job the sagemaker_studio SDK starts and names (the task id and
a uuid, so no later try can derive the name again), paid as long as it runs; the provider's operator neither
stops one nor looks for one an earlier try started. Here:

* each try tags its execution with who started it (``attempts.token_of``: the task instance and try), and a
  retry lists the training jobs named after the task, reads their tags, and hands the newest one an earlier
  try started to ``attempts.adopt_among`` - the same rules, and the same log lines, as the job kinds: a
  running or unused completed execution is adopted (waited for, deferred on, its result taken), a failed or
  stopped one is not;
* a try that succeeds marks its execution used, so a clear of the finished task runs the notebook again;
* ``on_kill``, and any exception escaping the wait (not a deferral), stop the execution and wait, bounded,
  until it has stopped; a deferred task's trigger does the same when a user cancels the task;
* a wait, polling or deferred, gives up no earlier than the execution's own ``max_runtime_in_seconds``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
from collections.abc import AsyncIterator
from typing import Any

from airflow.providers.amazon.aws.operators import sagemaker_unified_studio as provider
from airflow.providers.amazon.aws.triggers.sagemaker_unified_studio import SageMakerNotebookJobTrigger
from airflow.providers.common.compat.sdk import AirflowException, TaskDeferred

from sagemaker_pipelines.airflow.jobs import attempts, cancel
from sagemaker_pipelines.airflow.jobs.kinds import TRAINING, WAIT_MARGIN_SECONDS
from sagemaker_pipelines.airflow.jobs.trigger import CANCELLED, ON_KILL_WAIT_SECONDS, StopsOnKill

# An execution is a training job: described, stopped and tagged as one, named in the log as what it is.
EXECUTION = dataclasses.replace(TRAINING, label="Unified Studio notebook execution")
STARTED_BY_TAG = "sagemaker-pipelines:started-by"
CANDIDATES = 100  # the newest training jobs named after the task whose tags a retry reads


def execution_name(task_id: str) -> str:
    """The prefix the SDK gives the training job of a task's execution (its ``execution_name``)."""
    return task_id.replace("_", "-")


def earlier_executions(client: Any, task_id: str, ti: Any) -> list[str]:
    """The executions (training job names) earlier tries of this task instance started, newest try first,
    found by the ``STARTED_BY_TAG`` each try put on its own."""
    wanted = {attempts.token_of(ti, n): n for n in attempts.earlier_tries(ti)}
    if not wanted:
        return []
    summaries = client.list_training_jobs(
        NameContains=execution_name(task_id),
        SortBy="CreationTime",
        SortOrder="Descending",
        MaxResults=CANDIDATES,
    )["TrainingJobSummaries"]
    found: dict[int, str] = {}
    for summary in summaries:
        tags = client.list_tags(ResourceArn=summary["TrainingJobArn"]).get("Tags") or []
        token = next((t.get("Value") for t in tags if t.get("Key") == STARTED_BY_TAG), None)
        number = wanted.get(token or "")
        if number is not None and number not in found:
            found[number] = summary["TrainingJobName"]
    return [found[n] for n in sorted(found, reverse=True)]


def wait_attempts(termination_condition: dict[str, Any] | None, waiter_delay: float) -> int:
    """Checks a wait needs so it never gives up while the execution may still run: its own limit (the SDK's
    ``max_runtime_in_seconds``, else SageMaker's longest) plus the margin every job wait has."""
    limit = (termination_condition or {}).get("max_runtime_in_seconds")
    seconds = EXECUTION.max_runtime({"StoppingCondition": {"MaxRuntimeInSeconds": limit}})
    return math.ceil((seconds + WAIT_MARGIN_SECONDS) / max(1.0, float(waiter_delay or 1)))


def _sagemaker_client(hook: Any) -> Any:
    """The SDK's own SageMaker client (the project's region and credentials), set up as its calls do."""
    execution_client = hook._sagemaker_studio.execution_client
    if execution_client.sagemaker_client is None:
        setup = execution_client._RemoteExecutionClient__setup_execution_client
        setup(hook.domain_id, hook.project_id, hook.domain_region)
    return execution_client.sagemaker_client


class SageMakerNotebookOperator(provider.SageMakerNotebookOperator):
    """SageMakerNotebookOperator with one notebook execution per task instance, stopped when cancelled."""

    _execution_id: str | None = None
    _adopted: str | None = None
    _stop_requested: bool = False

    def execute(self, context: Any) -> Any:
        ti = context["ti"]
        self.tags = {**(self.tags or {}), STARTED_BY_TAG: attempts.token_of(ti)}
        self.waiter_max_attempts = max(
            int(self.waiter_max_attempts or 0), wait_attempts(self.termination_condition, self.waiter_delay)
        )
        hook = self.notebook_execution_hook
        hook.tags, hook.waiter_max_attempts = self.tags, self.waiter_max_attempts
        client = _sagemaker_client(hook)
        earlier = earlier_executions(client, self.task_id, ti)
        wanted = f"a new execution of {self.input_config.get('input_path')}"
        self._adopted = attempts.adopt_among(client, EXECUTION, earlier, wanted, self.log)
        start = hook.start_notebook_execution

        def adopt_or_start() -> dict[str, Any]:
            answer = {"execution_id": self._adopted} if self._adopted else start()
            self._execution_id = answer["execution_id"]
            return answer

        hook.start_notebook_execution = adopt_or_start
        try:
            result = super().execute(context)
        except TaskDeferred:
            raise
        except BaseException as error:
            self._stop(f"the task ended with {type(error).__name__}: {error}")
            raise
        self._mark_used(client, ti)
        return result

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> Any:
        """Resume after the trigger's event. The provider's operator defers to ``execute_complete`` but has
        none (its deferred tasks fail on resume); this one pushes what the polling wait pushes (each output
        file, ``s3_path``) and returns what it returns, or fails the try with the execution's error - after
        stopping the execution if the trigger gave up while it still ran."""
        event = event or {}
        self._execution_id = event.get("execution_id")
        ti = context["ti"]
        if event.get("status") != "success":
            self._stop(f"the wait for the execution ended: {event.get('error')}")
            raise AirflowException(event.get("error") or f"Execution {self._execution_id} failed: {event}")
        for file in event.get("files") or []:
            ti.xcom_push(key=f"{file['display_name']}.{file['file_format']}", value=file["file_path"])
        if event.get("s3_path"):
            ti.xcom_push(key="s3_path", value=event["s3_path"])
        self.log.info(
            "Notebook Execution: %s Status: COMPLETED. Run Id: %s", self.execution_name, self._execution_id
        )
        hook = self.notebook_execution_hook
        self._mark_used(_sagemaker_client(hook), ti)
        return {"Status": "COMPLETED", "ExecutionId": self._execution_id}

    def defer(self, *, trigger: Any, **kwargs: Any) -> Any:
        """Defer to a trigger that stops the execution when the deferred task is cancelled."""
        if type(trigger) is SageMakerNotebookJobTrigger:
            trigger = SageMakerNotebookStopTrigger.of(trigger)
        return super().defer(trigger=trigger, **kwargs)

    def on_kill(self) -> None:
        self._stop("the task was cancelled (marked failed or success, cleared, timed out or terminated)")

    def _mark_used(self, client: Any, ti: Any) -> None:
        if self._execution_id:
            attempts.mark_consumed(client, EXECUTION, self._execution_id, attempts.used_by(ti), self.log)

    def _stop(self, why: str) -> None:
        if not self._execution_id or self._stop_requested:
            return
        self._stop_requested = True
        hook = self.notebook_execution_hook
        try:
            client = _sagemaker_client(hook)
        except Exception as error:  # never hide the task's own error behind this one
            self.log.error("Could not stop SageMaker %s %s: %s", EXECUTION.label, self._execution_id, error)
            return
        cancel.stop_job(client, EXECUTION, self._execution_id, why, self.log)


class SageMakerNotebookStopTrigger(StopsOnKill, SageMakerNotebookJobTrigger):
    """The provider's notebook trigger, whose ``on_kill`` stops the execution as the job trigger's stops its
    job (``trigger``: when a user cancelled the deferred task, not when it went to another triggerer), and
    whose first check comes one ``waiter_delay`` after the task deferred, as the job trigger's does."""

    @classmethod
    def of(cls, trigger: SageMakerNotebookJobTrigger) -> SageMakerNotebookStopTrigger:
        return cls(
            execution_id=trigger.execution_id,
            execution_name=trigger.execution_name,
            waiter_delay=trigger.waiter_delay,
            waiter_max_attempts=trigger.waiter_max_attempts,
        )

    def serialize(self) -> tuple[str, dict[str, Any]]:
        _, kwargs = super().serialize()
        return f"{__name__}.{type(self).__name__}", kwargs

    async def run(self) -> AsyncIterator[Any]:
        await asyncio.sleep(float(self.waiter_delay or 0))
        async for event in super().run():
            yield event

    def stop_job(self) -> None:
        from airflow.providers.amazon.aws.hooks.sagemaker_unified_studio import SageMakerNotebookHook

        hook = SageMakerNotebookHook(execution_name=self.execution_name)
        client = _sagemaker_client(hook)
        cancel.stop_job(client, EXECUTION, self.execution_id, CANCELLED, self.log, ON_KILL_WAIT_SECONDS)
