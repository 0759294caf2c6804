"""Task outputs: what ``${tasks.<id>.<output>}`` means for each kind, as a Jinja template over XCom.

Every output reads what the provider's operator returns (and so pushes to XCom as ``return_value``) when
it finishes: the training operator ``{"Training": <DescribeTrainingJob>}``, the model operator
``{"Model": <DescribeModel>}``, the register operator the model package ARN itself, and so on. A few
outputs are keyed: ``metrics.<metric name>`` of a training job, ``outputs.<output name>`` and
``reports.<report>.<field>`` of a processing job, ``result.<key>`` of a Python step.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Producer:
    """The task whose output is referenced, as the references see it (fields resolved but tasks refs)."""

    task_id: str
    task: dict[str, Any]
    bucket: str
    dag_id: str

    def output_path(self) -> str:
        """Where a training or tuning task writes its models (the compiler's default included)."""
        return self.task.get("output") or f"s3://{self.bucket}/{self.dag_id}/{self.task_id}/"


@dataclass(frozen=True)
class Output:
    """One output of a kind: how to read it, and whether it takes ``.<key>`` parts (and which)."""

    doc: str
    expression: Callable[[Producer, tuple[str, ...]], str]  # -> a Jinja expression, without braces
    keys: str = "none"  # "none", "required" (metrics.<name>) or "optional" (result or result.<key>)
    names: Callable[[Producer], list[str]] | None = None  # the allowed first keys; None: any


def returned(task_id: str) -> str:
    return f"ti.xcom_pull(task_ids='{task_id}')"


def _path(*keys: str | int) -> str:
    return "".join(f"[{json.dumps(k)}]" for k in keys).replace('"', "'")


def field(*keys: str | int, doc: str) -> Output:
    """A field of the operator's returned description."""
    return Output(doc, lambda p, _keys: returned(p.task_id) + _path(*keys))


def whole(doc: str) -> Output:
    """What the operator returns, as it is (an ARN, a name)."""
    return Output(doc, lambda p, _keys: returned(p.task_id))


def _named_item(items: str, key: str, value: str) -> str:
    """The item of a list of mappings whose ``key`` is ``value``: ``(items | selectattr(...) | first)``."""
    return f"({items} | selectattr('{key}', 'equalto', {json.dumps(value)}) | first)".replace('"', "'")


def metric(*list_keys: str, doc: str) -> Output:
    """``metrics.<name>``: the final value of a metric, from FinalMetricDataList."""

    def expression(p: Producer, keys: tuple[str, ...]) -> str:
        items = returned(p.task_id) + _path(*list_keys)
        return _named_item(items, "MetricName", ".".join(keys)) + "['Value']"

    return Output(doc, expression, keys="required")


def best_artifacts(p: Producer, _keys: tuple[str, ...]) -> str:
    """A tuning job's best model: DescribeHyperParameterTuningJob names the job, not its artifacts."""
    best = returned(p.task_id) + _path("Tuning", "BestTrainingJob", "TrainingJobName")
    return f"'{p.output_path().rstrip('/')}/' ~ {best} ~ '/output/model.tar.gz'"


def processing_output(p: Producer, keys: tuple[str, ...]) -> str:
    items = returned(p.task_id) + _path("Processing", "ProcessingOutputConfig", "Outputs")
    return _named_item(items, "OutputName", keys[0]) + "['S3Output']['S3Uri']"


def processing_report(p: Producer, keys: tuple[str, ...]) -> str:
    return returned(p.task_id) + _path("OutputFiles", *keys)


def _declared(field_name: str) -> Callable[[Producer], list[str]]:
    def names(p: Producer) -> list[str]:
        value = p.task.get(field_name)
        return sorted(value) if isinstance(value, dict) else []

    return names


def result(p: Producer, keys: tuple[str, ...]) -> str:
    return returned(p.task_id) + _path(*keys)


TRAINING = {
    "job_name": field("Training", "TrainingJobName", doc="the training job's name"),
    "model_artifacts": field(
        "Training", "ModelArtifacts", "S3ModelArtifacts", doc="the S3 URI of the job's model.tar.gz"
    ),
    "metrics": metric(
        "Training",
        "FinalMetricDataList",
        doc="the final value of the metric of that name, e.g. metrics.test:accuracy",
    ),
}
TUNING = {
    "job_name": field("Tuning", "HyperParameterTuningJobName", doc="the tuning job's name"),
    "best_training_job": field(
        "Tuning", "BestTrainingJob", "TrainingJobName", doc="the name of the best training job"
    ),
    "best_model_artifacts": Output("the S3 URI of the best training job's model.tar.gz", best_artifacts),
    "best_objective": field(
        "Tuning",
        "BestTrainingJob",
        "FinalHyperParameterTuningJobObjectiveMetric",
        "Value",
        doc="the best job's objective metric value",
    ),
}
MODEL = {
    "name": field("Model", "ModelName", doc="the model's name"),
    "arn": field("Model", "ModelArn", doc="the model's ARN"),
}
TRANSFORM = {
    "job_name": field("Transform", "TransformJobName", doc="the transform job's name"),
    "output": field("Transform", "TransformOutput", "S3OutputPath", doc="where the predictions are"),
}
PROCESSING = {
    "job_name": field("Processing", "ProcessingJobName", doc="the processing job's name"),
    "outputs": Output(
        "the S3 URI of the job's output of that name",
        processing_output,
        "required",
        _declared("outputs"),
    ),
    "reports": Output(
        "a field of a JSON report the job wrote, e.g. reports.evaluation.accuracy (see reports)",
        processing_report,
        "required",
        _declared("reports"),
    ),
}
ENDPOINT_CONFIG = {"name": field("EndpointConfig", "EndpointConfigName", doc="the endpoint config's name")}
ENDPOINT = {
    "name": field("Endpoint", "EndpointName", doc="the endpoint's name"),
    "arn": field("Endpoint", "EndpointArn", doc="the endpoint's ARN"),
}
REGISTER = {
    "model_package_arn": whole("the ARN of the registered model version"),
    "version": Output(
        "the version number within its model package group",
        lambda p, _keys: returned(p.task_id) + ".split('/')[-1]",
    ),
}
AUTOML = {
    "best_candidate": field("CandidateName", doc="the name of the best candidate"),
    "best_objective": field(
        "FinalAutoMLJobObjectiveMetric", "Value", doc="the best candidate's objective metric value"
    ),
    "best_image": field("InferenceContainers", 0, "Image", doc="the best candidate's inference image"),
    "best_model_artifacts": field(
        "InferenceContainers", 0, "ModelDataUrl", doc="the best candidate's model artifacts"
    ),
}
START_PIPELINE = {"execution_arn": whole("the ARN of the pipeline execution it started")}
STOP_PIPELINE = {"status": whole("the execution's status once stopped (Stopped, or how it ended)")}


NOTEBOOK = {"arn": whole("the notebook instance's ARN")}
STUDIO_NOTEBOOK = {  # the operator returns nothing; its hook pushes this key while it waits
    "s3_path": Output(
        "where the execution wrote its output notebook (pushed while the task waits)",
        lambda p, _keys: f"ti.xcom_pull(task_ids='{p.task_id}', key='s3_path')",
    ),
}
PYTHON = {
    "result": Output(
        "what the callable returned, or result.<key>: a field of the mapping it returned", result, "optional"
    )
}


def template(expression: str) -> str:
    return "{{ " + expression + " }}"
