"""SageMaker Pipelines: create (or update) a pipeline, start an execution of one, stop one, wait for one,
delete the pipeline.

The provider's SageMakerStartPipelineOperator returns the execution's ARN (so a pipeline_sensor or a
stop_pipeline task can name it); SageMakerStopPipelineOperator returns the execution's status. The
provider has no operator that creates or deletes a pipeline: ours (``airflow/cleanup.py``) update a
pipeline that exists and succeed on one that is gone, so a DAG that sets up its pipeline can run twice.
"""

from __future__ import annotations

import json
from typing import Any

from sagemaker_pipelines.compile.kinds import outputs
from sagemaker_pipelines.compile.kinds.context import TaskContext, present, stringify, xcom
from sagemaker_pipelines.compile.kinds.sensors import sensor_args
from sagemaker_pipelines.compile.kinds.spec import (
    AWS_ARGUMENTS,
    OUR_CLEANUPS,
    OUR_JOB_OPERATORS,
    OUR_SENSORS,
    SAGEMAKER_OPERATORS,
    Call,
    Graph,
    Job,
    Kind,
    Named,
    When,
    request_from,
)


def _waiting(ctx: TaskContext) -> dict[str, Any]:
    """Not waiting is the default, as for the provider's operators (format 2026-12; format/migrations.py):
    neither kind can defer, so waiting holds a worker slot for a whole pipeline execution."""
    return {
        **ctx.waiting_args(wait=False),
        **present(waiter_max_attempts=ctx.get("max_attempts"), verbose=ctx.get("verbose")),
    }


def start_pipeline(ctx: TaskContext) -> dict[str, Any]:
    parameters = {k: stringify(v) for k, v in (ctx.get("parameters") or {}).items()}
    return {
        "pipeline_name": ctx.get("pipeline_name"),
        "display_name": ctx.get("display_name") or ctx.task_id.replace("_", "-"),
        **present(pipeline_params=parameters or None),
        **_waiting(ctx),
        **ctx.sagemaker_operator_args(),
    }


def execution_arn_of(ctx: TaskContext) -> str:
    """The execution a stop_pipeline or pipeline_sensor task is about: a start_pipeline task's, or an ARN."""
    return xcom(ctx.get("execution")) if ctx.get("execution") else ctx.get("execution_arn")


def stop_pipeline(ctx: TaskContext) -> dict[str, Any]:
    return {
        "pipeline_exec_arn": execution_arn_of(ctx),
        **_waiting(ctx),
        **present(fail_if_not_running=ctx.get("fail_if_not_running")),
        **ctx.sagemaker_operator_args(),
    }


