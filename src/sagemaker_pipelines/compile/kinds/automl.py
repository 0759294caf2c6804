"""AutoML: SageMaker Autopilot (CreateAutoMLJob) learns to predict one column of a CSV with a header.

The provider's SageMakerAutoMLOperator sends the request its hook builds from ``job_name``, ``s3_input``,
``target_attribute``, ``s3_output`` and ``role_arn``, updated (shallowly) with ``extras``; it waits and
returns the best candidate. Everything else of the request is in ``extras``, which it renders.
"""

from __future__ import annotations

from typing import Any

from sagemaker_pipelines.compile.kinds import outputs
from sagemaker_pipelines.compile.kinds.context import (
    RUN_STAMP,
    RUN_SUFFIX,
    TaskContext,
    deep_merge,
    present,
    sanitize_name,
)
from sagemaker_pipelines.compile.kinds.sensors import SENSOR_TEMPLATED, sensor_args
from sagemaker_pipelines.compile.kinds.spec import (
    AWS_ARGUMENTS,
    OUR_CLEANUPS,
    OUR_JOB_OPERATORS,
    OUR_SENSORS,
    Call,
    Graph,
    Job,
    Kind,
    Named,
    request_from,
)
from sagemaker_pipelines.format.durations import to_seconds

AUTOML_NAME_LIMIT = 32


# Kinds whose tasks name an automl task's job (``job:``) by deriving its name again (the operator returns
# its best candidate, not its job); a delete_experiment's is the experiment SageMaker made for the job.
_NAMING_KINDS = ("automl_sensor", "stop_automl", "delete_experiment")


def _sensed(ctx: TaskContext) -> bool:
    """Whether an ``automl_sensor``, ``stop_automl`` or ``delete_experiment`` task of the pipeline names this
    task's job (and must derive its name)."""
    return any(
        t.get("kind") in _NAMING_KINDS and t.get("job") == ctx.task_id for t in ctx.pipeline.tasks.values()
    )


def automl_job_name(ctx: TaskContext) -> str:
    """Unique per run and per try, within SageMaker's 32 characters: a retry of a task that waits (and
    so can fail after its job was created) must not ask for the name its previous try took. A job an
    ``automl_sensor`` or ``stop_automl`` names keeps a per-run name, as that other task cannot know this
    task's try number; such a job is normally created with ``wait_for_completion: false``, and then a try
    fails only when CreateAutoMLJob itself does, so a retry does not find its name taken. (A
    ``delete_experiment`` that names the job, for the experiment SageMaker made for it, does likewise.)"""
    base = ctx.get("name") or sanitize_name(f"{ctx.pipeline.dag_id}-{ctx.task_id}")
    if _sensed(ctx):
        return base[: AUTOML_NAME_LIMIT - 16].rstrip("-") + "-" + RUN_STAMP
    return base[: AUTOML_NAME_LIMIT - 20].rstrip("-") + RUN_SUFFIX


def _time_limit(ctx: TaskContext) -> int | None:
    """``max_runtime`` as the operator's own ``time_limit``, when nothing else goes into AutoMLJobConfig: the
    hook replaces that whole field with the one of ``extras`` (a shallow update), so a limit beside other
    settings of it travels in ``extras`` instead. A ported DAG's ``time_limit`` then stays ``time_limit``."""
    if not ctx.get("max_runtime") or ctx.get("max_candidates") or "AutoMLJobConfig" in ctx.get("config", {}):
        return None
    return to_seconds(ctx.get("max_runtime"))


def automl(ctx: TaskContext) -> dict[str, Any]:
    time_limit = _time_limit(ctx)
    runtime = to_seconds(ctx.get("max_runtime")) if ctx.get("max_runtime") and not time_limit else None
    criteria = present(MaxCandidates=ctx.get("max_candidates"), MaxAutoMLJobRuntimeInSeconds=runtime)
    extras = present(
        ProblemType=ctx.get("problem_type"),
        AutoMLJobObjective={"MetricName": ctx.get("objective")} if ctx.get("objective") else None,
        AutoMLJobConfig={"CompletionCriteria": criteria} if criteria else None,
    )
    extras = deep_merge(extras, ctx.get("config", {}))
    return {
        "job_name": automl_job_name(ctx),
        "s3_input": ctx.get("input"),
        "target_attribute": ctx.get("target"),
        "s3_output": ctx.get("output") or ctx.default_output(),
        "role_arn": ctx.role_arn,
        "compressed_input": ctx.get("compressed", False),
        **present(
            time_limit=time_limit, autodeploy_endpoint_name=ctx.get("deploy_endpoint"), extras=extras or None
        ),
        "wait_for_completion": ctx.get("wait_for_completion", True),
        "check_interval": to_seconds(ctx.get("check_interval", ctx.pipeline.environment.check_interval)),
        **ctx.sagemaker_operator_args(),
    }


