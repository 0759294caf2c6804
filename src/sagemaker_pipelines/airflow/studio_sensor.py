"""Waiting for a SageMaker Unified Studio notebook execution: the provider's SageMakerNotebookSensor, fixed.

The provider's sensor (amazon provider 9.39) cannot poke at all: it calls ``get_execution_status`` on its
hook, which has no such method (the hook's is ``get_notebook_execution``), so every poke raises
AttributeError; and it waits on ``PENDING``/``RUNNING``, which the sagemaker_studio SDK never answers (its
statuses are ``IN_PROGRESS``, ``STOPPING``, ``COMPLETED``, ``FAILED``, ``STOPPED``, as the provider's own
operator reads them). This subclass keeps the provider's arguments, hook and log lines and pokes through
the hook's real method, so ``studio_notebook_sensor`` waits while the execution runs, succeeds when it
completes and fails, with the execution's own error, when it failed or was stopped.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.amazon.aws.sensors.sagemaker_unified_studio import (
    SageMakerNotebookSensor as _ProviderSageMakerNotebookSensor,
)
from airflow.providers.common.compat.sdk import AirflowException

IN_PROGRESS = ("IN_PROGRESS", "STOPPING")  # the SDK's Status values of an execution not yet ended


class SageMakerNotebookSensor(_ProviderSageMakerNotebookSensor):
    """SageMakerNotebookSensor that pokes through the hook's ``get_notebook_execution``."""

    def poke(self, context: Any = None) -> bool:
        execution = self.hook().get_notebook_execution(execution_id=self.execution_id)
        status = execution.get("status")
        if status in self.success_state:
            self.log.info("Exiting Execution %s State: %s", self.execution_id, status)
            return True
        if status in IN_PROGRESS:
            self.log.info(
                "Execution %s is %s: poking again in %ss", self.execution_id, status, self.poke_interval
            )
            return False
        error = (execution.get("error_details") or {}).get("error_message")
        message = f"Exiting Execution {self.execution_id} State: {status}" + (f": {error}" if error else "")
        self.log.info(message)
        raise AirflowException(message)
