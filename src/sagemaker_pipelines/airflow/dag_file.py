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
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from sagemaker_pipelines.compile.kinds import ALIASES, KINDS
from sagemaker_pipelines.names import ALLOWED, unsafe_path_part
from sagemaker_pipelines.paths import PACKAGE_DIR, project_root

MARKER = "written by `make sync`"


def _imports(source: Path) -> set[str]:
    """Every module a Python file imports, at any depth (inside ``try`` blocks too); for ``from a import
    b`` both ``a`` and ``a.b``, which may be a module (the callers keep only what exists)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
    return found


def _airflow_imports(source: Path) -> set[str]:
    return {m for m in _imports(source) if m.startswith("airflow.")}


@cache
def _modules_behind(module: str) -> frozenset[str]:
    """The ``airflow.*`` modules an operator's module needs: itself when it is Airflow's; for one of this
    project's (a provider operator with one job per task instance, say), what its source imports, through
    the project's own modules it imports, read from the files without importing them. Kept per process:
    ``sync`` renders thousands of DAG files from the same few operator modules."""
    if module.startswith("airflow."):
        return frozenset({module})
    found: set[str] = set()
    seen: set[str] = set()
    pending = [module]
    while pending:
        name = pending.pop()
        if name in seen or not name.startswith("sagemaker_pipelines."):
            continue
        seen.add(name)
        base = PACKAGE_DIR.joinpath(*name.split(".")[1:])
        source = base.with_suffix(".py") if base.with_suffix(".py").is_file() else base / "__init__.py"
        if source.is_file():
            imported = _imports(source)
            found |= {m for m in imported if m.startswith("airflow.")}
            pending += [m for m in imported if m.startswith("sagemaker_pipelines.")]
    return frozenset(found)


@cache
def _dag_factory_imports() -> frozenset[str]:
    """The ``airflow.*`` modules dag-factory's installed source imports: every DAG it builds needs them."""
    modules: set[str] = set()
    spec = importlib.util.find_spec("dagfactory")
    for location in spec.submodule_search_locations or []:
        for source in Path(location).glob("*.py"):
            modules |= _airflow_imports(source)
    return frozenset(modules)


def preimported_modules(kinds: Iterable[str] | None = None) -> tuple[str, ...]:
    """The Airflow modules a DAG of these task kinds needs (every kind when None): their operators'
    modules from the kinds table and dag-factory's imports, kept only where they exist here.

    Per pipeline, not the union of all kinds: a task runner parses the one DAG file of its task in a
    fresh process, and every module named here is imported there whether the pipeline uses it or not."""
    if kinds is not None:
        kinds = {
            target for kind in kinds for target in (ALIASES[kind].targets if kind in ALIASES else (kind,))
        }
    chosen = KINDS.values() if kinds is None else [KINDS[k] for k in kinds if k in KINDS]
    # Only airflow.* modules: the dag-processor pre-imports nothing else (ours are imported by the file).
    modules = set(_dag_factory_imports())
    for kind in chosen:
        modules |= _modules_behind(kind.operator.rpartition(".")[0])
    return tuple(sorted(m for m in modules if m.startswith("airflow.") and _exists(m)))


@cache
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


def render(pipeline: Path, folder: Path, kinds: Iterable[str]) -> str:
    """The DAG file of ``pipeline`` placed in ``folder``; ``kinds``: the task kinds it names, whose
    operators' modules the file pre-imports (``project.pipeline_head`` reads them with the DAG id).

    Every string written into the file is a Python literal (the docstring's too), and a pipeline path
    that is not made of safe names (:mod:`sagemaker_pipelines.names`) is refused: a file name is user
    input, and this file runs in every Airflow process that parses the DAG folder."""
    root = project_root()
    project = Path(os.path.relpath(root, folder.resolve())).as_posix()
    resolved = pipeline.resolve()
    named = resolved.relative_to(root).as_posix() if resolved.is_relative_to(root) else str(resolved)
    if unsafe_path_part(named) is not None:  # sync and validate refuse these first
        raise ValueError(f"{named!r} is not made of safe names: {ALLOWED}")
    imports = "\n".join(f"import {m}" for m in preimported_modules(kinds))
    return (
        f'"""Airflow DAG file of {_literal(named)}, {MARKER}: edit the YAML, not this file.\n\n'
        "The imports are what this pipeline's operators and dag-factory need: Airflow's dag-processor loads\n"
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
