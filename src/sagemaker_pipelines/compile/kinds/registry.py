"""The model registry: register a model version in a model package group (created when missing); delete a
version, or a group with its versions (clean-ups that succeed when the thing is already gone).

The provider's SageMakerRegisterModelVersionOperator sends CreateModelPackageGroup (when the group does
not exist) and CreateModelPackage; it returns the new version's ARN. Its ``image_uri`` and ``model_url``
are rendered at run time (so they may read another task's outputs); its ``extras`` (``config:``) are not.
"""

from __future__ import annotations

from typing import Any

from sagemaker_pipelines.compile.kinds import outputs
from sagemaker_pipelines.compile.kinds.context import TaskContext, deep_merge, present, xcom
from sagemaker_pipelines.compile.kinds.hosting import container_of
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

_DEFAULT_TYPES = ["text/csv"]


def register_model(ctx: TaskContext) -> dict[str, Any]:
    container = container_of(ctx)
    content_types = ctx.get("content_types", _DEFAULT_TYPES)
    response_types = ctx.get("response_types", _DEFAULT_TYPES)
    extras: dict[str, Any] = {}
    if container.get("Environment") or content_types != _DEFAULT_TYPES or response_types != _DEFAULT_TYPES:
        # The operator's own InferenceSpecification has no Environment and only text/csv; extras replace
        # it whole, so they repeat the image and artifacts (as templates, rendered with image_uri).
        extras["InferenceSpecification"] = {
            "Containers": [container],
            "SupportedContentTypes": content_types,
            "SupportedResponseMIMETypes": response_types,
        }
    if ctx.get("approval", _PENDING) != _PENDING:
        # The operator's model_approval is an enum, not data: its default stays, the request field is set.
        extras["ModelApprovalStatus"] = ctx.get("approval")
    extras = deep_merge(extras, ctx.get("config", {}))
    return {
        "image_uri": container["Image"],
        "model_url": container["ModelDataUrl"],
        "package_group_name": ctx.get("group"),
        **present(package_group_desc=ctx.get("group_description"), package_desc=ctx.get("description")),
        **present(extras=extras or None),
        **ctx.sagemaker_operator_args(),
    }


_PENDING = "PendingManualApproval"


def register_request(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The CreateModelPackage request the operator sends, for the offline botocore check."""
    request = {
        "InferenceSpecification": {
            "Containers": [{"Image": kwargs["image_uri"], "ModelDataUrl": kwargs["model_url"]}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        "ModelPackageGroupName": kwargs["package_group_name"],
        "ModelPackageDescription": kwargs.get("package_desc", ""),
        "ModelApprovalStatus": _PENDING,
    }
    return {**request, **(kwargs.get("extras") or {})}


def delete_model_package(ctx: TaskContext) -> dict[str, Any]:
    """Delete one version: the one a register_model task made (its ARN, from its result) or one by name
    or ARN."""
    name = xcom(ctx.get("model_package")) if ctx.get("model_package") else ctx.get("model_package_name")
    return {"model_package_name": name, **ctx.sagemaker_operator_args()}


def delete_model_package_group(ctx: TaskContext) -> dict[str, Any]:
    """Delete a group, its versions first unless ``delete_versions: false`` (SageMaker refuses to delete a
    group that holds any): a register_model task's group (its name is written in the task) or one by name."""
    group = ctx.other(ctx.get("group")).get("group") if ctx.get("group") else ctx.get("group_name")
    return {
        "group_name": group,
        **present(delete_versions=ctx.get("delete_versions")),
        **ctx.sagemaker_operator_args(),
    }


_GROUP = Named(argument="package_group_name")
_DELETED_GROUP = Named(argument="group_name")

SPECS = {
    "register_model": Kind(
        SAGEMAKER_OPERATORS + "SageMakerRegisterModelVersionOperator",
        register_model,
        Graph.DATA,
        (
            Call("CreateModelPackageGroup", "model-package-group", _GROUP),
            Call("CreateModelPackage", "model-package", Named(argument="package_group_name", suffix="/*")),
            Call("CreateModelPackage", "model-package-group", _GROUP),  # authorised on the group too
        ),
        "CreateModelPackage",
        {"from": ("training", "tuning")},
        (("from", "image"),),
        outputs.REGISTER,
        (
            *AWS_ARGUMENTS,
            "image_uri",
            "model_approval",
            "model_url",
            "package_desc",
            "package_group_desc",
            "package_group_name",
        ),
        register_request,
    ),
    "delete_model_package": Kind(
        OUR_CLEANUPS + "SageMakerDeleteModelPackageOperator",
        delete_model_package,
        Graph.DATA,
        (
            Call(
                "DeleteModelPackage",
                "model-package",
                Named(argument="model_package_name", follows="package_group_name", follows_suffix="/*"),
            ),
        ),
        "DeleteModelPackage",
        {"model_package": ("register_model",)},
        (("model_package", "model_package_name"),),
        templated=(*AWS_ARGUMENTS, "model_package_name"),
        request=request_from(ModelPackageName="model_package_name"),
    ),
    "delete_model_package_group": Kind(
        OUR_CLEANUPS + "SageMakerDeleteModelPackageGroupOperator",
        delete_model_package_group,
        Graph.DATA,
        (
            Call("ListModelPackages", ANY_RESOURCE, ANY, (When.DELETING_VERSIONS,)),
            Call(
                "DeleteModelPackage",
                "model-package",
                Named(argument="group_name", suffix="/*"),
                (When.DELETING_VERSIONS,),
            ),
            Call("DeleteModelPackageGroup", "model-package-group", _DELETED_GROUP),
        ),
        "DeleteModelPackageGroup",
        {"group": ("register_model",)},
        (("group", "group_name"),),
        templated=(*AWS_ARGUMENTS, "group_name"),
        request=request_from(ModelPackageGroupName="group_name"),
    ),
}
