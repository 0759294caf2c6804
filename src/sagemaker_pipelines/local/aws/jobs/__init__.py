"""The emulated APIs, one module per resource: each really runs its work and registers its moto patches (or,
for a service moto lacks, its routes) in :mod:`sagemaker_pipelines.local.aws.registry`. Every module here
is loaded: a new emulated API is a new module, and nothing else to edit."""

from __future__ import annotations

import importlib
import pkgutil


def module_names() -> list[str]:
    return sorted(f"{__name__}.{info.name}" for info in pkgutil.iter_modules(__path__))


def load_all() -> None:
    """Import every job module, which registers its patches."""
    for name in module_names():
        importlib.import_module(name)
