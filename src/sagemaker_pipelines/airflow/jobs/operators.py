"""The provider's training, processing, transform and tuning operators, with one job per task instance.

The kinds table names these classes instead of the provider's; arguments, template fields, results and
XCom are the provider's own. What they add (see the package docstring):

* before starting, a try adopts the job an earlier try of the same task instance left running, or whose
  result nobody took (``attempts``) - the provider's code then waits for it and returns its result as if
  this try had started it, because the adopted name is put in ``config`` and the create call skipped;
* ``on_kill``, and any exception escaping the wait (not a deferral), stop the job (``cancel``), and so
  does a deferred task's trigger when a user cancels the task (``trigger``);
* a wait, polling or deferred, gives up no earlier than the job's own MaxRuntimeInSeconds allows.
"""

from __future__ import annotations

from typing import Any, ClassVar

from airflow.providers.amazon.aws.operators import sagemaker as provider
from airflow.providers.amazon.aws.triggers.sagemaker import SageMakerTrigger
from airflow.providers.common.compat.sdk import AirflowException, TaskDeferred

from sagemaker_pipelines.airflow.jobs import attempts, cancel, kinds
from sagemaker_pipelines.airflow.jobs.trigger import SageMakerJobTrigger
from sagemaker_pipelines.compile.kinds.spec import Job


class _OneJobPerTaskInstance:
    """Mixin before a provider SageMaker job operator (``SageMakerBaseOperator``) in the bases."""

    job_kind: ClassVar[Job]
    _adopted: str | None = None
    _job_name: str | None = None
    _stop_requested: bool = False

    def execute(self, context: Any) -> Any:
        client = self.hook.conn  # type: ignore[attr-defined]
        holder = self.job_kind.name_holder(self.config)  # type: ignore[attr-defined]
        proposed = holder[self.job_kind.name_field]
        self._adopted = attempts.job_to_adopt(
            client,
            self.job_kind,
            proposed,
            context["ti"].try_number,
            self.log,  # type: ignore[attr-defined]
        )
        if self._adopted:
            holder[self.job_kind.name_field] = self._adopted
        self._intercept_create(client)
        self._wait_no_less_than_the_job()
        try:
            result = super().execute(context)  # type: ignore[misc]
        except TaskDeferred:
            raise
        except BaseException as error:
            self._stop(f"the task ended with {type(error).__name__}: {error}")
            raise
        self._succeeded(context)
        return result

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> Any:
        self._job_name = (event or {}).get("job_name")
        try:
            result = super().execute_complete(context, event)  # type: ignore[misc]
        except BaseException as error:
            self._stop(f"the wait for the job ended with {type(error).__name__}: {error}")
            raise
        self._succeeded(context)
        return result

    def on_kill(self) -> None:
        self._stop("the task was cancelled (marked failed or success, cleared, timed out or terminated)")

    def defer(self, *, trigger: Any, **kwargs: Any) -> Any:
        """Defer to a trigger that stops the job when the deferred task is cancelled, and whose waiter
        has as many attempts as the job may need (the provider's default: 60)."""
        if type(trigger) is SageMakerTrigger:
            needed = kinds.wait_attempts(self.job_kind, self.config, self.check_interval)  # type: ignore[attr-defined]
            trigger = SageMakerJobTrigger.of(trigger, needed)
        return super().defer(trigger=trigger, **kwargs)  # type: ignore[misc]

    def _get_unique_job_name(self, proposed_name: str, *args: Any, **kwargs: Any) -> str:
        """The adopted job exists, by definition: keep its name rather than time-stamping a new one."""
        if proposed_name == self._adopted:
            return proposed_name
        return super()._get_unique_job_name(proposed_name, *args, **kwargs)  # type: ignore[misc]

    def _intercept_create(self, client: Any) -> None:
        """Record the name of the job the provider creates; skip the create call for an adopted job."""
        kind, original = self.job_kind, getattr(client, self.job_kind.create_method())
        if getattr(original, "_one_job_per_task_instance", False):
            original = original.__wrapped__

        def create(**request: Any) -> dict[str, Any]:
            name = request[kind.name_field]
            self._job_name = name
            if name == self._adopted:
                arn = kind.describe_job(client, name)[kind.arn_field]
                return {kind.arn_field: arn, "ResponseMetadata": {"HTTPStatusCode": 200}}
            return original(**request)

        create._one_job_per_task_instance = True  # type: ignore[attr-defined]
        create.__wrapped__ = original  # type: ignore[attr-defined]
        setattr(client, kind.create_method(), create)

    def _wait_no_less_than_the_job(self) -> None:
        if hasattr(self, "max_attempts"):
            needed = kinds.wait_attempts(self.job_kind, self.config, self.check_interval)  # type: ignore[attr-defined]
            self.max_attempts = max(int(self.max_attempts or 0), needed)

    def _stop(self, why: str) -> None:
        if self._job_name and not self._stop_requested:
            self._stop_requested = True
            cancel.stop_job(self.hook.conn, self.job_kind, self._job_name, why, self.log)  # type: ignore[attr-defined]

    def _succeeded(self, context: Any) -> None:
        """Fail a try whose job was stopped (the provider's processing, transform and tuning waits, and its
        training wait without logs, count only Failed as failed); else mark the job used by this try."""
        if not self._job_name:
            return
        client, kind = self.hook.conn, self.job_kind  # type: ignore[attr-defined]
        status = kind.describe_job(client, self._job_name)[kind.status_field]
        if status in ("Stopped", "Stopping", "Failed"):
            raise AirflowException(f"SageMaker {kind.label} {self._job_name} is {status}")
        ti = context["ti"]
        by = f"{ti.dag_id}.{ti.task_id}[{ti.map_index}] {ti.run_id} try {ti.try_number}"
        attempts.mark_consumed(client, kind, self._job_name, by, self.log)  # type: ignore[attr-defined]


class SageMakerTrainingOperator(_OneJobPerTaskInstance, provider.SageMakerTrainingOperator):
    """SageMakerTrainingOperator with one training job per task instance, stopped when cancelled."""

    job_kind = kinds.TRAINING


class SageMakerProcessingOperator(_OneJobPerTaskInstance, provider.SageMakerProcessingOperator):
    """SageMakerProcessingOperator with one processing job per task instance, stopped when cancelled."""

    job_kind = kinds.PROCESSING


class SageMakerTransformOperator(_OneJobPerTaskInstance, provider.SageMakerTransformOperator):
    """SageMakerTransformOperator with one transform job per task instance, stopped when cancelled."""

    job_kind = kinds.TRANSFORM


class SageMakerTuningOperator(_OneJobPerTaskInstance, provider.SageMakerTuningOperator):
    """SageMakerTuningOperator with one tuning job per task instance, stopped when cancelled."""

    job_kind = kinds.TUNING
