"""Apply the registry to moto, once, in the server process: the only module that touches moto's classes."""

from __future__ import annotations

import functools
import importlib
from pathlib import Path
from typing import Any

from sagemaker_pipelines.local.aws import jobs
from sagemaker_pipelines.local.aws.backend import SETTINGS, mark_observed
from sagemaker_pipelines.local.aws.registry import REGISTRY, Observed

_APPLIED = False


def _moto_class(target: str) -> type:
    module, _, name = target.rpartition(".")
    return getattr(importlib.import_module(f"moto.{module}"), name)


def _observing(original: Any, spec: Observed) -> Any:
    @functools.wraps(original)
    def describe(self: Any, *args: Any, **kwargs: Any) -> Any:
        answer = original(self, *args, **kwargs)
        if isinstance(answer, dict) and answer.get(spec.status_field) in spec.running:
            mark_observed(spec.kind, self, args[0] if args else next(iter(kwargs.values()), None))
        return answer

    return describe


def install(state_dir: Path) -> None:
    """Patch moto (idempotent) so SageMaker jobs really run, with work folders under ``state_dir``."""
    global _APPLIED
    SETTINGS.state_dir = state_dir
    if _APPLIED:
        return
    jobs.load_all()
    for patch in REGISTRY.patches:
        cls = _moto_class(patch.target)
        setattr(cls, patch.method, patch.make(getattr(cls, patch.method, None)))
    backend = _moto_class("sagemaker.models.SageMakerModelBackend")
    for spec in REGISTRY.observed:
        setattr(backend, spec.method, _observing(getattr(backend, spec.method), spec))
    _APPLIED = True


def with_routes(app: Any) -> Any:
    """Moto's WSGI app behind the routes of the services it does not emulate (``registry.serves``)."""
    jobs.load_all()
    for route in REGISTRY.routes:
        app = route.middleware(app)
    return app
