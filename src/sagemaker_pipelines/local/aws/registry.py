"""The one registry of the emulator's moto patches: each job module declares what it changes in moto.

A job module (``jobs/<kind>.py``) says, next to the code that really runs the job, which moto methods it
wraps or adds, or (an API moto lacks entirely, such as DataZone's) which WSGI routes it answers before
moto; :func:`sagemaker_pipelines.local.aws.install.install` applies the registry once. A new emulated API
is a new module under ``jobs/`` that registers here: ``jobs/__init__.py`` loads every module it finds,
and a test fails for a module that registers nothing.

Nothing here imports moto or a job module, so the registry sits below both and there is no cycle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Which moto class a patch lands on.
BACKEND = "sagemaker.models.SageMakerModelBackend"
RESPONSE = "sagemaker.responses.SageMakerResponse"
RUNTIME_RESPONSE = "sagemakerruntime.responses.SageMakerRuntimeResponse"


@dataclass(frozen=True)
class Patch:
    target: str  # one of the class names above
    method: str
    make: Callable[[Any], Any]  # original method (or None when moto lacks it) -> replacement
    module: str  # the job module that registered it


@dataclass(frozen=True)
class Route:
    """A service moto does not emulate, answered by WSGI middleware in front of moto's app."""

    service: str  # the service name requests are signed for
    middleware: Callable[[Any], Any]  # moto's WSGI app -> the app that answers the service first
    module: str


@dataclass(frozen=True)
class Observed:
    """A Describe* method whose answer tells a running job that someone has seen it in progress."""

    method: str
    kind: str
    status_field: str
    running: tuple[str, ...]
    module: str


@dataclass
class Registry:
    patches: list[Patch] = field(default_factory=list)
    observed: list[Observed] = field(default_factory=list)
    routes: list[Route] = field(default_factory=list)

    def modules(self) -> set[str]:
        """The modules that registered anything."""
        return {entry.module for entry in [*self.patches, *self.observed, *self.routes]}


REGISTRY = Registry()


def wraps(method: str, target: str = BACKEND) -> Callable[[Callable[[Any], Any]], Callable[[Any], Any]]:
    """Decorate a factory ``original -> replacement`` of a moto method."""

    def register(make: Callable[[Any], Any]) -> Callable[[Any], Any]:
        REGISTRY.patches.append(Patch(target, method, make, make.__module__))
        return make

    return register


def replaces(method: str, target: str = BACKEND) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a method that takes the place of moto's (or adds one that moto lacks)."""

    def register(function: Callable[..., Any]) -> Callable[..., Any]:
        REGISTRY.patches.append(Patch(target, method, lambda _original: function, function.__module__))
        return function

    return register


def observes(method: str, kind: str, status_field: str, running: tuple[str, ...], module: str) -> None:
    """Register a Describe* method of ``kind`` whose status ``running`` means the job is still going."""
    REGISTRY.observed.append(Observed(method, kind, status_field, running, module))


def serves(service: str) -> Callable[[Callable[[Any], Any]], Callable[[Any], Any]]:
    """Decorate a WSGI middleware class (``app -> app``) that answers ``service``'s requests before moto."""

    def register(middleware: Callable[[Any], Any]) -> Callable[[Any], Any]:
        REGISTRY.routes.append(Route(service, middleware, middleware.__module__))
        return middleware

    return register
