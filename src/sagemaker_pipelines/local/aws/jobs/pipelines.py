"""SageMaker Pipelines executions that really run their steps, one after another.

moto stores pipelines and marks every execution Succeeded at once. Here StartPipelineExecution reads the
pipeline definition (the JSON the SageMaker SDK writes: ``Parameters``, ``Steps`` with ``Type``,
``Arguments`` and ``DependsOn``) and runs it in the background, the execution ``Executing`` until it ends
``Succeeded``, ``Failed`` (with a FailureReason) or ``Stopped``:

* steps run in dependency order (``DependsOn`` and the steps their ``Get`` expressions read), one at a
  time; Training, Processing and Transform steps are real jobs of this endpoint, created through its own
  API (so they are validated and run like any other job) and named ``pipelines-<execution>-<step>``;
  Model steps create a model; Fail steps fail the execution with their ErrorMessage;
* arguments may use ``{"Get": "Parameters.<name>"}`` (the execution's values, else the definition's
  defaults), ``{"Get": "Steps.<step>.<property path>"}`` (the step's Describe* answer, with
  ``Outputs['<name>']``-style indexing by name), ``{"Get": "Execution.PipelineExecutionId"}`` and
  ``{"Std:Join": {"On": ..., "Values": [...]}}``;
* ListPipelineExecutionSteps lists the steps with their status and job; StopPipelineExecution (only
  while Executing) stops the running step's job (its Stop* call) and runs no further step; the step and
  the execution end Stopped.

Condition, RegisterModel, Lambda, Callback and the other step types fail their step as not emulated.
"""

from __future__ import annotations

import functools
import json
import re
import time
from typing import Any

from moto.core.responses import ActionResult
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.utils import get_pipeline_execution_from_arn

from sagemaker_pipelines.local.aws import registry
from sagemaker_pipelines.local.aws.backend import Run, launch, log, own_client, utcnow, wait_min_duration

# Step type -> (create call, name field, describe call, status field)
_JOBS = {
    "Training": ("create_training_job", "TrainingJobName", "describe_training_job", "TrainingJobStatus"),
    "Processing": (
        "create_processing_job",
        "ProcessingJobName",
        "describe_processing_job",
        "ProcessingJobStatus",
    ),
    "Transform": ("create_transform_job", "TransformJobName", "describe_transform_job", "TransformJobStatus"),
}
_METADATA = {"Training": "TrainingJob", "Processing": "ProcessingJob", "Transform": "TransformJob"}
_STOPS = {
    "Training": "stop_training_job",
    "Processing": "stop_processing_job",
    "Transform": "stop_transform_job",
}


class StepFailed(Exception):
    """A step that did not succeed, with the reason the execution reports."""


def _client(endpoint_url: str, region: str) -> Any:
    return own_client("sagemaker", endpoint_url, region)


def _property(value: Any, path: str) -> Any:
    """``ModelArtifacts.S3ModelArtifacts`` or ``ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri``
    of a Describe* answer."""
    for part in re.findall(r"[^.\[\]]+|\[[^\]]+\]", path):
        if part.startswith("["):
            key = part[1:-1].strip("'\"")
            if isinstance(value, list):
                named = [i for i in value if isinstance(i, dict) and key in i.values()]
                value = named[0] if named else value[int(key)]
            else:
                value = value[key]
        else:
            value = value[part]
    return value


