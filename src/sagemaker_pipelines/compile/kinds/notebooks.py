"""Notebook instances (create, start, stop, delete), experiments (create, delete) and SageMaker Unified
Studio notebooks.

The notebook operators take an instance name and wait (by default) for the instance to be InService,
Stopped or gone; the create operator returns the instance's ARN, the experiment operator the
experiment's. Notebook instance names are stable (not per run): an instance is a long-lived resource.
"""

from __future__ import annotations

import re
from typing import Any

from sagemaker_pipelines.compile.kinds import outputs
from sagemaker_pipelines.compile.kinds.automl import automl_job_name
from sagemaker_pipelines.compile.kinds.context import (
    RUN_SUFFIX,
    TaskContext,
    present,
    sanitize_name,
    stringify,
)
from sagemaker_pipelines.compile.kinds.sensors import sensor_args
from sagemaker_pipelines.compile.kinds.spec import (
    ANY,
    ANY_RESOURCE,
    AWS_ARGUMENTS,
    OUR_CLEANUPS,
    SAGEMAKER_OPERATORS,
    Call,
    Graph,
    Kind,
    Named,
    When,
    request_from,
)
from sagemaker_pipelines.format.durations import to_seconds

_NOTEBOOK_FIELDS = {
    "volume_size": "volume_size_in_gb",
    "kms_key_id": "volume_kms_key_id",
    "lifecycle_config": "lifecycle_config_name",
    "direct_internet_access": "direct_internet_access",
    "root_access": "root_access",
}


def instance_name(ctx: TaskContext) -> str:
    """A notebook task's instance: its own ``instance_name``, else one derived from the pipeline."""
    return ctx.get("instance_name") or sanitize_name(f"{ctx.pipeline.dag_id}-{ctx.task_id}")[:63].rstrip("-")


def notebook(ctx: TaskContext) -> dict[str, Any]:
    return {
        "instance_name": instance_name(ctx),
        "instance_type": ctx.get("instance_type", "ml.t3.medium"),
        "role_arn": ctx.role_arn,
        **present(**{arg: ctx.get(name) for name, arg in _NOTEBOOK_FIELDS.items()}),
        **present(create_instance_kwargs=ctx.get("config") or None),
        "wait_for_completion": ctx.get("wait_for_completion", True),
        **ctx.sagemaker_operator_args(),
    }


def notebook_action(ctx: TaskContext) -> dict[str, Any]:
    """start_notebook, stop_notebook, delete_notebook: of a notebook task's instance, or one by name."""
    name = instance_name(ctx.other(ctx.get("notebook"))) if ctx.get("notebook") else ctx.get("instance_name")
    return {
        "instance_name": name,
        "wait_for_completion": ctx.get("wait_for_completion", True),
        **ctx.sagemaker_operator_args(),
    }


