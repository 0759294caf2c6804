"""Names that become file names or Python source: DAG ids, pipeline paths and environment names.

A DAG id names the generated file ``dags/<dag_id>.py``, a pipeline's path is written into that file, and
an environment name becomes ``environments/<name>.yaml``. Each comes from a file or a Variable that a
user controls, so each is checked against one plain pattern before anything is written or read: no
quote, newline, separator or leading dot can turn a name into code, another folder or a hidden file.
The JSON Schema carries the same pattern for editors, but a schema's ``$`` also matches before a final
newline in Python's ``re``; here names are matched whole.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from sagemaker_pipelines.paths import display_path
from sagemaker_pipelines.problems import Code, Problem

# Letters, digits, '_', '.' and '-', not starting with '.' or '-': a file name on every system, a Python
# string without escapes, and an Airflow DAG id (Airflow allows [A-Za-z0-9_.-], up to 250).
NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}")
ALLOWED = "letters, digits, '_', '.' and '-', starting with a letter, digit or '_', at most 200"


def is_safe_name(name: object) -> bool:
    return isinstance(name, str) and NAME.fullmatch(name) is not None


def unsafe_path_part(shown: str) -> str | None:
    """The first name in a pipeline's path, as errors show it, that is not a safe name: every folder and
    the file's stem of a path relative to the project; the stem alone of one outside it (its folders
    are the machine's, not the pipeline author's)."""
    path = PurePosixPath(shown)
    parts = [path.stem] if path.is_absolute() else [*path.parent.parts, path.stem]
    return next((part for part in parts if not is_safe_name(part)), None)


def name_problems(
    path: Path, dag_id: str, dag_id_at: tuple[int, int] = (1, 1), *, written: bool = True
) -> list[Problem]:
    """A DAG id or pipeline file name that could not safely become ``dags/<dag_id>.py`` and the string
    that file loads: ``sync`` writes neither, so the pipeline is refused here, where its author sees it."""
    file = display_path(path)
    found = []
    if not is_safe_name(dag_id):
        named = "the DAG id" if written else "the DAG id (the file name)"
        message = f"{named} {dag_id!r} cannot name a DAG file"
        found.append(Problem(file, *dag_id_at, "dag_id", message, f"use {ALLOWED}", code=Code.NAME))
    part = unsafe_path_part(file)
    if part is not None and part != dag_id:
        message = f"the file or folder name {part!r} cannot be written into a DAG file"
        found.append(Problem(file, 1, 1, "", message, f"rename it: {ALLOWED}", code=Code.NAME))
    return found
