"""A pipeline in task groups, with a time zone, run the way ``make run`` runs it."""

from __future__ import annotations

import shutil

from sagemaker_pipelines.paths import CHECKOUT_ROOT

PIPELINE = CHECKOUT_ROOT / "tests" / "airflow_stack" / "pipelines" / "features" / "groups_berlin.yaml"


def test_a_grouped_pipeline_runs_end_to_end_with_its_task_ids(run_pipeline, tmp_path):
    folder = tmp_path / "pipelines"
    folder.mkdir()
    shutil.copy(PIPELINE, folder)
    result = run_pipeline("groups_berlin", extra_env={"SAGEMAKER_PIPELINES_DIR": str(folder)})
    assert result.returncode == 0, result.output[-4000:]
    assert result.report["state"] == "success"
    # the summary names tasks by their YAML ids, whatever group they are drawn in
    assert [(t["task_id"], t["state"]) for t in result.report["tasks"]] == [
        ("data_prep", "success"),
        ("train_model", "success"),
        ("create_model", "success"),
        ("test_model", "success"),
    ]
    assert result.report["accuracy"]["test_model"]["accuracy"] >= 0.9
    assert "\ntrain_model   success" in result.output
