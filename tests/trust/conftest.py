"""Fixtures of the trust tests: a project of one's own to tamper with, and another local user.

"Another user" is real where the machine allows it: tests running as root drop to ``nobody`` with
``setpriv`` (util-linux) for the attacker's side; elsewhere those tests are skipped, not faked.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sagemaker_pipelines.paths import CHECKOUT_ROOT

SETPRIV = shutil.which("setpriv")
OTHER_USER = ("nobody", "nogroup")


def can_switch_user() -> bool:
    return SETPRIV is not None and os.geteuid() == 0


needs_other_user = pytest.mark.skipif(
    not can_switch_user(), reason="needs root and setpriv to act as another local user"
)


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


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the pipelines, environments and include/ that the test may edit, used by the loader."""
    for name in ("pipelines", "environments", "include"):
        shutil.copytree(CHECKOUT_ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setenv("SAGEMAKER_PIPELINES_DIR", str(tmp_path / "pipelines"))
    monkeypatch.setenv("SAGEMAKER_ENVIRONMENTS_DIR", str(tmp_path / "environments"))
    monkeypatch.setenv("SAGEMAKER_INCLUDE_DIR", str(tmp_path / "include"))
    return tmp_path