class Execution:
    """The state of one running execution."""

    def __init__(self, execution: Any, definition: dict[str, Any], endpoint_url: str, region: str) -> None:
        self.execution = execution
        self.definition = definition
        self.client = _client(endpoint_url, region)
        given = {p["Name"]: p["Value"] for p in execution.pipeline_parameters or []}
        self.parameters = {
            p["Name"]: given.get(p["Name"], p.get("DefaultValue")) for p in definition.get("Parameters", [])
        }
        self.parameters.update(given)
        self.execution_id = execution.arn.rsplit("/", 1)[-1]
        self.properties: dict[str, Any] = {}

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) == {"Get"}:
                return self._get(value["Get"])
            if set(value) == {"Std:Join"}:
                spec = value["Std:Join"]
                return str(spec.get("On", "")).join(str(self.resolve(v)) for v in spec.get("Values", []))
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value

    def _get(self, expression: str) -> Any:
        scope, _, rest = expression.partition(".")
        if scope == "Parameters":
            if rest not in self.parameters:
                raise StepFailed(f"the pipeline has no parameter '{rest}'")
            return self.parameters[rest]
        if scope == "Execution":
            return {"PipelineExecutionId": self.execution_id, "PipelineExecutionArn": self.execution.arn}[
                rest
            ]
        if scope == "Steps":
            step, _, path = rest.partition(".")
            if step not in self.properties:
                raise StepFailed(f"step '{step}' has not run")
            try:
                return _property(self.properties[step], path)
            except (KeyError, IndexError, ValueError, TypeError) as exc:
                raise StepFailed(f"step '{step}' has no property {path}") from exc
        raise StepFailed(f"unsupported expression {{'Get': '{expression}'}}")

    def job_name(self, step: str) -> str:
        return re.sub(r"[^A-Za-z0-9-]", "-", f"pipelines-{self.execution_id}-{step}")[:63].rstrip("-")

    def run_step(self, step: dict[str, Any], record: dict[str, Any]) -> None:
        kind = step.get("Type")
        arguments = self.resolve(step.get("Arguments") or {})
        if kind in _JOBS:
            create, name_field, describe, status_field = _JOBS[kind]
            name = self.job_name(step["Name"])
            answer = getattr(self.client, create)(**{**arguments, name_field: name})
            record["Metadata"] = {
                _METADATA[kind]: {"Arn": next(v for k, v in answer.items() if k.endswith("Arn"))}
            }
            stopped = False
            while True:
                described = getattr(self.client, describe)(**{name_field: name})
                if described[status_field] not in ("InProgress", "Stopping"):
                    break
                if self.execution.local_stop_requested and not stopped:  # StopPipelineExecution
                    stopped = True
                    getattr(self.client, _STOPS[kind])(**{name_field: name})
                time.sleep(0.2)
            described.pop("ResponseMetadata", None)
            self.properties[step["Name"]] = described
            if described[status_field] == "Stopped" and self.execution.local_stop_requested:
                return  # the step ends Stopped, as the execution
            if described[status_field] != "Completed":
                raise StepFailed(
                    f"{kind} job {name} {described[status_field]}: {described.get('FailureReason', '')}"
                )
        elif kind == "Model":
            name = self.job_name(step["Name"])
            answer = self.client.create_model(**{**arguments, "ModelName": name})
            record["Metadata"] = {"Model": {"Arn": answer["ModelArn"]}}
            described = self.client.describe_model(ModelName=name)
            described.pop("ResponseMetadata", None)
            self.properties[step["Name"]] = described
        elif kind == "Fail":
            raise StepFailed(str(arguments.get("ErrorMessage", "a Fail step was reached")))
        else:
            raise StepFailed(
                f"step type {kind} is not emulated locally (Training, Processing, Transform, Model, Fail)"
            )


def _order(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Steps in dependency order: DependsOn and the steps a Get expression reads."""
    by_name = {s["Name"]: s for s in steps}
    needs = {
        s["Name"]: set(s.get("DependsOn") or [])
        | set(re.findall(r'"Get":\s*"Steps\.([^."]+)', json.dumps(s.get("Arguments") or {})))
        for s in steps
    }
    for name, wanted in needs.items():
        unknown = sorted(wanted - set(by_name))
        if unknown:
            raise StepFailed(f"step '{name}' depends on unknown step(s) {', '.join(unknown)}")
    ordered: list[dict[str, Any]] = []
    while len(ordered) < len(steps):
        ready = [n for n in by_name if by_name[n] not in ordered and needs[n] <= {s["Name"] for s in ordered}]
        if not ready:
            raise StepFailed("the steps' dependencies form a cycle")
        ordered.append(by_name[ready[0]])
    return ordered


def run(backend: Any, execution: Any, endpoint_url: str, run_info: Run) -> None:
    """The background work of one execution."""
    reason = None
    try:
        definition = json.loads(execution.pipeline_definition_for_execution or "{}")
        state = Execution(execution, definition, endpoint_url, backend.region_name)
        for step in _order(definition.get("Steps") or []):
            if execution.local_stop_requested:
                break
            record = {
                "StepName": step["Name"],
                "StepType": step.get("Type"),
                "StepStatus": "Executing",
                "StartTime": utcnow(),
            }
            execution.local_steps = [record, *execution.local_steps]
            try:
                state.run_step(step, record)
                record["StepStatus"] = "Stopped" if execution.local_stop_requested else "Succeeded"
            except StepFailed as exc:
                record["StepStatus"], record["FailureReason"] = "Failed", str(exc)[:1024]
                raise
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
    """moto's handler; then the execution runs, its jobs created through this very endpoint."""
    backend = self.sagemaker_backend
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


registry.observes(
    "describe_pipeline_execution", "pipeline", "PipelineExecutionStatus", ("Executing", "Stopping"), __name__
)
