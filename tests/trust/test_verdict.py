"""An honest verdict: ``make run`` fails when any task failed, whatever the leaves, and says which."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from sagemaker_pipelines.local.aws import start_local_aws
from sagemaker_pipelines.local.summary import verdict
from sagemaker_pipelines.paths import CHECKOUT_ROOT, SOURCE_DIR

STEPS = textwrap.dedent(
    """
    def work():
        raise RuntimeError("the work step broke")

    def cleanup():
        print("cleaning up whatever happened")
    """
)
PIPELINE = textwrap.dedent(
    """
    start_date: 2024-01-01
    schedule: null
    default_args: {retries: 0}
    tasks:
      work:
        kind: python
        callable: include/steps.py:work
      cleanup:
        kind: python
        callable: include/steps.py:cleanup
        depends_on: [work]
        trigger_rule: all_done
    """
)


def test_the_verdict_is_the_tasks():
    ok = [{"task_id": "a", "state": "success"}]
    failed = [{"task_id": "a", "state": "failed"}, {"task_id": "b", "state": "success"}]
    assert verdict("success", ok) == "success"
    assert verdict("success", failed) == "failed"  # a clean-up leaf made Airflow say success
    assert verdict("success", [{"task_id": "a", "state": "upstream_failed"}]) == "failed"
    assert verdict("failed", failed, "interrupted") == "interrupted"
    assert verdict("success", ok, "the local AWS endpoint stopped") == "failed"


@pytest.mark.timeout(600)
def test_a_failed_task_fails_the_run_even_when_a_cleanup_leaf_succeeds(tmp_path):
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "pipelines" / "cleanup_leaf.yaml").write_text(PIPELINE)
    shutil.copytree(
        CHECKOUT_ROOT / "include", tmp_path / "include", ignore=shutil.ignore_patterns("__pycache__")
    )
    (tmp_path / "include" / "steps.py").write_text(STEPS)
    report = tmp_path / "report.json"
    with start_local_aws(tmp_path / "aws") as aws:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "SAGEMAKER_"))}
        env.update(
            aws.environment(),
            PYTHONPATH=os.pathsep.join([str(SOURCE_DIR), str(CHECKOUT_ROOT)]),
            SAGEMAKER_PIPELINES_DIR=str(tmp_path / "pipelines"),
            SAGEMAKER_DAGS_DIR=str(tmp_path / "dags"),
            SAGEMAKER_INCLUDE_DIR=str(tmp_path / "include"),
            SAGEMAKER_PIPELINES_CACHE_DIR="off",
        )
        argv = [sys.executable, "-m", "sagemaker_pipelines.local.run", "cleanup_leaf"]
        argv += ["--state-dir", str(tmp_path / "state"), "--report", str(report)]
        done = subprocess.run(argv, env=env, cwd=CHECKOUT_ROOT, capture_output=True, text=True, timeout=500)
    output = done.stdout + done.stderr
    summary = json.loads(report.read_text())
    assert summary["airflow_state"] == "success"  # what Airflow concluded from the leaf
    assert summary["state"] == "failed" and summary["failed_tasks"] == ["work"]
    assert [(t["task_id"], t["state"]) for t in summary["tasks"]] == [
        ("work", "failed"),
        ("cleanup", "success"),
    ]
    assert done.returncode == 1, output[-3000:]
    assert "== cleanup_leaf: failed in" in output and "failed tasks: work" in output
    assert "Airflow marked the run a success" in output
