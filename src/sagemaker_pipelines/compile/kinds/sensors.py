"""Sensors: wait for a SageMaker job or endpoint, or for an S3 object."""

from __future__ import annotations

from typing import Any

from sagemaker_pipelines.compile.durations import to_seconds
from sagemaker_pipelines.compile.kinds.context import TaskContext, present, xcom
from sagemaker_pipelines.compile.kinds.hosting import endpoint_name

# What each sensor watches: the producing kind and where its returned description names the job.
_WATCHED = {
    "training_sensor": ("Training", "TrainingJobName"),
    "transform_sensor": ("Transform", "TransformJobName"),
    "tuning_sensor": ("Tuning", "HyperParameterTuningJobName"),
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


def s3_key_sensor(ctx: TaskContext) -> dict[str, Any]:
    return {
        "bucket_key": ctx.get("key"),
        "wildcard_match": ctx.get("wildcard", False),
        "aws_conn_id": ctx.pipeline.aws_conn_id,
        **_sensor_args(ctx),
    }
