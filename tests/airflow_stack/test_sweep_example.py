"""The shipped ``iris_sweep`` example under Airflow's own scheduler: its failure path (a k that KNN
refuses) fails one mapped training instance and the run, and the run's on_failure reaches the ``team``
file notifier, sent by the dag-processor, naming the task that failed."""

from __future__ import annotations

import json

from .conftest import wait_until


def _team_notifications(stack, run_id: str) -> list[dict]:
    path = stack.state_dir / "notifications" / "team.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    return [n for n in map(json.loads, lines) if n["run_id"] == run_id]


def test_the_sweep_failure_path_notifies_the_team_under_the_scheduler(features_stack):
    api = features_stack.api
    run_id = api.trigger("iris_sweep", {"ks": [3, 0]})
    assert api.wait_for_run("iris_sweep", run_id, timeout=300) == "failed"

    path = f"/api/v2/dags/iris_sweep/dagRuns/{run_id}/taskInstances?limit=100"
    instances = api.get(path)["task_instances"]
    train = {ti["map_index"]: ti["state"] for ti in instances if ti["task_id"] == "train"}
    assert train == {0: "success", 1: "failed"}  # k = 3 trained; k = 0 is refused by KNN

    sent = wait_until(
        lambda: [n for n in _team_notifications(features_stack, run_id) if n["event"] == "on_failure"],
        120,
        "the run's on_failure notification",
    )
    (failure,) = sent
    assert (failure["level"], failure["task_id"], failure["state"]) == ("pipeline", "train", "failed")
    assert "iris_sweep" in failure["message"] and "train" in failure["message"]
