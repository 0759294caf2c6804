"""The runtime installs into an Airflow image with ``pip install .``, without the development tools."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from sagemaker_pipelines.paths import CHECKOUT_ROOT

DEVELOPMENT_ONLY = ("moto", "pytest", "ruff", "check-jsonschema", "scikit-learn", "graphviz")


def pinned_names(lock: Path) -> set[str]:
    lines = lock.read_text().splitlines()
    return {line.split("==")[0].lower() for line in lines if "==" in line and not line.startswith("#")}


def test_runtime_lock_has_no_development_tools_and_agrees_with_the_full_lock():
    runtime = CHECKOUT_ROOT / "requirements-runtime.txt"
    names = pinned_names(runtime)
    assert {"apache-airflow", "apache-airflow-providers-amazon", "dag-factory", "aiobotocore"} <= names
    assert not names & set(DEVELOPMENT_ONLY)
    full = {
        line.strip() for line in (CHECKOUT_ROOT / "requirements.txt").read_text().splitlines() if "==" in line
    }
    for line in runtime.read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            assert line.strip() in full, f"{line.strip()} differs between the two locks"


def test_wheel_installs_the_runtime_and_the_cli_entry_point(tmp_path: Path):
    source = tmp_path / "source"
    source.mkdir()
    shutil.copy(CHECKOUT_ROOT / "pyproject.toml", source)
    shutil.copytree(CHECKOUT_ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__"))
    wheels = tmp_path / "wheels"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    build = [*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", str(source), "-w", str(wheels)]
    subprocess.run(build, check=True, timeout=300)
    (wheel,) = wheels.glob("sagemaker_pipelines-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "sagemaker_pipelines/schemas/pipeline.schema.json" in names
    assert "sagemaker_pipelines/airflow/loader.py" in names
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA"))).decode()
    required = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    base = [line for line in required if "extra ==" not in line]
    assert base and not any(tool in line for line in base for tool in DEVELOPMENT_ONLY)
    assert any("moto" in line and 'extra == "local"' in line for line in required)
    entry_points = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt")))
    assert b"sagemaker-pipelines = sagemaker_pipelines.toolkit.cli:main" in entry_points

    target = tmp_path / "site"
    install = [*pip, "install", "--no-deps", "--no-index", "--target", str(target), str(wheel)]
    subprocess.run(install, check=True, timeout=300)
    # The installed copy, not the checkout's src/, checks a shipped pipeline.
    code = (
        "import sagemaker_pipelines, sys\n"
        "from pathlib import Path\n"
        "from sagemaker_pipelines.checker import check_file\n"
        "from sagemaker_pipelines.format.environment import load_environment\n"
        "where = sagemaker_pipelines.__file__\n"
        "assert Path(where).is_relative_to(sys.argv[1]), where\n"
        "result = check_file(Path(sys.argv[2]), load_environment('aws'))\n"
        "print(result.ok, result.dag_id)\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(target),
        "SAGEMAKER_PIPELINES_ROOT": str(CHECKOUT_ROOT),
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
    }
    done = subprocess.run(
        [sys.executable, "-c", code, str(target), str(CHECKOUT_ROOT / "pipelines" / "iris_training.yaml")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["True", "iris_training"]


def test_the_venv_loads_a_dag_file_without_the_makefiles_pythonpath(tmp_path: Path):
    """``make install`` installs the project into .venv (editable), so an Airflow command run by hand
    from .venv, an IDE or a debugger loads the DAG files as the dag-processor does, from this checkout."""
    code = (
        "import runpy, sagemaker_pipelines; print('module:', sagemaker_pipelines.__file__);"
        "dag = runpy.run_path(sys.argv[1])['dag']; print('dag:', dag.dag_id, sorted(dag.task_ids))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "AIRFLOW", "SAGEMAKER_"))}
    python, dag_file = CHECKOUT_ROOT / ".venv" / "bin" / "python", CHECKOUT_ROOT / "dags" / "iris_training.py"
    done = subprocess.run(
        [str(python), "-c", "import sys;" + code, str(dag_file)],
        cwd=tmp_path,  # not the checkout: nothing found through the working folder
        env={**env, "AIRFLOW_HOME": str(tmp_path / "airflow"), "SAGEMAKER_PIPELINES_CACHE_DIR": "off"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    printed = dict(
        line.split(": ", 1) for line in done.stdout.splitlines() if line.startswith(("module:", "dag:"))
    )
    assert Path(printed["module"]).is_relative_to(CHECKOUT_ROOT / "src")  # this checkout's, editable
    # The real DAG: an import error's stand-in has the same id and no tasks.
    assert printed["dag"] == "iris_training ['create_model', 'data_prep', 'test_model', 'train_model']"
