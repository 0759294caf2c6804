"""Where the project keeps things: one place, so the loader, the CLI and the tests agree.

A project (in Airflow: a DAG bundle) is one folder holding ``dags/`` (one generated DAG file per
pipeline), ``pipelines/``, ``environments/`` and ``include/``. Its root is, in this order:
``SAGEMAKER_PIPELINES_ROOT``; the folder a DAG file names when Airflow loads it (so an installed
package finds the bundle it serves); the checkout this package lives in. Each folder can also be moved
on its own with an environment variable, which is how tests point a loader at temporary pipelines.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
SOURCE_DIR = PACKAGE_DIR.parent  # what goes on the Python path for this package (``src/`` in a checkout)
CHECKOUT_ROOT = SOURCE_DIR.parent
ROOT_VARIABLE = "SAGEMAKER_PIPELINES_ROOT"

# The parts of the package that Airflow imports; toolkit/ and local/ build on them and are never imported
# by them (tests/architecture checks the direction).
RUNTIME_SUBPACKAGES = ("format", "compile", "checks", "cache", "airflow")

_bundle_root: Path | None = None


def use_bundle_root(root: Path) -> None:
    """Called by the loader with the project folder a DAG file names (unless the variable is set)."""
    global _bundle_root
    _bundle_root = root.resolve()


def use_project_of(dag_file: str | Path) -> Path:
    """For a DAG file written by ``compile``: its project is the nearest folder above it that holds
    ``include/`` or ``pipelines/`` (``<bundle>/dags/x.py`` or ``<checkout>/build/compiled_dags/x.py``).
    With the package installed (``pip install .``), that is how the file finds ``include/``."""
    for folder in Path(dag_file).resolve().parents:
        if (folder / "include").is_dir() or (folder / "pipelines").is_dir():
            use_bundle_root(folder)
            break
    return project_root()


def project_root() -> Path:
    value = os.environ.get(ROOT_VARIABLE)
    if value:
        return Path(value).resolve()
    return _bundle_root or CHECKOUT_ROOT


def runtime_source_files() -> list[Path]:
    """The runtime's Python files and data (the image table): what a compiled pipeline depends on besides
    its inputs."""
    top = sorted(PACKAGE_DIR.glob("*.py"))
    files = (
        f
        for sub in RUNTIME_SUBPACKAGES
        for kind in ("*.py", "*.json")
        for f in (PACKAGE_DIR / sub).rglob(kind)
    )
    return top + sorted(files)


def _dir(variable: str, name: str) -> Path:
    value = os.environ.get(variable)
    return Path(value).resolve() if value else project_root() / name


def dags_dir() -> Path:
    """Airflow's DAG folder of the project: one generated ``<pipeline>.py`` per pipeline."""
    return _dir("SAGEMAKER_DAGS_DIR", "dags")


def pipelines_dir() -> Path:
    """Folder searched for ``**/*.yaml`` pipelines (``SAGEMAKER_PIPELINES_DIR``)."""
    return _dir("SAGEMAKER_PIPELINES_DIR", "pipelines")


def environments_dir() -> Path:
    """Folder of environment files (``SAGEMAKER_ENVIRONMENTS_DIR``)."""
    return _dir("SAGEMAKER_ENVIRONMENTS_DIR", "environments")


def include_dir() -> Path:
    """The only folder that callables, uploaded files and training scripts may come from."""
    return _dir("SAGEMAKER_INCLUDE_DIR", "include")


def schemas_dir() -> Path:
    """The JSON Schemas ship inside the package (the runtime validates with them); ``schemas/`` links here."""
    return PACKAGE_DIR / "schemas"


def local_state_dir() -> Path:
    """Scratch space for local runs: Airflow home, moto state, warehouse, caches (git-ignored)."""
    return _dir("SAGEMAKER_LOCAL_DIR", ".local")


def display_path(path: Path | str) -> str:
    """A path as people should read it in errors: relative to the project when inside it."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(project_root()))
    except ValueError:
        return str(p)


def display_link(path: Path | str) -> str:
    """A path as the user has it: like :func:`display_path`, but a symbolic link names itself, not
    what it points to (the link is the file in ``pipelines/``; its target may be anywhere, or gone)."""
    p = Path(path)
    return str(Path(display_path(p.parent)) / p.name)


def include_path(relative: str) -> Path:
    """A pipeline's ``include/...`` path on this machine (the folder can be moved for tests)."""
    if relative.rstrip("/") == "include":
        return include_dir()
    if not relative.startswith("include/"):
        return (project_root() / relative).resolve()  # checked callers reject it: outside include/
    return (include_dir() / relative.removeprefix("include/")).resolve()