def notebook_request(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The CreateNotebookInstance request the operator sends, for the offline botocore check."""
    request = {
        "NotebookInstanceName": kwargs["instance_name"],
        "InstanceType": kwargs["instance_type"],
        "RoleArn": kwargs["role_arn"],
        **present(
            VolumeSizeInGB=kwargs.get("volume_size_in_gb"),
            KmsKeyId=kwargs.get("volume_kms_key_id"),
            LifecycleConfigName=kwargs.get("lifecycle_config_name"),
            DirectInternetAccess=kwargs.get("direct_internet_access"),
            RootAccess=kwargs.get("root_access"),
        ),
    }
    return {**request, **(kwargs.get("create_instance_kwargs") or {})}


def instance_request(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {"NotebookInstanceName": kwargs["instance_name"]}


def experiment_base(task_id: str, task: dict[str, Any], dag_id: str) -> str:
    return (task.get("name") or sanitize_name(f"{dag_id}-{task_id}"))[:100].rstrip("-")


def experiment(ctx: TaskContext) -> dict[str, Any]:
    """One experiment per run and try: a retry must not ask for the name its previous try created.
    Later tasks name it through its ``name`` output, which reads the try's suffix from the returned ARN."""
    return {
        "name": experiment_base(ctx.task_id, ctx.task, ctx.pipeline.dag_id) + RUN_SUFFIX,
        **present(description=ctx.get("description"), tags=ctx.get("tags")),
        **ctx.sagemaker_operator_args(),
    }


def experiment_request(kwargs: dict[str, Any]) -> dict[str, Any]:
    tags = [{"Key": k, "Value": str(v)} for k, v in (kwargs.get("tags") or {}).items()]
    return {
        "ExperimentName": kwargs["name"],
        **present(Description=kwargs.get("description"), Tags=tags or None),
    }


# SageMaker Unified Studio notebooks (SageMakerNotebookOperator): the provider's hook hands these to the
# sagemaker_studio SDK, whose remote execution client runs the notebook as a SageMaker training job of the
# SageMaker Distribution image, in the project's default tooling environment that DataZone describes.
STUDIO_DEFAULT_INSTANCE_TYPE = "ml.m6i.xlarge"  # the SDK's own default (sagemaker_studio remote client)
# The SDK's execution names: the task id, '_' turned into '-', matching this pattern (26 characters).
STUDIO_EXECUTION_NAME = re.compile(r"^[a-zA-Z0-9]([-a-zA-Z0-9]){0,25}$")


def studio_execution_name_error(task_id: str) -> str | None:
    """Why the SDK would refuse this task id as the execution's name (it checks only when the task runs)."""
    if STUDIO_EXECUTION_NAME.match(task_id.replace("_", "-")):
        return None
    return (
        "a studio_notebook task's id is its execution name: a letter or digit, then at most 25 letters, "
        "digits, '-' or '_'"
    )


def _studio_compute(ctx: TaskContext) -> dict[str, Any]:
    image = present(
        ecr_uri=ctx.get("image"), image_name=ctx.get("image_name"), image_version=ctx.get("image_version")
    )
    compute = present(
        instance_type=ctx.get("instance_type"),
        volume_size_in_gb=ctx.get("volume_size"),
        image_details=image or None,
    )
    if compute:  # the SDK reads compute["instance_type"] whenever compute is given
        compute.setdefault("instance_type", STUDIO_DEFAULT_INSTANCE_TYPE)
    return compute


def _output_config(ctx: TaskContext) -> dict[str, Any] | None:
    """Only the formats a task names: left out, the operator keeps the executed notebook (NOTEBOOK)."""
    formats = ctx.get("output_formats")
    return None if formats is None else {"output_formats": formats}


def studio_notebook(ctx: TaskContext) -> dict[str, Any]:
    """The provider's SageMakerNotebookOperator: run a notebook of the project, wait for it (or not)."""
    parameters = {name: stringify(value) for name, value in (ctx.get("parameters") or {}).items()}
    max_runtime = ctx.get("max_runtime")
    termination = {"max_runtime_in_seconds": to_seconds(max_runtime)} if max_runtime else None
    check_interval = ctx.get("check_interval", ctx.pipeline.environment.check_interval)
    return {
        "input_config": {"input_path": ctx.get("notebook"), "input_params": parameters},
        **present(
            output_config=_output_config(ctx),
            domain_id=ctx.get("domain_id"),
            project_id=ctx.get("project_id"),
            domain_region=ctx.get("domain_region"),
            compute=_studio_compute(ctx) or None,
            termination_condition=termination,
            tags=ctx.get("tags"),
        ),
        "wait_for_completion": ctx.get("wait_for_completion", True),
        "waiter_delay": to_seconds(check_interval),
        **present(waiter_max_attempts=ctx.get("max_attempts"), deferrable=ctx.get("deferrable")),
    }


def studio_notebook_sensor(ctx: TaskContext) -> dict[str, Any]:
    """The provider's SageMakerNotebookSensor: it templates nothing, so the execution id is a literal."""
    return {
        "execution_id": ctx.get("execution_id"),
        "execution_name": ctx.get("execution_name", ctx.task_id),
        **sensor_args(ctx),
    }


def experiment_name(p: outputs.Producer, _keys: tuple[str, ...]) -> str:
    """The operator returns the ARN only, whose last part is the name, lower-cased as SageMaker writes
    ARNs: the name is its known prefix plus that part's per-run-and-try suffix (``<ts_nodash>-<try>``,
    digits and a ``T``, so upper-casing it gives it back exactly)."""
    base = experiment_base(p.task_id, p.task, p.dag_id)
    suffix = f"({outputs.returned(p.task_id)}.split('/')[-1][{len(base) + 1}:] | upper)"
    return f"('{base}-' ~ {suffix})"


# SageMaker makes an experiment for each AutoML and tuning job it runs, named after the job with these
# suffixes; nothing deletes it with the job.
JOB_EXPERIMENT_SUFFIX = {"automl": "-aws-auto-ml-job", "tuning": "-aws-tuning-job"}


def _job_experiment_name(ctx: TaskContext) -> str:
    """The experiment SageMaker made for an automl or tuning task's job: an AutoML job's name is derived
    again (its operator returns its best candidate; a job a delete_experiment names gets a per-run name,
    as one a sensor watches), a tuning job's is read from its result."""
    producer = ctx.other(ctx.get("job"))
    kind = producer.get("kind")
    if kind == "automl":
        job = automl_job_name(producer)
    else:
        known = outputs.Producer(producer.task_id, producer.task, ctx.pipeline.bucket, ctx.pipeline.dag_id)
        job = "{{ " + outputs.TUNING["job_name"].expression(known, ()) + " }}"
    return job + JOB_EXPERIMENT_SUFFIX[kind]


def delete_experiment(ctx: TaskContext) -> dict[str, Any]:
    """Delete an experiment with its trials and their components: an experiment task's (named per run and
    try, so read from its result as its ``name`` output does), the one SageMaker made for an automl or
    tuning task's job, or one by name."""
    if ctx.get("experiment"):
        producer = ctx.other(ctx.get("experiment"))
        known = outputs.Producer(producer.task_id, producer.task, ctx.pipeline.bucket, ctx.pipeline.dag_id)
        name = "{{ " + experiment_name(known, ()) + " }}"
    elif ctx.get("job"):
        name = _job_experiment_name(ctx)
    else:
        name = ctx.get("experiment_name")
    return {"experiment_name": name, **ctx.sagemaker_operator_args()}


_EXPERIMENT_OUTPUTS = {
    "arn": outputs.whole("the experiment's ARN"),
    "name": outputs.Output("the experiment's name (for the ExperimentConfig of jobs)", experiment_name),
}


_INSTANCE = Named(argument="instance_name")
_ACTION_TEMPLATED = (*AWS_ARGUMENTS, "instance_name", "wait_for_completion")


def _instance_calls(operation: str) -> tuple[Call, ...]:
    """A notebook instance operation, and the describe the provider's waiters poll while it waits."""
    return (
        Call(operation, "notebook-instance", _INSTANCE),
        Call("DescribeNotebookInstance", "notebook-instance", _INSTANCE, (When.WAITING,)),
    )


def _instance_action(operator: str, operation: str) -> Kind:
    return Kind(
        SAGEMAKER_OPERATORS + operator,
        notebook_action,
        Graph.DATA,
        _instance_calls(operation),
        operation,
        {"notebook": ("notebook",)},
        (("notebook", "instance_name"),),
        templated=_ACTION_TEMPLATED,
        request=instance_request,
    )


SPECS = {
    "experiment": Kind(
        SAGEMAKER_OPERATORS + "SageMakerCreateExperimentOperator",
        experiment,
        Graph.DATA,
        (Call("CreateExperiment", "experiment", Named(argument="name")),),
        "CreateExperiment",
        outputs=_EXPERIMENT_OUTPUTS,
        templated=(*AWS_ARGUMENTS, "description", "name", "tags"),
        request=experiment_request,
        tags_at=("tags",),
    ),
    "delete_experiment": Kind(
        OUR_CLEANUPS + "SageMakerDeleteExperimentOperator",
        delete_experiment,
        Graph.DATA,
        (
            # SageMaker refuses to delete an experiment with trials, and a trial with components: the
            # operator lists them and deletes them first, whatever their names.
            Call("ListTrials", ANY_RESOURCE, ANY),
            Call("ListTrialComponents", ANY_RESOURCE, ANY),
            Call("DisassociateTrialComponent", "experiment-trial-component", ANY),
            Call("DisassociateTrialComponent", "experiment-trial", ANY),
            Call("DeleteTrialComponent", "experiment-trial-component", ANY),
            Call("DeleteTrial", "experiment-trial", ANY),
            Call("DeleteExperiment", "experiment", Named(argument="experiment_name", follows="name")),
        ),
        "DeleteExperiment",
        {"experiment": ("experiment",), "job": tuple(JOB_EXPERIMENT_SUFFIX)},
        (("experiment", "experiment_name", "job"),),
        templated=(*AWS_ARGUMENTS, "experiment_name"),
        request=request_from(ExperimentName="experiment_name"),
    ),
    "notebook": Kind(
        SAGEMAKER_OPERATORS + "SageMakerCreateNotebookOperator",
        notebook,
        Graph.DATA,
        _instance_calls("CreateNotebookInstance"),
        "CreateNotebookInstance",
        outputs=outputs.NOTEBOOK,
        templated=(
            *AWS_ARGUMENTS,
            "create_instance_kwargs",
            "direct_internet_access",
            "instance_name",
            "instance_type",
            "lifecycle_config_name",
            "role_arn",
            "root_access",
            "volume_kms_key_id",
            "volume_size_in_gb",
            "wait_for_completion",
        ),
        request=notebook_request,
        tags_at=("create_instance_kwargs", "Tags"),
        role_arguments=("role_arn",),
    ),
    "start_notebook": _instance_action("SageMakerStartNoteBookOperator", "StartNotebookInstance"),
    "stop_notebook": _instance_action("SageMakerStopNotebookOperator", "StopNotebookInstance"),
    "delete_notebook": _instance_action("SageMakerDeleteNotebookOperator", "DeleteNotebookInstance"),
    # SageMaker Unified Studio: no SageMaker request of its own to check (the SDK builds it at run time),
    # and no IAM statements generated: the role they pass is the project's, known only to DataZone.
    "studio_notebook": Kind(
        # the provider's, stopping its execution when the task is cancelled
        "sagemaker_pipelines.airflow.jobs.studio.SageMakerNotebookOperator",
        studio_notebook,
        Graph.DATA,
        None,
        outputs=outputs.STUDIO_NOTEBOOK,
        templated=(
            "domain_id",
            "project_id",
            "domain_region",
            "input_config",
            "output_config",
            "compute",
            "termination_condition",
            "tags",
        ),
        fan_out=False,
    ),
    "studio_notebook_sensor": Kind(
        # the provider's sensor with a poke that works (its own calls a method its hook lacks)
        "sagemaker_pipelines.airflow.studio_sensor.SageMakerNotebookSensor",
        studio_notebook_sensor,
        Graph.SENSOR,
        None,
        fan_out=False,
    ),
}
