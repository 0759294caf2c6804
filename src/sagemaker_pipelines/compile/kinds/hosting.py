"""Models and endpoints: create a model from a training task (or a registered model version), an endpoint
config and the endpoint; wait for an endpoint; delete a model, an endpoint config, an endpoint (clean-ups
that succeed when the thing is already gone, so they can run as teardowns after any run)."""

from __future__ import annotations

from typing import Any

from sagemaker_pipelines.compile.kinds import lineage, outputs
from sagemaker_pipelines.compile.kinds.context import TaskContext, deep_merge, present, sanitize_name, xcom
from sagemaker_pipelines.compile.kinds.jobs import model_name_of, output_path, script_mode, training_image
from sagemaker_pipelines.compile.kinds.sensors import sensor_args
from sagemaker_pipelines.compile.kinds.spec import (
    AWS_ARGUMENTS,
    CONFIG_TEMPLATED,
    OUR_CLEANUPS,
    SAGEMAKER_OPERATORS,
    SAGEMAKER_SENSORS,
    Call,
    Graph,
    Kind,
    Named,
    request_from,
)

# Where each producing kind's returned description names the job whose artifacts a model serves.
_ARTIFACT_JOB = {
    "training": ("Training", "TrainingJobName"),
    "tuning": ("Tuning", "BestTrainingJob", "TrainingJobName"),
}


def _container_from_job(ctx: TaskContext, job_task: str) -> dict[str, Any]:
    """Image, artifacts and serving environment of the model a training or tuning task produced."""
    job = ctx.other(job_task)
    job_name = xcom(job_task, *_ARTIFACT_JOB[job.get("kind")])
    container = {
        "Image": training_image(job, serving=True),
        "ModelDataUrl": f"{output_path(job).rstrip('/')}/{job_name}/output/model.tar.gz",
    }
    script = script_mode(job)
    if script:  # the framework's serving container imports the same script for model_fn/predict_fn
        container["Environment"] = {
            "SAGEMAKER_PROGRAM": script["program"],
            "SAGEMAKER_SUBMIT_DIRECTORY": script["submit_directory"],
            "SAGEMAKER_REGION": ctx.pipeline.region,
            "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
        }
    return container


def container_of(ctx: TaskContext) -> dict[str, Any]:
    """The image and artifacts a model or a registered model version serves: a training or tuning
    task's (``from``), or an image and model data."""
    if ctx.get("from"):
        return _container_from_job(ctx, ctx.get("from"))
    return present(Image=ctx.get("image"), ModelDataUrl=ctx.get("model_data"))


def model(ctx: TaskContext) -> dict[str, Any]:
    if ctx.get("model_package"):  # a version of the model registry, by its ARN
        container = {"ModelPackageName": xcom(ctx.get("model_package"))}
    else:
        container = container_of(ctx)
    if ctx.get("environment"):
        container["Environment"] = {**container.get("Environment", {}), **ctx.get("environment")}
    config = {
        "ExecutionRoleArn": ctx.role_arn,
        "ModelName": ctx.job_name(),
        "PrimaryContainer": {"Mode": "SingleModel", **container},
    }
    config = deep_merge(config, ctx.get("config", {}))
    return {"config": config, **ctx.sagemaker_operator_args()}


def _weight(value: Any) -> Any:
    return value if isinstance(value, str) and "{{" in value else float(value)


def endpoint_config(ctx: TaskContext) -> dict[str, Any]:
    """One production variant; its weight only when written (SageMaker's default is 1.0)."""
    weight = ctx.get("initial_weight")
    variant = {
        "VariantName": ctx.get("variant_name", "AllTraffic"),
        "ModelName": model_name_of(ctx),
        "InitialInstanceCount": ctx.resource("instance_count"),
        "InstanceType": ctx.resource("instance_type"),
        **present(InitialVariantWeight=None if weight is None else _weight(weight)),
    }
    config = {"EndpointConfigName": ctx.job_name(), "ProductionVariants": [variant]}
    config = deep_merge(config, ctx.get("config", {}))
    return {"config": config, **ctx.sagemaker_operator_args()}


def endpoint_name(ctx: TaskContext) -> str:
    """Stable across runs: clients call the endpoint by this name."""
    return ctx.get("endpoint_name") or sanitize_name(f"{ctx.pipeline.dag_id}-{ctx.task_id}")[:63].rstrip("-")


def endpoint(ctx: TaskContext) -> dict[str, Any]:
    if ctx.get("endpoint_config"):
        config_name = xcom(ctx.get("endpoint_config"), "EndpointConfig", "EndpointConfigName")
    else:
        config_name = ctx.get("endpoint_config_name")
    config = deep_merge(
        {"EndpointName": endpoint_name(ctx), "EndpointConfigName": config_name}, ctx.get("config", {})
    )
    return {
        "config": config,
        **ctx.sagemaker_operator_args(),
        **present(operation=ctx.get("operation")),
        **ctx.waiting_args("max_ingestion_time"),
    }


def delete_model(ctx: TaskContext) -> dict[str, Any]:
    """Delete a model: one this pipeline created (``model``, often a teardown) or one by name."""
    name = model_name_of(ctx)
    config = deep_merge({"ModelName": name}, ctx.get("config", {}))
    return {"config": config, **ctx.sagemaker_operator_args()}


