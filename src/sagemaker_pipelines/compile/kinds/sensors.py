"""What every sensor kind shares: how often it checks, how long it waits, how it holds a worker; and the
sensor of a SageMaker job, which any job kind's ``Job`` gives its name and describe call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sagemaker_pipelines.compile.kinds.context import TaskContext, present, xcom
from sagemaker_pipelines.compile.kinds.spec import Job
from sagemaker_pipelines.format.durations import to_seconds

SENSOR_TEMPLATED = ("aws_conn_id", "job_name", "region_name", "verify")


def sensor_args(ctx: TaskContext) -> dict[str, Any]:
    return {
        "poke_interval": to_seconds(ctx.get("poke_interval", ctx.pipeline.environment.check_interval)),
        **present(
            timeout=to_seconds(ctx.get("timeout")) if ctx.get("timeout") is not None else None,
            mode=ctx.get("mode"),
        ),
        **ctx.operator_options("soft_fail"),
    }


def job_sensor(job: Job, *options: str) -> Callable[[TaskContext], dict[str, Any]]:
    """The compile function of a sensor of ``job``: the job a task started (its returned description
    names it) or one named by ``job_name``."""

    def compile_sensor(ctx: TaskContext) -> dict[str, Any]:
        name = xcom(ctx.get("job"), job.returned, job.name_field) if ctx.get("job") else ctx.get("job_name")
        return {
            "job_name": name,
            **ctx.sagemaker_operator_args(),
            **sensor_args(ctx),
            **ctx.operator_options(*options),
        }

    return compile_sensor
