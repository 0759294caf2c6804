"""The model registry: model package groups and their versions, as SageMaker keeps them.

moto stores groups and versions; this module adds what it lacks or does differently from AWS:

* CreateModelPackageGroup of an existing group fails (``Model Package Group already exists``), which is
  how the provider's register operator learns that the group is there already;
* CreateModelPackage checks that each container's ModelDataUrl exists in S3 (SageMaker validates a
  version's artifacts; a typo in the URL would otherwise only show when the version is deployed);
* DeleteModelPackage and DeleteModelPackageGroup (a group with versions cannot be deleted);
* a model whose container names a ModelPackageName serves that version's image and artifacts.
"""

from __future__ import annotations

import functools
from typing import Any

from moto.core.responses import EmptyResult
from moto.sagemaker.exceptions import ConflictException, ValidationError

from sagemaker_pipelines.local.aws import registry
from sagemaker_pipelines.local.aws.backend import store_for
from sagemaker_pipelines.local.aws.storage import StorageError


def _group(backend: Any, name: str) -> Any:
    return backend.describe_model_package_group(name.split("/")[-1])  # ValidationError when missing


def package_container(backend: Any, container: dict[str, Any]) -> dict[str, Any]:
    """A model container as it serves: a ModelPackageName stands for that version's first container."""
    name = container.get("ModelPackageName")
    if not name:
        return container
    try:
        package = backend.describe_model_package(name)
    except ValidationError as exc:
        from sagemaker_pipelines.local.aws.sandbox import JobError

        raise JobError(f"ClientError: model package {name} does not exist") from exc
    containers = (package.inference_specification or {}).get("Containers") or [{}]
    return {**containers[0], **{k: v for k, v in container.items() if k != "ModelPackageName"}}


# ---------------------------------------------------------------- moto patches (see registry.py)


@registry.wraps("create_model_package_group")
def _create_group(orig: Any) -> Any:
    @functools.wraps(orig)
    def create_model_package_group(
        self: Any, model_package_group_name: str, *args: Any, **kwargs: Any
    ) -> str:
        existing = self.model_package_groups.get(model_package_group_name)
        if existing is not None:
            raise ValidationError(f"Model Package Group already exists: {existing.arn}")
        return orig(self, model_package_group_name, *args, **kwargs)

    return create_model_package_group


@registry.wraps("create_model_package")
def _create_package(orig: Any) -> Any:
    @functools.wraps(orig)
    def create_model_package(self: Any, *args: Any, **kwargs: Any) -> str:
        store = store_for(self)
        for container in (kwargs.get("inference_specification") or {}).get("Containers") or []:
            url = container.get("ModelDataUrl")
            if url:
                try:
                    store.get(url)
                except StorageError as exc:
                    raise ValidationError(f"Could not access model data at {url}: {exc}") from exc
        return orig(self, *args, **kwargs)

    return create_model_package


@registry.replaces("delete_model_package")
def delete_model_package(self: Any, model_package_name: str) -> None:
    package = self.describe_model_package(model_package_name)  # ValidationError when missing
    self.model_packages.pop(package.arn, None)
    for alias in [k for k, v in self.model_package_name_mapping.items() if v == package.arn]:
        self.model_package_name_mapping.pop(alias, None)


@registry.replaces("delete_model_package_group")
def delete_model_package_group(self: Any, model_package_group_name: str) -> None:
    group = _group(self, model_package_group_name)
    versions = [
        p
        for p in self.model_packages.values()
        if p.model_package_group_name == group.model_package_group_name
    ]
    if versions:
        raise ConflictException(
            f"Model Package Group {group.arn} has {len(versions)} model package(s): delete them first"
        )
    del self.model_package_groups[group.model_package_group_name]


@registry.replaces("delete_model_package", registry.RESPONSE)
def _response_delete_model_package(self: Any) -> EmptyResult:
    self.sagemaker_backend.delete_model_package(self._get_param("ModelPackageName"))
    return EmptyResult()


@registry.replaces("delete_model_package_group", registry.RESPONSE)
def _response_delete_model_package_group(self: Any) -> EmptyResult:
    self.sagemaker_backend.delete_model_package_group(self._get_param("ModelPackageGroupName"))
    return EmptyResult()
