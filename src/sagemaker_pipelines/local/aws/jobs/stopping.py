"""Stop* APIs: a stopped job really ends its processes and goes InProgress -> Stopping -> Stopped.

moto has no StopTrainingJob, StopTransformJob or StopHyperParameterTuningJob, and its StopProcessingJob
flips the status to Stopped while nothing stops. Here a Stop* call marks the job ``Stopping`` (a training
job's SecondaryStatus too), then sets the stop event of the job's background run: the job's child process
is ended (see ``sandbox.run_child``) or its next phase does not begin, and the run publishes ``Stopped``.
A job that has already ended cannot be stopped (ValidationException, as on AWS); stopping a job that is
``Stopping`` again is a no-op. Stopping a tuning job stops its training jobs that are still running.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore import xform_name
from moto.core.responses import ActionResult, EmptyResult
from moto.sagemaker.exceptions import ValidationError

from sagemaker_pipelines.compile.kinds import KINDS as TASK_KINDS
from sagemaker_pipelines.compile.kinds.spec import Job
from sagemaker_pipelines.local.aws import registry
from sagemaker_pipelines.local.aws.backend import log, run_of, utcnow


@dataclass(frozen=True)
class Stoppable:
    """Where moto keeps a job kind's jobs; the API's names (operation, name parameter) are its kind spec's."""

    jobs: str  # the backend's dict of jobs of this kind
    status: str  # the job object's status attribute
    label: str  # as AWS names the resource in messages

    def job_of(self, kind: str) -> Job:
        job = TASK_KINDS[kind].job
        assert job is not None, f"{kind} starts no job"
        return job


KINDS = {
    "training": Stoppable("training_jobs", "training_job_status", "training job"),
    "processing": Stoppable("processing_jobs", "processing_job_status", "processing job"),
    "transform": Stoppable("transform_jobs", "transform_job_status", "transform job"),
    "tuning": Stoppable(
        "hyper_parameter_tuning_jobs", "hyper_parameter_tuning_job_status", "hyper parameter tuning job"
    ),
}


def stop_job(backend: Any, kind: str, name: str) -> None:
    """Ask one job to stop: Stopping now, Stopped once its run has ended its work."""
    spec = KINDS[kind]
    job = getattr(backend, spec.jobs).get(name)
    if job is None:
        raise ValidationError(message=f"Could not find {spec.label} '{name}'.")
    status = getattr(job, spec.status)
    if status == "Stopping":
        return
    if status != "InProgress":
        raise ValidationError(
            message=f"The request was rejected because the {spec.label} '{name}' is in status {status}."
        )
    run = run_of(kind, backend, name)
    log.info("%s %s: stop requested", kind, name)
    setattr(job, spec.status, "Stopping")
    if kind == "training":
        _training_stopping(job)
    job.last_modified_time = utcnow()
    if run is None or run.done.is_set():  # nothing runs it (a job of an earlier server): stopped at once
        setattr(job, spec.status, "Stopped")
        return
    run.stop.set()


def _training_stopping(job: Any) -> None:
    now = utcnow()
    transitions = [dict(t) for t in job.secondary_status_transitions or []]
    if transitions and "EndTime" not in transitions[-1]:
        transitions[-1]["EndTime"] = now
    transitions.append({"Status": "Stopping", "StartTime": now, "StatusMessage": "Stopping the training job"})
    job.secondary_status_transitions = transitions
    job.secondary_status = "Stopping"


# ---------------------------------------------------------------- moto patches (see registry.py)


def _backend_method(kind: str) -> Any:
    def stop(self: Any, name: str) -> None:
        stop_job(self, kind, name)

    return stop


def _response_method(kind: str) -> Any:
    def stop(self: Any) -> ActionResult:
        name = self._get_param(KINDS[kind].job_of(kind).name_field)
        stop_job(self.sagemaker_backend, kind, name)
        return EmptyResult()

    return stop


for _kind, _stoppable in KINDS.items():  # each job kind's Stop* operation, as its spec names it
    _method = xform_name(_stoppable.job_of(_kind).stop)
    registry.replaces(_method)(_backend_method(_kind))
    registry.replaces(_method, registry.RESPONSE)(_response_method(_kind))
