"""Fixtures of the toolkit tests: run the real CLI (in-process or as ``python -m``), temporary folders.

Airflow reads its settings once, at import, so they are set here, before any test imports it: a
throw-away AIRFLOW_HOME, no example DAGs. Building DAG objects needs no metadata database.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="toolkit-airflow-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "false")
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(Path(__file__).resolve().parents[2] / "dags"))

from sagemaker_pipelines.paths import CHECKOUT_ROOT
from sagemaker_pipelines.toolkit import cli

PIPELINES = CHECKOUT_ROOT / "pipelines"
ENVIRONMENTS = CHECKOUT_ROOT / "environments"

# A pipeline with one misspelt field (line 6, column 5) and one unknown reference (line 12, column 12).
BROKEN = """\
start_date: 2024-01-01
tasks:
  train:
    kind: training
    algorithm: knn
    instance_typ: ml.m5.large
    inputs:
      train: s3://my-bucket/iris/train.csv
  predict:
    kind: transform
    model: train
    input: ${s3.nope}/x.csv
    output: s3://my-bucket/out/
"""

# Valid in every environment, no include/ files, quick to check.
SMALL = """\
start_date: 2024-01-01
tasks:
  train:
    kind: training
    algorithm: knn
    hyperparameters:
      k: 3
      sample_size: 150
      predictor_type: classifier
    inputs:
      train: s3://my-bucket/iris/train.csv
"""


@pytest.fixture(autouse=True)
def _no_compile_cache(monkeypatch):
    """Every check really runs; nothing is written under .local/ (a test may point it elsewhere)."""
    monkeypatch.setenv("SAGEMAKER_PIPELINES_CACHE_DIR", "off")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("SAGEMAKER_PIPELINES_ENV", raising=False)


@pytest.fixture
def run_cli(capsys):
    """``run_cli(*args)`` -> (exit status, stdout, stderr) of ``cli.main`` in this process."""

    def run(*args: str) -> tuple[int, str, str]:
        status = cli.main([str(a) for a in args])
        out, err = capsys.readouterr()
        return status, out, err

    return run


def subprocess_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(["src", "."]), **extra}
    return env


def run_module(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``sagemaker-pipelines ARGS`` from the project root, as the Makefile runs it."""
    return subprocess.run(
        [sys.executable, "-m", "sagemaker_pipelines.toolkit", *map(str, args)],
        cwd=CHECKOUT_ROOT,
        env=env or subprocess_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def pipelines_dir(tmp_path, monkeypatch) -> Path:
    """An empty pipelines folder that the CLI (and its subprocesses) use instead of pipelines/, with its
    own DAG folder beside it."""
    folder = tmp_path / "pipelines"
    folder.mkdir()
    monkeypatch.setenv("SAGEMAKER_PIPELINES_DIR", str(folder))
    monkeypatch.setenv("SAGEMAKER_DAGS_DIR", str(tmp_path / "dags"))
    return folder


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path
