"""The emulated SageMaker APIs, one module per resource: each really runs its work and registers its moto
patches in :mod:`sagemaker_pipelines.local.aws.registry`."""

from __future__ import annotations

import importlib

MODULES = (
    "training",
    "transform",
    "processing",
    "tuning",
    "endpoints",
    "model_registry",
    "pipelines",
    "automl",
    "notebooks",
    "stopping",
)


def load_all() -> None:
    """Import every job module, which registers its patches."""
    for name in MODULES:
        importlib.import_module(f"{__name__}.{name}")
