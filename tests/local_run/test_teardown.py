"""Teardown in a real Airflow run: the clean-up runs whatever happens, and the run's state is the work's."""

from __future__ import annotations

import shutil
import textwrap

import pytest

from sagemaker_pipelines.paths import CHECKOUT_ROOT

STEPS = textwrap.dedent(
    """
    from pathlib import Path


    def create(marker):
        Path(marker).write_text("created\\n")
        return {"name": "scratch-resource-1"}


    def work(fail):
        if fail == "yes":
            raise RuntimeError("the work failed on purpose")


    def clean_up(name, marker, fail):
        with open(marker, "a") as handle:
            handle.write(f"cleaned {name}\\n")
        if fail == "yes":
            raise RuntimeError("the clean-up failed on purpose")
    """
)

PIPELINE = """\
start_date: 2024-01-01
schedule: null
default_args: {{retries: 0}}
tasks:
  create:
    kind: python
    callable: include/steps.py:create
    arguments: {{marker: "{marker}"}}
  work:
    kind: python
    depends_on: [create]
    callable: include/steps.py:work
    arguments: {{fail: "{work_fails}"}}
  clean_up:
    kind: python
    teardown: true
    depends_on: [work]
    callable: include/steps.py:clean_up
    arguments: {{name: "${{tasks.create.result.name}}", marker: "{marker}", fail: "{clean_up_fails}"}}
"""


@pytest.fixture
def run_case(run_pipeline, tmp_path):
    include = tmp_path / "include"
    shutil.copytree(CHECKOUT_ROOT / "include", include)
    (include / "steps.py").write_text(STEPS)
    pipelines = tmp_path / "pipelines"
    pipelines.mkdir()
    marker = tmp_path / "marker.txt"

    def run(work_fails: str, clean_up_fails: str):
        text = PIPELINE.format(marker=marker, work_fails=work_fails, clean_up_fails=clean_up_fails)
        (pipelines / "teardown_case.yaml").write_text(text)
        env = {"SAGEMAKER_PIPELINES_DIR": str(pipelines), "SAGEMAKER_INCLUDE_DIR": str(include)}
        return run_pipeline("teardown_case", extra_env=env), marker.read_text().splitlines()

    return run


def test_a_failure_stays_a_failure_and_the_clean_up_still_runs(run_case):
    result, marker = run_case(work_fails="yes", clean_up_fails="no")
    assert result.report["state"] == "failed" and result.returncode == 1
    assert result.task("work")["state"] == "failed"
    assert result.task("clean_up")["state"] == "success"
    assert marker == ["created", "cleaned scratch-resource-1"]  # it got the setup's output


def test_a_failed_clean_up_fails_make_run_though_airflow_calls_the_run_a_success(run_case):
    """Airflow ignores a teardown's failure for the run's state; make run does not (any failed task fails
    its verdict), since a clean-up that failed may have left resources running (docs/lifecycle.md)."""
    result, marker = run_case(work_fails="no", clean_up_fails="yes")
    assert result.task("work")["state"] == "success"
    assert result.task("clean_up")["state"] == "failed"
    assert result.returncode == 1 and "clean_up" in result.output
    assert marker == ["created", "cleaned scratch-resource-1"]