def start_request(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The StartPipelineExecution request the hook sends, for the offline botocore check."""
    params = [{"Name": k, "Value": v} for k, v in (kwargs.get("pipeline_params") or {}).items()]
    return {
        "PipelineName": kwargs["pipeline_name"],
        "PipelineExecutionDisplayName": kwargs["display_name"],
        **present(PipelineParameters=params or None),
    }


def stop_request(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {"PipelineExecutionArn": kwargs["pipeline_exec_arn"]}


def pipeline_sensor(ctx: TaskContext) -> dict[str, Any]:
    return {
        "pipeline_exec_arn": execution_arn_of(ctx),
        **present(verbose=ctx.get("verbose")),
        **ctx.sagemaker_operator_args(),
        **sensor_args(ctx),
    }


def upsert_pipeline(ctx: TaskContext) -> dict[str, Any]:
    return {
        "pipeline_name": ctx.get("pipeline_name"),
        "definition": ctx.get("definition"),
        "role_arn": ctx.role_arn,
        **present(description=ctx.get("description"), config=ctx.get("config") or None),
        **ctx.sagemaker_operator_args(),
    }


def upsert_request(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The CreatePipeline request the operator sends (its UpdatePipeline has the same fields)."""
    definition = kwargs["definition"]
    return {
        "PipelineName": kwargs["pipeline_name"],
        "PipelineDefinition": definition if isinstance(definition, str) else json.dumps(definition),
        "RoleArn": kwargs["role_arn"],
        **present(PipelineDescription=kwargs.get("description")),
        **(kwargs.get("config") or {}),
    }


def delete_pipeline(ctx: TaskContext) -> dict[str, Any]:
    """Delete a pipeline: an upsert_pipeline task's (its name is written in the task) or one by name."""
    name = ctx.other(ctx.get("pipeline")).get("pipeline_name") if ctx.get("pipeline") else None
    return {"pipeline_name": name or ctx.get("pipeline_name"), **ctx.sagemaker_operator_args()}


_PIPELINE = Named(argument="pipeline_name")
_EXECUTION = Named(argument="pipeline_exec_arn", execution=True)
_DESCRIBE = "DescribePipelineExecution"

# An execution has no name a client chooses: the operator finds those of earlier tries among the
# pipeline's executions (ListPipelineExecutions) by who started them, as written in their description.
PIPELINE_EXECUTION = Job(
    "pipeline execution",
    "pipeline",
    "PipelineExecutionArn",
    "",
    "StartPipelineExecution",
    _DESCRIBE,
    "StopPipelineExecution",
    running="Executing",
    succeeded="Succeeded",
    status_key="PipelineExecutionStatus",
    arn_key="PipelineExecutionArn",
    named=Named(argument="pipeline_name", execution=True),
    started_on=Named(argument="pipeline_name"),
    find_earlier="ListPipelineExecutions",
)
_STEPS = "ListPipelineExecutionSteps"  # a verbose describe also lists the execution's steps
_OF_EXECUTION = {"execution": ("start_pipeline",)}
_ONE_EXECUTION = (("execution", "execution_arn"),)

SPECS = {
    "start_pipeline": Kind(
        OUR_JOB_OPERATORS + "SageMakerStartPipelineOperator",
        start_pipeline,
        Graph.DATA,
        (
            Call(
                _STEPS,
                "pipeline",
                Named(argument="pipeline_name", execution=True),
                (When.WAITING, When.VERBOSE),
            ),
        ),
        "StartPipelineExecution",
        outputs=outputs.START_PIPELINE,
        templated=(*AWS_ARGUMENTS, "display_name", "pipeline_name", "pipeline_params"),
        request=start_request,
        job=PIPELINE_EXECUTION,
        differs={
            "display_name": (
                "The task's id, underscores as hyphens, where the operator names every execution "
                "`airflow-triggered-execution`: the console then tells which task started an execution."
            )
        },
    ),
    "stop_pipeline": Kind(
        SAGEMAKER_OPERATORS + "SageMakerStopPipelineOperator",
        stop_pipeline,
        Graph.DATA,
        (
            Call("StopPipelineExecution", "pipeline", _EXECUTION),
            Call(_DESCRIBE, "pipeline", _EXECUTION),
            Call(_STEPS, "pipeline", _EXECUTION, (When.VERBOSE,)),
        ),
        "StopPipelineExecution",
        _OF_EXECUTION,
        _ONE_EXECUTION,
        outputs.STOP_PIPELINE,
        (*AWS_ARGUMENTS, "pipeline_exec_arn"),
        stop_request,
    ),
    "pipeline_sensor": Kind(
        OUR_SENSORS + "SageMakerPipelineSensor",
        pipeline_sensor,
        Graph.SENSOR,
        (Call(_DESCRIBE, "pipeline", _EXECUTION), Call(_STEPS, "pipeline", _EXECUTION, (When.VERBOSE,))),
        references=_OF_EXECUTION,
        one_of=_ONE_EXECUTION,
        templated=(*AWS_ARGUMENTS, "pipeline_exec_arn"),
    ),
    "upsert_pipeline": Kind(
        OUR_CLEANUPS + "SageMakerUpsertPipelineOperator",
        upsert_pipeline,
        Graph.DATA,
        (Call("CreatePipeline", "pipeline", _PIPELINE), Call("UpdatePipeline", "pipeline", _PIPELINE)),
        "CreatePipeline",
        outputs={"arn": outputs.whole("the pipeline's ARN")},
        templated=(*AWS_ARGUMENTS, "config", "definition", "description", "pipeline_name", "role_arn"),
        request=upsert_request,
        role_arguments=("role_arn",),
    ),
    "delete_pipeline": Kind(
        OUR_CLEANUPS + "SageMakerDeletePipelineOperator",
        delete_pipeline,
        Graph.DATA,
        (Call("DeletePipeline", "pipeline", _PIPELINE),),
        "DeletePipeline",
        {"pipeline": ("upsert_pipeline",)},
        (("pipeline", "pipeline_name"),),
        templated=(*AWS_ARGUMENTS, "pipeline_name"),
        request=request_from(PipelineName="pipeline_name"),
    ),
}
