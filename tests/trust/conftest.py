"""Fixtures of the trust tests: a project of one's own to tamper with, and another local user.

"Another user" is real where the machine allows it: tests running as root drop to ``nobody`` with
``setpriv`` (util-linux) for the attacker's side; elsewhere those tests are skipped, not faked.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sagemaker_pipelines.paths import CHECKOUT_ROOT, SOURCE_DIR

SETPRIV = shutil.which("setpriv")
OTHER_USER = ("nobody", "nogroup")


def can_switch_user() -> bool:
    return SETPRIV is not None and os.geteuid() == 0


def _why_no_other_user() -> str:
    """Why ``nobody`` cannot play the attacker here, or "": it needs root and setpriv, and it must be able
    to run this checkout's Python and read its source (a private folder above a clean clone forbids it)."""
    if not can_switch_user():
        return "needs root and setpriv to act as another local user"
    imports = "import sys; sys.path.insert(0, sys.argv[1]); import boto3, sagemaker_pipelines"
    done = as_other_user(imports, str(SOURCE_DIR))
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        return f"{OTHER_USER[0]} cannot run this checkout's Python or read its source here ({last})"
    return ""


def as_other_user(code: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``python -c code args...`` as ``nobody``: no project code, only what that user could run."""
    user, group = OTHER_USER
    argv = [
        SETPRIV,
        f"--reuid={user}",
        f"--regid={group}",
        "--clear-groups",
        sys.executable,
        "-I",
        "-c",
        code,
    ]
    return subprocess.run(
        [*argv, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd="/",
        env={"PATH": "/usr/bin:/bin"},
    )


_NO_OTHER_USER = _why_no_other_user()
needs_other_user = pytest.mark.skipif(bool(_NO_OTHER_USER), reason=_NO_OTHER_USER or "-")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the pipelines, environments and include/ that the test may edit, used by the loader."""
    for name in ("pipelines", "environments", "include"):
        shutil.copytree(CHECKOUT_ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setenv("SAGEMAKER_PIPELINES_DIR", str(tmp_path / "pipelines"))
    monkeypatch.setenv("SAGEMAKER_ENVIRONMENTS_DIR", str(tmp_path / "environments"))
    monkeypatch.setenv("SAGEMAKER_INCLUDE_DIR", str(tmp_path / "include"))
    return tmp_path


PROBE = Path(__file__).with_name("build_probe.py")


def probe(pipeline: Path, folder: Path, tmp_path: Path, *extra: str) -> dict:
    """What ``build_probe.py`` reports of building ``pipeline`` in a fresh interpreter (cache folder
    ``folder``, its own Airflow home under ``tmp_path``)."""
    report = tmp_path / "report.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SOURCE_DIR), str(CHECKOUT_ROOT)])}
    env["AIRFLOW_HOME"] = str(tmp_path / "airflow")
    done = subprocess.run(
        [sys.executable, str(PROBE), str(pipeline), str(folder), str(report), *extra],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(report.read_text())
