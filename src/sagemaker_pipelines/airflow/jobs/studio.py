"""The provider's SageMaker Unified Studio notebook operator, whose cancelled task stops its execution.

A notebook execution is a SageMaker training job the sagemaker_studio SDK starts and names (the task id
and a uuid), paid as long as it runs; the provider's operator never stops one. Here ``on_kill`` and any
exception escaping the wait (not a deferral) stop it through the SDK's own ``stop_execution`` and wait,
bounded, until it has stopped: the same guarantee, in the same words, as ``cancel`` gives the job kinds.

A retry does not adopt an earlier try's execution: the SDK finds executions only through SageMaker's
Search API, and a name it makes unique with a uuid cannot be derived again.
"""

from __future__ import annotations

import time
from typing import Any

from airflow.providers.amazon.aws.operators import sagemaker_unified_studio as provider
from airflow.providers.common.compat.sdk import TaskDeferred

from sagemaker_pipelines.airflow.jobs.cancel import STOP_WAIT_SECONDS

LABEL = "Unified Studio notebook execution"
_RUNNING = ("IN_PROGRESS", "STOPPING")
_POLL_SECONDS = 2.0


class SageMakerNotebookOperator(provider.SageMakerNotebookOperator):
    """SageMakerNotebookOperator that stops its notebook execution when the task is cancelled."""

    _execution_id: str | None = None
    _stop_requested: bool = False

    def execute(self, context: Any) -> Any:
        hook = self.notebook_execution_hook
        start = hook.start_notebook_execution

        def recorded_start() -> dict[str, Any]:
            answer = start()
            self._execution_id = answer["execution_id"]
            return answer

        hook.start_notebook_execution = recorded_start
        try:
            return super().execute(context)
        except TaskDeferred:
            raise
        except BaseException as error:
            self._stop(f"the task ended with {type(error).__name__}: {error}")
            raise

    def on_kill(self) -> None:
        self._stop("the task was cancelled (marked failed or success, cleared, timed out or terminated)")

    def _stop(self, why: str, wait_seconds: float = STOP_WAIT_SECONDS) -> None:
        """Stop the execution if it still runs and wait (bounded) until it has. Never raises: it runs while
        a task is already failing, whose own error must stay the one reported."""
        if not self._execution_id or self._stop_requested:
            return
        self._stop_requested = True
        name = self._execution_id
        try:
            client = self.notebook_execution_hook._sagemaker_studio.execution_client
            status = client.get_execution(execution_id=name)["status"]
            if status not in _RUNNING:
                return
            if status == "IN_PROGRESS":
                self.log.warning("Stopping SageMaker %s %s: %s", LABEL, name, why)
                client.stop_execution(execution_id=name)
            deadline = time.monotonic() + wait_seconds
            while status in _RUNNING and time.monotonic() < deadline:
                time.sleep(_POLL_SECONDS)
                status = client.get_execution(execution_id=name)["status"]
            self.log.warning("SageMaker %s %s is %s", LABEL, name, status)
        except Exception as error:
            self.log.error("Could not stop SageMaker %s %s: %s", LABEL, name, error)
