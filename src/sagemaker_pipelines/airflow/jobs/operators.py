"""The provider's training, processing, transform, tuning and AutoML operators and its pipeline start,
with one job per task instance.

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
        self._adopted = self._job_to_adopt(client, context["ti"])
        if self._adopted:
            self._use_name(self._adopted)
        self._intercept_create(client, context["ti"])
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

    def _proposed_name(self) -> str:
        """The name this try gives its job: where the provider's operator reads it from (``config``)."""
        return self.job_kind.name_holder(self.config)[self.job_kind.name_field]  # type: ignore[attr-defined]

    def _use_name(self, name: str) -> None:
        """Make the provider's operator run (wait for, describe) the job ``name`` instead of its own."""
        self.job_kind.name_holder(self.config)[self.job_kind.name_field] = name  # type: ignore[attr-defined]

    def _job_to_adopt(self, client: Any, ti: Any) -> str | None:
        log = self.log  # type: ignore[attr-defined]
        return attempts.job_to_adopt(client, self.job_kind, self._proposed_name(), ti.try_number, log)

    def _intercept_create(self, client: Any, ti: Any) -> None:
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

        _replace(client, kind.create_method(), create, original)

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
        status = kind.status_of(client, self._job_name)
        if status in ("Stopped", "Stopping", "Failed"):
            raise AirflowException(f"SageMaker {kind.label} {self._job_name} is {status}")
        attempts.mark_consumed(client, kind, self._job_name, attempts.used_by(context["ti"]), self.log)  # type: ignore[attr-defined]


def _replace(client: Any, method: str, replacement: Any, original: Any) -> None:
    """Put ``replacement`` in place of the client's ``method``, once (a client is shared by the hook)."""
    replacement._one_job_per_task_instance = True
    replacement.__wrapped__ = original
    setattr(client, method, replacement)


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


class SageMakerAutoMLOperator(_OneJobPerTaskInstance, provider.SageMakerAutoMLOperator):
    """SageMakerAutoMLOperator with one AutoML job per task instance, stopped when cancelled."""

    job_kind = kinds.AUTOML

    def _proposed_name(self) -> str:
        return self.job_name

    def _use_name(self, name: str) -> None:
        self.job_name = name


class SageMakerStartPipelineOperator(_OneJobPerTaskInstance, provider.SageMakerStartPipelineOperator):
    """SageMakerStartPipelineOperator with one execution per task instance, stopped when cancelled.

    An execution has no name the client chooses: each try writes who started it into the execution's
    description and sends a ClientRequestToken of its own (so SageMaker starts it once however often the
    call is sent), and a retry finds the executions of earlier tries among the pipeline's."""

    job_kind = kinds.PIPELINE_EXECUTION

    def _job_to_adopt(self, client: Any, ti: Any) -> str | None:
        earlier = attempts.earlier_executions(client, self.job_kind, {"PipelineName": self.pipeline_name}, ti)
        wanted = f"a new execution of pipeline {self.pipeline_name}"
        return attempts.adopt_among(client, self.job_kind, earlier, wanted, self.log)

    def _use_name(self, name: str) -> None:
        """The adopted execution's ARN is what the start call answers (``_intercept_create``)."""

    def _intercept_create(self, client: Any, ti: Any) -> None:
        kind, original = self.job_kind, getattr(client, self.job_kind.create_method())
        if getattr(original, "_one_job_per_task_instance", False):
            original = original.__wrapped__

        def start(**request: Any) -> dict[str, Any]:
            if self._adopted:
                self._job_name = self._adopted
                return {kind.arn_field: self._adopted, "ResponseMetadata": {"HTTPStatusCode": 200}}
            request.setdefault("ClientRequestToken", attempts.token_of(ti))
            request["PipelineExecutionDescription"] = attempts.started_by(ti)
            answer = original(**request)
            self._job_name = answer[kind.arn_field]
            return answer

        _replace(client, kind.create_method(), start, original)
