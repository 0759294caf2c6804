"""The tree's architecture, checked: three parts with one direction of imports, no monster modules, no cycles.

The runtime (``format/``, ``compile/``, ``airflow/`` and the top-level modules) is what Airflow's
dag-processor and task runners import; the toolkit and the local backend build on it. If the runtime
imported either, every Airflow deployment would carry the emulator and the CLI's dependencies.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sagemaker_pipelines.format.schema_check import VALIDITY_PATH
from sagemaker_pipelines.paths import CHECKOUT_ROOT, PACKAGE_DIR, RUNTIME_SUBPACKAGES, SOURCE_DIR

# Limits that flag a monster, not a budget to split a concept by: a module is cut where its concept ends.
# A module past 600 lines, or a folder past 16 modules, is one that holds more than one thing.
MAX_LINES = 600
MAX_MODULES_PER_FOLDER = 16
# Never loaded by the dag-processor or a task runner: the other two parts and what only they need.
NOT_IN_RUNTIME = (
    "sagemaker_pipelines.toolkit",
    "sagemaker_pipelines.local",
    "moto",
    "sklearn",
    "graphviz",
    "check_jsonschema",
    "pytest",
)


def module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE_DIR).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every module a file imports, at module level or inside functions, relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def package_files() -> list[Path]:
    return sorted(p for p in PACKAGE_DIR.rglob("*.py") if "_shim" not in p.parts)


def is_runtime(path: Path) -> bool:
    relative = path.relative_to(PACKAGE_DIR).parts
    return len(relative) == 1 or relative[0] in RUNTIME_SUBPACKAGES


def test_the_three_parts_exist():
    parts = {p.name for p in PACKAGE_DIR.iterdir() if (p / "__init__.py").is_file()}
    assert {*RUNTIME_SUBPACKAGES, "toolkit", "local"} <= parts


@pytest.mark.parametrize(
    "path", [p for p in package_files() if is_runtime(p)], ids=lambda p: str(p.relative_to(PACKAGE_DIR))
)
def test_runtime_never_imports_toolkit_or_local(path: Path):
    wrong = sorted(m for m in imports_of(path) if m.startswith(NOT_IN_RUNTIME))
    assert not wrong, f"{path.relative_to(CHECKOUT_ROOT)} imports {wrong}"


# Inside the runtime, one direction too: format reads the document, compile knows the kinds and builds
# from format's results, checks judge both, cache keeps what compile made, airflow runs it.
BELOW = {
    "format": (),
    "compile": ("format",),
    "checks": ("format", "compile"),
    "cache": ("format", "compile"),
    "airflow": ("format", "compile", "cache"),
}


@pytest.mark.parametrize(
    "path",
    [p for p in package_files() if p.relative_to(PACKAGE_DIR).parts[0] in BELOW],
    ids=lambda p: str(p.relative_to(PACKAGE_DIR)),
)
def test_a_runtime_layer_imports_only_the_layers_below_it(path: Path):
    layer = path.relative_to(PACKAGE_DIR).parts[0]
    others = {f"sagemaker_pipelines.{name}" for name in BELOW if name != layer and name not in BELOW[layer]}
    wrong = sorted(m for m in imports_of(path) if m.startswith(tuple(others)) and m.split(".")[1] in BELOW)
    assert not wrong, f"{path.relative_to(CHECKOUT_ROOT)} ({layer}) imports {wrong}"


def test_what_a_dag_file_loads_is_only_the_runtime(tmp_path: Path):
    """Load every DAG file of dags/ the way a task runner does, in a fresh interpreter, and list modules."""
    code = (
        "import json, runpy, sys\n"
        "from pathlib import Path\n"
        "for f in sorted(Path(sys.argv[1]).glob('*.py')):\n"
        "    runpy.run_path(str(f))\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SOURCE_DIR), str(CHECKOUT_ROOT)]),
        "AIRFLOW_HOME": str(tmp_path),
        "SAGEMAKER_PIPELINES_CACHE_DIR": "off",
    }
    done = subprocess.run(
        [sys.executable, "-c", code, str(CHECKOUT_ROOT / "dags")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    loaded = json.loads(done.stdout.splitlines()[-1])
    assert "sagemaker_pipelines.airflow.dag_builder" in loaded
    wrong = [m for m in loaded if m.startswith(NOT_IN_RUNTIME)]
    assert not wrong, f"loading the DAG files imported {wrong}"


# Written by ``make schemas`` from the schema files, never by hand: their length follows the schema's, and
# tests/toolkit/test_schema_views.py holds them to their sources.
GENERATED_MODULES = (VALIDITY_PATH,)


@pytest.mark.parametrize(
    "path",
    [p for p in package_files() if p not in GENERATED_MODULES],
    ids=lambda p: str(p.relative_to(PACKAGE_DIR)),
)
def test_no_module_over_the_line_budget(path: Path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(CHECKOUT_ROOT)} has {lines} lines (at most {MAX_LINES})"


def test_no_folder_holds_more_modules_than_one_concept_needs():
    folders = {p.parent for p in package_files()}
    for folder in folders:
        modules = [p for p in folder.glob("*.py") if p.name != "__init__.py"]
        assert len(modules) <= MAX_MODULES_PER_FOLDER, f"{folder.relative_to(CHECKOUT_ROOT)}: {len(modules)}"


def test_no_import_cycle_in_the_package():
    """Between modules of the package, counting imports inside functions too: a DAG, never a loop."""
    names = {module_name(p): p for p in package_files()}
    graph: dict[str, set[str]] = {}
    for name, path in names.items():
        targets = set()
        for imported in imports_of(path):
            # "a.b.c" may name module a.b.c or attribute c of module a.b
            candidates = [imported, imported.rpartition(".")[0]]
            target = next((c for c in candidates if c in names and c != name), None)
            if target and not name.startswith(target + ".") and not target.endswith("__init__"):
                # importing one's own package (__init__) is how submodules are reached, not a cycle
                if names[target].name == "__init__.py" and name.startswith(target):
                    continue
                targets.add(target)
        graph[name] = targets

    # Iterative depth-first search for a back edge.
    state: dict[str, int] = {}
    for start in graph:
        if state.get(start):
            continue
        stack = [(start, iter(sorted(graph[start])))]
        path = [start]
        state[start] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
                path.pop()
                continue
            if state.get(child) == 1:
                cycle = [*path[path.index(child) :], child]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if not state.get(child):
                state[child] = 1
                stack.append((child, iter(sorted(graph[child]))))
                path.append(child)