def endpoint_name_of(ctx: TaskContext) -> str:
    """The endpoint an endpoint_sensor or delete_endpoint task is about: an endpoint task's (its name is
    stable, so it is known at compile time) or one by name."""
    return endpoint_name(ctx.other(ctx.get("endpoint"))) if ctx.get("endpoint") else ctx.get("endpoint_name")


def endpoint_sensor(ctx: TaskContext) -> dict[str, Any]:
    return {"endpoint_name": endpoint_name_of(ctx), **ctx.sagemaker_operator_args(), **sensor_args(ctx)}


def delete_endpoint(ctx: TaskContext) -> dict[str, Any]:
    """Delete an endpoint: on AWS its instances cost money every hour until it is gone."""
    return {"endpoint_name": endpoint_name_of(ctx), **ctx.sagemaker_operator_args()}


def delete_endpoint_config(ctx: TaskContext) -> dict[str, Any]:
    """Delete an endpoint config: an endpoint_config task's (named per run, so read from its result) or one
    by name."""
    if ctx.get("endpoint_config"):
        name = xcom(ctx.get("endpoint_config"), "EndpointConfig", "EndpointConfigName")
    else:
        name = ctx.get("endpoint_config_name")
    return {"endpoint_config_name": name, **ctx.sagemaker_operator_args()}


OUR_ENDPOINT_OPERATOR = "sagemaker_pipelines.airflow.jobs.endpoint.SageMakerEndpointOperator"
_MODEL = Named(field="ModelName")
_ENDPOINT_CONFIG = Named(field="EndpointConfigName")
_ENDPOINT = Named(argument="endpoint_name", follows="EndpointName")

SPECS = {
    "model": Kind(
        SAGEMAKER_OPERATORS + "SageMakerModelOperator",
        model,
        Graph.HOSTING,
        (Call("CreateModel", "model", _MODEL),),
        "CreateModel",
        {"from": ("training", "tuning"), "model_package": ("register_model",)},
        (("from", "image", "model_package"),),
        outputs.MODEL,
        CONFIG_TEMPLATED,
        lineage=lineage.model,
    ),
    "delete_model": Kind(
        SAGEMAKER_OPERATORS + "SageMakerDeleteModelOperator",
        delete_model,
        Graph.DATA,
        (Call("DeleteModel", "model", _MODEL),),
        "DeleteModel",
        {"model": ("model",)},
        (("model", "model_name"),),
        templated=CONFIG_TEMPLATED,
    ),
    "endpoint_config": Kind(
        SAGEMAKER_OPERATORS + "SageMakerEndpointConfigOperator",
        endpoint_config,
        Graph.HOSTING,
        (Call("CreateEndpointConfig", "endpoint-config", _ENDPOINT_CONFIG),),
        "CreateEndpointConfig",
        {"model": ("model",)},
        (("model", "model_name"),),
        outputs.ENDPOINT_CONFIG,
        CONFIG_TEMPLATED,
    ),
    "endpoint": Kind(
        OUR_ENDPOINT_OPERATOR,  # a retry does not create or update the endpoint again
        endpoint,
        Graph.HOSTING,
        (
            Call("CreateEndpoint", "endpoint", Named(field="EndpointName"), update_argument="operation"),
            Call("DescribeEndpointConfig", "endpoint-config", _ENDPOINT_CONFIG),
        ),
        "CreateEndpoint",
        {"endpoint_config": ("endpoint_config",)},
        (("endpoint_config", "endpoint_config_name"),),
        outputs.ENDPOINT,
        CONFIG_TEMPLATED,
    ),
    "endpoint_sensor": Kind(
        SAGEMAKER_SENSORS + "SageMakerEndpointSensor",
        endpoint_sensor,
        Graph.SENSOR,
        (Call("DescribeEndpoint", "endpoint", _ENDPOINT),),
        references={"endpoint": ("endpoint",)},
        one_of=(("endpoint", "endpoint_name"),),
        templated=("aws_conn_id", "endpoint_name", "region_name", "verify"),
    ),
    "delete_endpoint": Kind(
        OUR_CLEANUPS + "SageMakerDeleteEndpointOperator",
        delete_endpoint,
        Graph.DATA,
        (Call("DeleteEndpoint", "endpoint", _ENDPOINT),),
        "DeleteEndpoint",
        {"endpoint": ("endpoint",)},
        (("endpoint", "endpoint_name"),),
        templated=(*AWS_ARGUMENTS, "endpoint_name"),
        request=request_from(EndpointName="endpoint_name"),
    ),
    "delete_endpoint_config": Kind(
        OUR_CLEANUPS + "SageMakerDeleteEndpointConfigOperator",
        delete_endpoint_config,
        Graph.DATA,
        (
            Call(
                "DeleteEndpointConfig",
                "endpoint-config",
                Named(argument="endpoint_config_name", follows="EndpointConfigName"),
            ),
        ),
        "DeleteEndpointConfig",
        {"endpoint_config": ("endpoint_config",)},
        (("endpoint_config", "endpoint_config_name"),),
        templated=(*AWS_ARGUMENTS, "endpoint_config_name"),
        request=request_from(EndpointConfigName="endpoint_config_name"),
    ),
}
