"""Cancelling a task stops its job: a job nobody waits for any more is a job nobody wants to pay for.

Airflow cancels a running try in several ways - marked failed or success, a clear of the running task,
``execution_timeout``, SIGTERM - and calls ``on_kill`` for most of them (the task-sdk's SIGTERM handler
and its timeout handler do), while an exception such as AirflowTaskTimeout or KeyboardInterrupt escapes the
wait. Both paths come here. The job is asked to stop and the try waits, bounded (the supervisor may kill
the process seconds later; the stop request has been sent by then), until the job has stopped.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from sagemaker_pipelines.airflow.jobs.attempts import describe_if_exists, wait_until_ended
from sagemaker_pipelines.compile.kinds.spec import Job

STOP_WAIT_SECONDS = 60


def stop_job(
    client: Any, kind: Job, name: str, why: str, log: Any, wait_seconds: float = STOP_WAIT_SECONDS
) -> str | None:
    """Stop the job if it still runs and wait (bounded) until it has; its last status, None if unknown.
    Never raises: it runs while a task is already failing, whose own error must stay the one reported."""
    try:
        description = describe_if_exists(client, kind, name)
        if description is None:
            return None
        status = description[kind.status_field]
        if status not in (kind.running, "Stopping"):
            return status
        if status == kind.running:
            log.warning("Stopping SageMaker %s %s: %s", kind.label, name, why)
            kind.stop_job(client, name)
        status = wait_until_ended(client, kind, name, wait_seconds)
        log.warning("SageMaker %s %s is %s", kind.label, name, status)
        return status
    except (ClientError, BotoCoreError) as error:
        log.error("Could not stop SageMaker %s %s: %s", kind.label, name, error)
        return None
