"""Throw-away projects for tests: the shipped environments and include/ plus chosen pipelines, with their
DAG files written by the real ``sagemaker-pipelines sync`` - the layout Airflow is pointed at."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from sagemaker_pipelines.paths import CHECKOUT_ROOT, SOURCE_DIR

SHIPPED_PIPELINES = CHECKOUT_ROOT / "pipelines"


def python_path() -> str:
    return os.pathsep.join([str(SOURCE_DIR), str(CHECKOUT_ROOT)])


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without Airflow or project settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "SAGEMAKER_"))}
    return {**env, "PYTHONPATH": python_path(), **extra}


def sync(root: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "sagemaker_pipelines.toolkit", "sync"],
        env=clean_env(SAGEMAKER_PIPELINES_ROOT=str(root)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def make_project(root: Path, pipelines: dict[str, str] | None = None, shipped: bool = True) -> Path:
    """``root`` with environments/, include/, pipelines/ (shipped ones and ``pipelines``) and dags/."""
    shutil.copytree(CHECKOUT_ROOT / "environments", root / "environments")
    shutil.copytree(CHECKOUT_ROOT / "include", root / "include", ignore=shutil.ignore_patterns("__pycache__"))
    folder = root / "pipelines"
    folder.mkdir(parents=True)
    if shipped:
        for source in SHIPPED_PIPELINES.glob("*.yaml"):
            shutil.copy(source, folder / source.name)
    for name, text in (pipelines or {}).items():
        (folder / name).write_text(text)
    sync(root)
    return root


def run_folders(
    root: Path, pipelines: dict[str, str], include: dict[str, str] | None = None
) -> dict[str, str]:
    """A pipelines/ folder holding only ``pipelines`` and a copy of include/ plus ``include`` files, for
    ``make run``: the environment variables that point the runner at them."""
    shutil.copytree(CHECKOUT_ROOT / "include", root / "include", ignore=shutil.ignore_patterns("__pycache__"))
    for name, text in (include or {}).items():
        (root / "include" / name).write_text(text)
    (root / "pipelines").mkdir()
    for name, text in pipelines.items():
        (root / "pipelines" / name).write_text(text)
    return {
        "SAGEMAKER_PIPELINES_DIR": str(root / "pipelines"),
        "SAGEMAKER_INCLUDE_DIR": str(root / "include"),
    }
