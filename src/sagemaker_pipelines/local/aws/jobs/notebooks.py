"""Notebook instances with SageMaker's states: Pending -> InService, Stopping -> Stopped, Deleting -> gone.

moto flips a notebook instance's status at once (and its create is InService immediately); here each
change goes through the transitional state first, like on AWS, so the provider's waiters
(``notebook_instance_in_service``, ``..._stopped``, ``..._deleted``) really wait. As with jobs, the final
state is published once a describe has seen the transitional one (or after LOCAL_AWS_MIN_JOB_SECONDS).
An instance only stops when InService, only starts when Stopped or Failed, and is only deleted when
Stopped or Failed (AWS's rules). Nothing runs inside an instance: there is no Jupyter server.
"""

from __future__ import annotations

import functools
from typing import Any

from moto.sagemaker.exceptions import ValidationError

from sagemaker_pipelines.local.aws import registry
from sagemaker_pipelines.local.aws.backend import Run, launch, mark_observed, utcnow, wait_min_duration

_TRANSITIONS = {"Pending": "InService", "Stopping": "Stopped", "Deleting": None}


def _change(backend: Any, instance: Any, transitional: str) -> None:
    """Show ``transitional`` now and its end state in the background (None: the instance is gone)."""
    instance.status = transitional
    instance.last_modified_time = utcnow()
    name = instance.notebook_instance_name

    def finish(run: Run) -> None:
        wait_min_duration(run)
        if backend.notebook_instances.get(name) is not instance or instance.status != transitional:
            return  # deleted or changed again meanwhile
        final = _TRANSITIONS[transitional]
        if final is None:
            del backend.notebook_instances[name]
            return
        instance.status = final
        instance.last_modified_time = utcnow()

    launch("notebook", backend, name, finish)


def _require(instance: Any, allowed: tuple[str, ...], action: str) -> None:
    if instance.status not in allowed:
        raise ValidationError(
            f"Status ({instance.status}) not in ({', '.join(allowed)}). Unable to transition to ({action}) "
            f"for Notebook Instance ({instance.arn})"
        )


# ---------------------------------------------------------------- moto patches (see registry.py)


@registry.wraps("create_notebook_instance")
def _create(orig: Any) -> Any:
    @functools.wraps(orig)
    def create_notebook_instance(self: Any, *args: Any, **kwargs: Any) -> Any:
        instance = orig(self, *args, **kwargs)
        _change(self, instance, "Pending")
        return instance

    return create_notebook_instance


@registry.replaces("start_notebook_instance")
def start_notebook_instance(self: Any, notebook_instance_name: str) -> None:
    instance = self.get_notebook_instance(notebook_instance_name)
    _require(instance, ("Stopped", "Failed"), "Pending")
    _change(self, instance, "Pending")


@registry.replaces("stop_notebook_instance")
def stop_notebook_instance(self: Any, notebook_instance_name: str) -> None:
    instance = self.get_notebook_instance(notebook_instance_name)
    _require(instance, ("InService",), "Stopping")
    _change(self, instance, "Stopping")


@registry.replaces("delete_notebook_instance")
def delete_notebook_instance(self: Any, notebook_instance_name: str) -> None:
    instance = self.get_notebook_instance(notebook_instance_name)
    _require(instance, ("Stopped", "Failed"), "Deleting")
    _change(self, instance, "Deleting")


@registry.wraps("get_notebook_instance")
def _get(orig: Any) -> Any:
    @functools.wraps(orig)
    def get_notebook_instance(self: Any, notebook_instance_name: str) -> Any:
        instance = orig(self, notebook_instance_name)
        if instance.status in _TRANSITIONS:
            mark_observed("notebook", self, notebook_instance_name)
        return instance

    return get_notebook_instance
