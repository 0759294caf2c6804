"""The generated DAG file of one pipeline: the contract between ``sync`` and :func:`loader.load_pipeline`.

Each file names the Airflow modules its operators and dag-factory need as plain ``import airflow...``
lines, because Airflow's dag-processor imports those once, before it forks the process that parses the
file (``[dag_processor] parsing_pre_import_modules``), just as it does for a hand-written DAG file.
Without them every parse process would import the provider and dag-factory on its own.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
from functools import cache
from pathlib import Path

from sagemaker_pipelines.compile.kinds import KINDS
from sagemaker_pipelines.names import ALLOWED, unsafe_path_part
from sagemaker_pipelines.paths import project_root

MARKER = "written by `make sync`"


def _airflow_imports(source: Path) -> set[str]:
    """Every ``airflow.*`` module a Python file imports, at any depth (inside ``try`` blocks too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("airflow."))
        elif (
            isinstance(node, ast.ImportFrom) and not node.level and (node.module or "").startswith("airflow.")
        ):
            found.add(node.module)
    return found


@cache
def preimported_modules() -> tuple[str, ...]:
    """The Airflow modules a pipeline's DAG needs: the kinds table's operators and dag-factory's imports,
    read from dag-factory's installed source, kept only where they exist in this installation."""
    # Only airflow.* modules: the dag-processor pre-imports nothing else (ours are imported by the file).
    modules = {kind.operator.rpartition(".")[0] for kind in KINDS.values()}
    spec = importlib.util.find_spec("dagfactory")
    for location in spec.submodule_search_locations or []:
        for source in Path(location).glob("*.py"):
            modules |= _airflow_imports(source)
    return tuple(sorted(m for m in modules if m.startswith("airflow.") and _exists(m)))


def _exists(module: str) -> bool:
    """Whether ``module`` is installed, found on disk: importing Airflow to ask would cost ``validate``
    seconds (and ``find_spec`` of a submodule imports its parents)."""
    top, *parts = module.split(".")
    spec = importlib.util.find_spec(top)  # a top-level package is located, not imported
    for location in (spec.submodule_search_locations or []) if spec else []:
        base = Path(location).joinpath(*parts)
        if base.with_suffix(".py").is_file() or (base / "__init__.py").is_file():
            return True
    return False


def render(pipeline: Path, folder: Path) -> str:
    """The DAG file of ``pipeline`` placed in ``folder``.

    Every string written into the file is a Python literal (the docstring's too), and a pipeline path
    that is not made of safe names (:mod:`sagemaker_pipelines.names`) is refused: a file name is user
    input, and this file runs in every Airflow process that parses the DAG folder."""
    root = project_root()
    project = Path(os.path.relpath(root, folder.resolve())).as_posix()
    resolved = pipeline.resolve()
    named = resolved.relative_to(root).as_posix() if resolved.is_relative_to(root) else str(resolved)
    if unsafe_path_part(named) is not None:  # sync and validate refuse these first
        raise ValueError(f"{named!r} is not made of safe names: {ALLOWED}")
    imports = "\n".join(f"import {m}" for m in preimported_modules())
    return (
        f'"""Airflow DAG file of {_literal(named)}, {MARKER}: edit the YAML, not this file.\n\n'
        "The imports are what the pipeline's operators and dag-factory need: Airflow's dag-processor loads\n"
        'them once, before it forks the process that parses this file."""\n\n'
        f"{imports}\n\n"
        "from sagemaker_pipelines.airflow.loader import load_pipeline\n\n"
        f"dag = load_pipeline(__file__, project={_literal(project)}, pipeline={_literal(named)})\n"
    )


def _literal(text: str) -> str:
    """``text`` as a Python string literal in double quotes, as ruff formats the file: JSON's string
    escapes are a subset of Python's, so any text, quotes and newlines included, stays data."""
    return json.dumps(text)


def is_generated(path: Path) -> bool:
    try:
        return MARKER in path.read_text(encoding="utf-8")[:400]
    except (OSError, UnicodeDecodeError):
        return False
