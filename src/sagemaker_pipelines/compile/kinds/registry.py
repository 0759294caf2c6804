"""The model registry: register a model version in a model package group (created when missing).

The provider's SageMakerRegisterModelVersionOperator sends CreateModelPackageGroup (when the group does
not exist) and CreateModelPackage; it returns the new version's ARN. Its ``image_uri`` and ``model_url``
are rendered at run time (so they may read another task's outputs); its ``extras`` (``config:``) are not.
"""

from __future__ import annotations

from typing import Any

from sagemaker_pipelines.compile.kinds import outputs
from sagemaker_pipelines.compile.kinds.context import TaskContext, deep_merge, present
from sagemaker_pipelines.compile.kinds.hosting import container_of
from sagemaker_pipelines.compile.kinds.spec import (
    AWS_ARGUMENTS,
    SAGEMAKER_OPERATORS,
    Call,
    Graph,
    Kind,
    Named,
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


_GROUP = Named(argument="package_group_name")

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
}
