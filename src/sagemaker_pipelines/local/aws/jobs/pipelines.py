"""SageMaker Pipelines executions that really run their steps, one after another.

moto stores pipelines and marks every execution Succeeded at once. Here StartPipelineExecution reads the
pipeline definition (the JSON the SageMaker SDK writes: ``Parameters``, ``Steps`` with ``Type``,
``Arguments`` and ``DependsOn``; what its expressions and conditions mean is
:mod:`.pipeline_definition`) and runs it in the background, the execution ``Executing`` until it ends
``Succeeded``, ``Failed`` (with a FailureReason) or ``Stopped``:

* steps run in dependency order (``DependsOn`` and the steps their ``Get`` expressions read), one at a
  time; Training, Processing, Transform and Tuning steps are real jobs of this endpoint, created through
  its own API (so they are validated and run like any other job) and named ``pipelines-<execution>-<step>``
  (a tuning job, limited to 32 characters, ``p-<hash of that name>``); Model steps create a model,
  RegisterModel steps a model package version (CreateModelPackage); Fail steps fail the execution with
  their ErrorMessage;
* a Condition step evaluates its conditions and runs the steps of ``IfSteps`` when all hold, else those of
  ``ElseSteps``; the other branch's steps, and every step that needs one of them, do not run and are not
  listed, as on AWS; its listing's ``Metadata.Condition.Outcome`` is ``True`` or ``False``;
* a step that runs no job (Condition, Model, RegisterModel, Fail) lasts at least
  ``LOCAL_AWS_PIPELINE_STEP_SECONDS`` (1 s), about what it takes on AWS, so an execution of many such
  steps can still be watched and stopped;
* with a ``PipelineExperimentConfig`` (the SDK writes one by default) the execution creates its
  experiment (when missing) and trial, as SageMaker does;
* ListPipelineExecutionSteps lists the steps with their status and job; StopPipelineExecution (only
  while Executing) makes the execution Stopping, stops the running step's job (its Stop* call) and runs
  no further step; the step and the execution end Stopped;
* a ClientRequestToken makes a start idempotent: the token of an execution of the pipeline answers that
  execution instead of starting another;
* DeletePipeline of a pipeline that does not exist is ResourceNotFound ("Pipeline '<arn>' does not
  exist."), as on AWS (moto: a ValidationException), which a delete_pipeline clean-up takes for gone.

Lambda, Callback, QualityCheck, ClarifyCheck, EMR, AutoML and the other step types fail their step as
not emulated: they call services or containers this machine does not have.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import time
from typing import Any

from botocore.exceptions import ClientError
from moto.core.responses import ActionResult
from moto.sagemaker.exceptions import ResourceNotFound, ValidationError
from moto.sagemaker.utils import get_pipeline_execution_from_arn

from sagemaker_pipelines.local.aws import registry
from sagemaker_pipelines.local.aws.backend import Run, launch, log, own_client, utcnow, wait_min_duration
from sagemaker_pipelines.local.aws.pipeline_definition import Scope, Step, StepFailed, flatten, order

STEP_SECONDS = float(os.environ.get("LOCAL_AWS_PIPELINE_STEP_SECONDS", "1.0"))

# Step type -> (create call, name field, describe call, status field, Metadata key, stop call)
_JOBS = {
    "Training": (
        "create_training_job",
        "TrainingJobName",
        "describe_training_job",
        "TrainingJobStatus",
        "TrainingJob",
        "stop_training_job",
    ),
    "Processing": (
        "create_processing_job",
        "ProcessingJobName",
        "describe_processing_job",
        "ProcessingJobStatus",
        "ProcessingJob",
        "stop_processing_job",
    ),
    "Transform": (
        "create_transform_job",
        "TransformJobName",
        "describe_transform_job",
        "TransformJobStatus",
        "TransformJob",
        "stop_transform_job",
    ),
    "Tuning": (
        "create_hyper_parameter_tuning_job",
        "HyperParameterTuningJobName",
        "describe_hyper_parameter_tuning_job",
        "HyperParameterTuningJobStatus",
        "TuningJob",
        "stop_hyper_parameter_tuning_job",
    ),
}
_NAME_LIMITS = {"Tuning": 32}
EMULATED = (*_JOBS, "Model", "RegisterModel", "Condition", "Fail")


def _client(endpoint_url: str, region: str, service: str = "sagemaker") -> Any:
    return own_client(service, endpoint_url, region)


class Execution:
    """The state of one running execution."""

    def __init__(self, execution: Any, definition: dict[str, Any], endpoint_url: str, region: str) -> None:
        self.execution = execution
        self.definition = definition
        self.client = _client(endpoint_url, region)
        self.s3 = _client(endpoint_url, region, "s3")
        given = {p["Name"]: p["Value"] for p in execution.pipeline_parameters or []}
        parameters = {
            p["Name"]: given.get(p["Name"], p.get("DefaultValue")) for p in definition.get("Parameters", [])
        }
        parameters.update(given)
        self.execution_id = execution.arn.rsplit("/", 1)[-1]
        pipeline_arn = execution.arn.split("/execution/")[0]
        variables = {
            "PipelineExecutionId": self.execution_id,
            "PipelineExecutionArn": execution.arn,
            "PipelineName": pipeline_arn.rsplit("/", 1)[-1],
            "PipelineArn": pipeline_arn,
            "StartDateTime": utcnow().isoformat(),
            "CurrentDateTime": lambda: utcnow().isoformat(),
        }
        self.steps = flatten(definition.get("Steps") or [])
        self.scope = Scope(parameters, variables, self.steps, self._read_json)

    def _read_json(self, uri: str) -> Any:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        try:
            body = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            return json.loads(body)
        except Exception as exc:
            raise StepFailed(f"JsonGet: cannot read a JSON document at {uri}: {exc}") from exc

    def job_name(self, step: str, kind: str = "") -> str:
        name = re.sub(r"[^A-Za-z0-9-]", "-", f"pipelines-{self.execution_id}-{step}")[:63].rstrip("-")
        limit = _NAME_LIMITS.get(kind)
        if limit and len(name) > limit:
            name = f"p-{hashlib.sha256(name.encode()).hexdigest()[: limit - 2]}"
        return name

    def start_experiment(self, backend: Any) -> None:
        """The experiment (kept when it exists) and trial a PipelineExperimentConfig names, as SageMaker
        creates them; moto's own CreateExperiment would replace an existing one."""
        config = self.definition.get("PipelineExperimentConfig")
        if not config:
            return
        experiment = str(self.scope.resolve(config.get("ExperimentName")))
        if experiment not in backend.experiments:
            backend.create_experiment(experiment)
        backend.create_trial(str(self.scope.resolve(config.get("TrialName"))), experiment)

    def _hold(self, started: float) -> None:
        """A step without a job lasts about as long as on AWS; a stop request ends the wait."""
        while time.monotonic() - started < STEP_SECONDS and not self.execution.local_stop_requested:
            time.sleep(0.05)

    def run_step(self, step: Step, record: dict[str, Any]) -> bool | None:
        """Run one step; a Condition step answers which branch to take."""
        spec, kind, started = step.spec, step.spec.get("Type"), time.monotonic()
        if kind in _JOBS:
            self._run_job(step, record)
            return None
        if kind == "Condition":
            outcome = all(self.scope.holds(c) for c in (spec.get("Arguments") or {}).get("Conditions", []))
            record["Metadata"] = {"Condition": {"Outcome": str(outcome)}}
            self.scope.properties[step.name] = {"Outcome": str(outcome)}
            self._hold(started)
            return outcome
        arguments = self.scope.resolve(spec.get("Arguments") or {})
        if kind == "Model":
            name = self.job_name(step.name)
            answer = self.client.create_model(**{**arguments, "ModelName": name})
            record["Metadata"] = {"Model": {"Arn": answer["ModelArn"]}}
            described = self.client.describe_model(ModelName=name)
        elif kind == "RegisterModel":
            answer = self.client.create_model_package(**arguments)
            record["Metadata"] = {"RegisterModel": {"Arn": answer["ModelPackageArn"]}}
            described = self.client.describe_model_package(ModelPackageName=answer["ModelPackageArn"])
        elif kind == "Fail":
            self._hold(started)
            raise StepFailed(str(arguments.get("ErrorMessage", "a Fail step was reached")))
        else:
            raise StepFailed(
                f"step type {kind} is not emulated locally ({', '.join(EMULATED)}): it calls a service "
                "or container this machine does not have"
            )
        described.pop("ResponseMetadata", None)
        self.scope.properties[step.name] = described
        self._hold(started)
        return None

    def _run_job(self, step: Step, record: dict[str, Any]) -> None:
        kind = step.spec["Type"]
        create, name_field, describe, status_field, metadata, stop = _JOBS[kind]
        arguments = self.scope.resolve(step.spec.get("Arguments") or {})
        name = self.job_name(step.name, kind)
        answer = getattr(self.client, create)(**{**arguments, name_field: name})
        record["Metadata"] = {metadata: {"Arn": next(v for k, v in answer.items() if k.endswith("Arn"))}}
        stopped = False
        while True:
            described = getattr(self.client, describe)(**{name_field: name})
            if described[status_field] not in ("InProgress", "Stopping"):
                break
            if self.execution.local_stop_requested and not stopped:  # StopPipelineExecution
                stopped = True
                getattr(self.client, stop)(**{name_field: name})
            time.sleep(0.2)
        described.pop("ResponseMetadata", None)
        self.scope.properties[step.name] = described
        if described[status_field] == "Stopped" and self.execution.local_stop_requested:
            return  # the step ends Stopped, as the execution
        if described[status_field] != "Completed":
            raise StepFailed(
                f"{kind} job {name} {described[status_field]}: {described.get('FailureReason', '')}"
            )


