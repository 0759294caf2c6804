"""Notebook instances (create, start, stop, delete) and experiments.

The notebook operators take an instance name and wait (by default) for the instance to be InService,
Stopped or gone; the create operator returns the instance's ARN, the experiment operator the
experiment's. Notebook instance names are stable (not per run): an instance is a long-lived resource.
"""

from __future__ import annotations

from typing import Any

from sagemaker_pipelines.compile.kinds.context import RUN_STAMP, TaskContext, present, sanitize_name

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
    """One experiment per run (the run's timestamp, not the try: later tasks must be able to name it)."""
    return {
        "name": experiment_base(ctx.task_id, ctx.task, ctx.pipeline.dag_id) + "-" + RUN_STAMP,
        **present(description=ctx.get("description"), tags=ctx.get("tags")),
        **ctx.sagemaker_operator_args(),
    }


def experiment_request(kwargs: dict[str, Any]) -> dict[str, Any]:
    tags = [{"Key": k, "Value": str(v)} for k, v in (kwargs.get("tags") or {}).items()]
    return {
        "ExperimentName": kwargs["name"],
        **present(Description=kwargs.get("description"), Tags=tags or None),
    }
