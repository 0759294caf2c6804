"""Where the project keeps things: one place, so the loader, the CLI and the tests agree.

Every folder can be moved with an environment variable, which is how tests point a loader at a
temporary pipelines folder without touching the shipped examples.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
DAGS_DIR = PACKAGE_DIR.parent
PROJECT_ROOT = DAGS_DIR.parent


def _dir(variable: str, default: Path) -> Path:
    value = os.environ.get(variable)
    return Path(value).resolve() if value else default


def pipelines_dir() -> Path:
    """Folder searched for ``**/*.yaml`` pipelines (``SAGEMAKER_PIPELINES_DIR``)."""
    return _dir("SAGEMAKER_PIPELINES_DIR", PROJECT_ROOT / "pipelines")


def environments_dir() -> Path:
    """Folder of environment files (``SAGEMAKER_ENVIRONMENTS_DIR``)."""
    return _dir("SAGEMAKER_ENVIRONMENTS_DIR", PROJECT_ROOT / "environments")


def include_dir() -> Path:
    """The only folder that callables, uploaded files and training scripts may come from."""
    return _dir("SAGEMAKER_INCLUDE_DIR", PROJECT_ROOT / "include")


def schemas_dir() -> Path:
    return PROJECT_ROOT / "schemas"


def local_state_dir() -> Path:
    """Scratch space for local runs: Airflow home, moto state, warehouse, caches (git-ignored)."""
    return _dir("SAGEMAKER_LOCAL_DIR", PROJECT_ROOT / ".local")


def display_path(path: Path | str) -> str:
    """A path as people should read it in errors: relative to the project when inside it."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(p)


def include_path(relative: str) -> Path:
    """A pipeline's ``include/...`` path on this machine (the folder can be moved for tests)."""
    if relative.rstrip("/") == "include":
        return include_dir()
    if not relative.startswith("include/"):
        return (PROJECT_ROOT / relative).resolve()  # checked callers reject it: outside include/
    return (include_dir() / relative.removeprefix("include/")).resolve()