def automl_request(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The CreateAutoMLJob request the hook builds, for the offline botocore check."""
    data_input: dict[str, Any] = {
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": kwargs["s3_input"]}},
        "TargetAttributeName": kwargs["target_attribute"],
    }
    if kwargs.get("compressed_input"):
        data_input["CompressionType"] = "Gzip"
    request = {
        "AutoMLJobName": kwargs["job_name"],
        "InputDataConfig": [data_input],
        "OutputDataConfig": {"S3OutputPath": kwargs["s3_output"]},
        "RoleArn": kwargs["role_arn"],
    }
    if kwargs.get("time_limit"):
        request["AutoMLJobConfig"] = {
            "CompletionCriteria": {"MaxAutoMLJobRuntimeInSeconds": kwargs["time_limit"]}
        }
    if kwargs.get("autodeploy_endpoint_name"):
        request["ModelDeployConfig"] = {"EndpointName": kwargs["autodeploy_endpoint_name"]}
    return {**request, **(kwargs.get("extras") or {})}


def _job_name_of(ctx: TaskContext) -> str:
    """The AutoML operator returns its best candidate, not its job: the job's name is derived again."""
    return automl_job_name(ctx.other(ctx.get("job"))) if ctx.get("job") else ctx.get("job_name")


def automl_sensor(ctx: TaskContext) -> dict[str, Any]:
    return {"job_name": _job_name_of(ctx), **ctx.sagemaker_operator_args(), **sensor_args(ctx)}


def stop_automl(ctx: TaskContext) -> dict[str, Any]:
    """Stop an AutoML job (a teardown's way to end one a failed run left running); one that ended or is
    gone needs no stopping."""
    return {"job_name": _job_name_of(ctx), **ctx.sagemaker_operator_args()}


_JOB = Named(argument="job_name")

# The operator returns the best candidate, which does not name the job (``returned`` is empty); its
# describe is always made: a try looks for the jobs of earlier tries before it starts one.
AUTOML_JOB = Job(
    "AutoML job",
    "automl-job",
    "AutoMLJobName",
    "",
    "CreateAutoMLJob",
    "DescribeAutoMLJob",
    "StopAutoMLJob",
    named=_JOB,
)

SPECS = {
    "automl": Kind(
        OUR_JOB_OPERATORS + "SageMakerAutoMLOperator",
        automl,
        Graph.DATA,
        (),
        "CreateAutoMLJob",
        outputs=outputs.AUTOML,
        templated=(
            *AWS_ARGUMENTS,
            "autodeploy_endpoint_name",
            "compressed_input",
            "extras",
            "job_name",
            "role_arn",
            "s3_input",
            "s3_output",
            "target_attribute",
            "time_limit",
        ),
        request=automl_request,
        role_arguments=("role_arn",),
        job=AUTOML_JOB,
    ),
    "automl_sensor": Kind(
        OUR_SENSORS + "SageMakerAutoMLSensor",
        automl_sensor,
        Graph.SENSOR,
        (Call("DescribeAutoMLJob", "automl-job", Named(argument="job_name", follows="AutoMLJobName")),),
        references={"job": ("automl",)},
        one_of=(("job", "job_name"),),
        templated=SENSOR_TEMPLATED,
    ),
    "stop_automl": Kind(
        OUR_CLEANUPS + "SageMakerStopAutoMLJobOperator",
        stop_automl,
        Graph.DATA,
        (
            Call("StopAutoMLJob", "automl-job", _JOB),
            Call("DescribeAutoMLJob", "automl-job", _JOB),  # whether a job it may not stop has ended
        ),
        "StopAutoMLJob",
        {"job": ("automl",)},
        (("job", "job_name"),),
        templated=(*AWS_ARGUMENTS, "job_name"),
        request=request_from(AutoMLJobName="job_name"),
    ),
}