def _runs(step: Step, outcomes: dict[str, bool], skipped: set[str]) -> bool:
    """Whether a step runs: its branch was taken and nothing it needs was left out."""
    if step.condition is not None and outcomes.get(step.condition) is not step.branch:
        return False
    return not (step.needs & skipped)


def run(backend: Any, execution: Any, endpoint_url: str, run_info: Run) -> None:
    """The background work of one execution."""
    reason = None
    try:
        definition = json.loads(execution.pipeline_definition_for_execution or "{}")
        state = Execution(execution, definition, endpoint_url, backend.region_name)
        state.start_experiment(backend)
        outcomes: dict[str, bool] = {}
        skipped: set[str] = set()
        for step in order(state.steps):
            if execution.local_stop_requested:
                break
            if not _runs(step, outcomes, skipped):
                skipped.add(step.name)
                continue
            record = {
                "StepName": step.name,
                "StepType": step.spec.get("Type"),
                "StepStatus": "Executing",
                "StartTime": utcnow(),
            }
            execution.local_steps = [record, *execution.local_steps]
            try:
                outcome = state.run_step(step, record)
                if outcome is not None:
                    outcomes[step.name] = outcome
                record["StepStatus"] = "Stopped" if execution.local_stop_requested else "Succeeded"
            except (StepFailed, ClientError) as exc:
                record["StepStatus"], record["FailureReason"] = "Failed", str(exc)[:1024]
                raise StepFailed(str(exc)) from exc
            finally:
                record["EndTime"] = utcnow()
        status = "Stopped" if execution.local_stop_requested else "Succeeded"
    except StepFailed as exc:
        status, reason = "Failed", f"Step failure: {exc}"[:1024]
    except Exception as exc:
        log.exception("pipeline execution %s: unexpected error", execution.arn)
        status, reason = "Failed", f"InternalServerError: {type(exc).__name__}: {exc}"[:1024]
    wait_min_duration(run_info)
    execution.pipeline_execution_failure_reason = reason
    execution.pipeline_execution_status = status
    execution.last_modified_time = utcnow()


