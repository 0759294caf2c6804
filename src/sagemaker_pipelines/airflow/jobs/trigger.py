"""The provider's SageMakerTrigger, stopping its job when a user cancels the deferred task.

A deferred task has no process for ``on_kill`` to run in: while it waits, marking it failed or success,
or clearing it, cancels its trigger in the triggerer. Airflow then calls the trigger's ``on_kill`` (and
only for such a user action: not when the triggerer shuts down or hands the trigger to another one),
which stops the job here - the same stop, in the same words, as the operator's own ``on_kill``.

Except one case Airflow 3.3 gets wrong: a triggerer that missed its heartbeats for a while (a long GC pause,
a stopped container, a network partition) finds, once it recovers, that its triggers went to another
triggerer, and calls ``on_kill`` on each as if a user had cancelled it (apache/airflow pull request 73454,
open), which would stop a job the other triggerer now waits for and fail the task. So ``on_kill`` first asks
the API server for the task instance's state: still ``deferred`` means nobody cancelled it, and the job runs
on; any other state (failed, success, cleared) - or no answer - stops it.

The check and the stop run in one thread (``StopsOnKill``): the triggerer repeats the cancel at each state
sync with its supervisor until the trigger has finished, which ends ``on_kill`` at its next ``await`` - so a
second ``await`` would never run - while a thread, once started, runs to its end. And the trigger does not
finish before that thread: once it has finished, the triggerer closes its log file, so the line saying which
job was stopped would be lost (as it was, under load, when the check took longer than one sync). The
triggerer awaits the trigger's ``cleanup`` after ``on_kill`` whatever ended it; there the trigger waits for
the thread, taking each repeated cancel as the one it already obeys. The thread is bounded: one API call,
the stop, and at most ``ON_KILL_WAIT_SECONDS`` of waiting for Stopped.

Its first check comes one ``waiter_delay`` after the task deferred, not at once as the provider's: Airflow
3.3's scheduler may handle the report that the deferring workload exited only after a trigger that fired
within seconds has resumed the task, and then fails the running task as "changed externally" (apache/airflow
issue 72716). A SageMaker job never ends within one check interval of its start, so the delay costs nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from airflow.providers.amazon.aws.triggers.sagemaker import SageMakerTrigger

from sagemaker_pipelines.airflow.jobs import cancel
from sagemaker_pipelines.airflow.jobs.kinds import BY_JOB_TYPE

ON_KILL_WAIT_SECONDS = 20  # the triggerer gives on_kill 30 s ([triggerer] on_kill_timeout)
CANCELLED = "the deferred task was cancelled (marked failed or success, or cleared)"


class StopsOnKill:
    """A trigger whose ``on_kill`` runs ``stop_job`` in a thread unless the trigger went to another triggerer,
    and which does not finish before that thread has (``cleanup``)."""

    _stopping: asyncio.Future[None] | None = None

    def stop_job(self) -> None:
        raise NotImplementedError

    async def on_kill(self) -> None:
        def in_thread() -> None:
            if not handed_over(self):
                self.stop_job()

        self._stopping = asyncio.ensure_future(asyncio.to_thread(in_thread))
        await asyncio.shield(self._stopping)

    async def cleanup(self) -> None:
        await super().cleanup()  # type: ignore[misc]
        stopping = self._stopping
        while stopping is not None and not stopping.done():
            try:
                await asyncio.shield(stopping)
            except asyncio.CancelledError:
                continue  # the triggerer cancels again a trigger whose on_kill is stopping its job


class SageMakerJobTrigger(StopsOnKill, SageMakerTrigger):
    """SageMakerTrigger whose ``on_kill`` stops the training, processing, transform or tuning job."""

    @classmethod
    def of(cls, trigger: SageMakerTrigger, attempts: int) -> SageMakerJobTrigger:
        """The same wait as ``trigger`` (the provider's), with at least ``attempts`` checks."""
        return cls(
            job_name=trigger.job_name,
            job_type=trigger.job_type,
            waiter_delay=trigger.waiter_delay,
            waiter_max_attempts=max(int(trigger.attempts or 0), attempts),
            aws_conn_id=trigger.aws_conn_id,
            region_name=trigger.region_name,
            verify=trigger.verify,
            botocore_config=trigger.botocore_config,
        )

    async def run(self) -> AsyncIterator[Any]:
        await asyncio.sleep(float(self.waiter_delay or 0))
        async for event in super().run():
            yield event

    def stop_job(self) -> None:
        kind = BY_JOB_TYPE[self.job_type.lower()]
        cancel.stop_job(self.hook().conn, kind, self.job_name, CANCELLED, self.log, ON_KILL_WAIT_SECONDS)


def handed_over(trigger: Any) -> bool:
    """Whether ``on_kill`` came although the trigger's task instance still waits on a trigger: the trigger
    went to another triggerer, and its job must run on. Called off the event loop (the triggerer's API
    channel answers a synchronous call only there)."""
    ti = getattr(trigger, "task_instance", None)
    if ti is None:
        return False
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    try:
        states = RuntimeTaskInstance.get_task_states(
            dag_id=ti.dag_id, task_ids=[ti.task_id], run_ids=[ti.run_id], map_index=ti.map_index
        )
    except Exception as error:  # no answer: a user's cancel is the only case Airflow means on_kill for
        trigger.log.warning("Cannot read the state of %s (%s): taking on_kill as a cancel", ti.task_id, error)
        return False
    key = ti.task_id if ti.map_index < 0 else f"{ti.task_id}_{ti.map_index}"
    state = (states.get(ti.run_id) or {}).get(key)
    if state == "deferred":
        trigger.log.warning(
            "on_kill came while %s is still deferred: its trigger went to another triggerer, which waits "
            "for the job now; not stopping it",
            ti.task_id,
        )
        return True
    return False
