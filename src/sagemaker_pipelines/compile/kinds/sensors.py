"""Sensors: wait for a SageMaker job, endpoint, AutoML job or pipeline execution, or for an S3 object."""

from __future__ import annotations

from typing import Any

from sagemaker_pipelines.compile.durations import to_seconds
from sagemaker_pipelines.compile.kinds.automl import automl_job_name
from sagemaker_pipelines.compile.kinds.context import TaskContext, present, xcom
from sagemaker_pipelines.compile.kinds.hosting import endpoint_name
from sagemaker_pipelines.compile.kinds.pipelines import execution_arn_of

# What each sensor watches: the producing kind and where its returned description names the job.
_WATCHED = {
    "training_sensor": ("Training", "TrainingJobName"),
    "transform_sensor": ("Transform", "TransformJobName"),
    "tuning_sensor": ("Tuning", "HyperParameterTuningJobName"),
    "processing_sensor": ("Processing", "ProcessingJobName"),
}


def _sensor_args(ctx: TaskContext) -> dict[str, Any]:
    return {
        "poke_interval": to_seconds(ctx.get("poke_interval", ctx.pipeline.environment.check_interval)),
        **present(
            timeout=to_seconds(ctx.get("timeout")) if ctx.get("timeout") is not None else None,
            mode=ctx.get("mode"),
        ),
        **ctx.operator_options("soft_fail"),
    }


def job_sensor(ctx: TaskContext) -> dict[str, Any]:
    name = xcom(ctx.get("job"), *_WATCHED[ctx.get("kind")]) if ctx.get("job") else ctx.get("job_name")
    args = {"job_name": name, **ctx.sagemaker_operator_args(), **_sensor_args(ctx)}
    if ctx.get("kind") == "training_sensor":
        args.update(ctx.operator_options("print_log"))
    return args


def endpoint_sensor(ctx: TaskContext) -> dict[str, Any]:
    name = endpoint_name(ctx.other(ctx.get("endpoint"))) if ctx.get("endpoint") else ctx.get("endpoint_name")
    return {"endpoint_name": name, **ctx.sagemaker_operator_args(), **_sensor_args(ctx)}


def automl_sensor(ctx: TaskContext) -> dict[str, Any]:
    """The AutoML operator returns its best candidate, not its job: the job's name is derived again."""
    name = automl_job_name(ctx.other(ctx.get("job"))) if ctx.get("job") else ctx.get("job_name")
    return {"job_name": name, **ctx.sagemaker_operator_args(), **_sensor_args(ctx)}


def pipeline_sensor(ctx: TaskContext) -> dict[str, Any]:
    return {
        "pipeline_exec_arn": execution_arn_of(ctx),
        **present(verbose=ctx.get("verbose")),
        **ctx.sagemaker_operator_args(),
        **_sensor_args(ctx),
    }


def s3_key_sensor(ctx: TaskContext) -> dict[str, Any]:
    return {
        "bucket_key": ctx.get("key"),
        "wildcard_match": ctx.get("wildcard", False),
        "aws_conn_id": ctx.pipeline.aws_conn_id,
        **_sensor_args(ctx),
    }
