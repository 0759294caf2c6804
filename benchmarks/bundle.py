"""DAG bundles shaped as production ships them, for the benchmark's read-only and Git-bundle runs.

A bundle is one folder holding ``dags/`` (the generated DAG files, naming their pipeline relative to the
bundle), ``pipelines/``, ``environments/`` and ``include/``, with no ``.local/`` and no write bit
anywhere (``chmod -R a-w``, as an image layer or a Git bundle's checkout has it), so the compile cache
cannot live in it and the loader falls back to the user's cache folder (``$XDG_CACHE_HOME``). A Git
bundle checks every version out into a new folder: :func:`new_version` copies a bundle's files into
another folder, the same files at another path.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent


def write_bundle(folder: Path, pipelines: list[Path]) -> Path:
    """A read-only bundle of ``pipelines`` (copied) with the project's environments and include files."""
    from sagemaker_pipelines.paths import ROOT_VARIABLE
    from sagemaker_pipelines.toolkit import sync

    (folder / "pipelines").mkdir(parents=True)
    for path in pipelines:
        shutil.copy2(path, folder / "pipelines" / path.name)
    shutil.copytree(PROJECT / "environments", folder / "environments")
    shutil.copytree(PROJECT / "include", folder / "include", ignore=shutil.ignore_patterns("__pycache__"))
    before = os.environ.get(ROOT_VARIABLE)
    os.environ[ROOT_VARIABLE] = str(folder)  # the DAG files name their pipeline relative to the bundle
    try:
        copies = sorted((folder / "pipelines").glob("*.yaml"))
        sync.apply(sync.plan(copies, folder / "dags"))
    finally:
        if before is None:
            os.environ.pop(ROOT_VARIABLE, None)
        else:
            os.environ[ROOT_VARIABLE] = before
    _set_writable(folder, False)
    return folder


def new_version(bundle: Path, folder: Path) -> Path:
    """The same files as ``bundle`` in a new folder, read-only: the next version of a Git bundle."""
    shutil.copytree(bundle, folder, ignore=shutil.ignore_patterns("__pycache__"))
    _set_writable(folder, False)
    return folder


def remove(folder: Path) -> None:
    """Delete a bundle made read-only here."""
    if folder.exists():
        _set_writable(folder, True)
        shutil.rmtree(folder, ignore_errors=True)


def _set_writable(folder: Path, writable: bool) -> None:
    write = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
    paths = [Path(root) / name for root, dirs, files in os.walk(folder) for name in dirs + files]
    for path in [*paths, folder]:
        if path.is_symlink():
            continue
        mode = path.stat().st_mode
        path.chmod((mode | stat.S_IWUSR) if writable else (mode & ~write))
