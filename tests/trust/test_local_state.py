"""``make run`` keeps its state (Airflow's database, the warehouse, the endpoint's state, logs) readable
by its owner only, whatever the user's umask, and closes a state folder an older version left open.

A real run of the CLI (of a pipeline that does not exist: everything is created before it says so) under
umask 022; then every file and folder of the state is checked. ``make airflow``'s state is checked on a
real stack in ``tests/airflow_stack/test_owner_only.py``.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys

from sagemaker_pipelines.paths import CHECKOUT_ROOT, SOURCE_DIR


def _open_to_others(root) -> list[str]:
    found = []
    for folder, folders, files in os.walk(root):
        for name in folders + files:
            path = os.path.join(folder, name)
            mode = os.lstat(path).st_mode
            if not stat.S_ISLNK(mode) and stat.S_IMODE(mode) & 0o077:
                found.append(f"{oct(stat.S_IMODE(mode))} {path}")
    return found


def test_a_run_creates_its_state_for_its_owner_only(tmp_path):
    state = tmp_path / "state"
    state.mkdir(mode=0o755)
    state.chmod(0o755)  # as an older version left it
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "SAGEMAKER_"))}
    environ["PYTHONPATH"] = os.pathsep.join([str(SOURCE_DIR), str(CHECKOUT_ROOT)])
    run = [sys.executable, "-m", "sagemaker_pipelines.toolkit", "run", "no_such_pipeline"]
    done = subprocess.run(
        [*run, "--state-dir", str(state)],
        env=environ,
        cwd=CHECKOUT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=lambda: os.umask(0o022),  # the usual umask: world-readable files
    )
    assert "no pipeline 'no_such_pipeline'" in done.stdout + done.stderr, done.stderr[-2000:]
    created = [state / "airflow" / "airflow.db", state / "warehouse.db", state / "aws" / "server.log"]
    assert all(p.exists() for p in created), sorted(os.listdir(state))
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    assert _open_to_others(state) == []
