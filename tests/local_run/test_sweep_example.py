"""The shipped ``iris_sweep`` example under ``make run``: one training job and one model per k of its
``ks`` param, in the ``sweep`` task group, and the ``team`` notification of how the run ended - the
success path with the default ks, the failure path with ``CONF='{"ks": [3, 0]}'`` (KNN refuses k = 0)."""

from __future__ import annotations

import json

import pytest


def _sent(state_dir, run_id: str) -> list[dict]:
    path = state_dir / "notifications" / "team.jsonl"
    return [n for n in map(json.loads, path.read_text().splitlines()) if n["run_id"] == run_id]


def _jobs(sagemaker, run_id: str) -> dict[str, str]:
    """name -> k of this run's sweep training jobs (names end in the run's timestamp and the try)."""
    names = [
        s["TrainingJobName"]
        for s in sagemaker.list_training_jobs(NameContains="iris-sweep-", MaxResults=100)[
            "TrainingJobSummaries"
        ]
    ]
    described = [sagemaker.describe_training_job(TrainingJobName=n) for n in names]
    return {
        d["TrainingJobName"]: d["HyperParameters"]["k"]
        for d in described
        if _stamp(run_id) in d["TrainingJobName"]
    }


def _stamp(run_id: str) -> str:
    """manual__2026-12-02T02:19:45.470422+00:00 -> 20261202T021945, as job names carry it."""
    moment = run_id.split("__", 1)[1]
    return moment[:19].replace("-", "").replace(":", "")


@pytest.fixture(scope="module")
def sweep_run(run_pipeline):
    return run_pipeline("iris_sweep")


def test_the_sweep_trains_and_models_once_per_k_and_tells_the_team(sweep_run, sagemaker, state_dir):
    assert sweep_run.returncode == 0, sweep_run.output[-3000:]
    rows = {(t["task_id"], t.get("map_index", -1)): t["state"] for t in sweep_run.report["tasks"]}
    assert {k: v for k, v in rows.items() if k[0] in ("train", "model")} == {
        (task, i): "success" for task in ("train", "model") for i in range(3)
    }
    run_id = sweep_run.report["run_id"]
    assert sorted(_jobs(sagemaker, run_id).values()) == ["3", "5", "7"]  # the param's default
    models = sagemaker.list_models(NameContains="iris-sweep", MaxResults=100)["Models"]
    assert len([m for m in models if _stamp(run_id) in m["ModelName"]]) == 3
    (sent,) = _sent(state_dir, run_id)
    assert (sent["event"], sent["level"], sent["state"]) == ("on_success", "pipeline", "success")
    assert "notifications: 1 sent to team" in sweep_run.output


def test_the_failure_path_fails_the_run_and_tells_the_team_which_task(run_pipeline, sagemaker, state_dir):
    result = run_pipeline("iris_sweep", conf={"ks": [3, 0]})
    assert result.returncode == 1
    states = {(t["task_id"], t.get("map_index", -1)): t["state"] for t in result.report["tasks"]}
    assert states[("train", 0)] == "success" and states[("train", 1)] == "failed"
    assert states[("model", -1)] == "upstream_failed"  # no model of a sweep that failed
    (sent,) = _sent(state_dir, result.report["run_id"])
    assert (sent["event"], sent["level"], sent["task_id"]) == ("on_failure", "pipeline", "train")
    assert "(task train failed)" in sent["message"]
    assert "on_failure of the run" in result.output