# ---------------------------------------------------------------- moto patches (see registry.py)


@registry.replaces("start_pipeline_execution", registry.RESPONSE)
def _response_start_pipeline_execution(self: Any) -> ActionResult:
    """moto's handler; then the execution runs, its jobs created through this very endpoint. A start
    with the ClientRequestToken of an execution of the pipeline answers that execution, as on AWS (an
    idempotent call starts at most one)."""
    backend = self.sagemaker_backend
    token = self._get_param("ClientRequestToken")
    pipeline = backend.pipelines.get(self._get_param("PipelineName"))
    for arn, earlier in pipeline.pipeline_executions.items() if pipeline and token else ():
        if earlier.client_request_token == token:
            return ActionResult({"PipelineExecutionArn": arn})
    answer = backend.start_pipeline_execution(
        self._get_param("PipelineName"),
        self._get_param("PipelineExecutionDisplayName"),
        self._get_param("PipelineParameters"),
        self._get_param("PipelineExecutionDescription"),
        self._get_param("ParallelismConfiguration"),
        self._get_param("ClientRequestToken"),
    )
    arn = answer["PipelineExecutionArn"]
    execution = get_pipeline_execution_from_arn(backend.pipelines, arn)
    execution.local_steps = []
    execution.local_stop_requested = False
    execution.tags = []  # AddTags and ListTags (``tags.py``)
    execution.pipeline_execution_status = "Executing"
    endpoint_url = f"http://{self.headers.get('Host', '127.0.0.1')}"
    launch("pipeline", backend, arn, lambda started: run(backend, execution, endpoint_url, started))
    return ActionResult(answer)


