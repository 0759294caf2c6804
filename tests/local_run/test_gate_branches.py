"""What `make run`'s summary says of a quality gate that took its else branch, and of tasks that did not
run because a task before them failed: neither is reported as something it was not."""

from __future__ import annotations

import shutil
import textwrap

from sagemaker_pipelines.paths import CHECKOUT_ROOT

STEPS = textwrap.dedent(
    '''
    """Test-only steps: a score below the gate's bar, work for each branch, and a step that fails."""


    def score():
        return {"accuracy": 0.5}


    def work():
        return "done"


    def fail():
        raise RuntimeError("the retraining data is missing")
    '''
)

PIPELINE = textwrap.dedent(
    """
    start_date: 2024-01-01
    schedule: null
    default_args: {retries: 0}
    tasks:
      evaluate:
        kind: python
        callable: include/gate_steps.py:score
      gate:
        kind: condition
        conditions:
          - {left: "${tasks.evaluate.result.accuracy}", op: ">=", right: 0.9}
        if: [deploy]
        else: [retrain]
      deploy:
        kind: python
        callable: include/gate_steps.py:work
      retrain:
        kind: python
        callable: include/gate_steps.py:fail
      report:
        kind: python
        depends_on: [retrain]
        callable: include/gate_steps.py:work
    """
)


def test_the_summary_names_the_branch_a_gate_took_and_tells_failed_from_not_run(run_pipeline, tmp_path):
    include = tmp_path / "include"
    shutil.copytree(CHECKOUT_ROOT / "include", include)
    (include / "gate_steps.py").write_text(STEPS)
    pipelines = tmp_path / "pipelines"
    pipelines.mkdir()
    (pipelines / "gate_branches.yaml").write_text(PIPELINE)

    result = run_pipeline(
        "gate_branches",
        extra_env={"SAGEMAKER_PIPELINES_DIR": str(pipelines), "SAGEMAKER_INCLUDE_DIR": str(include)},
    )
    states = {t["task_id"]: t["state"] for t in result.report["tasks"]}
    assert states == {
        "evaluate": "success",
        "gate": "success",  # for Airflow a branch taken is a success, whichever branch it was
        "deploy": "skipped",
        "retrain": "failed",
        "report": "upstream_failed",
    }
    (gate,) = result.report["gates"]
    assert gate["branch"] == "else", result.output[-3000:]
    assert "Gate gate took its else branch: its conditions were not met (0.5 >= 0.9)" in result.output
    assert "Gate gate passed" not in result.output
    assert result.report["failed_tasks"] == ["retrain"] and result.report["not_run_tasks"] == ["report"]
    assert "failed tasks: retrain\nnot run (upstream failed): report\n" in result.output
    assert result.returncode == 1 and result.report["state"] == "failed"
