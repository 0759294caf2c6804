"""Where the compile cache lives when ``SAGEMAKER_PIPELINES_CACHE_DIR`` does not say.

In a checkout the cache sits in the project (``.local/cache``). In production the project is a DAG
bundle that nobody should write: baked into an image, mounted read-only, or a Git bundle's checkout.
There the cache goes to this user's cache folder instead, which a Kubernetes deployment can mount as a
volume shared by the dag-processor's parses and the workers' task starts.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sagemaker_pipelines.paths import local_state_dir


def _writable(folder: Path) -> bool:
    """Whether the project means to be written here: the process may write (a read-only mount says no
    even to root) and the folder has a write bit (``chmod a-w`` says no to root too, who could write)."""
    try:
        mode = folder.stat().st_mode
    except OSError:
        return False
    return os.access(folder, os.W_OK | os.X_OK) and bool(mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def default_root() -> Path:
    """``<project>/.local/cache`` where the project can be written; else this user's cache folder
    (``$XDG_CACHE_HOME``, or ``~/.cache``, ``/sagemaker-pipelines``).

    A bundle baked read-only into an image would otherwise have no cache at all, and every parse and
    task start would check its pipeline from scratch. Entries are keyed by content, not by folder, so
    bundle versions that share the user's folder share entries where their files are the same, and the
    include files of each hit are compared with the reader's own."""
    local = local_state_dir()
    if _writable(local if local.exists() else local.parent):
        return local / "cache"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sagemaker-pipelines"