@registry.wraps("describe_pipeline_execution")
def _describe(orig: Any) -> Any:
    @functools.wraps(orig)
    def describe_pipeline_execution(self: Any, pipeline_execution_arn: str) -> dict[str, Any]:
        answer = orig(self, pipeline_execution_arn)
        execution = get_pipeline_execution_from_arn(self.pipelines, pipeline_execution_arn)
        answer["FailureReason"] = execution.pipeline_execution_failure_reason or ""
        if not answer["FailureReason"]:
            answer.pop("FailureReason")
        return answer

    return describe_pipeline_execution


@registry.replaces("list_pipeline_execution_steps")
def list_pipeline_execution_steps(
    self: Any, pipeline_execution_arn: str, ascending: bool = False
) -> list[dict]:
    execution = get_pipeline_execution_from_arn(self.pipelines, pipeline_execution_arn)
    steps = [dict(s) for s in getattr(execution, "local_steps", [])]
    return list(reversed(steps)) if ascending else steps


@registry.replaces("list_pipeline_execution_steps", registry.RESPONSE)
def _response_list_steps(self: Any) -> ActionResult:
    steps = self.sagemaker_backend.list_pipeline_execution_steps(
        self._get_param("PipelineExecutionArn"), self._get_param("SortOrder") == "Ascending"
    )
    return ActionResult({"PipelineExecutionSteps": steps})


@registry.replaces("stop_pipeline_execution")
def stop_pipeline_execution(self: Any, pipeline_execution_arn: str) -> str:
    execution = get_pipeline_execution_from_arn(self.pipelines, pipeline_execution_arn)
    if execution.pipeline_execution_status != "Executing":
        raise ValidationError(
            f"Only pipelines with 'Executing' status can be stopped. Pipeline execution "
            f"{pipeline_execution_arn} is {execution.pipeline_execution_status}."
        )
    execution.local_stop_requested = True
    execution.pipeline_execution_status = "Stopping"
    return pipeline_execution_arn


@registry.replaces("stop_pipeline_execution", registry.RESPONSE)
def _response_stop(self: Any) -> ActionResult:
    arn = self.sagemaker_backend.stop_pipeline_execution(self._get_param("PipelineExecutionArn"))
    return ActionResult({"PipelineExecutionArn": arn})


@registry.replaces("delete_pipeline")
def delete_pipeline(self: Any, pipeline_name: str) -> str:
    pipeline = self.pipelines.pop(pipeline_name, None)
    if pipeline is None:
        arn = f"arn:{self.partition}:sagemaker:{self.region_name}:{self.account_id}:pipeline/{pipeline_name}"
        raise ResourceNotFound(f"Pipeline '{arn}' does not exist.")
    return pipeline.arn


registry.observes(
    "describe_pipeline_execution", "pipeline", "PipelineExecutionStatus", ("Executing", "Stopping"), __name__
)
